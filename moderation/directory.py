"""Importing HSDS records into the directory: each record alone, all-or-nothing, reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moderation.errors import Forbidden, Invalid
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.directory.hsds import FieldError, RecordErrors, parse_service, record_id
from service.directory.opening import Turns
from service.i18n import gettext as _
from service.storage import audit, directory
from service.storage.db import Database
from service.storage.directory_write import save_service
from service.storage.errors import Duplicate
from service.storage.staff import MANAGING_ROLES, StaffMember

MAX_RECORDS = 20_000


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
        self.turns = Turns(await directory.all_schedules(self.db))

    async def version(self) -> int:
        """Grows with every import, whoever ran it."""
        return await audit.last_id(self.db, "directory_import")


@dataclass
class RecordReport:
    index: int
    id: str | None
    outcome: str  # created, updated, unchanged or failed
    errors: list[FieldError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {"index": self.index, "id": self.id, "outcome": self.outcome}
        if self.errors:
            report["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return report


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

    def as_json(self) -> dict[str, Any]:
        return {**self.counts, "records": [r.as_json() for r in self.records]}


def service_list(data: Any) -> list[Any]:
    """A list of service objects, or an HSDS page of them (`contents`)."""
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data = data["contents"]
    if not isinstance(data, list):
        raise Invalid(_("Give a JSON list of HSDS service objects."), field="body")
    if len(data) > MAX_RECORDS:
        raise Invalid(
            _("Import at most %(n)d services at a time.") % {"n": MAX_RECORDS}, field="body"
        )
    return data


async def _import_one(ctx: DirectoryContext, index: int, item: Any, seen: set[str]) -> RecordReport:
    given = record_id(item)
    try:
        record = parse_service(item)
    except RecordErrors as exc:
        return RecordReport(index, given, "failed", exc.errors)
    if record["id"] in seen:
        return RecordReport(
            index, given, "failed", [FieldError("id", _("appears earlier in the file"))]
        )
    seen.add(record["id"])
    try:
        async with ctx.db.transaction() as tx:
            outcome = await save_service(tx, record, at=to_iso(ctx.now()))
    except RecordErrors as exc:
        return RecordReport(index, given, "failed", exc.errors)
    except Duplicate:
        message = _("uses an id that another service's record already uses")
        return RecordReport(index, given, "failed", [FieldError("id", message)])
    return RecordReport(index, given, outcome)


async def do_import(
    ctx: DirectoryContext, data: Any, *, acting_staff: StaffMember | None
) -> ImportReport:
    """Import each record in its own transaction, so one bad record stops nothing else.

    `acting_staff` is None for the command line, which only the server's operator can run."""
    if acting_staff is not None and acting_staff.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the service directory."))
    items = service_list(data)
    seen: set[str] = set()
    report = ImportReport([await _import_one(ctx, i, item, seen) for i, item in enumerate(items)])
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


async def export(db: Database) -> list[dict[str, Any]]:
    """Every service as a full HSDS record, in directory order."""
    return await directory.load(db, await directory.all_ids(db))
