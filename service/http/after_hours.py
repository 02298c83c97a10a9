"""Help at any hour: what happens next when the chat is closed, and when an answer can come.

Two reads per page: the number of questions waiting and the reply times of the last four
weeks. Neither page that shows this is in the page cache, so the figures are never older than
the page; the chat's open/closed state comes from the chat hub, which every change refreshes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from babel.dates import format_date, format_datetime

from moderation import answer_time
from service import i18n, keys
from service.clock import LOCAL_ZONE, from_iso, to_iso
from service.storage import answer_pace, questions

# The directory's "open now" filter (service/http/directory.py).
OPEN_NOW_URL = "/services?open=1"
# "torstaina 26.11.2026", "torsdag 26.11.2026", "Thursday 26 Nov 2026": Finnish babel writes
# the day's name in the form "viimeistään …" needs; with the year, a sentence ending in the
# day gets no second full stop.
_DAY = {"fi": "EEEE d.M.yyyy", "sv": "EEEE d.M.yyyy", "en": "EEEE d MMM yyyy"}
# "keskiviikkona 25.11. klo 10.00": within the week or two ahead, the year goes without saying.
_MOMENT = {
    "fi": "EEEE d.M. 'klo' H.mm",
    "sv": "EEEE d.M. 'kl.' H.mm",
    "en": "EEEE d MMM 'at' HH:mm",
}


@dataclass(frozen=True)
class AfterHours:
    chat_open: bool
    next_open: str  # the chat's next opening in words, "" when not known
    expectation: answer_time.Expectation | None  # None: the queue is too long for a date
    waiting: int
    answer_by: str  # the expectation's day in words
    open_now_url: str = OPEN_NOW_URL


def day_words(day: date) -> str:
    return format_date(day, i18n.in_language(_DAY), locale=i18n.babel_locale())


def moment_words(moment: datetime) -> str:
    pattern = i18n.in_language(_MOMENT)
    return format_datetime(moment, pattern, tzinfo=LOCAL_ZONE, locale=i18n.babel_locale())


def _moment(text: str) -> datetime:
    """A stored UTC time; fromisoformat, as hundreds are read on a page (strptime is slower)."""
    return datetime.fromisoformat(text)


async def _pace(request: web.Request, now: datetime) -> answer_time.Pace:
    since = to_iso(now - answer_time.HISTORY)
    replied = await answer_pace.replied_since(keys.db(request), since, limit=answer_time.SAMPLE)
    return answer_time.pace([(_moment(a), _moment(r)) for a, r in replied], now)


async def expectation_for(
    request: web.Request, question: questions.Question
) -> answer_time.Expectation | None:
    """When the asker of a waiting question can expect the answer, counted from its asking."""
    now = request.app[keys.CLOCK]()
    ahead = await answer_pace.waiting(keys.db(request), ahead_of=(question.asked_at, question.id))
    found = await _pace(request, now)
    return answer_time.expect(found, ahead=ahead, since=from_iso(question.asked_at), now=now)


async def after_hours_context(request: web.Request) -> dict[str, Any]:
    """Template variables for _after_hours.html and _answer_expectation.html: `after_hours`."""
    now = request.app[keys.CLOCK]()
    waiting = await answer_pace.waiting(keys.db(request))
    expectation = answer_time.expect(await _pace(request, now), ahead=waiting, since=now, now=now)
    chat_open, next_open = request.app[keys.CHAT_HUB].status()
    return {
        "after_hours": AfterHours(
            chat_open=chat_open,
            next_open="" if next_open is None else moment_words(next_open),
            expectation=expectation,
            waiting=waiting,
            answer_by="" if expectation is None else day_words(expectation.by),
        )
    }
