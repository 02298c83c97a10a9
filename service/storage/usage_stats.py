"""Aggregate reads over usage events for the statistics: counts, nearest-rank percentiles and
per-hour buckets, all filtered by time and optionally by category and channel."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage import events
from service.storage.db import Database, Row

# Every kind the figures count. Naming them lets a period's query walk the (kind, at, …) index
# one kind at a time, in kind order, so grouping by kind needs no sort.
_KINDS = (
    events.QUESTION_ASKED,
    events.QUESTION_CLAIMED,
    events.QUESTION_ANSWERED,
    events.QUESTION_PUBLISHED,
    events.QUESTION_REJECTED,
    events.QUESTION_DELETED,
    events.CHAT_REQUESTED,
    events.CHAT_ASSIGNED,
    events.CHAT_FIRST_REPLY,
    events.CHAT_TRANSFERRED,
    events.CHAT_ENDED,
    events.CHAT_ABANDONED,
    events.CHAT_CONVERTED,
    events.CHAT_RATED,
    events.STAFF_AVAILABILITY,
    events.REFERRAL_MADE,
)
# Events also counted by one value of their detail: (kind, JSON path, value), such as the chat
# requests made while the chat was open.
SPLITS = (
    (events.CHAT_REQUESTED, "open", 1),
    (events.CHAT_REQUESTED, "open", 0),
    (events.QUESTION_ANSWERED, "publish", 0),
    (events.CHAT_ENDED, "by", "timeout"),
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


@dataclass(frozen=True)
class Counts:
    """Events per kind, and per (kind, detail value) for the `SPLITS`."""

    by_kind: dict[str, int]
    by_value: dict[tuple[str, object], int]

    def of(self, kind: str) -> int:
        return self.by_kind.get(kind, 0)

    def where(self, kind: str, value: object) -> int:
        return self.by_value.get((kind, value), 0)


async def counts(db: Database, f: EventFilter) -> Counts:
    """One pass over the period in index order: a count per kind, with the split values summed
    alongside instead of grouped, which would sort every event of the period."""
    where, params = f.where()
    d = db.dialect
    sums = "".join(
        ", count(CASE WHEN kind = ? AND "
        + (d.json_text("detail", key) if isinstance(value, str) else d.json_value("detail", key))
        + " = ? THEN 1 END)"
        for _kind, key, value in SPLITS
    )
    marks = ", ".join("?" * len(_KINDS))
    rows = await db.fetch_all(
        f"SELECT kind, count(*){sums} FROM usage_events WHERE kind IN ({marks}) AND {where}"
        " GROUP BY kind",
        [*(item for kind, _key, value in SPLITS for item in (kind, value)), *_KINDS, *params],
        slow=True,
    )
    by_value: dict[tuple[str, object], int] = {}
    for row in rows:
        for n, (kind, _path, value) in enumerate(SPLITS):
            if row[0] == kind:
                by_value[(kind, value)] = row[2 + n] or 0
    return Counts({row[0]: row[1] for row in rows}, by_value)


async def spreads(
    db: Database, kind: str, f: EventFilter, *, by_staff: bool = False, first_only: bool = False
) -> dict[int | None, Spread]:
    """Median and p90 of `seconds` for one kind, overall (key None) or per staff member.

    Nearest rank: the median is the ⌈n/2⌉-th smallest value and p90 the ⌈0.9·n⌉-th, so every
    figure is a time that really occurred. `first_only` leaves out repeated assignments."""
    where, params = f.where()
    again = f" AND {db.dialect.json_value('detail', 'again')} IS NULL" if first_only else ""
    chosen = f"FROM usage_events WHERE kind = ? AND seconds IS NOT NULL AND {where}{again}"
    if not by_staff:
        return await _overall_spread(db, chosen, [kind, *params])
    rows = await db.fetch_all(
        "WITH s AS (SELECT staff_id AS grp, seconds,"
        " row_number() OVER (PARTITION BY staff_id ORDER BY seconds) AS rn,"
        f" count(*) OVER (PARTITION BY staff_id) AS n {chosen})"
        " SELECT grp, n, max(CASE WHEN rn = (n + 1) / 2 THEN seconds END),"
        " max(CASE WHEN rn = (9 * n + 9) / 10 THEN seconds END) FROM s GROUP BY grp, n",
        [kind, *params],
        slow=True,
    )
    return {row[0]: Spread(row[1], row[2], row[3]) for row in rows}


async def _overall_spread(
    db: Database, chosen: str, params: list[object]
) -> dict[int | None, Spread]:
    """Counting first (from the index alone) leaves one window to sort the values by: half the
    time of computing the count as a second window."""
    [(n,)] = await db.fetch_all(f"SELECT count(*) {chosen}", params, slow=True)
    if not n:
        return {}
    median, p90 = (n + 1) // 2, (9 * n + 9) // 10
    [(middle, high)] = await db.fetch_all(
        "SELECT max(CASE WHEN rn = ? THEN seconds END), max(CASE WHEN rn = ? THEN seconds END)"
        f" FROM (SELECT seconds, row_number() OVER (ORDER BY seconds) AS rn {chosen}) AS ranked",
        [median, p90, *params],
        slow=True,
    )
    return {None: Spread(n, middle, high)}


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
    """Each question asked in the period: when, when first answered (or None), and, if it has no
    answer, whether it was rejected or deleted, which closes it without one."""
    where, params = f.where(table="q.")
    return await db.fetch_all(
        "WITH a AS MATERIALIZED (SELECT q.at AS asked_at, q.subject_id,"
        " (SELECT min(b.at) FROM usage_events b WHERE b.kind = 'question_answered'"
        "  AND b.subject_id = q.subject_id) AS answered_at"
        f" FROM usage_events q WHERE q.kind = 'question_asked' AND {where})"
        # Most questions have an answer, so the second look-up is made only for the others.
        " SELECT asked_at, answered_at, CASE WHEN answered_at IS NULL AND EXISTS (SELECT 1"
        "  FROM usage_events c WHERE c.kind IN ('question_rejected', 'question_deleted')"
        "  AND c.subject_id = a.subject_id) THEN 1 ELSE 0 END AS closed FROM a",
        params,
        slow=True,
    )


async def requests_by_hour(db: Database, f: EventFilter) -> list[Row]:
    """Chat contact attempts per UTC hour ('YYYY-MM-DDTHH') and whether the chat was open."""
    where, params = f.where()
    return await db.fetch_all(
        f"SELECT substr(at, 1, 13) AS hour, {db.dialect.json_value('detail', 'open')} AS open,"
        f" count(*) AS n FROM usage_events WHERE kind = 'chat_requested' AND {where}"
        " GROUP BY 1, 2",
        params,
        slow=True,
    )


async def availability(db: Database, f: EventFilter) -> tuple[list[Row], list[Row]]:
    """Who was available when the period began, and every change during it, in order."""
    where, params = f.where(by_topic=False)
    # Latest by time, not by id: leaving and outages are recorded after the fact.
    on_duty = db.dialect.json_value("detail", "on")
    before = await db.fetch_all(
        f"SELECT staff_id, on_duty FROM (SELECT staff_id, {on_duty} AS on_duty,"
        " row_number() OVER (PARTITION BY staff_id ORDER BY at DESC, id DESC) AS latest"
        " FROM usage_events WHERE kind = 'staff_availability' AND at < ?) AS ranked"
        " WHERE latest = 1",
        (f.start,),
        slow=True,
    )
    changes = await db.fetch_all(
        f"SELECT staff_id, at, {on_duty} AS on_duty FROM usage_events"
        f" WHERE kind = 'staff_availability' AND {where} ORDER BY at, id",
        params,
        slow=True,
    )
    return before, changes


async def referrals(db: Database, f: EventFilter) -> tuple[list[Row], list[Row]]:
    """Referral counts per service id and per category, most first."""
    where, params = f.where()
    by_service = await db.fetch_all(
        f"SELECT {db.dialect.json_text('detail', 'service_id')} AS service_id, count(*) AS n"
        f" FROM usage_events WHERE kind = 'referral_made' AND {where}"
        " GROUP BY 1 ORDER BY n DESC, service_id",
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
    helped, score = (db.dialect.json_value("detail", key) for key in ("helped", "score"))
    return await db.fetch_one(
        "SELECT count(*) AS rated,"
        f" count(CASE WHEN {helped} = 1 THEN 1 END) AS helped,"
        f" count({helped}) AS said,"
        f" avg({score}) AS mean_score,"
        f" count({score}) AS scored"
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
    """Staff id → ("First (username)" or the username alone, role), for the per-person table."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch_all(
        f"SELECT id, first_name, username, role FROM staff WHERE id IN ({marks})", sorted(ids)
    )
    return {
        row["id"]: (
            f"{row['first_name']} ({row['username']})" if row["first_name"] else row["username"],
            row["role"],
        )
        for row in rows
    }
