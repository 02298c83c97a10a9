"""Command line: `port-db`, `backup` and `restore` (`python -m service …`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from service.settings import Settings, SettingsError
from service.storage import backups, port
from service.storage.engines.postgres import where


def _port_db(settings: Settings, args: argparse.Namespace) -> int:
    url = args.url
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"port-db needs a postgresql:// URL, not {url.split('://')[0]!r}")
    counts = port.port(settings.db_path, url, print)
    print(
        f"copied {sum(counts.values())} rows in {len(counts)} tables from {settings.db_path}"
        f" to {where(url)}; every table's row count checked"
    )
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    print(backups.backup(settings, Path(args.file)))
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    print(backups.restore(settings, Path(args.file)))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    porting = commands.add_parser(
        "port-db",
        help="copy the SQLite database at KOPPI_DB into an empty PostgreSQL database",
    )
    porting.add_argument("url", help="postgresql://user:password@host:port/dbname")
    porting.set_defaults(run=_port_db)
    backing_up = commands.add_parser(
        "backup", help="write a consistent copy of the (running) database to a new file"
    )
    backing_up.add_argument("file")
    backing_up.set_defaults(run=_backup)
    restoring = commands.add_parser("restore", help="restore a backup file into an empty database")
    restoring.add_argument("file")
    restoring.set_defaults(run=_restore)
