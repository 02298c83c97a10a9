"""Coordinators' audit log page: who did what to which item, newest first, with filters."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from moderation.errors import Invalid
from service import i18n, keys
from service.clock import local_day, local_midnight, to_iso
from service.http.params import whole_number
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.storage import audit, staff
from service.storage.db import Row
from service.storage.staff import MANAGING_ROLES, StaffMember

PAGE = "/coordinator/audit"
PAGE_SIZE = 50
FILTERS = ("action", "staff", "target", "from", "to")
SYSTEM = "system"
DETAIL_MAX = 200
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Every action the code writes (grep `audit.append`, `ctx.audit`, `_audit`); others show raw.
ACTION_LABELS = {
    "sign_in": N_("Signed in"),
    "sign_in_locked": N_("Sign-in locked after failed attempts"),
    "sign_out": N_("Signed out"),
    "create_staff": N_("Created a staff account"),
    "claim": N_("Claimed a question"),
    "release": N_("Released a question"),
    "edit": N_("Edited a question"),
    "answer": N_("Answered a question"),
    "mask": N_("Masked personal details in a question"),
    "reject": N_("Rejected a question"),
    "chat_accept": N_("Accepted a chat"),
    "chat_transfer": N_("Transferred a chat"),
    "chat_end": N_("Ended a chat"),
    "chat_block": N_("Blocked a chat visitor"),
    "chat_configure": N_("Changed chat hours and settings"),
    "chat_capacity": N_("Changed a chat capacity"),
    "canned_add": N_("Added a canned response"),
    "canned_edit": N_("Edited a canned response"),
    "canned_retire": N_("Retired a canned response"),
    "directory_import": N_("Imported the service directory"),
    "staff_role": N_("Changed a staff member's role"),
    "staff_deactivate": N_("Deactivated a staff account"),
    "staff_reactivate": N_("Reactivated a staff account"),
    "staff_password_reset": N_("Reset a staff member's password"),
    "category_add": N_("Added a category"),
    "category_edit": N_("Edited a category"),
    "category_deactivate": N_("Deactivated a category"),
    "category_reactivate": N_("Reactivated a category"),
    "watched_word_add": N_("Added a watched word"),
    "watched_word_action": N_("Changed a watched word's action"),
    "watched_word_deactivate": N_("Deactivated a watched word"),
    "watched_word_reactivate": N_("Reactivated a watched word"),
    "watched_word_delete": N_("Deleted a watched word"),
    "retention_swept": N_("Deleted expired messages and questions"),
}
FIELD_LABELS = {
    "action": N_("Action"),
    "staff": N_("Staff member"),
    "target": N_("Target"),
    "from": N_("From"),
    "to": N_("To"),
    "before": N_("Page"),
}
TARGET_LABELS = {
    "question": N_("Question"),
    "chat": N_("Chat"),
    "staff": N_("Staff member"),
    "canned": N_("Canned response"),
    "chat_settings": N_("Chat settings"),
    "directory": N_("Service directory"),
    "category": N_("Category"),
    "watched_word": N_("Watched word"),
    "retention": N_("Retention"),
}


def action_label(action: str) -> str:
    return i18n.gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def target_label(target_type: str) -> str:
    return i18n.gettext(TARGET_LABELS[target_type]) if target_type in TARGET_LABELS else target_type


def _refuse(message: str, field: str) -> Invalid:
    """A refusal whose message starts with the field's label, shown beside that field."""
    label = i18n.gettext(FIELD_LABELS[field])
    return Invalid(
        i18n.gettext("%(field)s: %(problem)s") % {"field": label, "problem": message}, field=field
    )


def _name(raw: str, field: str) -> str | None:
    if not raw:
        return None
    if not _NAME.fullmatch(raw):
        raise _refuse(i18n.gettext("choose from the list."), field)
    return raw


def _day(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return local_day(raw)
    except ValueError:
        raise _refuse(i18n.gettext("give a date like 2026-11-24."), field) from None


def _local_midnight(day: date) -> str:
    return to_iso(local_midnight(day))


def _filters(query: dict[str, str], staff_ids: set[int]) -> audit.LogFilter:
    """The query string as a filter; a value that cannot be one is refused naming its field."""
    who = query.get("staff", "")
    staff_id = None
    if who and who != SYSTEM:
        staff_id = whole_number(who)
        if staff_id not in staff_ids:
            raise _refuse(i18n.gettext("choose from the list."), "staff")
    first, last = _day(query.get("from", ""), "from"), _day(query.get("to", ""), "to")
    if first and last and first > last:
        raise _refuse(i18n.gettext("the end date is before the start date."), "to")
    before = query.get("before", "")
    if before and whole_number(before) is None:
        raise _refuse(i18n.gettext("give a row number."), "before")
    return audit.LogFilter(
        action=_name(query.get("action", ""), "action"),
        staff_id=staff_id,
        system=who == SYSTEM,
        target_type=_name(query.get("target", ""), "target"),
        since=_local_midnight(first) if first else None,
        until=_local_midnight(last + timedelta(days=1)) if last else None,
        before=int(before) if before else None,
    )


def _value(value: object) -> str:
    if isinstance(value, bool):
        return i18n.gettext("yes") if value else i18n.gettext("no")
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "–"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) or "–"
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def _detail(raw: str | None) -> list[tuple[str, str]]:
    """The detail JSON as key: value pairs; the template escapes them."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [("", _short(raw))]
    if not isinstance(data, dict):
        return [("", _short(_value(data)))]
    return [(str(k), _short(_value(v))) for k, v in data.items()]


def _entry(row: Row) -> dict[str, Any]:
    if row["staff_id"] is None:
        who = i18n.gettext("system")
    elif row["username"] is None:
        who = f"#{row['staff_id']}"
    else:
        who = row["username"] + (f" ({row['first_name']})" if row["first_name"] else "")
    target_id = row["target_id"]
    return {
        "id": row["id"],
        "at": row["at"],
        "who": who,
        "action": row["action"],
        "label": action_label(row["action"]),
        "target": target_label(row["target_type"]),
        "target_id": target_id,
        "link": f"/staff/questions/{target_id}"
        if row["target_type"] == "question" and target_id is not None
        else None,
        "detail": _detail(row["detail"]),
    }


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    db = keys.db(request)
    people = await staff.list_all(db)
    query = {name: request.query.get(name, "").strip() for name in (*FILTERS, "before")}
    error: Invalid | None = None
    entries: list[dict[str, Any]] = []
    older = None
    try:
        filters = _filters(query, {p.member.id for p in people})
    except Invalid as exc:
        error = exc
    else:
        rows = await audit.page(db, filters, limit=PAGE_SIZE + 1)
        entries = [_entry(row) for row in rows[:PAGE_SIZE]]
        if len(rows) > PAGE_SIZE:
            kept = {k: v for k, v in query.items() if k in FILTERS and v}
            older = str(URL.build(path=PAGE, query={**kept, "before": entries[-1]["id"]}))
    present = await audit.actions(db)
    kept = {k: v for k, v in query.items() if k in FILTERS and v}
    return render(
        request,
        "coordinator/audit.html",
        {
            "entries": entries,
            "older": older,
            "newest": str(URL.build(path=PAGE, query=kept)) if query["before"] else None,
            "values": query,
            "error": error,
            "errors": {error.field: error.message} if error and error.field else {},
            "actions": sorted(((a, action_label(a)) for a in present), key=lambda a: a[1]),
            "people": [p.member for p in people],
            "targets": sorted(((t, target_label(t)) for t in TARGET_LABELS), key=lambda t: t[1]),
            "system": SYSTEM,
        },
        status=error.status if error else 200,
        no_store=True,
    )


def routes() -> list[web.RouteDef]:
    return [web.get(PAGE, page)]
