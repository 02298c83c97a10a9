"""Coordinators' chat settings: opening hours, queue-wait threshold, routing, capacity, canned
responses. Each change is one transaction with one audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from moderation.chat.context import ChatChange, ChatContext
from moderation.errors import Forbidden, Invalid, NotFound
from moderation.text import require_int, require_text
from service.hours import Span, parse_clock
from service.i18n import gettext as _
from service.storage import canned, chat_settings, opening_hours, presence
from service.storage.chat_settings import ChatSettings
from service.storage.staff import MANAGING_ROLES, StaffMember

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CAPACITY_MAX = 20
# More dated exceptions than days in a year is a mistake, and the settings page shows them all.
EXCEPTIONS_MAX = 366
THRESHOLD_MAX = 24 * 3600
CANNED_TITLE_MAX, CANNED_BODY_MAX = 80, 2000


@dataclass(frozen=True)
class ChatConfig:
    weekly: dict[int, list[Span]]
    exceptions: dict[date, list[Span]]
    notes: dict[date, str]
    settings: ChatSettings


def _require_manager(staff: StaffMember) -> None:
    if staff.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators change the chat's settings."))


def _spans(value: object, field: str) -> list[Span]:
    """["09:00-16:00", …] → spans, refusing overlaps so the hours read one way only."""
    if not isinstance(value, list):
        raise Invalid(_("Give a list of times like 09:00-16:00."), field=field)
    spans = []
    for item in value:
        opens, sep, closes = item.partition("-") if isinstance(item, str) else ("", "", "")
        try:
            spans.append(Span(parse_clock(opens), parse_clock(closes)))
        except ValueError:
            raise Invalid(
                _("Write times like 09:00-16:00, the end after the start."), field=field
            ) from None
    spans.sort()
    if any(a.closes > b.opens for a, b in zip(spans, spans[1:], strict=False)):
        raise Invalid(_("The times of one day overlap."), field=field)
    return spans


def parse_config(data: dict[str, object]) -> ChatConfig:
    weekly_raw = data.get("weekly", {})
    if not isinstance(weekly_raw, dict) or not set(weekly_raw) <= set(WEEKDAYS):
        raise Invalid(_("Give weekdays as mon … sun."), field="weekly")
    weekly = {
        WEEKDAYS.index(day): _spans(value, f"weekly.{day}") for day, value in weekly_raw.items()
    }
    exceptions: dict[date, list[Span]] = {}
    notes: dict[date, str] = {}
    raw_exceptions = data.get("exceptions", [])
    if not isinstance(raw_exceptions, list):
        raise Invalid(_("Give exceptions as a list."), field="exceptions")
    if len(raw_exceptions) > EXCEPTIONS_MAX:
        raise Invalid(
            _("Give at most %(n)d exceptions; remove past ones first.") % {"n": EXCEPTIONS_MAX},
            field="exceptions",
        )
    for n, item in enumerate(raw_exceptions):
        field = f"exceptions.{n}"
        if not isinstance(item, dict) or not isinstance(item.get("day"), str):
            raise Invalid(_("Give each exception a day like 2026-12-24."), field=field)
        try:
            day = date.fromisoformat(item["day"])
        except ValueError:
            raise Invalid(_("Give each exception a day like 2026-12-24."), field=field) from None
        if day in exceptions:
            raise Invalid(_("Each day may have one exception."), field=field)
        exceptions[day] = _spans(item.get("hours", []), field)
        note = item.get("note")
        if note:
            notes[day] = require_text(note, field, minimum=1, maximum=200)
    threshold = data.get("offer_question_after_s", ChatSettings().offer_question_after_s)
    wait_s = require_int(
        threshold,
        "offer_question_after_s",
        minimum=0,
        maximum=THRESHOLD_MAX,
        message=_("Give the wait in seconds, 0 to %(n)d.") % {"n": THRESHOLD_MAX},
    )
    auto_assign = data.get("auto_assign", True)
    if not isinstance(auto_assign, bool):
        raise Invalid(_("Choose on or off."), field="auto_assign")
    return ChatConfig(weekly, exceptions, notes, ChatSettings(wait_s, auto_assign))


def config_json(config: ChatConfig) -> dict[str, object]:
    def labels(spans: list[Span] | tuple[Span, ...]) -> list[str]:
        return [s.label().replace("–", "-") for s in spans]

    return {
        "weekly": {WEEKDAYS[d]: labels(spans) for d, spans in sorted(config.weekly.items())},
        "exceptions": [
            {"day": day.isoformat(), "hours": labels(spans), "note": config.notes.get(day)}
            for day, spans in sorted(config.exceptions.items())
        ],
        "offer_question_after_s": config.settings.offer_question_after_s,
        "auto_assign": config.settings.auto_assign,
    }


async def current(ctx: ChatContext) -> ChatConfig:
    hours = await opening_hours.load(ctx.db)
    notes = {
        date.fromisoformat(k): v for k, v in (await opening_hours.exception_notes(ctx.db)).items()
    }
    return ChatConfig(
        {d: list(s) for d, s in hours.weekly.items()},
        {d: list(s) for d, s in hours.exceptions.items()},
        notes,
        await chat_settings.load(ctx.db),
    )


async def do_configure(ctx: ChatContext, config: ChatConfig, *, acting_staff: StaffMember) -> None:
    """Replace the opening hours and chat settings at once."""
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        await opening_hours.replace(tx, config.weekly, config.exceptions, config.notes)
        await chat_settings.save(tx, config.settings)
        await ctx.audit(
            tx, acting_staff, "chat_configure", "chat_settings", None, **config_json(config)
        )
        tx.announce(ChatChange())


async def do_set_capacity(
    ctx: ChatContext, staff_id: int, capacity: object, *, acting_staff: StaffMember
) -> None:
    _require_manager(acting_staff)
    seats = require_int(
        capacity,
        "capacity",
        minimum=0,
        maximum=CAPACITY_MAX,
        message=_("Give a number from 0 to %(n)d.") % {"n": CAPACITY_MAX},
    )
    async with ctx.db.transaction() as tx:
        if not await presence.set_capacity(tx, staff_id, seats):
            raise NotFound(_("No counsellor or adviser with that number."))
        await ctx.audit(tx, acting_staff, "chat_capacity", "staff", staff_id, capacity=seats)
        tx.announce(ChatChange(staff=(staff_id,)))


def _canned_fields(data: dict[str, object]) -> tuple[str, str, int]:
    title = require_text(data.get("title"), "title", minimum=1, maximum=CANNED_TITLE_MAX)
    body = require_text(data.get("body"), "body", minimum=1, maximum=CANNED_BODY_MAX)
    position = require_int(
        data.get("position", 0),
        "position",
        minimum=-10_000,
        maximum=10_000,
        message=_("Give the position as a whole number."),
    )
    return title, body, position


async def do_add_canned(
    ctx: ChatContext, data: dict[str, object], *, acting_staff: StaffMember
) -> int:
    _require_manager(acting_staff)
    title, body, position = _canned_fields(data)
    async with ctx.db.transaction() as tx:
        canned_id = await canned.insert(tx, title=title, body=body, position=position)
        await ctx.audit(tx, acting_staff, "canned_add", "canned", canned_id)
    return canned_id


async def do_edit_canned(
    ctx: ChatContext, canned_id: int, data: dict[str, object], *, acting_staff: StaffMember
) -> None:
    _require_manager(acting_staff)
    title, body, position = _canned_fields(data)
    async with ctx.db.transaction() as tx:
        if not await canned.update(tx, canned_id, title=title, body=body, position=position):
            raise NotFound(_("No such canned response."))
        await ctx.audit(tx, acting_staff, "canned_edit", "canned", canned_id)


async def do_retire_canned(ctx: ChatContext, canned_id: int, *, acting_staff: StaffMember) -> None:
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        if not await canned.retire(tx, canned_id):
            raise NotFound(_("No such canned response."))
        await ctx.audit(tx, acting_staff, "canned_retire", "canned", canned_id)
