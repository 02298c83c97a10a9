"""Per-request translations from the Babel catalogs in web/translations; never global."""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

if TYPE_CHECKING:
    from aiohttp import web

from service.clock import LOCAL_ZONE
from web import TRANSLATIONS_DIR

LANGUAGES = ("fi", "en")
DEFAULT_LANGUAGE = "fi"
# The visitor's choice of language, kept between pages.
LANG_COOKIE = "lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("lang", default=DEFAULT_LANGUAGE)
_catalogs: dict[str, NullTranslations] = {}


def _load(lang: str) -> NullTranslations:
    """Compile the .po catalog in memory, so no generated .mo file needs to be kept in step."""
    path = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def translations(lang: str) -> NullTranslations:
    if lang not in _catalogs:
        _catalogs[lang] = _load(lang)
    return _catalogs[lang]


def current_language() -> str:
    return _current.get()


def set_language(lang: str) -> contextvars.Token[str]:
    return _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: contextvars.Token[str]) -> None:
    _current.reset(token)


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Translate in `lang` for the block: a request's language, or one socket's."""
    token = set_language(lang or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        reset_language(token)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def format_moment(moment: datetime) -> str:
    """A UTC moment as local Helsinki time in the reader's language."""
    return format_datetime(
        moment,
        "d.M.yyyy 'klo' H.mm" if _current.get() == "fi" else "d MMM yyyy, HH:mm",
        tzinfo=LOCAL_ZONE,
        locale=_current.get(),
    )


def format_duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return gettext("under a minute")
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return gettext("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days = hours // 24
    return ngettext("%(num)d day", "%(num)d days", days) % {"num": days}


def request_language(request: web.BaseRequest) -> str:
    """The language a request (a page, or a socket's opening request) asks for: `?lang=`,
    else the cookie, else Finnish."""
    for lang in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if lang in LANGUAGES:
            return str(lang)
    return DEFAULT_LANGUAGE
