"""Checks and clean-up for text people type, shared by the ask form, the API and staff actions."""

from __future__ import annotations

import re
import unicodedata

from moderation.errors import Invalid
from service.i18n import gettext as _

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

QUESTION_MIN, QUESTION_MAX = 10, 4000
TITLE_MAX = 150
ANSWER_MIN, ANSWER_MAX = 2, 10000
REASON_MIN, REASON_MAX = 3, 1000


def clean(text: str) -> str:
    """NFC, unified newlines, no control characters, no surrounding blanks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def require_text(value: object, field: str, *, minimum: int, maximum: int) -> str:
    """Return the cleaned text or raise Invalid naming `field`."""
    if not isinstance(value, str):
        raise Invalid(_("This field must be text."), field=field)
    text = clean(value)
    if not text:
        raise Invalid(_("This field is required."), field=field)
    if len(text) < minimum:
        raise Invalid(_("Write at least %(n)d characters.") % {"n": minimum}, field=field)
    if len(text) > maximum:
        raise Invalid(
            _("Write at most %(n)d characters (now %(len)d).") % {"n": maximum, "len": len(text)},
            field=field,
        )
    return text


def optional_text(value: object, field: str, *, maximum: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(_("This field must be text."), field=field)
    text = " ".join(clean(value).split())
    if len(text) > maximum:
        raise Invalid(
            _("Write at most %(n)d characters (now %(len)d).") % {"n": maximum, "len": len(text)},
            field=field,
        )
    return text or None


def has_lone_surrogate(value: object) -> bool:
    """JSON escapes such as \\ud800 decode to text SQLite cannot store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


def require_int(value: object, field: str, *, minimum: int, maximum: int, message: str) -> int:
    """A whole number in range (not a bool, which JSON clients send by mistake), or Invalid."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise Invalid(message, field=field)
    return value


MAX_ID = 2**63 - 1  # SQLite's largest integer


def valid_id(value: object, field: str) -> int:
    """A row id from a client: a positive whole number SQLite can hold."""
    return require_int(value, field, minimum=1, maximum=MAX_ID, message=_("Give a valid number."))


def valid_after(value: object) -> int:
    """The last message id a client saw, 0 for none."""
    return require_int(
        value, "after", minimum=0, maximum=MAX_ID, message=_("Give the last message id you saw.")
    )


def optional_text_block(value: object, field: str, *, maximum: int) -> str | None:
    """Free text that may be left empty; keeps its line breaks, unlike a title."""
    if value is None or value == "":
        return None
    return require_text(value, field, minimum=1, maximum=maximum)
