"""The JSON shapes of the API and the staff socket."""

from __future__ import annotations

from typing import Any

from moderation import queue
from moderation.context import ModerationContext
from moderation.screening import personal_kinds
from service.clock import from_iso
from service.storage.questions import Answer, Question


def answer(item: Answer) -> dict[str, Any]:
    return {
        "body": item.body,
        "role": item.role,
        "first_name": item.first_name,
        "answered_at": item.answered_at,
        "referrals": item.referrals,
    }


def _question_text(question: Question) -> dict[str, Any]:
    """The fields every question shape shares."""
    return {
        "id": question.id,
        "title": question.title,
        "body": question.body,
        "category": question.category_slug,
        "asked_at": question.asked_at,
    }


def public_question(question: Question) -> dict[str, Any]:
    return {**_question_text(question), "answers": [answer(a) for a in question.answers]}


def _safety(question: Question) -> dict[str, Any]:
    """What staff must notice before anything else: urgency, watched words, personal details."""
    kinds = [personal_kinds(text) for text in (question.title, question.body) if text]
    return {
        "urgent": question.urgent,
        "flags": question.flags,
        "personal_data": sorted(frozenset().union(*kinds)),
    }


def staff_question(question: Question, *, claimed_by: str | None) -> dict[str, Any]:
    return {
        **public_question(question),
        **_safety(question),
        "status": question.status,
        "publish": question.publish_allowed,
        "claimed_by": claimed_by,
        "reason": question.reject_reason,
    }


def queue_item(
    question: Question, *, claimed_by: str | None, now_iso: str, shown: bool = False
) -> dict[str, Any]:
    """A waiting question with its personal details masked, unless this one was `shown` (on
    request, audited): lists go to every moderator's screen, the details are rarely needed."""
    waited = (from_iso(now_iso) - from_iso(question.asked_at)).total_seconds()
    safety = _safety(question)
    hide = bool(safety["personal_data"]) and not shown
    text = _question_text(question)
    if hide:
        text["title"] = queue.masked(question.title) if question.title else question.title
        text["body"] = queue.masked(question.body)
    return {
        **text,
        **safety,
        "masked": hide,
        "waited_s": max(0, int(waited)),
        "publish": question.publish_allowed,
        "claimed_by": claimed_by,
    }


async def waiting_queue(ctx: ModerationContext) -> list[dict[str, Any]]:
    """The queue with personal details masked in the language being spoken."""
    now = ctx.now_iso()
    return [
        queue_item(q, claimed_by=claimer, now_iso=now) for q, claimer in await queue.waiting(ctx)
    ]
