"""What surrounds a page's content: visitors' pages carry the chat banner, quick exit and the
service's introduction; staff pages carry none of them, and every page links the privacy
notice and the accessibility statement."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from service import i18n
from service.http.render import soon

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


def test_the_chat_status_says_when_it_opens_in_a_few_words() -> None:
    """The header's pill has room for "aukeaa ma 9.00", not for a full date and time."""
    tuesday_evening = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 22.00 in Helsinki
    later_today = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    wednesday = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    in_december = datetime(2026, 12, 5, 7, 30, tzinfo=UTC)
    expected = {
        "fi": ("tänään 23.00", "ke 9.00", "5.12. 9.30"),
        "sv": ("i dag 23.00", "ons 9.00", "5.12. 9.30"),
        "en": ("today 23:00", "Wed 09:00", "5 Dec 09:30"),
    }
    for lang, (today, tomorrow, later) in expected.items():
        with i18n.speaking(lang):
            assert soon(later_today, tuesday_evening) == today
            assert soon(wednesday, tuesday_evening) == tomorrow
            assert soon(in_december, tuesday_evening) == later


async def test_the_header_shows_the_chat_closed_and_when_it_opens(
    client: TestClient, coordinator: TestClient
) -> None:
    # The test clock says Tuesday 24 Nov 2026 12.00 in Helsinki.
    hours = {"weekly": {"tue": ["13:00-16:00"]}}
    assert (await coordinator.put("/api/coordinator/chat", json=hours)).status == 200
    page = await (await client.get("/")).text()
    pill = re.search(r'<a class="chat-status closed" id="chat-status" href="/chat">(.*?)</a>', page)
    assert pill, page
    text = re.sub(r"<[^>]+>", "", pill.group(1))
    assert text == "Chat kiinni · aukeaa tänään 13.00"
