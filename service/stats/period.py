"""The period and filters a statistics request asks for, in Helsinki days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from moderation.errors import Invalid
from service.clock import LOCAL_ZONE, local_day, local_midnight
from service.i18n import gettext as _

CHANNELS = ("question", "chat")
PRESETS = ("week", "30days", "month", "last-month")
MAX_DAYS = 731


@dataclass(frozen=True)
class Period:
    """Helsinki calendar days `first` … `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class StatsQuery:
    period: Period
    category: str | None = None
    channel: str | None = None

    def shows(self, channel: str) -> bool:
        return self.channel in (None, channel)

    def as_params(self) -> dict[str, str]:
        """The query string that asks for this again (for export links)."""
        params = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        if self.category:
            params["category"] = self.category
        if self.channel:
            params["channel"] = self.channel
        return params


def preset(name: str, today: date) -> Period:
    if name == "week":
        return Period(today - timedelta(days=6), today)
    if name == "month":
        return Period(today.replace(day=1), today)
    if name == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last)
    return Period(today - timedelta(days=29), today)


def _day(value: str, field: str) -> date:
    try:
        return local_day(value)
    except ValueError:
        raise Invalid(_("Give the day as YYYY-MM-DD."), field=field) from None


def parse(
    query: Mapping[str, str], now: datetime, categories: set[str], *, with_channel: bool = True
) -> StatsQuery:
    """From `?period=` or `?from=&to=` (default: the last 30 days) and the filters; a bad value
    is refused naming its parameter."""
    today = now.astimezone(LOCAL_ZONE).date()
    name = query.get("period")
    if name is not None and name not in PRESETS:
        raise Invalid(_("Choose a period from the list."), field="period")
    period = preset(name or "30days", today)
    if name is None and ("from" in query or "to" in query):
        first = _day(query.get("from", ""), "from") if query.get("from") else period.first
        last = _day(query.get("to", ""), "to") if query.get("to") else today
        if last < first:
            raise Invalid(_("The end of the period is before its start."), field="to")
        if (last - first).days >= MAX_DAYS:
            raise Invalid(
                _("Choose a period of at most %(n)d days.") % {"n": MAX_DAYS}, field="from"
            )
        period = Period(first, last)
    category = query.get("category") or None
    if category is not None and category not in categories:
        raise Invalid(_("Choose a category from the list."), field="category")
    channel = query.get("channel") or None
    if channel is not None and (not with_channel or channel not in CHANNELS):
        raise Invalid(_("Choose questions or chat."), field="channel")
    return StatsQuery(period, category, channel)
