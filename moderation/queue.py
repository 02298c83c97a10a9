"""The moderation queue as staff see it: waiting questions, oldest first, with live claims.

Personal details in the queue are masked ("[puhelinnumero]") until a staff member asks to see
them (moderation/views.py audits that); the moderation view of one question shows them."""

from __future__ import annotations

import functools

from moderation.context import ModerationContext
from moderation.filters import personal_data
from service import i18n
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


def masked(text: str) -> str:
    """The text with each personal detail replaced by its kind in brackets, in the language
    being spoken: "[puhelinnumero]", "[telefonnummer]", "[a phone number]"."""
    return _masked(text, i18n.current_language())


@functools.lru_cache(maxsize=4096)
def _masked(text: str, lang: str) -> str:
    """Remembered per language: the whole queue is sent again after every change, and its
    waiting questions' text rarely changes between two sends."""
    return personal_data.mask(
        text,
        personal_data.find(text),
        lambda found: f"[{i18n.gettext(personal_data.LABELS[found.kind])}]",
    )
