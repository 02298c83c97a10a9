"""Weekly opening hours with dated exceptions, in Europe/Helsinki time."""

from __future__ import annotations

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
