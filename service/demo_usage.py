"""Eight weeks of made-up usage history for demo mode, so the statistics page has something to
show: questions, chats in and out of opening hours, staff on duty, ratings and referrals."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from service.clock import LOCAL_ZONE, Clock, to_iso
from service.stats.working_days import is_working_day
from service.storage import categories, events
from service.storage.db import Database
from web import DEMO_DIR

WEEKS = 8
SEED = 20261124
# Made-up subjects are numbered far above anything the demo creates for real.
FIRST_SUBJECT = 100_001
OPENS, CLOSES = 12, 20
ANSWER_HOURS = (9, 16)
# Relative chat demand per local hour; questions follow the same shape, flatter.
_HOURLY = [0.2, 0.1, 0.05, 0.0, 0.0, 0.0, 0.05, 0.2, 0.5, 0.8, 1.0, 1.2]
_HOURLY += [1.4, 1.5, 1.6, 1.8, 1.9, 1.7, 1.5, 1.3, 1.1, 0.9, 0.6, 0.4]
# Fields that are columns of usage_events; the rest go into its detail.
_COLUMNS = ("category", "channel", "subject_id", "staff_id", "seconds")
_CATEGORY_WEIGHTS = {"tyonhaku": 5, "opiskelu": 3, "raha": 3, "jaksaminen": 2, "tyopajat": 2}


@dataclass
class _History:
    """Events gathered out of order, written sorted by time so ids follow the clock."""

    now: datetime
    items: list[tuple[datetime, int, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, at: datetime, kind: str, **fields: Any) -> None:
        if at <= self.now:
            self.items.append((at, len(self.items), kind, fields))


@dataclass
class _Ids:
    next: int = FIRST_SUBJECT

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def _local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), LOCAL_ZONE)


def _is_open(at: datetime) -> bool:
    local = at.astimezone(LOCAL_ZONE)
    return is_working_day(local.date()) and OPENS <= local.hour < CLOSES


def _service_ids() -> list[str]:
    items = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
    return [item["id"] for item in items if item.get("status", "active") == "active"]


def _next_answer_time(rng: random.Random, after: datetime) -> datetime:
    """A moment within the answering hours of a working day, some while after `after`."""
    moment = after + timedelta(minutes=rng.randint(20, 26 * 60))
    for _ in range(20):
        local = moment.astimezone(LOCAL_ZONE)
        first, last = ANSWER_HOURS
        if is_working_day(local.date()) and first <= local.hour < last:
            return moment
        day = local.date() if local.hour < first else local.date() + timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
        moment = _local(day, first, rng.randint(0, 59), rng.randint(0, 59))
    return moment


def _availability(h: _History, rng: random.Random, day: date, staff: list[int]) -> None:
    """The counsellor covers the whole opening; the others take shifts on some days."""
    if not is_working_day(day):
        return
    for n, staff_id in enumerate(staff):
        if n == 0:
            start, end = _local(day, OPENS - 1, rng.randint(50, 59)), _local(day, CLOSES, 0)
        elif rng.random() < 0.6:
            first = rng.choice((OPENS, OPENS + 2, OPENS + 4))
            start, end = _local(day, first, rng.randint(0, 5)), _local(day, first + 4, 0)
        else:
            continue
        end += timedelta(minutes=rng.randint(0, 8))
        h.add(start, events.STAFF_AVAILABILITY, channel="chat", staff_id=staff_id, on=True)
        h.add(end, events.STAFF_AVAILABILITY, channel="chat", staff_id=staff_id, on=False)


def _referrals(
    h: _History, rng: random.Random, services: list[str], at: datetime, **fields: Any
) -> None:
    for n, service_id in enumerate(rng.sample(services, rng.choice((1, 1, 2)))):
        h.add(at + timedelta(seconds=n), events.REFERRAL_MADE, service_id=service_id, **fields)


def _chat(
    h: _History, rng: random.Random, ids: _Ids, at: datetime, slug: str, ctx: dict[str, Any]
) -> None:
    """One contact attempt and, if the chat was open, everything that followed it."""
    base: dict[str, Any] = {"category": slug, "channel": "chat"}
    if not _is_open(at):
        h.add(at, events.CHAT_REQUESTED, **base, open=False)
        return
    chat = ids.take()
    base["subject_id"] = chat
    h.add(at, events.CHAT_REQUESTED, **base, open=True)
    wait = int(rng.lognormvariate(4.5, 0.9))
    outcome = rng.random()
    if outcome < 0.08:
        gone = at + timedelta(seconds=min(wait, rng.randint(0, 400)))
        h.add(
            gone, events.CHAT_ABANDONED, **base, seconds=(gone - at).total_seconds(), by="visitor"
        )
        return
    if outcome < 0.12:
        gone = at + timedelta(seconds=wait // 2)
        h.add(
            gone, events.CHAT_CONVERTED, **base, seconds=(gone - at).total_seconds(), by="visitor"
        )
        return
    staff_id = rng.choice(ctx["chat_staff"])
    assigned = at + timedelta(seconds=wait)
    h.add(assigned, events.CHAT_ASSIGNED, **base, staff_id=staff_id, seconds=float(wait))
    replied = assigned + timedelta(seconds=rng.randint(8, 120))
    reply = (replied - assigned).total_seconds()
    h.add(replied, events.CHAT_FIRST_REPLY, **base, staff_id=staff_id, seconds=reply)
    ended = replied + timedelta(seconds=rng.randint(4 * 60, 40 * 60))
    if rng.random() < 0.08 and len(ctx["chat_staff"]) > 1:
        moved = replied + (ended - replied) / 3
        moved = moved.replace(microsecond=0)
        h.add(moved, events.CHAT_TRANSFERRED, **base, staff_id=staff_id, to="staff", role=None)
        staff_id = next(s for s in ctx["chat_staff"] if s != staff_id)
        again = (moved - at).total_seconds()
        h.add(moved, events.CHAT_ASSIGNED, **base, staff_id=staff_id, seconds=again, again=True)
    if rng.random() < 0.25:
        _referrals(
            h, rng, ctx["services"], replied + (ended - replied) / 2, **base, staff_id=staff_id
        )
    by = "timeout" if rng.random() < 0.1 else rng.choice(("staff", "staff", "visitor"))
    handle = (ended - assigned).total_seconds()
    h.add(ended, events.CHAT_ENDED, **base, staff_id=staff_id, seconds=handle, by=by)
    if by != "timeout" and rng.random() < 0.45:
        score = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 3, 6, 8))[0]
        rated = ended + timedelta(seconds=rng.randint(20, 240))
        h.add(rated, events.CHAT_RATED, **base, score=score, helped=score >= 3)


def _question(
    h: _History, rng: random.Random, ids: _Ids, at: datetime, slug: str, ctx: dict[str, Any]
) -> None:
    """One question: asked, then deleted, rejected, or answered (privately or published)."""
    base = {"category": slug, "channel": "question", "subject_id": ids.take()}
    h.add(at, events.QUESTION_ASKED, **base, publish_allowed=rng.random() < 0.8)
    outcome = rng.random()
    if outcome < 0.05:
        gone = at + timedelta(minutes=rng.randint(5, 600))
        h.add(gone, events.QUESTION_DELETED, **base, status="waiting")
        return
    staff_id = rng.choice(ctx["question_staff"])
    done = _next_answer_time(rng, at)
    waited = (done - at).total_seconds()
    if outcome < 0.10:
        h.add(done, events.QUESTION_REJECTED, **base, staff_id=staff_id, seconds=waited)
        return
    claimed = done - timedelta(minutes=rng.randint(5, 40))
    if claimed > at:
        since = (claimed - at).total_seconds()
        h.add(claimed, events.QUESTION_CLAIMED, **base, staff_id=staff_id, seconds=since)
    publish = rng.random() < 0.65
    h.add(
        done, events.QUESTION_ANSWERED, **base, staff_id=staff_id, seconds=waited, publish=publish
    )
    if publish:
        h.add(done, events.QUESTION_PUBLISHED, **base, staff_id=staff_id)
    if rng.random() < 0.2:
        _referrals(h, rng, ctx["services"], done, **base, staff_id=staff_id)


def _arrivals(rng: random.Random, day: date, hour: int, rate: float) -> list[datetime]:
    """A handful of moments in one local hour, about `rate` of them on average."""
    count = sum(rng.random() < rate / 4 for _ in range(4)) if rate > 0 else 0
    start = _local(day, hour)
    return sorted(start + timedelta(seconds=rng.randint(0, 3599)) for _ in range(count))


async def load(db: Database, clock: Clock, staff_ids: Mapping[str, int]) -> None:
    """Record the history of the `WEEKS` weeks before now; `staff_ids` is role → id."""
    rng = random.Random(SEED)
    now = clock().replace(microsecond=0)
    slugs = [c.slug for c in await categories.list_active(db)]
    weights = [_CATEGORY_WEIGHTS.get(slug, 1) for slug in slugs]
    chat_staff = [staff_ids[r] for r in ("counsellor", "adviser") if r in staff_ids]
    ctx: dict[str, Any] = {
        "services": _service_ids(),
        "chat_staff": chat_staff or list(staff_ids.values()),
        "question_staff": chat_staff or list(staff_ids.values()),
    }
    h, ids = _History(now), _Ids()
    today = now.astimezone(LOCAL_ZONE).date()
    day = today - timedelta(weeks=WEEKS)
    while day <= today:
        _availability(h, rng, day, ctx["chat_staff"])
        weekend = 0.5 if day.weekday() >= 5 else 1.0
        for hour, shape in enumerate(_HOURLY):
            for at in _arrivals(rng, day, hour, shape * 0.9 * weekend):
                _chat(h, rng, ids, at, rng.choices(slugs, weights)[0], ctx)
            for at in _arrivals(rng, day, hour, (0.15 + shape * 0.2) * weekend):
                _question(h, rng, ids, at, rng.choices(slugs, weights)[0], ctx)
        day += timedelta(days=1)
    start = now - timedelta(weeks=WEEKS)
    async with db.transaction() as tx:
        for at, _n, kind, fields in sorted(h.items, key=lambda item: item[:2]):
            if at < start:
                continue
            columns = {k: fields.pop(k) for k in _COLUMNS if k in fields}
            await events.record(tx, kind, at=to_iso(at), detail=fields or None, **columns)
