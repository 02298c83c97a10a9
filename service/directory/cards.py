"""Referral cards: what a young person sees of a service an answer or a chat points to."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from service.clock import to_iso
from service.directory.hsds import Record
from service.directory.opening import weekly_hours

SUMMARY_MAX = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def translated(item: Record, name: str, lang: str) -> Any:
    """The field in `lang` when the record carries it, else the Finnish HSDS field."""
    return item.get("translations", {}).get(lang, {}).get(name) or item.get(name)


def summary(text: str | None) -> str:
    """The description's first sentence, cut to one line."""
    if not text:
        return ""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].replace("\n", " ")
    return first if len(first) <= SUMMARY_MAX else first[: SUMMARY_MAX - 1].rstrip() + "…"


def card(record: Record, lang: str, now: datetime) -> dict[str, Any]:
    """The card's fields; `open_now` is None when the directory gives no weekly hours."""
    hours = weekly_hours(record.get("schedules", []))
    is_open = None if hours is None else hours.is_open(now)
    next_open = None if hours is None or is_open else hours.next_opening(now)
    phones = record.get("phones", [])
    return {
        "service_id": record["id"],
        "name": translated(record, "name", lang),
        "summary": summary(translated(record, "description", lang)),
        "status": record["status"],
        "open_now": is_open,
        "next_open": None if next_open is None else to_iso(next_open),
        "phone": phones[0]["number"] if phones else None,
        "url": record.get("url"),
        "link": f"/services/{record['id']}",
    }
