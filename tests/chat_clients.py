"""Real socket.io clients for the chat: a visitor on /chat and a staff member on /staff."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import socketio

TIMEOUT = 5
_ids = itertools.count(1)


def new_client_id() -> str:
    return f"c{next(_ids)}"


class _Recorder:
    """Queues every event of interest so a test can wait for the next one of a kind."""

    namespace = ""
    events: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.seen: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        for name in self.events:
            self.seen[name] = asyncio.Queue()
            self.sio.on(name, self.seen[name].put, namespace=self.namespace)

    async def next(self, name: str, wait_s: float = TIMEOUT) -> dict[str, Any]:
        return await asyncio.wait_for(self.seen[name].get(), timeout=wait_s)

    async def until(self, name: str, check: Any, wait_s: float = TIMEOUT) -> dict[str, Any]:
        """The first `name` event whose payload passes `check`, skipping older ones."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            payload = await self.next(name, max(left, 0.01))
            if check(payload):
                return payload

    def drain(self, name: str) -> list[dict[str, Any]]:
        items = []
        while not self.seen[name].empty():
            items.append(self.seen[name].get_nowait())
        return items

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=TIMEOUT)

    async def close(self) -> None:
        await self.sio.disconnect()


class Visitor(_Recorder):
    namespace = "/chat"
    events = ("session", "status", "queue", "assigned", "message", "typing", "ended", "resync")

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token

    async def connect(self, url: str) -> str:
        await self.sio.connect(
            url,
            namespaces=[self.namespace],
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )
        self.token = (await self.next("session"))["token"]
        return self.token

    async def start(self, text: str = "Hei, tarvitsisin apua työnhakuun.", **extra: Any) -> Any:
        payload = {"category": "tyonhaku", "text": text, "client_id": new_client_id(), **extra}
        return await self.call("start", payload)

    async def send(self, text: str, client_id: str | None = None) -> Any:
        return await self.call("send", {"text": text, "client_id": client_id or new_client_id()})

    async def resume(self, after: int = 0) -> Any:
        """What a page does on every connect: the socket hears its chat live only after this."""
        return await self.call("resume", {"after": after})


def queue_order(item: dict[str, Any]) -> tuple[Any, ...]:
    """The documented order of the waiting list: urgent, then returned, then oldest first."""
    return (not item["urgent"], not item["returned"], item["requested_at"], item["chat_id"])


class Staff(_Recorder):
    namespace = "/staff"
    events = (
        "questions",
        "queue",
        "colleagues",
        "desk",
        "chats",
        "message",
        "typing",
        "ended",
        "resync",
    )

    def __init__(self, cookie: str) -> None:
        super().__init__()
        self.cookie = cookie
        # The lists as a console keeps them: whole on connect, then changes applied; every
        # change also lands in `queue` or `colleagues` as the whole list, for tests to wait on.
        self.lists: dict[str, dict[int, dict[str, Any]]] = {"queue": {}, "colleagues": {}}
        self.changes: dict[str, list[dict[str, Any]]] = {"queue": [], "colleagues": []}
        for name, key in (("queue", "chat_id"), ("colleagues", "id")):
            self.sio.on(name, self._whole(name, key), namespace=self.namespace)
            self.sio.on(f"{name}_changed", self._changed(name, key), namespace=self.namespace)

    def _whole(self, name: str, key: str) -> Any:
        async def handle(payload: dict[str, Any]) -> None:
            self.lists[name] = {item[key]: item for item in payload["items"]}
            await self.seen[name].put(payload)

        return handle

    def _changed(self, name: str, key: str) -> Any:
        async def handle(delta: dict[str, Any]) -> None:
            self.changes[name].append(delta)
            kept = self.lists[name]
            for gone in delta["gone"]:
                kept.pop(gone, None)
            for item in delta["items"]:
                kept[item[key]] = {**kept.get(item[key], {}), **item}
            items = list(kept.values())
            items.sort(key=queue_order if name == "queue" else lambda item: item["id"])
            await self.seen[name].put({"items": items})

        return handle

    async def connect(self, url: str) -> None:
        await self.sio.connect(
            url,
            namespaces=[self.namespace],
            headers={"Cookie": self.cookie},
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )

    async def available(self, on: bool = True) -> None:
        assert await self.call("available", {"on": on}) == {"ok": True}

    async def send(self, chat_id: int, text: str, client_id: str | None = None) -> Any:
        payload = {"chat_id": chat_id, "text": text, "client_id": client_id or new_client_id()}
        return await self.call("send", payload)

    async def own_chat_ids(self, count: int) -> list[int]:
        """Wait until this staff member holds `count` active chats; their ids."""
        payload = await self.until(
            "chats", lambda p: sum(i["status"] == "active" for i in p["items"]) == count
        )
        return [i["chat_id"] for i in payload["items"] if i["status"] == "active"]
