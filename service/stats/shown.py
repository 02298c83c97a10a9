"""A table cell as the page shows it (the reader's language, exact) and as an export writes it
(plain numbers, small counts hidden)."""

from __future__ import annotations

from babel.numbers import format_decimal

from service.i18n import current_language
from service.i18n import gettext as _
from service.stats.tables import Cell

# Exported counts from 1 to 4 read "<5", and figures derived from so few cases are left empty,
# so that a small municipality's figures cannot single out a young person. Zero reveals no one.
SMALL = 5
HIDDEN = "<5"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return _("%(s)d s") % {"s": whole}
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def on_page(cell: Cell) -> str:
    value, lang = cell.value, current_language()
    if value is None:
        return "–"
    if cell.kind == "text":
        return str(value)
    if not isinstance(value, int | float):
        return str(value)
    if cell.kind == "seconds":
        return _duration(value)
    if cell.kind == "share":
        return format_decimal(value * 100, "#,##0.0", locale=lang) + "\u00a0%"
    if cell.kind in ("score", "hours"):
        return format_decimal(value, "#,##0.0", locale=lang)
    return format_decimal(value, locale=lang)


def in_export(cell: Cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if cell.kind == "text":
        return str(value)
    if cell.kind == "count" and isinstance(value, int) and 0 < value < SMALL:
        return HIDDEN
    if cell.base is not None and 0 < cell.base < SMALL:
        return ""
    if cell.kind == "seconds" and isinstance(value, int | float):
        return str(round(value))
    if cell.kind == "share" and isinstance(value, int | float):
        return f"{value * 100:.1f}"
    if cell.kind in ("score", "hours") and isinstance(value, int | float):
        return f"{value:.1f}"
    return str(value)
