"""Staff actions on questions: each is one transaction, one audit row, then a change notice."""

from __future__ import annotations

from moderation import referrals
from moderation.context import Change, ModerationContext
from moderation.errors import Conflict, Forbidden, Invalid, NotFound
from moderation.filters import personal_data
from moderation.filters.personal_data import Finding
from moderation.text import (
    ANSWER_MAX,
    ANSWER_MIN,
    QUESTION_MAX,
    QUESTION_MIN,
    REASON_MAX,
    REASON_MIN,
    TITLE_MAX,
    optional_text,
    require_int,
    require_text,
)
from service.clock import from_iso
from service.i18n import N_
from service.i18n import gettext as _
from service.storage import audit, categories, events, questions, search
from service.storage.db import Row, Writer
from service.storage.staff import ANSWERING_ROLES, StaffMember

_OPEN = ("pending",)


def _require_moderator(staff: StaffMember) -> None:
    if staff.role not in ANSWERING_ROLES:
        raise Forbidden(_("Only counsellors and advisers handle questions."))


async def _state(tx: Writer, question_id: int) -> Row:
    state = await questions.locked_state(tx, question_id)
    if state is None:
        raise NotFound(_("No such question."))
    return state


def _claimed_by_other(ctx: ModerationContext, state: Row, staff: StaffMember) -> bool:
    return (
        state["claimed_by"] is not None
        and state["claimed_by"] != staff.id
        and state["claimed_at"] > ctx.claim_cutoff_iso()
    )


def _refuse_if_claimed(ctx: ModerationContext, state: Row, staff: StaffMember) -> None:
    if _claimed_by_other(ctx, state, staff):
        name = state["first_name"] or state["username"]
        raise Conflict(_("Claimed by %(name)s.") % {"name": name})


def _refuse_if_closed(state: Row) -> None:
    if state["status"] not in _OPEN:
        raise Conflict(_("This question has already been handled."))


async def _audit(
    ctx: ModerationContext, tx: Writer, staff: StaffMember, action: str, qid: int, **detail: object
) -> None:
    await audit.append(
        tx,
        at=ctx.now_iso(),
        staff_id=staff.id,
        action=action,
        target_type="question",
        target_id=qid,
        detail=detail or None,
    )


def _seconds_since(ctx: ModerationContext, iso: str) -> float:
    return max(0.0, (ctx.now() - from_iso(iso)).total_seconds())


async def _actionable(
    ctx: ModerationContext, tx: Writer, question_id: int, staff: StaffMember
) -> Row:
    """The question's state, if it is still waiting and no one else holds a live claim."""
    state = await _state(tx, question_id)
    _refuse_if_closed(state)
    _refuse_if_claimed(ctx, state, staff)
    return state


async def _event(
    ctx: ModerationContext,
    tx: Writer,
    kind: str,
    state: Row,
    staff: StaffMember,
    *,
    waited: bool = False,
    detail: dict[str, object] | None = None,
) -> None:
    """A usage event about this question; `waited` adds the seconds since it was asked."""
    await events.record(
        tx,
        kind,
        at=ctx.now_iso(),
        category=state["category_slug"],
        channel="question",
        subject_id=state["id"],
        staff_id=staff.id,
        seconds=_seconds_since(ctx, state["asked_at"]) if waited else None,
        detail=detail,
    )


async def do_claim(ctx: ModerationContext, question_id: int, *, acting_staff: StaffMember) -> None:
    """Take a waiting question for oneself; a live claim by someone else is refused."""
    _require_moderator(acting_staff)
    async with ctx.db.transaction() as tx:
        state = await _actionable(ctx, tx, question_id, acting_staff)
        fresh = state["claimed_by"] != acting_staff.id
        await questions.set_claim(tx, question_id, acting_staff.id, ctx.now_iso())
        await _audit(ctx, tx, acting_staff, "claim", question_id)
        if fresh:
            await _event(ctx, tx, events.QUESTION_CLAIMED, state, acting_staff, waited=True)
        tx.announce(Change(question_id))


async def do_release(
    ctx: ModerationContext, question_id: int, *, acting_staff: StaffMember
) -> None:
    """Give a claimed question back to the queue."""
    _require_moderator(acting_staff)
    async with ctx.db.transaction() as tx:
        await _actionable(ctx, tx, question_id, acting_staff)
        await questions.set_claim(tx, question_id, None, None)
        await _audit(ctx, tx, acting_staff, "release", question_id)
        tx.announce(Change(question_id))


UNSET: object = object()


async def do_edit(
    ctx: ModerationContext,
    question_id: int,
    *,
    acting_staff: StaffMember,
    body: object = UNSET,
    title: object = UNSET,
    category: object = UNSET,
) -> None:
    """Change the question's wording (to remove identifying details), title or category."""
    _require_moderator(acting_staff)
    changed = [
        name
        for name, v in (("body", body), ("title", title), ("category", category))
        if v is not UNSET
    ]
    if not changed:
        raise Invalid(_("Nothing to change."), field="body")
    new_body = (
        None
        if body is UNSET
        else require_text(body, "body", minimum=QUESTION_MIN, maximum=QUESTION_MAX)
    )
    new_title = None if title is UNSET else optional_text(title, "title", maximum=TITLE_MAX)
    new_category = None
    if category is not UNSET:
        new_category = await categories.by_slug(ctx.db, str(category))
        if new_category is None:
            raise Invalid(_("Choose a category from the list."), field="category")
    async with ctx.db.transaction() as tx:
        state = await _actionable(ctx, tx, question_id, acting_staff)
        await questions.update_text(
            tx,
            question_id,
            title=state["title"] if title is UNSET else new_title,
            body=state["body"] if new_body is None else new_body,
            category_id=state["category_id"] if new_category is None else new_category.id,
        )
        await questions.set_claim(tx, question_id, acting_staff.id, ctx.now_iso())
        await _audit(ctx, tx, acting_staff, "edit", question_id, fields=changed)
        tx.announce(Change(question_id))


MASKED = N_("[removed]")
NOT_A_SPAN = N_("Give the place of the detail in the text as a whole number.")
UNMASKED = N_(
    "The question still seems to hold personal details. Mask them, or confirm"
    " that they identify no one before publishing."
)
MASKABLE = ("title", "body")


def _findings(state: Row) -> dict[str, list[Finding]]:
    return {name: personal_data.find(state[name] or "") for name in MASKABLE}


async def do_mask(
    ctx: ModerationContext,
    question_id: int,
    *,
    acting_staff: StaffMember,
    field: object,
    start: object = None,
    end: object = None,
) -> None:
    """Replace one personal detail the detectors found (by its span), or all of them when no
    span is given, with a placeholder. A span that no longer holds a finding is refused, so a
    click on a page shown before someone else's edit cannot cut the wrong words."""
    _require_moderator(acting_staff)
    if field not in (*MASKABLE, "all"):
        raise Invalid(_("Choose the title or the question text."), field="field")
    if field != "all":
        for name, value in (("start", start), ("end", end)):
            require_int(value, name, minimum=0, maximum=QUESTION_MAX, message=_(NOT_A_SPAN))
    async with ctx.db.transaction() as tx:
        state = await _actionable(ctx, tx, question_id, acting_staff)
        found = _findings(state)
        if field != "all":
            found = {str(field): [f for f in found[str(field)] if (f.start, f.end) == (start, end)]}
        if not any(found.values()):
            raise Conflict(_("The text has changed since the page was shown; check it again."))
        placeholder = _(MASKED)
        texts = {
            name: personal_data.mask(state[name], hits, lambda _f: placeholder)
            if hits
            else state[name]
            for name, hits in ((n, found.get(n, [])) for n in MASKABLE)
        }
        await questions.update_text(
            tx,
            question_id,
            title=texts["title"],
            body=texts["body"],
            category_id=state["category_id"],
        )
        await questions.set_claim(tx, question_id, acting_staff.id, ctx.now_iso())
        kinds = sorted({f.kind for hits in found.values() for f in hits})
        await _audit(ctx, tx, acting_staff, "mask", question_id, kinds=kinds)
        tx.announce(Change(question_id))


async def do_answer(
    ctx: ModerationContext,
    question_id: int,
    *,
    acting_staff: StaffMember,
    body: object,
    publish: object,
    services: object = None,
    personal_data_confirmed: object = False,
) -> None:
    """Answer under one's role, then publish on the board or answer only to the asker.

    `services` are directory services the answer refers to; each shows as a card with it.
    Publishing a question that still seems to hold personal details needs
    `personal_data_confirmed`, and the confirmation is audited."""
    _require_moderator(acting_staff)
    text = require_text(body, "body", minimum=ANSWER_MIN, maximum=ANSWER_MAX)
    if not isinstance(publish, bool):
        raise Invalid(_("Choose whether to publish."), field="publish")
    if not isinstance(personal_data_confirmed, bool):
        raise Invalid(_("Send true or false."), field="personal_data_confirmed")
    referred = referrals.service_ids(services)
    async with ctx.db.transaction() as tx:
        await referrals.require_referable(tx, referred, "services")
        state = await _actionable(ctx, tx, question_id, acting_staff)
        if publish and not state["publish_allowed"]:
            raise Invalid(
                _("The asker wanted the answer only for themselves; answer privately."),
                field="publish",
            )
        unmasked = sorted({f.kind for hits in _findings(state).values() for f in hits})
        if publish and unmasked and not personal_data_confirmed:
            raise Invalid(_(UNMASKED), field="personal_data_confirmed")
        now = ctx.now_iso()
        answer_id = await questions.add_answer(
            tx,
            question_id,
            staff_id=acting_staff.id,
            role=acting_staff.role,
            first_name=acting_staff.first_name,
            body=text,
            at=now,
        )
        await questions.add_referrals(tx, answer_id, referred)
        await questions.mark_answered(tx, question_id, at=now, publish=publish)
        if publish:
            await search.index_question(
                tx,
                question_id,
                state["title"],
                state["body"],
                await questions.answer_bodies(tx, question_id),
            )
        confirmed = {"personal_data_confirmed": unmasked} if publish and unmasked else {}
        await _audit(ctx, tx, acting_staff, "answer", question_id, publish=publish, **confirmed)
        await _event(
            ctx,
            tx,
            events.QUESTION_ANSWERED,
            state,
            acting_staff,
            waited=True,
            detail={"publish": publish},
        )
        if publish:
            await _event(ctx, tx, events.QUESTION_PUBLISHED, state, acting_staff)
        await referrals.record(
            tx,
            referred,
            at=now,
            channel="question",
            category=state["category_slug"],
            subject_id=question_id,
            staff_id=acting_staff.id,
        )
        tx.announce(Change(question_id, board=publish))


async def do_reject(
    ctx: ModerationContext, question_id: int, *, acting_staff: StaffMember, reason: object
) -> None:
    """Decline to answer, with a reason the asker reads on their follow-up page."""
    _require_moderator(acting_staff)
    text = require_text(reason, "reason", minimum=REASON_MIN, maximum=REASON_MAX)
    async with ctx.db.transaction() as tx:
        state = await _actionable(ctx, tx, question_id, acting_staff)
        now = ctx.now_iso()
        await questions.mark_rejected(tx, question_id, at=now, reason=text)
        await _audit(ctx, tx, acting_staff, "reject", question_id)
        await _event(ctx, tx, events.QUESTION_REJECTED, state, acting_staff, waited=True)
        tx.announce(Change(question_id))
