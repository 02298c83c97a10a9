"""Weekly opening hours and dated exceptions, as coordinators set them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from service.hours import OpeningHours, Span
from service.storage.db import Database, Writer


async def load(db: Database | Writer) -> OpeningHours:
    weekly: dict[int, list[Span]] = defaultdict(list)
    for row in await db.fetch_all("SELECT weekday, opens, closes FROM opening_hours"):
        weekly[row[0]].append(Span(row[1], row[2]))
    exceptions: dict[date, list[Span]] = defaultdict(list)
    for row in await db.fetch_all("SELECT day, opens, closes FROM opening_exceptions"):
        spans = exceptions[date.fromisoformat(row[0])]
        if row[1] is not None:
            spans.append(Span(row[1], row[2]))
    return OpeningHours(
        {day: tuple(sorted(s)) for day, s in weekly.items()},
        {day: tuple(sorted(s)) for day, s in exceptions.items()},
    )


async def exception_notes(db: Database) -> dict[str, str]:
    rows = await db.fetch_all(
        "SELECT day, note FROM opening_exceptions WHERE note IS NOT NULL ORDER BY id"
    )
    return {row[0]: row[1] for row in rows}


async def replace(
    tx: Writer,
    weekly: dict[int, list[Span]],
    exceptions: dict[date, list[Span]],
    notes: dict[date, str],
) -> None:
    """Replace all hours at once, so a half-saved week can never be in force."""
    await tx.execute("DELETE FROM opening_hours")
    await tx.execute("DELETE FROM opening_exceptions")
    await tx.execute_many(
        "INSERT INTO opening_hours (weekday, opens, closes) VALUES (?, ?, ?)",
        [(day, s.opens, s.closes) for day, spans in weekly.items() for s in spans],
    )
    rows: list[tuple[str, int | None, int | None, str | None]] = []
    for day, spans in exceptions.items():
        note = notes.get(day)
        if not spans:
            rows.append((day.isoformat(), None, None, note))
        rows += [(day.isoformat(), s.opens, s.closes, note) for s in spans]
    await tx.execute_many(
        "INSERT INTO opening_exceptions (day, opens, closes, note) VALUES (?, ?, ?, ?)", rows
    )
