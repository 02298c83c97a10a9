"""UTC time as the service sees it; tests replace the clock to control time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
# Days, opening hours and statistics are Helsinki time; storage is UTC.
LOCAL_ZONE = ZoneInfo("Europe/Helsinki")
# Years a typed day may have: both midnights around it stay representable in UTC.
FIRST_YEAR, LAST_YEAR = 2000, 9998
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_ISO = "%Y-%m-%dT%H:%M:%SZ"


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Fixed-width UTC text, so stored timestamps sort and compare as strings (the same text
    as strftime(_ISO), made without strftime, which costs more on every chat message)."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, _ISO).replace(tzinfo=UTC)


def local_day(text: str) -> date:
    """A typed Helsinki calendar day 'YYYY-MM-DD'; ValueError for any other form or for a year
    outside FIRST_YEAR … LAST_YEAR."""
    if not _DAY.fullmatch(text):
        raise ValueError(text)
    day = date.fromisoformat(text)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(text)
    return day


def local_midnight(day: date) -> datetime:
    """The moment the Helsinki day begins."""
    return datetime.combine(day, time(), LOCAL_ZONE)
