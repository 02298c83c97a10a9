"""A transaction sent whole to the database (run_transaction), and a long job's unflushed steps:
what they store, what they undo, and that they leave the usual settings behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from service.settings import Settings
from service.storage.db import Database, Duplicate, Writer, open_database
from service.storage.engines.sqlite import SqliteDatabase

FULL = 2  # PRAGMA synchronous


@dataclass
class Trial:
    db: Database
    heard: list[Sequence[object]] = field(default_factory=list)

    async def words(self) -> list[str]:
        return [row[0] for row in await self.db.fetch_all("SELECT word FROM trial ORDER BY id")]


@pytest.fixture
async def trial(settings: Settings) -> AsyncIterator[Trial]:
    db = open_database(settings)
    await db.open()
    key = "INTEGER PRIMARY KEY" if db.dialect.name == "sqlite" else "SERIAL PRIMARY KEY"
    async with db.transaction() as tx:
        await tx.execute(f"CREATE TABLE trial (id {key}, word TEXT UNIQUE)")
    made = Trial(db)

    async def on_commit(changes: Sequence[object]) -> None:
        made.heard.append(changes)

    db.on_commit = on_commit
    yield made
    await db.close()


async def test_a_whole_transaction_stores_returns_and_announces_after_commit(
    trial: Trial,
) -> None:
    async def work(tx: Writer) -> int:
        first = await tx.insert("INSERT INTO trial (word) VALUES (?)", ("yksi",))
        await tx.execute_many("INSERT INTO trial (word) VALUES (?)", [("kaksi",), ("kolme",)])
        changed = await tx.execute("UPDATE trial SET word = upper(word) WHERE id > ?", (first,))
        tx.announce("trial changed")
        return changed

    assert await trial.db.run_transaction(work, flushed=False) == 2
    assert await trial.words() == ["yksi", "KAKSI", "KOLME"]
    assert trial.heard == [["trial changed"]]


async def test_a_refused_statement_undoes_the_whole_transaction(trial: Trial) -> None:
    async def work(tx: Writer) -> None:
        await tx.execute("INSERT INTO trial (word) VALUES (?)", ("sama",))
        tx.announce("never heard")
        await tx.execute("INSERT INTO trial (word) VALUES (?)", ("sama",))

    with pytest.raises(Duplicate):
        await trial.db.run_transaction(work)
    assert await trial.words() == []
    assert trial.heard == []


def _sqlite(trial: Trial) -> SqliteDatabase:
    if not isinstance(trial.db, SqliteDatabase):
        pytest.skip("SQLite's database thread, settings and WAL")
    return trial.db


async def test_work_that_waits_for_anything_but_the_writer_is_refused_and_undone(
    trial: Trial,
) -> None:
    db = _sqlite(trial)

    async def work(tx: Writer) -> None:
        await tx.execute("INSERT INTO trial (word) VALUES (?)", ("odottaa",))
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something else"):
        await db.run_transaction(work)
    assert await trial.words() == []
    async with db.transaction() as tx:  # the writer is free and usable again
        await tx.execute("INSERT INTO trial (word) VALUES (?)", ("vapaa",))
    assert await trial.words() == ["vapaa"]


async def test_unflushed_steps_restore_the_usual_settings_and_copy_the_wal_aside(
    trial: Trial,
) -> None:
    db = _sqlite(trial)
    for n in range(20):
        rows = [(f"{n}-{i}-" * 40,) for i in range(50)]
        await db.run_transaction(
            lambda tx, rows=rows: tx.execute_many("INSERT INTO trial (word) VALUES (?)", rows),
            flushed=False,
        )
        async with db.transaction(flushed=False) as tx:
            await tx.execute("INSERT INTO trial (word) VALUES (?)", (f"step {n}",))
    async with db.single_statements() as writer:
        assert await writer.fetch_value("PRAGMA synchronous") == FULL
        assert await writer.fetch_value("PRAGMA wal_autocheckpoint") == 1000
    # The copy after the last step ran on the checkpointing connection, not on the writer.
    assert db._copying is not None
    await db._copying
    assert db._wal_frames > 0
    assert len(await trial.words()) == 20 * 51
