"""Coordinators' audit log page: who did what to which item, newest first, with filters."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from moderation.errors import Invalid
from service import i18n, keys
from service.audit_labels import ACTION_LABELS, TARGET_LABELS, action_label, detail, target_label
from service.clock import local_day, local_midnight, to_iso
from service.http import notices
from service.http.params import whole_number
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.storage import audit, staff
from service.storage.db import Row
from service.storage.staff import MANAGING_ROLES, StaffMember

PAGE = "/coordinator/audit"
PAGE_SIZE = 50
FILTERS = ("action", "staff", "target", "item", "from", "to")
SYSTEM = "system"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

FIELD_LABELS = {
    "action": N_("Action"),
    "staff": N_("Staff member"),
    "target": N_("Target"),
    "item": N_("Item number"),
    "from": N_("From"),
    "to": N_("To"),
    "before": N_("Page"),
}


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
    item = query.get("item", "")
    target_id = whole_number(item) if item else None
    if item and target_id is None:
        raise _refuse(i18n.gettext("give a whole number."), "item")
    if item and not query.get("target"):
        raise _refuse(i18n.gettext("choose the target's type too."), "target")
    before = query.get("before", "")
    if before and whole_number(before) is None:
        raise _refuse(i18n.gettext("give a row number."), "before")
    return audit.LogFilter(
        action=_name(query.get("action", ""), "action"),
        staff_id=staff_id,
        system=who == SYSTEM,
        target_type=_name(query.get("target", ""), "target"),
        target_id=target_id,
        since=_local_midnight(first) if first else None,
        until=_local_midnight(last + timedelta(days=1)) if last else None,
        before=int(before) if before else None,
    )


def _entry(row: Row, staff_names: dict[int, str]) -> dict[str, Any]:
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
        "detail": detail(row["action"], row["detail"], staff_names),
    }


def _who(member: StaffMember) -> str:
    return member.username + (f" ({member.first_name})" if member.first_name else "")


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
        names = {p.member.id: _who(p.member) for p in people}
        entries = [_entry(row, names) for row in rows[:PAGE_SIZE]]
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
            "errors": notices.field_errors(error),
            # Every action the code writes, so "viewed" can be chosen before anyone viewed.
            "actions": sorted(
                ((a, action_label(a)) for a in {*ACTION_LABELS, *present}), key=lambda a: a[1]
            ),
            "people": [p.member for p in people],
            "targets": sorted(((t, target_label(t)) for t in TARGET_LABELS), key=lambda t: t[1]),
            "system": SYSTEM,
        },
        status=error.status if error else 200,
        no_store=True,
    )


def routes() -> list[web.RouteDef]:
    return [web.get(PAGE, page)]
