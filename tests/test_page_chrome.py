"""What surrounds a page's content: visitors' pages carry the chat banner, quick exit and the
service's introduction; staff pages carry none of them, and every page links the privacy
notice and the accessibility statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

VISITOR_ONLY = ('id="chat-status"', 'id="quick-exit"', "nimetön neuvontapalvelu")


async def test_staff_pages_have_no_visitor_chrome_and_public_pages_do(
    client: TestClient,
    staff_client: Callable[..., Awaitable[TestClient]],
    coordinator: TestClient,
) -> None:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    public = await (await client.get("/")).text()
    assert all(part in public for part in VISITOR_ONLY), "the board shows the visitors' chrome"
    staff_pages = {
        "sign-in": await (await client.get("/staff/login")).text(),
        "queue": await (await sanna.get("/staff/queue")).text(),
        "account": await (await sanna.get("/staff/account")).text(),
        "statistics": await (await coordinator.get("/coordinator/stats")).text(),
    }
    for name, page in staff_pages.items():
        shown = [part for part in VISITOR_ONLY if part in page]
        assert shown == [], f"{name} shows {shown}"
    for page in [public, *staff_pages.values()]:
        assert 'href="/privacy"' in page and 'href="/accessibility"' in page
