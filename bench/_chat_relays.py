"""Baseline chat relays for the chat benchmark: bare python-socketio and a raw aiohttp websocket.

Both speak the subset of Koppi's /chat and /staff contract that the load client uses: staff mark
themselves `available`, a visitor's `start` pairs it with a free staff socket (`assigned` to the
visitor, `chats` to the staff member), and each `send` is acknowledged with `{"id"}` and
delivered as `message` to the other side only, as Koppi does. Nothing is stored or checked, so
they show what the relaying alone costs. The raw relay writes the Socket.IO frames itself
(Engine.IO 4, websocket transport), so the same client drives all three servers.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import WSMsgType, web

VISITORS, STAFF = "/chat", "/staff"
OPEN = '0{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
ASSIGNED = {"role": "adviser", "role_label": "Työllisyysneuvoja", "name": "Sanna"}
CONFLICT = {"error": "conflict", "message": "You have no open chat."}


def _dumps(value: Any) -> str:
    """Compact JSON, as python-socketio writes it."""
    return json.dumps(value, separators=(",", ":"))


def now_iso() -> str:
    """The current UTC time as Koppi writes it in message payloads."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def tune_gc(_app: web.Application) -> None:
    """Keep start-up objects out of the collector and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


async def hello(_request: web.Request) -> web.Response:
    """Answer the readiness probe."""
    return web.Response(text="relay")


@dataclass
class Chat:
    """One visitor paired with one staff socket (ids are whatever the transport uses)."""

    id: int
    visitor: Any
    staff: Any = None


class Desk:
    """Pairs waiting chats with available staff, first come first served, one chat each."""

    def __init__(self) -> None:
        self.free: deque[Any] = deque()
        self.waiting: deque[Chat] = deque()
        self.chats: dict[int, Chat] = {}
        self.by_visitor: dict[Any, Chat] = {}
        self._chat_ids = itertools.count(1)
        self.message_ids = itertools.count(1)

    def start(self, visitor: Any) -> tuple[Chat, list[Chat]]:
        """Open a chat for `visitor`; also the chats that got a staff member now."""
        chat = self.by_visitor.get(visitor)
        if chat is None:
            chat = Chat(next(self._chat_ids), visitor)
            self.chats[chat.id] = chat
            self.by_visitor[visitor] = chat
            self.waiting.append(chat)
        return chat, self._match()

    def available(self, staff: Any) -> list[Chat]:
        """Mark a staff socket free; the chats that got a staff member now."""
        self.free.append(staff)
        return self._match()

    def _match(self) -> list[Chat]:
        """Give waiting chats to free staff in arrival order."""
        matched = []
        while self.free and self.waiting:
            chat = self.waiting.popleft()
            chat.staff = self.free.popleft()
            matched.append(chat)
        return matched

    def forget(self, who: Any) -> None:
        """Drop a disconnected socket from the free list and its chat."""
        if who in self.free:
            self.free.remove(who)
        chat = self.by_visitor.pop(who, None)
        if chat is not None:
            self.chats.pop(chat.id, None)

    def visitor_message(self, chat: Chat, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A new message id and the `message` payload the staff side gets."""
        message_id = next(self.message_ids)
        payload = {
            "chat_id": chat.id,
            "id": message_id,
            "from": "visitor",
            "text": data.get("text"),
            "at": now_iso(),
        }
        return message_id, payload

    def staff_message(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A new message id and the `message` payload the visitor gets."""
        message_id = next(self.message_ids)
        return message_id, {
            "id": message_id,
            "from": "staff",
            "text": data.get("text"),
            "at": now_iso(),
        }


def own_chats(chat: Chat) -> dict[str, Any]:
    """The `chats` payload for the staff member of `chat`."""
    return {"items": [{"chat_id": chat.id, "category": "tyonhaku", "status": "active"}]}


def start_ack(chat: Chat) -> dict[str, Any]:
    """The acknowledgement of `start`."""
    return {"chat_id": chat.id, "message_id": 0, "position": 0 if chat.staff else 1, "eta_s": 0}


# python-socketio.


def sio_app() -> web.Application:
    """The relay on a bare python-socketio AsyncServer, as Koppi creates it."""
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    desk = Desk()

    async def announce(matched: list[Chat]) -> None:
        """Tell both sides of each new pair, as Koppi's `assigned` and `chats` do."""
        for chat in matched:
            await sio.emit("assigned", ASSIGNED, to=chat.visitor, namespace=VISITORS)
            await sio.emit("chats", own_chats(chat), to=chat.staff, namespace=STAFF)

    class Visitors(socketio.AsyncNamespace):
        """The /chat namespace: connect, `start` and `send`."""

        async def on_connect(self, sid: str, _environ: dict[str, Any], _auth: Any = None) -> None:
            """Every visitor gets a fresh token, as an unknown token does in Koppi."""
            await self.emit("session", {"token": secrets.token_urlsafe(18)}, to=sid)

        async def on_disconnect(self, sid: str, _reason: Any = None) -> None:
            """Forget the socket's place in the desk."""
            desk.forget(sid)

        async def on_start(self, sid: str, _data: dict[str, Any]) -> dict[str, Any]:
            """Queue the chat and pair it if someone is free."""
            chat, matched = desk.start(sid)
            await announce(matched)
            return start_ack(chat)

        async def on_send(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
            """Deliver to the staff socket, then acknowledge."""
            chat = desk.by_visitor.get(sid)
            if chat is None or chat.staff is None:
                return CONFLICT
            message_id, payload = desk.visitor_message(chat, data)
            await sio.emit("message", payload, to=chat.staff, namespace=STAFF)
            return {"id": message_id}

    class Staff(socketio.AsyncNamespace):
        """The /staff namespace: `available` and `send`."""

        async def on_disconnect(self, sid: str, _reason: Any = None) -> None:
            """Forget the socket's place in the desk."""
            desk.forget(sid)

        async def on_available(self, sid: str, _data: dict[str, Any]) -> dict[str, Any]:
            """This staff socket may take a chat now."""
            await announce(desk.available(sid))
            return {"ok": True}

        async def on_send(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
            """Deliver to the visitor, then acknowledge."""
            chat = desk.chats.get(data.get("chat_id", 0))
            if chat is None or chat.staff != sid:
                return CONFLICT
            message_id, payload = desk.staff_message(data)
            await sio.emit("message", payload, to=chat.visitor, namespace=VISITORS)
            return {"id": message_id}

    sio.register_namespace(Visitors(VISITORS))
    sio.register_namespace(Staff(STAFF))
    app = web.Application()
    sio.attach(app)
    app.router.add_get("/", hello)
    app.on_startup.append(tune_gc)
    return app


# Raw aiohttp websockets.


class RawSocket:
    """One websocket and the namespace it connected."""

    __slots__ = ("ws", "ns")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.ns = ""

    async def emit(self, event: str, payload: dict[str, Any]) -> None:
        """Send one Socket.IO event frame."""
        await self.ws.send_str(f"42{self.ns},{_dumps([event, payload])}")


Handler = Callable[[RawSocket, dict[str, Any]], Awaitable[dict[str, Any]]]


def raw_app() -> web.Application:
    """The relay on aiohttp websockets, parsing and writing the Socket.IO frames itself."""
    desk = Desk()

    async def announce(matched: list[Chat]) -> None:
        """Tell both sides of each new pair, as Koppi's `assigned` and `chats` do."""
        for chat in matched:
            await chat.visitor.emit("assigned", ASSIGNED)
            await chat.staff.emit("chats", own_chats(chat))

    async def start(sock: RawSocket, _data: dict[str, Any]) -> dict[str, Any]:
        """A visitor's `start`: queue the chat and pair it if someone is free."""
        chat, matched = desk.start(sock)
        await announce(matched)
        return start_ack(chat)

    async def visitor_send(sock: RawSocket, data: dict[str, Any]) -> dict[str, Any]:
        """A visitor's `send`: deliver to the staff socket, then acknowledge."""
        chat = desk.by_visitor.get(sock)
        if chat is None or chat.staff is None:
            return CONFLICT
        message_id, payload = desk.visitor_message(chat, data)
        await chat.staff.emit("message", payload)
        return {"id": message_id}

    async def available(sock: RawSocket, _data: dict[str, Any]) -> dict[str, Any]:
        """A staff socket's `available`: it may take a chat now."""
        await announce(desk.available(sock))
        return {"ok": True}

    async def staff_send(sock: RawSocket, data: dict[str, Any]) -> dict[str, Any]:
        """A staff `send`: deliver to the visitor, then acknowledge."""
        chat = desk.chats.get(data.get("chat_id", 0))
        if chat is None or chat.staff is not sock:
            return CONFLICT
        message_id, payload = desk.staff_message(data)
        await chat.visitor.emit("message", payload)
        return {"id": message_id}

    handlers: dict[tuple[str, str], Handler] = {
        (VISITORS, "start"): start,
        (VISITORS, "send"): visitor_send,
        (STAFF, "available"): available,
        (STAFF, "send"): staff_send,
    }

    async def connect(sock: RawSocket, data: str) -> None:
        """Answer a namespace connect (`40/ns,…`); visitors also get a token."""
        comma = data.find(",")
        sock.ns = data[2:comma] if comma > 0 else "/"
        await sock.ws.send_str(f"40{sock.ns},{_dumps({'sid': secrets.token_urlsafe(12)})}")
        if sock.ns == VISITORS:
            await sock.emit("session", {"token": secrets.token_urlsafe(18)})

    async def event(sock: RawSocket, data: str) -> None:
        """Dispatch one `42/ns,[ack][name, payload]` frame and write its ack frame."""
        body = data[len(sock.ns) + 3 :]  # after `42/ns,`
        bracket = body.index("[")
        name, payload = json.loads(body[bracket:])
        handler = handlers.get((sock.ns, name))
        if handler is None or not isinstance(payload, dict):
            return
        answer = await handler(sock, payload)
        if bracket:
            await sock.ws.send_str(f"43{sock.ns},{body[:bracket]}{_dumps([answer])}")

    async def socket_io(request: web.Request) -> web.WebSocketResponse:
        """One websocket: the Engine.IO open packet, then frames until it closes."""
        ws = web.WebSocketResponse(max_msg_size=1_000_000)
        await ws.prepare(request)
        sock = RawSocket(ws)
        await ws.send_str(OPEN % secrets.token_urlsafe(12))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                data: str = msg.data
                if data.startswith("42"):
                    await event(sock, data)
                elif data.startswith("40"):
                    await connect(sock, data)
                elif data.startswith("41"):
                    break
        finally:
            desk.forget(sock)
        return ws

    app = web.Application()
    app.router.add_get("/socket.io/", socket_io)
    app.router.add_get("/", hello)
    app.on_startup.append(tune_gc)
    return app


def main() -> None:
    """Serve one relay on 127.0.0.1 until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("sio", "raw"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = sio_app() if args.kind == "sio" else raw_app()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
