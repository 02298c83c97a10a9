"""The moderation queue as staff see it: waiting questions, oldest first, with live claims."""

from __future__ import annotations

from moderation.context import ModerationContext
from service.storage import questions
from service.storage.questions import Question


def active_claimer(ctx: ModerationContext, question: Question) -> str | None:
    """The claimer's name while the claim is fresh; a claim idle past the limit has lapsed."""
    if question.claimed_by is None or question.claimed_at is None:
        return None
    if question.claimed_at <= ctx.claim_cutoff_iso():
        return None
    return question.claimer_name


async def waiting(ctx: ModerationContext) -> list[tuple[Question, str | None]]:
    """Waiting questions with the name of whoever holds a live claim on each."""
    return [(q, active_claimer(ctx, q)) for q in await questions.pending_queue(ctx.db)]
