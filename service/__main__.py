"""Command line: `python -m service serve|migrate|create-staff|reset-second-factor|directory|
retention|port-db|backup|restore`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from moderation import directory, retention, staff_admin
from moderation.errors import ActionError
from service import db_commands, i18n, serving
from service.app import create_app
from service.auth import create_staff
from service.clock import system_clock
from service.directory import tabular
from service.directory.json_records import NotRecords, iter_records
from service.settings import Settings, SettingsError
from service.storage.db import Database, migrate_settings, open_database
from service.storage.errors import StorageError, describe
from service.storage.staff import ROLES


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Objects alive after start-up live for the whole run: keeping them out of the garbage
    collector's generations shortens the full collections that otherwise set the p99.

    A chat server allocates a few short-lived objects per message; with the default
    thresholds (700, 10, 10) a thousand connections trigger full collections of 40–140 ms.
    Collecting the young generation less often costs a few megabytes and keeps pauses short."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    return serving.run(app, settings)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    label, applied = asyncio.run(migrate_settings(settings))
    print(f"{label}: " + (", ".join(applied) if applied else "up to date"))
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


T = TypeVar("T")


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    db = open_database(settings)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


def _with_database(settings: Settings, run: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _database(settings) as db:
            return await run(db)

    return asyncio.run(main())


def _create_staff(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password()
    staff_id = _with_database(
        settings,
        lambda db: create_staff(
            db,
            system_clock,
            username=args.username,
            password=password,
            role=args.role,
            first_name=args.name,
        ),
    )
    print(f"created {args.role} {args.username} (id {staff_id})")
    if settings.staff_2fa:
        print("they set up a second factor (an authenticator app) at their first sign-in")
    return 0


def _reset_second_factor(settings: Settings, args: argparse.Namespace) -> int:
    async def run(db: Database) -> None:
        # No change bus here: the member's sessions are deleted, so their next page or API
        # call is refused; the running service is not told, as with `directory import`.
        ctx = staff_admin.StaffContext(db, system_clock)
        await staff_admin.do_reset_second_factor_by_operator(ctx, args.username)

    try:
        with i18n.speaking("en"):
            _with_database(settings, run)
    except ActionError as exc:
        raise ValueError(exc.message) from None
    print(f"reset the second factor of {args.username}; they set it up again at their next sign-in")
    return 0


def _directory_source(path: Path) -> tuple[str, Any]:
    """('tables', the package) for a folder or zip of the tabular form; ('json', records)."""
    try:
        if path.is_dir():
            return "tables", tabular.read_folder(path)
        raw = path.read_bytes()
        if raw.startswith(b"PK\x03\x04"):
            return "tables", tabular.read_zip(raw)
        text = raw.decode("utf-8-sig")
        for _record in iter_records(text, limit=directory.MAX_RECORDS):
            pass
        return "json", iter_records(text, limit=directory.MAX_RECORDS)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable file ({exc})") from None
    except (tabular.PackageError, NotRecords) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _directory_import(settings: Settings, args: argparse.Namespace) -> int:
    with i18n.speaking("en"):  # operators' tools speak English, like the rest of the CLI
        form, source = _directory_source(Path(args.file))

    async def run(db: Database) -> directory.ImportReport:
        # No change bus here: the running service's leader notices the import within its
        # housekeeping interval and tells every process.
        ctx = directory.DirectoryContext(db, system_clock)
        if form == "tables":
            return await directory.do_import_tables(ctx, source, acting_staff=None)
        return await directory.do_import(ctx, source, acting_staff=None)

    try:
        with i18n.speaking("en"):
            report = _with_database(settings, run)
    except ActionError as exc:
        raise ValueError(exc.message) from None
    for record in report.records:
        for kind, notes in (("error", record.errors), ("warning", record.warnings)):
            for note in notes:
                where = f"record {record.index} ({record.id or 'no id'})"
                print(f"{where}: {kind}: {note.field}: {note.message}")
    print(", ".join(f"{n} {outcome}" for outcome, n in report.counts.items()))
    return 1 if report.failures else 0


def _directory_export(settings: Settings, args: argparse.Namespace) -> int:
    if args.format == "zip":
        tables = _with_database(settings, directory.export_tables)
        data = tabular.write_zip(tables)
        if args.output in (None, "-"):
            sys.stdout.buffer.write(data)
        else:
            Path(args.output).write_bytes(data)
            print(
                f"{sum(map(len, tables.values()))} rows written to {args.output}", file=sys.stderr
            )
        return 0
    records = _with_database(settings, directory.export)
    text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(records)} services written to {args.output}", file=sys.stderr)
    return 0


def _retention(settings: Settings, args: argparse.Namespace) -> int:
    async def run(db: Database) -> retention.Swept:
        swept = await retention.sweep(
            db, system_clock(), retention.Policy.from_settings(settings), dry_run=args.dry_run
        )
        if args.vacuum and not args.dry_run:
            await retention.vacuum_if_due(db, system_clock(), force=True)
        return swept

    swept = _with_database(settings, run)
    for line in swept.lines():
        print(line)
    return 0


def _add_retention(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "retention", help="delete chats and questions whose retention period is over"
    )
    parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="compact the database file now instead of in the service's quiet hours",
    )
    parser.set_defaults(run=_retention)


def _add_directory(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("directory", help="import or export the HSDS service directory")
    actions = parser.add_subparsers(dest="action", required=True)
    importing = actions.add_parser(
        "import", help="import HSDS service records; each is checked and saved on its own"
    )
    importing.add_argument(
        "file",
        help="HSDS 3.0 JSON (a list, a page or one record), or the tabular form: a folder or zip"
        " with datapackage.json and its CSV files",
    )
    importing.set_defaults(run=_directory_import)
    exporting = actions.add_parser("export", help="write the directory as HSDS 3.0")
    exporting.add_argument("--output", "-o", help="file to write (default: standard output)")
    exporting.add_argument(
        "--format",
        choices=("json", "zip"),
        default="json",
        help="json: every service as a full record; zip: the tabular form (CSV files)",
    )
    exporting.set_defaults(run=_directory_export)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web service").set_defaults(run=_serve)
    commands.add_parser("migrate", help="create or upgrade the database").set_defaults(run=_migrate)
    create = commands.add_parser(
        "create-staff", help="create a staff account; the password is read from standard input"
    )
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", help="first name shown with answers")
    create.set_defaults(run=_create_staff)
    reset = commands.add_parser(
        "reset-second-factor",
        help="forget a staff member's second factor and sign them out (a lost phone, or a"
        " changed KOPPI_SECRET); they set it up again at their next sign-in",
    )
    reset.add_argument("username")
    reset.set_defaults(run=_reset_second_factor)
    _add_directory(commands)
    _add_retention(commands)
    db_commands.add_commands(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except OSError as exc:  # the generated secret cannot be read or kept in the data folder
        print(
            f"koppi: cannot keep the secret in the data folder: {describe(exc)}",
            file=sys.stderr,
        )
        return 1
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.run(settings, args))
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"koppi: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
