"""A young person's question entering the queue, and leaving it again by their own code."""

from __future__ import annotations

from dataclasses import dataclass

from moderation import followup_codes
from moderation.context import Change, ModerationContext
from moderation.errors import Invalid
from moderation.screening import Screening
from moderation.screening import admit as admit_text
from moderation.text import QUESTION_MAX, QUESTION_MIN, TITLE_MAX, optional_text, require_text
from service.i18n import N_
from service.i18n import gettext as _
from service.storage import categories, events, questions, retention, search
from service.storage.db import Database, Row, Writer

# The demo and the benches make codes here, as the asking does.
new_code = followup_codes.new_code
hash_code = followup_codes.hash_code


@dataclass(frozen=True)
class Found:
    """A question found by its code, and the code as it is shown and linked from now on."""

    question: questions.Question
    code: str


async def find_by_code(db: Database, typed: str) -> Found | None:
    """The question whose code the person typed or followed, in any case and spacing for a new
    code, exactly for an older one; one query for a code that exists."""
    for code in followup_codes.candidates(typed):
        found = await questions.get_by_code_hash(db, hash_code(code))
        if found is not None:
            return Found(found, code)
    return None


async def _row_for_update(tx: Writer, typed: str) -> Row | None:
    """find_by_code inside a write transaction, the row locked for the delete."""
    for code in followup_codes.candidates(typed):
        row = await questions.by_code_for_update(tx, hash_code(code))
        if row is not None:
            return row
    return None


@dataclass(frozen=True)
class Submitted:
    question_id: int
    code: str


@dataclass(frozen=True)
class QuestionDraft:
    body: str
    title: str | None
    category_id: int
    category_slug: str
    publish_allowed: bool


BLOCKED = N_("Your question contains words that are not accepted here. Please write it again.")


def admit(ctx: ModerationContext, draft: QuestionDraft, *, personal_confirmed: bool) -> Screening:
    """The draft's screening, or RefusedWords for a block word, or PersonalDetails until the
    asker confirms sending what looks like personal details."""
    return admit_text(
        ctx.watch.screen(draft.title, draft.body),
        personal_ok=personal_confirmed,
        field="body",
        blocked=BLOCKED,
    )


async def validate(
    ctx: ModerationContext, *, body: object, title: object, category: object, publish: object
) -> tuple[QuestionDraft | None, dict[str, str]]:
    """Check every field and report all problems at once, keyed by field name."""
    errors: dict[str, str] = {}
    clean_body = clean_title = None
    try:
        clean_body = require_text(body, "body", minimum=QUESTION_MIN, maximum=QUESTION_MAX)
    except Invalid as exc:
        errors["body"] = exc.message
    try:
        clean_title = optional_text(title, "title", maximum=TITLE_MAX)
    except Invalid as exc:
        errors["title"] = exc.message
    found = await categories.by_slug(ctx.db, category) if isinstance(category, str) else None
    if found is None:
        errors["category"] = _("Choose a category from the list.")
    if not isinstance(publish, bool):
        errors["publish"] = _("Choose whether the answer may be published.")
    if errors or clean_body is None or found is None:
        return None, errors
    return (
        QuestionDraft(clean_body, clean_title, found.id, found.slug, bool(publish)),
        errors,
    )


async def submit(ctx: ModerationContext, draft: QuestionDraft, screening: Screening) -> Submitted:
    """Store the question and its code hash; the code itself is returned once and never kept."""
    async with ctx.db.transaction() as tx:
        submitted = await store(tx, draft, at=ctx.now_iso(), screening=screening)
        tx.announce(Change(submitted.question_id))
    return submitted


async def store(
    tx: Writer,
    draft: QuestionDraft,
    *,
    at: str,
    screening: Screening | None = None,
    detail: dict[str, object] | None = None,
) -> Submitted:
    """Insert the question with a new follow-up code inside the caller's transaction."""
    code = new_code()
    urgent = screening is not None and screening.crisis
    question_id = await questions.insert(
        tx,
        category_id=draft.category_id,
        title=draft.title,
        body=draft.body,
        publish_allowed=draft.publish_allowed,
        code_hash=hash_code(code),
        asked_at=at,
        urgent=urgent,
        flags=screening.flags() if screening else None,
    )
    await events.record(
        tx,
        events.QUESTION_ASKED,
        at=at,
        category=draft.category_slug,
        channel="question",
        subject_id=question_id,
        detail={
            "publish_allowed": draft.publish_allowed,
            **({"urgent": True} if urgent else {}),
            **(detail or {}),
        },
    )
    return Submitted(question_id, code)


async def delete_by_code(ctx: ModerationContext, code: str) -> bool:
    """The asker removes their question, answers and search entries; False for an unknown code."""
    async with ctx.db.transaction() as tx:
        row = await _row_for_update(tx, code)
        if row is None:
            return False
        await search.unindex_question(tx, row["id"])
        await questions.delete(tx, row["id"])
        if row["status"] == "published":
            # FTS5 only marks deleted entries until its segments merge: merging now takes the
            # words out of the index's pages at once, and the checkpoint due within a minute
            # takes them out of the WAL.
            await retention.compact_search(tx)
            await retention.set_time(tx, retention.SEARCH_DIRTY, ctx.now_iso())
        await events.record(
            tx,
            events.QUESTION_DELETED,
            at=ctx.now_iso(),
            category=row["slug"],
            channel="question",
            subject_id=row["id"],
            detail={"status": row["status"]},
        )
        tx.announce(Change(row["id"], board=row["status"] == "published"))
    return True
