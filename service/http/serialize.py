"""The JSON shapes of the public API."""

from __future__ import annotations

from typing import Any

from service.storage.questions import Question


def public_question(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "title": question.title,
        "body": question.body,
        "category": question.category_slug,
        "asked_at": question.asked_at,
        "answers": [
            {
                "body": a.body,
                "role": a.role,
                "first_name": a.first_name,
                "answered_at": a.answered_at,
            }
            for a in question.answers
        ],
    }
