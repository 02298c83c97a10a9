"""The demo board also holds answered questions written in Swedish, and they can be found."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import FakeClock
from web import DEMO_DIR

SWEDISH_TITLES = {
    "Kan jag få hjälp på svenska på Ohjaamo?",
    "När ska jag söka sommarjobb?",
    "Arbetsgivaren frågade om lönesubvention",
    "Kom inte in i den gemensamma ansökan",
}


def test_demo_file_has_the_swedish_questions_in_the_common_format() -> None:
    items = json.loads((DEMO_DIR / "questions.json").read_text(encoding="utf-8"))
    swedish = [i for i in items if i["title"] in SWEDISH_TITLES]
    assert len(swedish) == len(SWEDISH_TITLES)
    assert len({i["days_ago"] for i in items}) == len(items), "one question a day keeps order"
    for item in swedish:
        assert set(item) == {"category", "title", "body", "days_ago", "answers"}
        roles = {a["role"] for a in item["answers"]}
        assert roles and roles <= {"counsellor", "adviser"}


async def test_swedish_demo_questions_are_published_answered_and_searchable(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(create_app(dataclasses.replace(settings, demo=True), clock=clock))
    board = await (await client.get("/api/questions", params={"per_page": 50})).json()
    by_title = {q["title"]: q for q in board["items"]}
    assert SWEDISH_TITLES <= set(by_title)
    assert all(by_title[t]["answers"] for t in SWEDISH_TITLES)
    found = await (await client.get("/api/questions", params={"q": "lönesubvention"})).json()
    assert [q["title"] for q in found["items"]] == ["Arbetsgivaren frågade om lönesubvention"]
    summer = await (await client.get("/api/questions", params={"q": "sommarjobb"})).json()
    assert "När ska jag söka sommarjobb?" in {q["title"] for q in summer["items"]}
