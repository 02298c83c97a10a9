"""The audit log in words: actions, targets and detail keys and values, in the page's language.

Every action the code writes has a label here (tests/test_data_protection.py scans the source);
a key or action that is not known (a row written by a newer version) shows as stored."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from moderation.filters.personal_data import LABELS as PERSONAL_LABELS
from service import i18n
from service.i18n import N_
from service.labels import DAY_NAMES, role_label

ACTION_LABELS = {
    "sign_in": N_("Signed in"),
    "sign_in_locked": N_("Sign-in locked after failed attempts"),
    "second_factor_locked": N_("Second-factor codes locked after too many wrong codes"),
    "sign_out": N_("Signed out"),
    "create_staff": N_("Created a staff account"),
    "change_own_password": N_("Changed their own password"),
    "enrol_second_factor": N_("Set up a second sign-in factor"),
    "reset_second_factor": N_("Reset a staff member's second factor"),
    "export_personal_data": N_("Exported a staff member's personal data"),
    "erase_personal_data": N_("Erased a departed staff member's name"),
    "viewed": N_("Viewed"),
    "show_personal_data": N_("Showed masked personal details"),
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
DETAIL_LABELS = {
    # questions
    "fields": N_("Changed"),
    "kinds": N_("Personal details"),
    "publish": N_("Published on the board"),
    "personal_data_confirmed": N_("Published with personal details confirmed"),
    # chats
    "to_staff": N_("To colleague"),
    "to_role": N_("To role"),
    "outcome": N_("Outcome"),
    "hours": N_("Blocked for"),
    "reason": N_("Reason"),
    "capacity": N_("Chat capacity"),
    "weekly": N_("Weekly hours"),
    "exceptions": N_("Exceptions"),
    "offer_question_after_s": N_("Offer to leave a question after"),
    "auto_assign": N_("Assign chats automatically"),
    # staff
    "role": N_("Role"),
    "previous": N_("Before"),
    # watched words
    "phrase": N_("Phrase"),
    "lang": N_("Language"),
    "action": N_("Action"),
    # retention: how many were deleted
    "chats": N_("Chat transcripts"),
    "private_questions": N_("Private questions"),
    "rejected_questions": N_("Rejected questions"),
    "visitors": N_("Chat visitors"),
    "audit_rows": N_("Audit log entries"),
    # directory import: how many records
    "created": N_("Created"),
    "updated": N_("Updated"),
    "unchanged": N_("Unchanged"),
    "failed": N_("Failed"),
}
_QUESTION_FIELDS = {"body": N_("Question text"), "title": N_("Title"), "category": N_("Topic")}
_OUTCOMES = {
    "advice": N_("Advice given"),
    "referred": N_("Referred to a service"),
    "question": N_("Turned into a question"),
    "no_contact": N_("No contact"),
}
_WORD_ACTIONS = {"block": N_("Block"), "review": N_("Review"), "crisis": N_("Crisis")}
DETAIL_MAX = 200


def action_label(action: str) -> str:
    return i18n.gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def target_label(target_type: str) -> str:
    return i18n.gettext(TARGET_LABELS[target_type]) if target_type in TARGET_LABELS else target_type


def _plain(value: object) -> str:
    """Any JSON value in words: yes/no, a dash for nothing, lists and objects joined."""
    if isinstance(value, bool):
        return i18n.gettext("yes") if value else i18n.gettext("no")
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "–"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "–"
    return str(value)


def _named(names: Mapping[str, str]) -> Callable[[object], str]:
    """A value (or a list of them) looked up in `names`; an unknown one is shown as stored."""

    def name(value: object) -> str:
        if isinstance(value, list):
            return ", ".join(name(v) for v in value) or "–"
        if isinstance(value, str) and value in names:
            return i18n.gettext(names[value])
        return _plain(value)

    return name


def _minutes(seconds: object) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return _plain(seconds)
    minutes = round(seconds / 60)
    return i18n.ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}


def _hours(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return _plain(value)
    return i18n.ngettext("%(num)d hour", "%(num)d hours", value) % {"num": value}


def _spans(value: object) -> str:
    """Opening hours of one day: "9:00-16:00, 18:00-20:00", or closed."""
    if isinstance(value, list) and not value:
        return i18n.gettext("closed")
    return _plain(value)


def _weekly(value: object) -> str:
    if not isinstance(value, dict):
        return _plain(value)
    return "; ".join(f"{_named(DAY_NAMES)(day)}: {_spans(spans)}" for day, spans in value.items())


def _exceptions(value: object) -> str:
    if not isinstance(value, list):
        return _plain(value)
    days = []
    for item in value:
        if not isinstance(item, dict):
            days.append(_plain(item))
            continue
        text = f"{item.get('day', '')}: {_spans(item.get('hours'))}"
        days.append(text + (f" ({item['note']})" if item.get("note") else ""))
    return "; ".join(days) or "–"


def _role(value: object) -> str:
    return role_label(value) if isinstance(value, str) else _plain(value)


_VALUES: dict[str, Callable[[object], str]] = {
    "fields": _named(_QUESTION_FIELDS),
    "kinds": _named(PERSONAL_LABELS),
    "personal_data_confirmed": _named(PERSONAL_LABELS),
    "outcome": _named(_OUTCOMES),
    "to_role": _role,
    "role": _role,
    "hours": _hours,
    "offer_question_after_s": _minutes,
    "weekly": _weekly,
    "exceptions": _exceptions,
    "lang": _named(i18n.LANGUAGE_NAMES),
    "action": _named(_WORD_ACTIONS),
}


def _value(action: str, key: str, value: object, staff_names: Mapping[int, str]) -> str:
    if key == "previous":
        # The role before a role change; the action before a watched word's change.
        return _role(value) if action == "staff_role" else _named(_WORD_ACTIONS)(value)
    if key == "to_staff" and isinstance(value, int) and not isinstance(value, bool):
        return staff_names.get(value, f"#{value}")
    return _VALUES.get(key, _plain)(value)


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def detail(
    action: str, raw: str | None, staff_names: Mapping[int, str] | None = None
) -> list[tuple[str, str]]:
    """An audit row's detail JSON as (label, value) pairs in the page's language."""
    if not raw:
        return []
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return [("", _short(raw))]
    if not isinstance(data, dict):
        return [("", _short(_plain(data)))]
    names = staff_names or {}
    return [
        (
            i18n.gettext(DETAIL_LABELS[key]) if key in DETAIL_LABELS else str(key),
            _short(_value(action, str(key), value, names)),
        )
        for key, value in data.items()
    ]
