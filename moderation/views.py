"""Staff looking at what young people wrote leaves a trace: opened questions and chat
transcripts ("viewed"), and personal details shown from the masked queue ("show_personal_data")."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from moderation.errors import Forbidden, NotFound
from service.clock import Clock, to_iso
from service.i18n import gettext as _
from service.storage import audit, questions
from service.storage.db import Database
from service.storage.questions import Question
from service.storage.staff import ANSWERING_ROLES, StaffMember

VIEWED = "viewed"
SHOWN = "show_personal_data"
# One "viewed" row per staff member and item in ten minutes is enough: a page reloaded while
# answering, or a console that reconnects, is the same look, and the log stays readable.
VIEW_EVERY = timedelta(minutes=10)
# How long a "show" keeps one question unmasked in the queue for whoever asked.
SHOWN_FOR = timedelta(minutes=10)


class Clocked(Protocol):
    """What both the moderation and the chat contexts offer."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


async def record_view(
    ctx: Clocked, *, target_type: str, target_id: int, acting_staff: StaffMember
) -> None:
    """Audit that this staff member opened the item, unless they did within VIEW_EVERY. The
    check reads first, so a page reload takes no write; two simultaneous first looks may both
    be written, which is harmless."""
    now = ctx.clock()
    if await audit.done_since(
        ctx.db,
        staff_id=acting_staff.id,
        action=VIEWED,
        target_type=target_type,
        target_id=target_id,
        since=to_iso(now - VIEW_EVERY),
    ):
        return
    async with ctx.db.transaction() as tx:
        await audit.append(
            tx,
            at=to_iso(now),
            staff_id=acting_staff.id,
            action=VIEWED,
            target_type=target_type,
            target_id=target_id,
        )


async def do_show_personal_data(
    ctx: Clocked, question_id: int, *, acting_staff: StaffMember
) -> Question:
    """The question unmasked, for those who answer questions; every request is audited."""
    if acting_staff.role not in ANSWERING_ROLES:
        raise Forbidden(_("Only counsellors and advisers handle questions."))
    found = await questions.get(ctx.db, question_id)
    if found is None:
        raise NotFound(_("No such question."))
    async with ctx.db.transaction() as tx:
        await audit.append(
            tx,
            at=to_iso(ctx.clock()),
            staff_id=acting_staff.id,
            action=SHOWN,
            target_type="question",
            target_id=question_id,
        )
    return found


async def shown_lately(ctx: Clocked, question_id: int, *, acting_staff: StaffMember) -> bool:
    """Whether this staff member asked to see the question's details within SHOWN_FOR: the
    audit row itself is the permission, so the queue cannot show what the log does not hold."""
    return await audit.done_since(
        ctx.db,
        staff_id=acting_staff.id,
        action=SHOWN,
        target_type="question",
        target_id=question_id,
        since=to_iso(ctx.clock() - SHOWN_FOR),
    )
