"""Importing HSDS records into the directory: each record alone, all-or-nothing, reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moderation.directory_checking import Checked, checked_records
from moderation.directory_prepare import Prepared, RecordReport, tabular_records
from moderation.errors import Forbidden, Invalid
from service import switching
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.directory import standard
from service.directory.hsds import FieldError, RecordErrors, parse_service
from service.directory.opening import Turns
from service.directory.records import flatten
from service.i18n import gettext as _
from service.storage import audit, directory, hsds_store
from service.storage.db import Database, Writer
from service.storage.directory_write import save_service, save_services, save_terms
from service.storage.errors import Duplicate
from service.storage.staff import MANAGING_ROLES, StaffMember

MAX_RECORDS = 20_000
# An import's transaction takes about this long, so the chat's writes wait at most about
# this for the writer (bench/directory.py measures it).
BATCH_SECONDS = 0.008


@change_kind("directory")
@dataclass(frozen=True)
class DirectoryChanged:
    """Services changed: every process reads the schedules again and forgets cached pages
    (answers carry referral cards drawn from the directory)."""


DIRECTORY_CHANGED = DirectoryChanged()


@dataclass
class DirectoryContext:
    """What directory steps need from the running service; `turns` feeds cached pages' keys."""

    db: Database
    clock: Clock
    turns: Turns = field(default_factory=Turns)

    def now(self) -> datetime:
        return self.clock()

    async def refresh(self) -> None:
        self.turns = Turns(await directory.weekly_times(self.db))

    async def version(self) -> int:
        """Grows with every import, whoever ran it."""
        return await audit.last_id(self.db, "directory_import")


@dataclass
class ImportReport:
    records: list[RecordReport]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.records if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o: self.count(o) for o in ("created", "updated", "unchanged", "failed")}

    @property
    def failures(self) -> list[RecordReport]:
        return [r for r in self.records if r.outcome == "failed"]

    @property
    def warned(self) -> list[RecordReport]:
        return [r for r in self.records if r.warnings and r.outcome != "failed"]

    def as_json(self) -> dict[str, Any]:
        return {**self.counts, "records": [r.as_json() for r in self.records]}


def records_of(data: Any) -> list[Any]:
    """A list of records, an HSDS page of them (`contents`), or one record."""
    if isinstance(data, dict):
        data = data["contents"] if isinstance(data.get("contents"), list) else [data]
    if not isinstance(data, list):
        raise Invalid(
            _("Give a JSON list of HSDS records, an HSDS page or one record."), field="body"
        )
    if len(data) > MAX_RECORDS:
        raise Invalid(
            _("Import at most %(n)d records at a time.") % {"n": MAX_RECORDS}, field="body"
        )
    return data


async def _store(tx: Writer, batch: list[Prepared], at: str) -> None:
    """Store the records and Koppi's view of their services, a table at a time for all."""
    outcomes = await hsds_store.replace_records(tx, [p.flat for p in batch], at=at)
    changed = [p for p, o in zip(batch, outcomes, strict=True) if o != "unchanged"]
    for prepared, outcome in zip(batch, outcomes, strict=True):
        prepared.report.outcome = outcome
    warnings = await save_services(tx, [r for p in changed for r in p.services], at=at)
    for prepared in changed:
        for record in prepared.services:
            prepared.report.warnings += warnings.get(record["id"], [])
        for service_id in prepared.services_to_redraw:
            whole = await hsds_store.nested(tx, standard.tree("service"), [service_id])
            if service_id in whole:
                record, _notes = parse_service(whole[service_id])
                await save_service(tx, record, at=at)
    await save_terms(tx, [p.flat for p in changed])


async def _store_each(tx: Writer, batch: list[Prepared], at: str) -> None:
    """Store the records one at a time; the one the database refuses is undone by its
    savepoint and reported."""
    for prepared in batch:
        await tx.execute("SAVEPOINT koppi_record")
        try:
            await _store(tx, [prepared], at)
        except (Duplicate, RecordErrors) as exc:
            await tx.execute("ROLLBACK TO SAVEPOINT koppi_record")
            _refused(prepared, exc)
        await tx.execute("RELEASE SAVEPOINT koppi_record")


def _refused(prepared: Prepared, exc: Exception) -> None:
    prepared.report.outcome = "failed"
    if isinstance(exc, RecordErrors):
        prepared.report.errors = exc.errors
    else:
        message = _("uses an id that another service's record already uses")
        prepared.report.errors = [FieldError("id", message)]


class _Pace:
    """How many records one transaction takes, so that it lasts about BATCH_SECONDS."""

    def __init__(self) -> None:
        self.size = 8

    def learn(self, stored: int, seconds: float) -> None:
        if stored:
            per_record = max(seconds / stored, 1e-5)
            self.size = max(1, min(500, int(BATCH_SECONDS / per_record)))


async def _write(ctx: DirectoryContext, batch: list[Prepared], pace: _Pace) -> list[Prepared]:
    """Store the next records in one transaction; the rest wait for the next, so a chat
    message never waits long for the writer. Each record is whole or not at all: when the
    database refuses the group (an id another service uses), the group is stored again a
    record at a time, and the one refused is undone by its savepoint."""
    at = to_iso(ctx.now())
    group, rest = batch[: pace.size], batch[pace.size :]
    started = time.perf_counter()
    try:
        await ctx.db.run_transaction(lambda tx: _store(tx, group, at), flushed=False)
    except (Duplicate, RecordErrors):
        await ctx.db.run_transaction(lambda tx: _store_each(tx, group, at), flushed=False)
    pace.learn(len(group), time.perf_counter() - started)
    return rest


async def _write_all(ctx: DirectoryContext, batch: list[Prepared], pace: _Pace) -> None:
    while batch:
        batch = await _write(ctx, batch, pace)


async def _one_by_one(records: Iterable[Checked]) -> AsyncIterator[Checked]:
    for item in records:
        yield item
        # Checking a record is CPU work: let the chat's messages through between records.
        await asyncio.sleep(0)


async def _run(
    ctx: DirectoryContext,
    records: AsyncIterator[Checked],
    acting_staff: StaffMember | None,
) -> ImportReport:
    if acting_staff is not None and acting_staff.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the service directory."))
    with switching.brisk():
        return await _import_all(ctx, records, acting_staff)


async def _import_all(
    ctx: DirectoryContext,
    records: AsyncIterator[Checked],
    acting_staff: StaffMember | None,
) -> ImportReport:
    reports: list[RecordReport] = []
    pending: list[Prepared] = []
    pace = _Pace()
    seen: set[str] = set()
    async for item in records:
        if isinstance(item, RecordReport):
            reports.append(item)
        elif item.flat.name in seen:
            item.report.outcome = "failed"
            item.report.errors = [FieldError("id", _("appears earlier in the file"))]
            reports.append(item.report)
        else:
            seen.add(item.flat.name)
            reports.append(item.report)
            pending.append(item)
        if len(pending) >= pace.size:
            pending = await _write(ctx, pending, pace)
    await _write_all(ctx, pending, pace)
    report = ImportReport(reports)
    await ctx.db.sync_steps()
    # Flushed: it makes every batch before it durable before the report is given.
    async with ctx.db.transaction() as tx:
        await audit.append(
            tx,
            at=to_iso(ctx.now()),
            staff_id=None if acting_staff is None else acting_staff.id,
            action="directory_import",
            target_type="directory",
            target_id=None,
            detail=report.counts,
        )
        if report.count("created") or report.count("updated"):
            tx.announce(DIRECTORY_CHANGED)
    return report


async def do_import(
    ctx: DirectoryContext, data: Any, *, acting_staff: StaffMember | None
) -> ImportReport:
    """Import the records of HSDS JSON (a list, a page or one record), each whole or not at all.

    `acting_staff` is None for the command line, which only the server's operator can run."""
    if acting_staff is not None and acting_staff.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the service directory."))
    items = records_of(data) if not isinstance(data, Iterator) else data
    return await _run(ctx, checked_records(items), acting_staff)


async def do_import_tables(
    ctx: DirectoryContext,
    tables: dict[str, list[dict[str, Any]]],
    *,
    acting_staff: StaffMember | None,
) -> ImportReport:
    """Import a tabular HSDS package (service.directory.tabular): each service with what it
    nests, each organization, and every other row, each record whole or not at all."""
    if acting_staff is not None and acting_staff.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the service directory."))
    return await _run(ctx, _one_by_one(tabular_records(tables)), acting_staff)


async def export(db: Database) -> list[dict[str, Any]]:
    """Every service as the standard's full record, in directory order."""
    return await hsds_store.nested_list(db, standard.tree("service"), await directory.all_ids(db))


async def export_tables(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every object the directory holds, as the tables of the standard's tabular form."""
    tables = {entity: await hsds_store.rows_of(db, entity) for entity in standard.ENTITIES}
    return {entity: rows for entity, rows in tables.items() if rows}


async def fill_standard_store(ctx: DirectoryContext) -> int:
    """Directories imported before Koppi kept the standard's objects get them from Koppi's own
    view, once, so the HSDS API and the export serve them too. Returns how many."""
    if await hsds_store.record_count(ctx.db) or not await directory.count(ctx.db):
        return 0
    records = await directory.load(ctx.db, await directory.all_ids(ctx.db))
    at = to_iso(ctx.now())
    async with ctx.db.transaction() as tx:
        for record in records:
            await hsds_store.replace_record(tx, flatten(record, standard.tree("service")), at=at)
    return len(records)
