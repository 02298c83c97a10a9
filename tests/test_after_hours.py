"""Help at any hour: at 23:00 with no one on duty, what happens next and when, and help now."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation import answer_time
from moderation.answer_time import Pace
from service.clock import LOCAL_ZONE
from service.settings import DEFAULT_CRISIS_CHAT_URL, DEFAULT_CRISIS_PHONES
from tests.conftest import FakeClock, ask

WEEKDAYS_10_TO_16 = {day: ["10:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
# Tuesday 24 November 2026, 23:00 in Helsinki.
LATE = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_ZONE)


def _text(page: str) -> str:
    """The page's words, tags out and spaces squeezed, as someone reads them."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def late(clock: FakeClock) -> FakeClock:
    clock.now = LATE
    return clock


async def _closed_for_the_night(coordinator: TestClient) -> None:
    saved = await coordinator.put("/api/coordinator/chat", json={"weekly": WEEKDAYS_10_TO_16})
    assert saved.status == 200


async def test_at_23_the_ask_page_says_what_happens_next(
    late: FakeClock, client: TestClient, coordinator: TestClient
) -> None:
    await _closed_for_the_night(coordinator)
    page = await (await client.get("/ask?lang=en")).text()
    text = _text(page)
    assert 'class="after-hours"' in page
    assert "The chat is closed right now." in text
    assert "The chat opens next on Wednesday 25 Nov at 10:00." in text
    # No history yet: two working days from Tuesday night is Thursday.
    assert "expect an answer within 2 working days, by Thursday 26 Nov 2026." in text
    assert "a few working days" not in text, "no fixed phrase any more"
    phone = DEFAULT_CRISIS_PHONES["en"]
    assert f"Crisis helpline: {phone}" in text
    assert f'href="tel:{re.sub(r"[^0-9+]", "", phone)}"' in page
    assert f'href="{DEFAULT_CRISIS_CHAT_URL}"' in page and "Mental-health chat" in text
    assert re.search(r'<a class="button after-hours-open-now" href="/services\?open=1">', page)
    assert "Services open now" in text
    services = await client.get("/services?open=1")
    assert services.status == 200, "the open-now link leads to the directory's filter"


async def test_the_expected_answer_moves_with_the_queue(
    late: FakeClock, client: TestClient, coordinator: TestClient
) -> None:
    await _closed_for_the_night(coordinator)
    for _ in range(9):
        await ask(client)
    text = _text(await (await client.get("/ask?lang=en")).text())
    # Nine ahead at two a working day: five working days, Wednesday to the next Tuesday.
    assert "within 5 working days, by Tuesday 1 Dec 2026." in text
    assert "9 questions are waiting for an answer right now." in text
    for _ in range(12):
        await ask(client)
    text = _text(await (await client.get("/ask?lang=en")).text())
    assert "within 11 working days, by Wednesday 9 Dec 2026." in text
    assert "21 questions are waiting" in text


async def test_the_followup_page_counts_from_the_question_and_its_place(
    late: FakeClock, client: TestClient, coordinator: TestClient
) -> None:
    await _closed_for_the_night(coordinator)
    first = await ask(client)
    for _ in range(5):
        await ask(client)
    last = await ask(client)
    first_page = _text(await (await client.get(f"/f/{first['code']}?lang=en")).text())
    assert "You can expect an answer by Thursday 26 Nov 2026." in first_page
    assert "a few working days" not in first_page
    last_page = _text(await (await client.get(f"/f/{last['code']}?lang=en")).text())
    assert "You can expect an answer by Friday 27 Nov 2026." in last_page, "six ahead: three days"
    late.advance(days=14)
    overdue = _text(await (await client.get(f"/f/{first['code']}?lang=en")).text())
    assert "It is taking longer than usual" in overdue


async def test_recent_replies_set_the_typical_time(
    late: FakeClock,
    client: TestClient,
    coordinator: TestClient,
    staff_client: Callable[..., Awaitable[TestClient]],
) -> None:
    await _closed_for_the_night(coordinator)
    adviser = await staff_client("mikko", "adviser", "Mikko")
    # Six questions asked two weeks ago, each answered six working days later.
    late.now = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    asked = [await ask(client) for _ in range(6)]
    late.now = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    for question in asked:
        answered = await adviser.post(
            f"/api/staff/questions/{question['id']}/answer",
            json={"body": "Vastaus sinulle.", "publish": False},
        )
        assert answered.status == 200, await answered.text()
    late.now = LATE
    text = _text(await (await client.get("/ask?lang=en")).text())
    assert "within 6 working days, by Wednesday 2 Dec 2026." in text


async def test_in_swedish_too(late: FakeClock, client: TestClient, coordinator: TestClient) -> None:
    await _closed_for_the_night(coordinator)
    await ask(client)
    page = await client.get("/ask?lang=sv")
    text = _text(await page.text())
    assert "Chatten är stängd just nu." in text
    assert "Chatten öppnar nästa gång onsdag 25.11. kl. 10.00." in text
    assert "inom 2 vardagar, senast torsdag 26.11.2026." in text
    assert "1 fråga väntar på svar just nu." in text
    assert f"Krisjour: {DEFAULT_CRISIS_PHONES['sv']}" in text
    assert "Chatt om psykisk hälsa för unga" in text and "Tjänster som är öppna nu" in text
    finnish = _text(await (await client.get("/ask?lang=fi")).text())
    assert "viimeistään torstaina 26.11.2026." in finnish
    assert "keskiviikkona 25.11. klo 10.00" in finnish


async def test_with_the_chat_open_only_the_expectation_shows(
    client: TestClient, on_duty: Callable[..., Awaitable[Any]]
) -> None:
    # The test clock's Tuesday noon, hours or not: someone is on duty.
    await on_duty("sanna", "counsellor", "Sanna")
    page = await (await client.get("/ask?lang=en")).text()
    assert 'class="after-hours"' not in page
    assert "you can expect an answer within 2 working days, by Thursday 26 Nov 2026." in _text(page)


def test_working_days_skip_weekends_and_holidays() -> None:
    quiet = Pace(answer_time.DEFAULT_DAYS, answer_time.MIN_PER_DAY)
    # Asked on the evening of 23 December: Christmas Eve to Boxing Day and the weekend off.
    found = answer_time.expect(
        quiet, ahead=0, since=_local("2026-12-23T22:00"), now=_local("2026-12-23T22:00")
    )
    assert found is not None and found.by == date(2026, 12, 29)
    assert answer_time.expect(quiet, ahead=100, since=LATE, now=LATE) is None, "too long"
    replied = [(_local("2026-11-02T10:00"), _local("2026-11-03T10:00"))] * 4
    assert answer_time.pace(replied, LATE) == quiet, "too few replies say nothing yet"
    busy = answer_time.pace(replied * 20, LATE)
    assert busy.typical_days == 1.0 and busy.per_day == 80 / 20
    # A full sample covers less than the four weeks: the pace is over the time it spans,
    # Monday 10:00 to Tuesday 23:00 (37 working hours).
    monday = [(_local("2026-11-23T10:00"), _local("2026-11-23T13:00"))] * answer_time.SAMPLE
    crowded = answer_time.pace(monday, LATE)
    assert crowded.typical_days == pytest.approx(3 / 24)
    assert crowded.per_day == pytest.approx(answer_time.SAMPLE / (37 / 24))
