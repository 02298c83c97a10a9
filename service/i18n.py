"""Per-request translations from the Babel catalogs in web/translations; never global."""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

if TYPE_CHECKING:
    from aiohttp import web

from service.clock import LOCAL_ZONE
from web import TRANSLATIONS_DIR

# In the order the language switch shows them: Finnish first, Finland's two national
# languages before English.
LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
# The visitor's choice of language, kept between pages.
LANG_COOKIE = "lang"
# Dates and numbers as they are written in Finland: Finland Swedish writes 3.12.2026 as
# Finnish does, not Sweden's 2026-12-03.
_BABEL_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}
_MOMENT_PATTERNS = {
    "fi": "d.M.yyyy 'klo' H.mm",
    "sv": "d.M.yyyy 'kl.' H.mm",
    "en": "d MMM yyyy, HH:mm",
}
_DAY_PATTERNS = {"fi": "d.M.yyyy", "sv": "d.M.yyyy", "en": "d MMM yyyy"}
# A browser's Accept-Language is a short list; more than this many entries is not a browser.
_MAX_ACCEPTED = 32

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


# The names of the languages in the reader's language, for sentences such as the crisis
# help's note about words written in another language.
LANGUAGE_NAMES = {"fi": N_("Finnish"), "sv": N_("Swedish"), "en": N_("English")}


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def babel_locale() -> str:
    """The Babel locale for the reader's dates and numbers (Finland's variant of each)."""
    return _BABEL_LOCALES.get(_current.get(), _BABEL_LOCALES[DEFAULT_LANGUAGE])


def browser_locale() -> str:
    """The reader's locale for the browser's own date formatting (Intl): Finland Swedish, so a
    chat's times read 14.05 as on the page, not Sweden's 14:05."""
    return {"sv": "sv-FI"}.get(_current.get(), _current.get())


def in_language(patterns: Mapping[str, str]) -> str:
    """The reader's language's entry of a per-language table (a date pattern), else Finnish's."""
    return patterns.get(_current.get(), patterns[DEFAULT_LANGUAGE])


def format_moment(moment: datetime) -> str:
    """A UTC moment as local Helsinki time in the reader's language."""
    return format_datetime(
        moment, in_language(_MOMENT_PATTERNS), tzinfo=LOCAL_ZONE, locale=babel_locale()
    )


def format_day(day: date) -> str:
    """A calendar day in the reader's language: 3.12.2026, or 3 Dec 2026 in English."""
    return format_date(day, in_language(_DAY_PATTERNS), locale=babel_locale())


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


def accepted_language(header: str | None) -> str | None:
    """The best of our languages in an Accept-Language header (RFC 9110 12.5.4), or None.

    `sv-FI`, `sv-SE` and `sv` all mean Swedish: only the primary subtag counts. The highest
    q-value wins, the earlier entry on a tie; `q=0` means "not this one"; a malformed q-value
    counts as 0, so a broken header never errs."""
    if not header:
        return None
    best, best_q = None, 0.0
    for entry in header.split(",")[:_MAX_ACCEPTED]:
        tag, *params = entry.split(";")
        primary = tag.strip().split("-")[0].lower()
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value.strip())
        if quality > best_q:
            best, best_q = primary, quality
    return best


def _quality(value: str) -> float:
    try:
        quality = float(value)
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0


def request_language(request: web.BaseRequest) -> str:
    """The language a request (a page, or a socket's opening request) asks for: `?lang=`,
    else the cookie, else the browser's Accept-Language, else Finnish. A code we do not
    have (`?lang=de`) is passed over silently."""
    for lang in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if lang in LANGUAGES:
            return str(lang)
    return accepted_language(request.headers.get("Accept-Language")) or DEFAULT_LANGUAGE
