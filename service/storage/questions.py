"""Questions and their answers: what the board shows, what the queue holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.storage import categories
from service.storage.db import Database, Row, Writer
from service.storage.search import SearchQuery

PER_PAGE = 20

_SELECT = (
    "SELECT q.id, q.title, q.body, q.publish_allowed, q.status, q.asked_at, q.edited,"
    " q.claimed_by, q.claimed_at, q.answered_at, q.published_at, q.rejected_at, q.reject_reason,"
    " q.urgent, q.flags,"
    " q.category_id, c.slug AS category_slug, c.name_fi AS category_fi, c.name_en AS category_en,"
    " c.name_sv AS category_sv,"
    " s.first_name AS claimer_first_name, s.username AS claimer_username"
    " FROM questions q JOIN categories c ON c.id = q.category_id"
    " LEFT JOIN staff s ON s.id = q.claimed_by"
)


@dataclass
class Answer:
    body: str
    role: str
    first_name: str | None
    answered_at: str
    id: int = 0
    # Directory services the answer refers to, in the order staff chose them.
    referrals: list[str] = field(default_factory=list)


@dataclass
class Question:
    id: int
    title: str | None
    body: str
    publish_allowed: bool
    status: str
    asked_at: str
    edited: bool
    category_id: int
    category_slug: str
    category_fi: str
    category_en: str | None
    claimed_by: int | None
    claimed_at: str | None
    claimer_name: str | None
    answered_at: str | None
    published_at: str | None
    rejected_at: str | None
    reject_reason: str | None
    # A crisis word makes a question urgent; flags are the watched words that matched, for
    # staff only: [{"phrase": …, "action": …}].
    urgent: bool = False
    flags: list[dict[str, str]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    category_sv: str | None = None

    def category_name(self, lang: str) -> str:
        return categories.localized_name(
            lang, self.category_fi, sv=self.category_sv, en=self.category_en
        )


def _question(row: Row) -> Question:
    return Question(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        publish_allowed=bool(row["publish_allowed"]),
        status=row["status"],
        asked_at=row["asked_at"],
        edited=bool(row["edited"]),
        category_id=row["category_id"],
        category_slug=row["category_slug"],
        category_fi=row["category_fi"],
        category_en=row["category_en"],
        category_sv=row["category_sv"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        claimer_name=row["claimer_first_name"] or row["claimer_username"],
        answered_at=row["answered_at"],
        published_at=row["published_at"],
        rejected_at=row["rejected_at"],
        reject_reason=row["reject_reason"],
        urgent=bool(row["urgent"]),
        flags=json.loads(row["flags"]) if row["flags"] else [],
    )


async def _with_answers(db: Database, questions: list[Question]) -> list[Question]:
    if not questions:
        return questions
    by_id = {q.id: q for q in questions}
    marks = ",".join("?" * len(by_id))
    rows = await db.fetch_all(
        "SELECT a.id, a.question_id, a.body, a.role, a.first_name, a.answered_at"
        f" FROM answers a WHERE a.question_id IN ({marks}) ORDER BY a.id",
        list(by_id),
    )
    referrals: dict[int, list[str]] = {}
    if rows:
        for ref in await db.fetch_all(
            "SELECT r.answer_id, r.service_id FROM answer_referrals r"
            f" JOIN answers a ON a.id = r.answer_id WHERE a.question_id IN ({marks})"
            " ORDER BY r.answer_id, r.position",
            list(by_id),
        ):
            referrals.setdefault(ref["answer_id"], []).append(ref["service_id"])
    for row in rows:
        by_id[row["question_id"]].answers.append(
            Answer(
                row["body"],
                row["role"],
                row["first_name"],
                row["answered_at"],
                row["id"],
                referrals.get(row["id"], []),
            )
        )
    return questions


async def get(db: Database, question_id: int) -> Question | None:
    row = await db.fetch_one(_SELECT + " WHERE q.id = ?", (question_id,))
    if row is None:
        return None
    return (await _with_answers(db, [_question(row)]))[0]


async def get_by_code_hash(db: Database, code_hash: str) -> Question | None:
    row = await db.fetch_one(_SELECT + " WHERE q.code_hash = ?", (code_hash,))
    if row is None:
        return None
    return (await _with_answers(db, [_question(row)]))[0]


async def get_published(db: Database, question_id: int) -> Question | None:
    question = await get(db, question_id)
    return question if question is not None and question.status == "published" else None


async def list_published(
    db: Database, *, category_id: int | None = None, page: int = 1
) -> tuple[list[Question], int]:
    where = "q.status = 'published'"
    params: list[Any] = []
    if category_id is not None:
        where += " AND q.category_id = ?"
        params.append(category_id)
    total = await db.fetch_value(f"SELECT COUNT(*) FROM questions q WHERE {where}", params)
    rows = await db.fetch_all(
        f"{_SELECT} WHERE {where} ORDER BY q.published_at DESC, q.id DESC LIMIT ? OFFSET ?",
        [*params, PER_PAGE, (page - 1) * PER_PAGE],
    )
    return await _with_answers(db, [_question(r) for r in rows]), int(total)


async def search_published(
    db: Database, query: SearchQuery, *, category_id: int | None = None, page: int = 1
) -> tuple[list[Question], int]:
    """Published questions matching every search term, newest first, with the number found.

    Newest first (as on the board) lets SQLite walk the board index and stop after one page,
    so a common word costs about as much as finding its matches; bm25 ranking cost as much
    again at 100,000 questions."""
    if not query:
        return [], 0
    hits, params = query.hits_sql(db.dialect)
    filters, extra = "q.status = 'published'", []
    if category_id is not None:
        filters += " AND q.category_id = ?"
        extra.append(category_id)
    matched = f"WITH hits(id) AS MATERIALIZED ({hits}), matched(id) AS "
    if category_id is None:
        # Only published questions are indexed, so the hits are already the whole answer.
        matched += "(SELECT id FROM hits)"
    else:
        matched += (
            f"MATERIALIZED (SELECT q.id FROM questions q WHERE q.id IN (SELECT id FROM hits)"
            f" AND {filters})"
        )
    # The page repeats the filters although `matched` holds them: they let SQLite walk the
    # board index newest first and stop after one page.
    rows = await db.fetch_all(
        f"{matched} SELECT * FROM (SELECT count(*) AS total FROM matched) AS counted LEFT JOIN ("
        f"{_SELECT} WHERE q.id IN (SELECT id FROM matched) AND {filters}"
        " ORDER BY q.published_at DESC, q.id DESC LIMIT ? OFFSET ?) AS page ON 1 = 1",
        [*params, *extra, *extra, PER_PAGE, (page - 1) * PER_PAGE],
        slow=True,
    )
    total = int(rows[0]["total"])
    found = [_question(r) for r in rows if r["id"] is not None]
    return await _with_answers(db, found), total


async def pending_queue(db: Database) -> list[Question]:
    """Questions waiting for staff: urgent ones first, then oldest first."""
    rows = await db.fetch_all(
        _SELECT + " WHERE q.status = 'pending' ORDER BY q.urgent DESC, q.asked_at, q.id"
    )
    return [_question(r) for r in rows]


# Writes: only inside a transaction, called from moderation actions and the ask flow.


async def insert(
    tx: Writer,
    *,
    category_id: int,
    title: str | None,
    body: str,
    publish_allowed: bool,
    code_hash: str,
    asked_at: str,
    urgent: bool = False,
    flags: list[dict[str, str]] | None = None,
) -> int:
    return await tx.insert(
        "INSERT INTO questions"
        " (category_id, title, body, publish_allowed, code_hash, asked_at, urgent, flags)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            category_id,
            title,
            body,
            int(publish_allowed),
            code_hash,
            asked_at,
            int(urgent),
            json.dumps(flags, ensure_ascii=False) if flags else None,
        ),
    )


async def locked_state(tx: Writer, question_id: int) -> Row | None:
    """The fields an action decides on, read inside the action's transaction."""
    return await tx.fetch_one(
        "SELECT q.id, q.status, q.publish_allowed, q.claimed_by, q.claimed_at, q.asked_at,"
        " q.category_id,"
        " q.title, q.body, c.slug AS category_slug, s.first_name, s.username"
        " FROM questions q JOIN categories c ON c.id = q.category_id"
        " LEFT JOIN staff s ON s.id = q.claimed_by WHERE q.id = ?",
        (question_id,),
    )


async def set_claim(tx: Writer, question_id: int, staff_id: int | None, at: str | None) -> None:
    await tx.execute(
        "UPDATE questions SET claimed_by = ?, claimed_at = ? WHERE id = ?",
        (staff_id, at, question_id),
    )


async def update_text(
    tx: Writer, question_id: int, *, title: str | None, body: str, category_id: int
) -> None:
    await tx.execute(
        "UPDATE questions SET title = ?, body = ?, category_id = ?, edited = 1 WHERE id = ?",
        (title, body, category_id, question_id),
    )


async def add_answer(
    tx: Writer,
    question_id: int,
    *,
    staff_id: int,
    role: str,
    first_name: str | None,
    body: str,
    at: str,
) -> int:
    return await tx.insert(
        "INSERT INTO answers (question_id, staff_id, role, first_name, body, answered_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (question_id, staff_id, role, first_name, body, at),
    )


async def add_referrals(tx: Writer, answer_id: int, service_ids: list[str]) -> None:
    await tx.execute_many(
        "INSERT INTO answer_referrals (answer_id, position, service_id) VALUES (?, ?, ?)",
        [(answer_id, n, service_id) for n, service_id in enumerate(service_ids)],
    )


async def answer_bodies(tx: Writer, question_id: int) -> list[str]:
    rows = await tx.fetch_all(
        "SELECT body FROM answers WHERE question_id = ? ORDER BY id", (question_id,)
    )
    return [row["body"] for row in rows]


async def mark_answered(tx: Writer, question_id: int, *, at: str, publish: bool) -> None:
    await tx.execute(
        "UPDATE questions SET status = ?, answered_at = COALESCE(answered_at, ?),"
        " published_at = CASE WHEN ? = 1 THEN ? ELSE published_at END,"
        " claimed_by = NULL, claimed_at = NULL WHERE id = ?",
        ("published" if publish else "answered", at, int(publish), at, question_id),
    )


async def mark_rejected(tx: Writer, question_id: int, *, at: str, reason: str) -> None:
    await tx.execute(
        "UPDATE questions SET status = 'rejected', rejected_at = ?, reject_reason = ?,"
        " claimed_by = NULL, claimed_at = NULL WHERE id = ?",
        (at, reason, question_id),
    )


async def delete(tx: Writer, question_id: int) -> None:
    await tx.execute("DELETE FROM questions WHERE id = ?", (question_id,))


async def by_code_for_update(tx: Writer, code_hash: str) -> Row | None:
    return await tx.fetch_one(
        "SELECT q.id, q.status, c.slug FROM questions q"
        " JOIN categories c ON c.id = q.category_id WHERE q.code_hash = ?",
        (code_hash,),
    )
