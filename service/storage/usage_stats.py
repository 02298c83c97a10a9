"""Aggregate reads over usage events for the statistics: counts, nearest-rank percentiles and
per-hour buckets, all filtered by time and optionally by category and channel."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Row

# The one detail each kind is split by in the counts, such as whether the chat was open.
_SPLIT = {
    "chat_requested": "$.open",
    "chat_ended": "$.by",
    "chat_abandoned": "$.by",
    "question_answered": "$.publish",
    "chat_assigned": "$.again",
}
_SPLIT_SQL = (
    "CASE kind "
    + " ".join(
        f"WHEN '{kind}' THEN json_extract(detail, '{path}')" for kind, path in _SPLIT.items()
    )
    + " END"
)


@dataclass(frozen=True)
class EventFilter:
    """UTC `start` ≤ at < `end`, and optionally one category slug and one channel."""

    start: str
    end: str
    category: str | None = None
    channel: str | None = None

    def where(self, *, by_topic: bool = True, table: str = "") -> tuple[str, list[object]]:
        """`by_topic=False` leaves out category and channel: staff availability has neither.
        `table` is the alias to qualify the columns with, such as "a."."""
        sql = f"{table}at >= ? AND {table}at < ?"
        params: list[object] = [self.start, self.end]
        if by_topic and self.category is not None:
            sql += f" AND {table}category = ?"
            params.append(self.category)
        if by_topic and self.channel is not None:
            sql += f" AND {table}channel = ?"
            params.append(self.channel)
        return sql, params


@dataclass(frozen=True)
class Spread:
    """How many values there were, their median and 90th percentile (nearest rank)."""

    n: int = 0
    median: float | None = None
    p90: float | None = None


async def counts(db: Database, f: EventFilter) -> dict[tuple[str, object], int]:
    """(kind, split value) → number of events; the split value is None for unsplit kinds."""
    where, params = f.where()
    rows = await db.fetch_all(
        f"SELECT kind, {_SPLIT_SQL} AS split, count(*) FROM usage_events WHERE {where}"
        " GROUP BY kind, split",
        params,
        slow=True,
    )
    return {(row[0], row[1]): row[2] for row in rows}


async def spreads(
    db: Database, kind: str, f: EventFilter, *, by_staff: bool = False, first_only: bool = False
) -> dict[int | None, Spread]:
    """Median and p90 of `seconds` for one kind, overall (key None) or per staff member.

    Nearest rank: the median is the ⌈n/2⌉-th smallest value and p90 the ⌈0.9·n⌉-th, so every
    figure is a time that really occurred. `first_only` leaves out repeated assignments."""
    where, params = f.where()
    group = "staff_id" if by_staff else "NULL"
    again = " AND json_extract(detail, '$.again') IS NULL" if first_only else ""
    rows = await db.fetch_all(
        "WITH s AS (SELECT "
        + group
        + " AS grp, seconds, row_number() OVER (PARTITION BY "
        + group
        + " ORDER BY seconds) AS rn, count(*) OVER (PARTITION BY "
        + group
        + ") AS n FROM usage_events WHERE kind = ? AND seconds IS NOT NULL AND "
        + where
        + again
        + ") SELECT grp, n, max(CASE WHEN rn = (n + 1) / 2 THEN seconds END),"
        " max(CASE WHEN rn = (9 * n + 9) / 10 THEN seconds END) FROM s GROUP BY grp",
        [kind, *params],
        slow=True,
    )
    return {row[0]: Spread(row[1], row[2], row[3]) for row in rows}


async def per_staff(db: Database, kind: str, f: EventFilter) -> dict[int, int]:
    where, params = f.where()
    rows = await db.fetch_all(
        f"SELECT staff_id, count(*) FROM usage_events WHERE kind = ? AND staff_id IS NOT NULL"
        f" AND {where} GROUP BY staff_id",
        [kind, *params],
        slow=True,
    )
    return {row[0]: row[1] for row in rows}


async def asked_with_first_answer(db: Database, f: EventFilter) -> list[Row]:
    """Each question asked in the period: when, when first answered (or None), and whether it
    was rejected or deleted, which closes it without an answer."""
    where, params = f.where(table="a.")
    return await db.fetch_all(
        "SELECT a.at AS asked_at,"
        " (SELECT min(b.at) FROM usage_events b WHERE b.kind = 'question_answered'"
        "  AND b.subject_id = a.subject_id) AS answered_at,"
        " EXISTS (SELECT 1 FROM usage_events c WHERE c.kind IN"
        "  ('question_rejected', 'question_deleted') AND c.subject_id = a.subject_id) AS closed"
        f" FROM usage_events a WHERE a.kind = 'question_asked' AND {where}",
        params,
        slow=True,
    )


async def requests_by_hour(db: Database, f: EventFilter) -> list[Row]:
    """Chat contact attempts per UTC hour ('YYYY-MM-DDTHH') and whether the chat was open."""
    where, params = f.where()
    return await db.fetch_all(
        "SELECT substr(at, 1, 13) AS hour, json_extract(detail, '$.open') AS open, count(*) AS n"
        f" FROM usage_events WHERE kind = 'chat_requested' AND {where} GROUP BY hour, open",
        params,
        slow=True,
    )


async def availability(db: Database, f: EventFilter) -> tuple[list[Row], list[Row]]:
    """Who was available when the period began, and every change during it, in order."""
    where, params = f.where(by_topic=False)
    before = await db.fetch_all(
        "SELECT staff_id, json_extract(detail, '$.on') AS on_duty FROM usage_events WHERE id IN"
        " (SELECT max(id) FROM usage_events WHERE kind = 'staff_availability' AND at < ?"
        "  GROUP BY staff_id)",
        (f.start,),
        slow=True,
    )
    changes = await db.fetch_all(
        "SELECT staff_id, at, json_extract(detail, '$.on') AS on_duty FROM usage_events"
        f" WHERE kind = 'staff_availability' AND {where} ORDER BY at, id",
        params,
        slow=True,
    )
    return before, changes


async def referrals(db: Database, f: EventFilter) -> tuple[list[Row], list[Row]]:
    """Referral counts per service id and per category, most first."""
    where, params = f.where()
    by_service = await db.fetch_all(
        "SELECT json_extract(detail, '$.service_id') AS service_id, count(*) AS n"
        f" FROM usage_events WHERE kind = 'referral_made' AND {where}"
        " GROUP BY service_id ORDER BY n DESC, service_id",
        params,
        slow=True,
    )
    by_category = await db.fetch_all(
        "SELECT category, count(*) AS n FROM usage_events"
        f" WHERE kind = 'referral_made' AND {where} GROUP BY category ORDER BY n DESC, category",
        params,
        slow=True,
    )
    return by_service, by_category


async def ratings(db: Database, f: EventFilter) -> Row | None:
    where, params = f.where()
    return await db.fetch_one(
        "SELECT count(*) AS rated,"
        " sum(json_extract(detail, '$.helped') = 1) AS helped,"
        " count(json_extract(detail, '$.helped')) AS said,"
        " avg(json_extract(detail, '$.score')) AS mean_score,"
        " count(json_extract(detail, '$.score')) AS scored"
        f" FROM usage_events WHERE kind = 'chat_rated' AND {where}",
        params,
    )


async def service_names(db: Database, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch_all(f"SELECT id, name FROM services WHERE id IN ({marks})", ids)
    return {row["id"]: row["name"] for row in rows}


async def staff_names(db: Database, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Staff id → (first name or username, role), for the per-person table."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch_all(
        f"SELECT id, coalesce(first_name, username) AS name, username, role FROM staff"
        f" WHERE id IN ({marks})",
        sorted(ids),
    )
    return {row["id"]: (f"{row['name']} ({row['username']})", row["role"]) for row in rows}


async def category_names(db: Database) -> dict[str, tuple[str, str | None]]:
    """Slug → (Finnish name, English name) of every category, retired ones too: old events
    still name them."""
    rows = await db.fetch_all("SELECT slug, name_fi, name_en FROM categories ORDER BY position")
    return {row["slug"]: (row["name_fi"], row["name_en"]) for row in rows}
