"""Coordinators' chat settings page: opening hours, the queue-wait threshold, auto-assign,
each counsellor's and adviser's capacity, and canned responses, as forms without JavaScript."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from moderation.chat import configuration
from moderation.chat.configuration import THRESHOLD_MAX, WEEKDAYS
from moderation.errors import Invalid
from service import i18n, keys
from service.hours import typed_spans
from service.http import bodies, notices
from service.http.params import path_id
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.labels import DAY_NAMES
from service.storage import canned, presence
from service.storage.staff import MANAGING_ROLES, StaffMember

PAGE = "/coordinator/chat"
# The page shows every saved exception and one empty row for a new one.
EXCEPTION_ROWS_MAX = configuration.EXCEPTIONS_MAX + 1
WAIT_FIELD = "wait_minutes"
DONE = {
    "hours": N_("Opening hours and settings saved."),
    "capacity": N_("Capacity saved."),
    "canned_add": N_("Canned response added."),
    "canned_edit": N_("Canned response saved."),
    "canned_retire": N_("Canned response retired."),
}


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g}"


def _exception_row(index: int, day: str = "", hours: str = "", note: str = "") -> dict[str, Any]:
    return {"index": index, "day": day, "hours": hours, "note": note, "remove": False}


def _hours_values(config: dict[str, Any]) -> dict[str, Any]:
    """The hours form filled from the saved settings, with one empty row to add an exception."""
    exceptions = [
        _exception_row(n, e["day"], ", ".join(e["hours"]), e["note"] or "")
        for n, e in enumerate(config["exceptions"])
    ]
    return {
        "weekly": {day: ", ".join(config["weekly"].get(day, [])) for day in WEEKDAYS},
        "exceptions": [*exceptions, _exception_row(len(exceptions))],
        WAIT_FIELD: _minutes(config["offer_question_after_s"]),
        "auto_assign": config["auto_assign"],
    }


def _posted_hours(form: bodies.FormData) -> dict[str, Any]:
    """The hours form as typed, to translate for `parse_config` or to show again."""
    rows = []
    for n in range(EXCEPTION_ROWS_MAX):
        if f"exceptions-{n}-day" not in form:
            break
        row = _exception_row(
            n,
            form.get(f"exceptions-{n}-day", "").strip(),
            form.get(f"exceptions-{n}-hours", ""),
            form.get(f"exceptions-{n}-note", ""),
        )
        row["remove"] = f"exceptions-{n}-remove" in form
        rows.append(row)
    if not rows or any(rows[-1][k] for k in ("day", "hours", "note")):
        rows.append(_exception_row(len(rows)))
    return {
        "weekly": {day: form.get(f"weekly-{day}", "") for day in WEEKDAYS},
        "exceptions": rows,
        WAIT_FIELD: form.get(WAIT_FIELD, ""),
        "auto_assign": form.get("auto_assign") == "on",
    }


def _spans(text: str, field: str) -> list[str]:
    """`9-16, 18.00–21.00` → ["09:00-16:00", "18:00-21:00"]: the forms people type, as the
    settings store them; refused beside the form field `field` with an example."""
    try:
        spans = typed_spans(text)
    except ValueError:
        message = i18n.gettext("Write times like 09:00-16:00 or 9-16, the end after the start.")
        raise Invalid(message, field=field) from None
    return [span.label().replace("–", "-") for span in spans]


def _wait_seconds(raw: str) -> int:
    limit = THRESHOLD_MAX // 60
    message = i18n.gettext("Give the wait in minutes, 0 to %(n)d.") % {"n": limit}
    try:
        minutes = float(raw.strip().replace(",", "."))
    except ValueError:
        raise Invalid(message, field="offer_question_after_s") from None
    if not math.isfinite(minutes) or not 0 <= minutes <= limit:
        raise Invalid(message, field="offer_question_after_s")
    return round(minutes * 60)


def _config_data(values: dict[str, Any]) -> tuple[dict[str, object], list[int]]:
    """The JSON `parse_config` reads, and which form row each exception came from."""
    kept = [
        row
        for row in values["exceptions"]
        if not row["remove"] and any(row[k].strip() for k in ("day", "hours", "note"))
    ]
    data: dict[str, object] = {
        "weekly": {day: _spans(text, f"weekly-{day}") for day, text in values["weekly"].items()},
        "exceptions": [
            {
                "day": row["day"],
                "hours": _spans(row["hours"], f"exceptions-{row['index']}"),
                "note": row["note"].strip(),
            }
            for row in kept
        ],
        "offer_question_after_s": _wait_seconds(values[WAIT_FIELD]),
        "auto_assign": values["auto_assign"],
    }
    return data, [row["index"] for row in kept]


def _hours_error_name(field: str | None, rows: list[int]) -> str:
    """The form field an error from `parse_config` (or the form's own check) belongs beside."""
    if field and field.startswith(("weekly-", "exceptions-")):
        return field
    if field and field.startswith("weekly."):
        return "weekly-" + field.removeprefix("weekly.")
    if field and field.startswith("exceptions."):
        n = field.removeprefix("exceptions.")
        if n.isdigit() and int(n) < len(rows):
            return f"exceptions-{rows[int(n)]}"
    if field == "offer_question_after_s":
        return WAIT_FIELD
    return "hours"


def _field_labels(weekdays: list[tuple[str, str]], hours: dict[str, Any]) -> dict[str, str]:
    """What the error summary calls each hours field, so a message says which one is wrong."""
    labels = {f"weekly-{day}": label for day, label in weekdays}
    for row in hours["exceptions"]:
        labels[f"exceptions-{row['index']}"] = (
            i18n.gettext("Exception on %(day)s") % {"day": row["day"]}
            if row["day"]
            else i18n.gettext("New exception")
        )
    labels[WAIT_FIELD] = i18n.gettext(
        "Offer to send the message as a question when the young person has waited this long"
        " (minutes)"
    )
    return labels


async def _page(
    request: web.Request,
    *,
    hours: dict[str, Any] | None = None,
    capacity: dict[int, str] | None = None,
    canned_values: dict[str, dict[str, str]] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    chat = request.app[keys.CHAT]
    config = configuration.config_json(await configuration.current(chat))
    counsellors = await presence.staff_rows(chat.db, chat.present_cutoff())
    weekdays = [(day, i18n.gettext(DAY_NAMES[day])) for day in WEEKDAYS]
    hours = hours or _hours_values(config)
    return render(
        request,
        "coordinator/chat.html",
        {
            "weekdays": weekdays,
            "hours": hours,
            "field_labels": _field_labels(weekdays, hours),
            "wait_max": THRESHOLD_MAX // 60,
            "counsellors": counsellors,
            "capacity": capacity or {},
            "capacity_max": configuration.CAPACITY_MAX,
            "canned": await canned.list_active(chat.db),
            "canned_values": canned_values or {},
            "errors": errors or {},
            "done": notices.shown(request, DONE) if status == 200 else None,
        },
        status=status,
        no_store=True,
    )


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    return await _page(request)


@require_staff(*MANAGING_ROLES)
async def save_hours(request: web.Request, member: StaffMember) -> web.Response:
    values = _posted_hours(await bodies.form(request))
    rows: list[int] = []
    try:
        data, rows = _config_data(values)
        config = configuration.parse_config(data)
        await configuration.do_configure(request.app[keys.CHAT], config, acting_staff=member)
    except Invalid as exc:
        name = _hours_error_name(exc.field, rows)
        return await _page(request, hours=values, errors={name: exc.message}, status=exc.status)
    raise notices.after_change(PAGE, "hours")


@require_staff(*MANAGING_ROLES)
async def save_capacity(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    typed = (await bodies.form(request)).get("capacity", "").strip()
    try:
        await configuration.do_set_capacity(
            request.app[keys.CHAT],
            staff_id,
            int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 6 else typed,
            acting_staff=member,
        )
    except Invalid as exc:
        return await _page(
            request,
            capacity={staff_id: typed},
            errors={f"capacity-{staff_id}": exc.message},
            status=exc.status,
        )
    raise notices.after_change(PAGE, "capacity")


def _canned_form(form: bodies.FormData) -> dict[str, str]:
    return {name: form.get(name, "") for name in ("title", "body", "position")}


def _canned_data(values: dict[str, str]) -> dict[str, object]:
    position = values["position"].strip() or "0"
    signed = position.removeprefix("-")
    number = signed.isascii() and signed.isdigit() and len(signed) < 12
    return {**values, "position": int(position) if number else position}


async def _canned_refused(
    request: web.Request, key: str, values: dict[str, str], exc: Invalid
) -> web.Response:
    return await _page(
        request,
        canned_values={key: values},
        errors={f"canned-{key}-{exc.field or 'title'}": exc.message},
        status=exc.status,
    )


@require_staff(*MANAGING_ROLES)
async def add_canned(request: web.Request, member: StaffMember) -> web.Response:
    values = _canned_form(await bodies.form(request))
    try:
        await configuration.do_add_canned(
            request.app[keys.CHAT], _canned_data(values), acting_staff=member
        )
    except Invalid as exc:
        return await _canned_refused(request, "new", values, exc)
    raise notices.after_change(PAGE, "canned_add", "#canned")


@require_staff(*MANAGING_ROLES)
async def edit_canned(request: web.Request, member: StaffMember) -> web.Response:
    canned_id = path_id(request)
    values = _canned_form(await bodies.form(request))
    try:
        await configuration.do_edit_canned(
            request.app[keys.CHAT], canned_id, _canned_data(values), acting_staff=member
        )
    except Invalid as exc:
        return await _canned_refused(request, str(canned_id), values, exc)
    raise notices.after_change(PAGE, "canned_edit", "#canned")


@require_staff(*MANAGING_ROLES)
async def retire_canned(request: web.Request, member: StaffMember) -> web.Response:
    await configuration.do_retire_canned(
        request.app[keys.CHAT], path_id(request), acting_staff=member
    )
    raise notices.after_change(PAGE, "canned_retire", "#canned")


def routes() -> list[web.RouteDef]:
    return [
        web.get(PAGE, page),
        web.post(PAGE, save_hours),
        web.post(PAGE + "/capacity/{id}", save_capacity),
        web.post(PAGE + "/canned", add_canned),
        web.post(PAGE + "/canned/{id}", edit_canned),
        web.post(PAGE + "/canned/{id}/retire", retire_canned),
    ]
