"""The moderation queue as staff see it: waiting questions, oldest first, with live claims."""

from __future__ import annotations

from typing import Any

from moderation.context import ModerationContext
from service.clock import from_iso
from service.storage import questions
from service.storage.questions import Question


def active_claimer(ctx: ModerationContext, question: Question) -> str | None:
    """The claimer's name while the claim is fresh; a claim idle past the limit has lapsed."""
    if question.claimed_by is None or question.claimed_at is None:
        return None
    if question.claimed_at <= ctx.claim_cutoff_iso():
        return None
    return question.claimer_name


def queue_item(question: Question, *, claimed_by: str | None, now_iso: str) -> dict[str, Any]:
    waited = (from_iso(now_iso) - from_iso(question.asked_at)).total_seconds()
    return {
        "id": question.id,
        "title": question.title,
        "body": question.body,
        "category": question.category_slug,
        "asked_at": question.asked_at,
        "waited_s": max(0, int(waited)),
        "publish": question.publish_allowed,
        "claimed_by": claimed_by,
    }


async def waiting(ctx: ModerationContext) -> list[dict[str, Any]]:
    now = ctx.now_iso()
    return [
        queue_item(q, claimed_by=active_claimer(ctx, q), now_iso=now)
        for q in await questions.pending_queue(ctx.db)
    ]
