"""The record of processing (docs/records-of-processing.md) names every table Koppi creates and
the retention settings with their true defaults, so it cannot quietly fall behind the schema."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings
from service.storage.db import migrations

ROOT = Path(__file__).resolve().parent.parent
RECORD = (ROOT / "docs/records-of-processing.md").read_text(encoding="utf-8")
_CREATED = re.compile(r"CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)", re.I)


def _tables() -> set[str]:
    return {
        name.lower()
        for engine in ("sqlite", "postgresql")
        for _number, _name, sql in migrations(engine)
        for name in _CREATED.findall(sql)
    }


def test_every_table_of_both_engines_is_in_the_record() -> None:
    tables = _tables()
    assert {"questions", "audit_log", "visitors", "staff_sessions"} <= tables
    missing = sorted(t for t in tables if f"`{t}`" not in RECORD)
    assert missing == []


def test_retention_periods_are_the_settings_defaults() -> None:
    defaults = Settings(db_path=Path("unused"))
    for variable, days in (
        ("KOPPI_RETAIN_CHAT_DAYS", defaults.retain_chat_days),
        ("KOPPI_RETAIN_PRIVATE_DAYS", defaults.retain_private_days),
        ("KOPPI_RETAIN_REJECTED_DAYS", defaults.retain_rejected_days),
        ("KOPPI_RETAIN_AUDIT_DAYS", defaults.retain_audit_days),
        ("session_hours", defaults.session_hours),
        ("login_lock_minutes", defaults.login_lock_minutes),
    ):
        assert f"`{variable}` ({days})" in RECORD, variable
    unit = (ROOT / "deploy/systemd/koppi-backup.service").read_text(encoding="utf-8")
    backup_days = re.search(r"-mtime \+(\d+)", unit)
    assert backup_days is not None and f"{backup_days[1]} days (`-mtime +" in RECORD


def test_the_controller_fills_in_what_only_it_knows() -> None:
    for setting in ("KOPPI_CONTROLLER_NAME", "KOPPI_CONTROLLER_ADDRESS", "KOPPI_DPO_CONTACT"):
        assert setting in RECORD
    assert RECORD.count("_[fill in") >= 10
