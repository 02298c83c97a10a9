"""What roles, question states and weekdays are called on pages and in socket payloads."""

from __future__ import annotations

from service import i18n
from service.i18n import N_

ROLE_LABELS = {
    "counsellor": N_("Social counsellor"),
    "adviser": N_("Employment adviser"),
    "coordinator": N_("Coordinator"),
    "admin": N_("Administrator"),
}
STATUS_LABELS = {
    "pending": N_("Waiting for an answer"),
    "answered": N_("Answered"),
    "published": N_("Answered and published"),
    "rejected": N_("Not published"),
}

# The opening hours' weekday keys, as the chat settings page and the audit log name them.
DAY_NAMES = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}


def role_label(role: str) -> str:
    return i18n.gettext(ROLE_LABELS.get(role, role))


def status_label(status: str) -> str:
    return i18n.gettext(STATUS_LABELS.get(status, status))
