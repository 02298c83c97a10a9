"""Demo content for a new database: staff and sixteen answered questions, four in Swedish."""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from moderation.directory import DirectoryContext, do_import
from moderation.intake import hash_code, new_code
from service import auth, demo_usage
from service.clock import Clock, to_iso
from service.storage import categories, events, questions, search
from service.storage.db import Database
from web import DEMO_DIR

log = logging.getLogger(__name__)
LOGINS_FILE = "demo-logins.txt"
DEMO_STAFF = (
    ("sanna", "counsellor", "Sanna"),
    ("mikko", "adviser", "Mikko"),
    ("koordinaattori", "coordinator", "Helena"),
)


async def load(db: Database, clock: Clock) -> list[tuple[str, str, str]]:
    """Create demo staff with fresh random passwords and publish the demo questions."""
    logins = []
    staff_ids = {}
    for username, role, first_name in DEMO_STAFF:
        password = secrets.token_urlsafe(12)
        staff_ids[role] = await auth.create_staff(
            db, clock, username=username, password=password, role=role, first_name=first_name
        )
        logins.append((username, role, password))
    names = {role: first for _, role, first in DEMO_STAFF}
    items = json.loads((DEMO_DIR / "questions.json").read_text(encoding="utf-8"))
    by_slug = {c.slug: c for c in await categories.list_active(db)}
    now = clock()
    async with db.transaction() as tx:
        for item in sorted(items, key=lambda i: -i["days_ago"]):
            asked = now - timedelta(days=item["days_ago"], hours=3)
            category = by_slug[item["category"]]
            question_id = await questions.insert(
                tx,
                category_id=category.id,
                title=item["title"],
                body=item["body"],
                publish_allowed=True,
                code_hash=hash_code(new_code()),
                asked_at=to_iso(asked),
            )
            await events.record(
                tx,
                events.QUESTION_ASKED,
                at=to_iso(asked),
                category=category.slug,
                channel="question",
                subject_id=question_id,
                detail={"publish_allowed": True},
            )
            answered = asked
            for number, answer in enumerate(item["answers"]):
                answered = asked + timedelta(hours=5 + number * 2)
                await questions.add_answer(
                    tx,
                    question_id,
                    staff_id=staff_ids[answer["role"]],
                    role=answer["role"],
                    first_name=names[answer["role"]],
                    body=answer["body"],
                    at=to_iso(answered),
                )
            await questions.mark_answered(tx, question_id, at=to_iso(answered), publish=True)
            await search.index_question(
                tx, question_id, item["title"], item["body"], [a["body"] for a in item["answers"]]
            )
    await demo_usage.load(db, clock, staff_ids)
    return logins


async def load_directory(ctx: DirectoryContext) -> None:
    """Import the demo directory through the same path a coordinator's file takes; a record
    already there is left unchanged, so every demo start exercises the import."""
    items = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
    report = await do_import(ctx, items, acting_staff=None)
    for failed in report.failures:
        log.error("demo directory record %s did not import: %s", failed.index, failed.as_json())


def save_logins(data_dir: Path, logins: list[tuple[str, str, str]]) -> None:
    """Kept beside the database (owner-only) so every demo start can print them again."""
    path = data_dir / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for username, role, password in logins:
            handle.write(f"{username}\t{role}\t{password}\n")


def print_logins(data_dir: Path) -> None:
    path = data_dir / LOGINS_FILE
    if not path.exists():
        return
    print("Demo staff logins (sign in at /staff/login):", flush=True)
    for line in path.read_text(encoding="utf-8").splitlines():
        username, role, password = line.split("\t")
        print(f"  {username:<16} {role:<12} {password}", flush=True)
