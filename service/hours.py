"""Weekly opening hours with dated exceptions, in Europe/Helsinki time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from service.clock import LOCAL_ZONE

DAY_MINUTES = 24 * 60
_LOOKAHEAD_DAYS = 35


@dataclass(frozen=True, order=True)
class Span:
    """Minutes of the local day, `opens` inclusive and `closes` exclusive (1440 = midnight)."""

    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not (0 <= self.opens < self.closes <= DAY_MINUTES):
            raise ValueError(f"bad span {self.opens}-{self.closes}")

    def label(self) -> str:
        return f"{_clock(self.opens)}–{_clock(self.closes)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str) -> int:
    """'08:30' → 510; '24:00' is allowed as the end of the day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY_MINUTES:
        raise ValueError(text)
    return value


# How people type a period: `9-16`, `9.00-16.00`, `09:00–16:00`, `klo 9 - 16.30`, `kl. 9–16`.
# Any dash (hyphen, en and em dash, minus), a dot or a colon in the clock, "klo"/"kl." before.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_TYPED_CLOCK = r"(?:klo|kl\.?)?\s*([0-9]{1,2})(?:[:.]([0-9]{2}))?"
_TYPED_SPAN = re.compile(rf"\s*{_TYPED_CLOCK}\s*[{_DASHES}]\s*{_TYPED_CLOCK}\s*", re.IGNORECASE)


def _typed_clock(hours: str, minutes: str | None) -> int:
    value = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60 or value > DAY_MINUTES:
        raise ValueError(f"{hours}:{minutes}")
    return value


def typed_spans(text: str) -> list[Span]:
    """Periods as staff type them, separated by commas or semicolons: `9-16, 18.00–21.00`.
    Raises ValueError naming the first part that is not a period with the end after the start."""
    spans = []
    for part in re.split(r"[,;]", text):
        if not part.strip():
            continue
        found = _TYPED_SPAN.fullmatch(part)
        if found is None:
            raise ValueError(part.strip())
        start_h, start_m, end_h, end_m = found.groups()
        try:
            spans.append(Span(_typed_clock(start_h, start_m), _typed_clock(end_h, end_m)))
        except ValueError:
            raise ValueError(part.strip()) from None
    return spans


@dataclass(frozen=True)
class OpeningHours:
    """`weekly[0]` is Monday. A date in `exceptions` uses its own spans (none = closed)."""

    weekly: dict[int, tuple[Span, ...]] = field(default_factory=dict)
    exceptions: dict[date, tuple[Span, ...]] = field(default_factory=dict)

    @property
    def is_set(self) -> bool:
        """With nothing set, the chat is open whenever someone is on duty."""
        return any(self.weekly.values()) or bool(self.exceptions)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """That day's hours; with no weekly hours at all, every day is open all day."""
        if day in self.exceptions:
            return self.exceptions[day]
        if not any(self.weekly.values()):
            return (Span(0, DAY_MINUTES),)
        return self.weekly.get(day.weekday(), ())

    def is_open(self, moment: datetime) -> bool:
        if not self.is_set:
            return True
        local = moment.astimezone(LOCAL_ZONE)
        minute = local.hour * 60 + local.minute
        return any(s.opens <= minute < s.closes for s in self.spans_on(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next moment after `moment` when the hours begin, or None within five weeks."""
        if not self.is_set:
            return None
        local = moment.astimezone(LOCAL_ZONE)
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for span in sorted(self.spans_on(day)):
                start = _local_moment(day, span.opens)
                if start > moment:
                    return start
        return None


def _local_moment(day: date, minutes: int) -> datetime:
    """A local wall-clock time as an aware datetime; a time skipped by DST moves forward."""
    naive = datetime.combine(day, time(minutes // 60, minutes % 60))
    aware = naive.replace(tzinfo=LOCAL_ZONE)
    # Wall-clock times in the spring-forward gap do not exist; zoneinfo maps them past the gap
    # when converted round trip, which is the moment the chat really opens.
    return aware.astimezone(LOCAL_ZONE)
