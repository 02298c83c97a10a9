"""Checks and clean-up for text people type, shared by the ask form, the API and staff actions."""

from __future__ import annotations

import re
import unicodedata

from moderation.errors import Invalid
from service.i18n import gettext as _

# C0 controls except tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069): these can make stored text read differently from what
# staff and other readers see. The marks LRM, RLM and ALM stay: Arabic or Hebrew text needs them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Letters and symbols that render as blank space although Unicode does not call them spaces.
_BLANK_GRAPHICS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
# Spaces, controls, format characters and marks. Private-use and unassigned code points count
# as visible: a font may draw them, and an emoji newer than Python's Unicode tables is unassigned.
_UNSEEN_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Mn", "Mc", "Me"})

QUESTION_MIN, QUESTION_MAX = 10, 4000
TITLE_MAX = 150
ANSWER_MIN, ANSWER_MAX = 2, 10000
REASON_MIN, REASON_MAX = 3, 1000


def clean(text: str) -> str:
    """NFC, unified newlines, no control or bidi-override characters, no surrounding blanks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def _shows(char: str) -> bool:
    return unicodedata.category(char) not in _UNSEEN_CATEGORIES and char not in _BLANK_GRAPHICS


def has_visible(text: str) -> bool:
    """Whether any character would show: not a space, control, format character (zero-width
    space, word joiner, BOM), lone combining mark or blank filler."""
    return any(_shows(char) for char in text)


def _shows_at_least(text: str, count: int) -> bool:
    """Whether `count` characters would show (stops counting there): a minimum length is met
    by what a reader sees, not by zero-width padding."""
    if len(text) < count:
        return False
    seen = 0
    for char in text:
        if _shows(char):
            seen += 1
            if seen >= count:
                return True
    return False


def _invisible(field: str) -> Invalid:
    return Invalid(_("This text has no visible characters. Please write it again."), field=field)


def require_text(value: object, field: str, *, minimum: int, maximum: int) -> str:
    """The one rule for text people type, on forms, the JSON API and sockets alike: the
    cleaned text (`clean`), or Invalid naming `field` when it is empty, shows nothing, or
    is too short or long."""
    if not isinstance(value, str):
        raise Invalid(_("This field must be text."), field=field)
    text = clean(value)
    if not text:
        raise Invalid(_("This field is required."), field=field)
    if not has_visible(text):
        raise _invisible(field)
    if minimum > 1 and not _shows_at_least(text, minimum):
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
    if text and not has_visible(text):
        raise _invisible(field)
    if len(text) > maximum:
        raise Invalid(
            _("Write at most %(n)d characters (now %(len)d).") % {"n": maximum, "len": len(text)},
            field=field,
        )
    return text or None


def has_unstorable_text(value: object) -> bool:
    """JSON escapes such as \\ud800 decode to text SQLite cannot store, and \\u0000 to text
    PostgreSQL refuses.

    Runs on every socket event: a loop over a stack instead of recursion, and ASCII text (most
    keys and many messages) is passed without encoding it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
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
