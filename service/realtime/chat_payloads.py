"""The JSON shapes of chat events, as documented in docs/realtime.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from moderation import queue
from moderation.chat.queue_view import QueueView, Waiting, waited_s
from service import i18n
from service.clock import to_iso
from service.labels import role_label
from service.storage.chat_messages import Stored
from service.storage.db import Row


def message(
    stored: Stored | Row,
    *,
    for_sender: str,
    chat_id: int | None = None,
    cards: dict[str, Any] | None = None,
    flags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A message as `for_sender` ("visitor" or "staff") sees it; client ids only on their own.

    A referral message carries its card: from `stored.referral`, or for a stored row from
    `cards` by service id. `flags`, the watched words a visitor's message matched, are for
    staff only and never go into a visitor's copy."""
    if isinstance(stored, Stored):
        fields = (stored.id, stored.sender, stored.text, stored.at, stored.name, stored.client_id)
        referral = stored.referral
    else:
        fields = tuple(stored[k] for k in ("id", "sender", "text", "at", "name", "client_id"))
        referral = (cards or {}).get(stored["service_id"]) if stored["service_id"] else None
    message_id, sender, text, at, name, client_id = fields
    payload: dict[str, Any] = {"id": message_id, "from": sender, "text": text, "at": at}
    if referral is not None:
        payload["referral"] = referral
    if sender == "staff" and name:
        payload["name"] = name
    if sender == for_sender and client_id is not None:
        payload["client_id"] = client_id
    if chat_id is not None:
        payload["chat_id"] = chat_id
    if flags and for_sender == "staff" and sender == "visitor":
        payload["flags"] = flags
    return payload


def assigned(row: Row) -> dict[str, Any]:
    return {
        "role": row["staff_role"],
        "role_label": role_label(row["staff_role"]) if row["staff_role"] else "",
        "name": row["staff_name"],
    }


def queue_position(waiting: Waiting, now: datetime) -> dict[str, Any]:
    return {
        "position": waiting.position,
        "eta_s": waiting.eta_s,
        "offer_question": waiting.offers(now),
    }


def status(view: QueueView) -> dict[str, Any]:
    return {
        "open": view.open,
        "next_open": None if view.next_open is None else to_iso(view.next_open),
        "offer_question_after_s": view.offer_question_after_s,
    }


def visitor_state(row: Row, view: QueueView, now: datetime) -> dict[str, Any]:
    """The visitor's newest chat, for the `resume` acknowledgement."""
    state: dict[str, Any] = {
        "chat_id": row["id"],
        "status": row["status"],
        "category": row["category_slug"],
        "rated": row["rated_at"] is not None,
    }
    if row["status"] == "waiting":
        found = view.position_of(row["id"])
        if found is not None:
            state.update(queue_position(found, now))
    elif row["status"] == "active":
        state.update(assigned(row))
    else:
        state["ended_by"] = row["ended_by"]
    return state


PREVIEW_MAX = 200


def _preview(text: str) -> dict[str, str]:
    """The start of the first message, enough to choose a chat and small enough to push often,
    with personal details masked as in the question queue: the list goes to every counsellor
    on the desk, who see the details only in a chat they take. One text per staff language,
    because the list is built once for the whole desk."""
    short = text if len(text) <= PREVIEW_MAX else text[: PREVIEW_MAX - 1] + "…"
    shown: dict[str, str] = {}
    for lang in i18n.LANGUAGES:
        with i18n.speaking(lang):
            shown[lang] = queue.masked(short)
    return shown


def replay_cursor(page: Sequence[Row], after: int, page_size: int) -> dict[str, Any]:
    """What a resume acknowledgement says of the page it replayed: the highest id in it (or
    `after`), from which the client resumes next, and `more` when a full page may be followed
    by another."""
    cursor: dict[str, Any] = {"last_id": int(page[-1]["id"]) if page else after}
    if len(page) == page_size:
        cursor["more"] = True
    return cursor


def waiting_items(view: QueueView) -> list[dict[str, Any]]:
    """The staff's waiting list in queue order, without the waiting times (which only grow:
    `waiting_now` adds them when a whole list is sent)."""
    return [
        {
            "chat_id": w.row["id"],
            "category": w.row["category_slug"],
            "requested_at": w.row["requested_at"],
            "first_message": _preview(w.row["first_message"] or ""),
            "wanted_role": w.row["wanted_role"],
            "returned": bool(w.row["returned"]),
            "urgent": bool(w.row["urgent"]),
        }
        for w in view.waiting
    ]


def waiting_now(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**item, "waited_s": waited_s(item, now)}


def desk(view: QueueView, staff_id: int) -> dict[str, Any]:
    """One staff member's own availability, capacity and load."""
    me = view.staff_row(staff_id)
    return {
        "available": bool(me and me["available"]),
        "capacity": me["capacity"] if me else 0,
        "load": me["load"] if me else 0,
        "open": view.open,
    }


def colleagues(view: QueueView) -> dict[str, Any]:
    """Everyone on the chat console now: one payload for all staff, encoded once."""
    return {
        "items": [
            {
                "id": s["staff_id"],
                "name": s["name"],
                "role": s["role"],
                "available": bool(s["available"]),
                "present": bool(s["present"]),
                "load": s["load"],
                "capacity": s["capacity"],
            }
            for s in view.staff
            if s["present"]
        ]
    }


def own_chats(rows: list[Row], notes: list[Row]) -> dict[str, Any]:
    by_chat: dict[int, list[dict[str, Any]]] = {}
    for note in notes:
        by_chat.setdefault(note["chat_id"], []).append(
            {"text": note["text"], "by": note["by_name"], "at": note["at"]}
        )
    return {
        "items": [
            {
                "chat_id": row["id"],
                "category": row["category_slug"],
                "status": row["status"],
                "requested_at": row["requested_at"],
                "assigned_at": row["assigned_at"],
                "visitor_connected": row["visitor_away_since"] is None,
                "wrap_up_needed": row["status"] == "ended" and row["outcome"] is None,
                "ended_by": row["ended_by"],
                "urgent": bool(row["urgent"]),
                "notes": by_chat.get(row["id"], []),
            }
            for row in rows
        ]
    }
