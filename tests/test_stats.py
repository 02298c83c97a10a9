"""Coordinators' statistics from a known sequence of usage events, asserted figure by figure."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation.chat import upkeep
from service import keys
from service.stats.export import csv_text
from service.stats.period import Period, StatsQuery
from service.stats.tables import Cell, Table
from service.storage import events
from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, ask
from tests.test_chat_socket import set_auto_assign

StaffClient = Callable[..., Awaitable[TestClient]]
PERIOD = "from=2026-11-02&to=2026-11-15"
# Helsinki is UTC+2 in November: the period is 2026-11-01T22:00Z … 2026-11-15T22:00Z.
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def _at(text: str) -> str:
    return text + "Z"


async def _feed(client: TestClient, staff: dict[str, int]) -> None:
    """Questions, chats, referrals, ratings and staff availability with known times."""
    a, b = staff["anna"], staff["ben"]
    q, c = "question", "chat"
    sequence: list[tuple[str, str, dict[str, Any]]] = [
        # Q1: asked Friday 15:00, answered and published Monday 14:00 (Helsinki): 71 hours,
        # but only 23 working hours across the weekend.
        (events.QUESTION_ASKED, "2026-11-06T13:00:00", {"subject_id": 1}),
        (
            events.QUESTION_ANSWERED,
            "2026-11-09T12:00:00",
            {"subject_id": 1, "staff_id": a, "seconds": 255600, "detail": {"publish": True}},
        ),
        (events.QUESTION_PUBLISHED, "2026-11-09T12:00:00", {"subject_id": 1, "staff_id": a}),
        # Q2: answered privately after half an hour.
        (events.QUESTION_ASKED, "2026-11-09T08:00:00", {"subject_id": 2}),
        (
            events.QUESTION_ANSWERED,
            "2026-11-09T08:30:00",
            {"subject_id": 2, "staff_id": a, "seconds": 1800, "detail": {"publish": False}},
        ),
        # Q3: answered after the period ends, four working days later.
        (events.QUESTION_ASKED, "2026-11-10T07:00:00", {"subject_id": 3}),
        (
            events.QUESTION_ANSWERED,
            "2026-11-16T07:00:00",
            {"subject_id": 3, "staff_id": b, "seconds": 518400, "detail": {"publish": False}},
        ),
        # Q4 rejected, Q5 still waiting (two working days), Q6 deleted by the asker.
        (events.QUESTION_ASKED, "2026-11-11T10:00:00", {"subject_id": 4}),
        (events.QUESTION_REJECTED, "2026-11-11T11:00:00", {"subject_id": 4, "staff_id": b}),
        (events.QUESTION_ASKED, "2026-11-12T12:00:00", {"subject_id": 5}),
        (events.QUESTION_ASKED, "2026-11-13T09:00:00", {"subject_id": 6}),
        (events.QUESTION_DELETED, "2026-11-13T10:00:00", {"subject_id": 6}),
        # Q7 (money): asked and answered on a Saturday, which takes no working time.
        (events.QUESTION_ASKED, "2026-11-14T08:00:00", {"subject_id": 7, "category": "raha"}),
        (
            events.QUESTION_ANSWERED,
            "2026-11-14T10:00:00",
            {
                "subject_id": 7,
                "category": "raha",
                "staff_id": b,
                "seconds": 7200,
                "detail": {"publish": True},
            },
        ),
        (
            events.QUESTION_PUBLISHED,
            "2026-11-14T10:00:00",
            {"subject_id": 7, "category": "raha", "staff_id": b},
        ),
        # Q8: asked before the period, published in it.
        (events.QUESTION_ASKED, "2026-11-01T10:00:00", {"subject_id": 8}),
        (
            events.QUESTION_ANSWERED,
            "2026-11-02T08:00:00",
            {"subject_id": 8, "staff_id": b, "seconds": 79200, "detail": {"publish": True}},
        ),
        (events.QUESTION_PUBLISHED, "2026-11-02T08:00:00", {"subject_id": 8, "staff_id": b}),
        (
            events.REFERRAL_MADE,
            "2026-11-09T12:00:00",
            {"subject_id": 1, "staff_id": a, "detail": {"service_id": "svc-workshop"}},
        ),
        # C1: taken after a minute, answered in 30 s, ended by staff after 20 minutes.
        (
            events.CHAT_REQUESTED,
            "2026-11-09T08:00:00",
            {"subject_id": 1, "channel": c, "category": "tyonhaku", "detail": {"open": True}},
        ),
        (
            events.CHAT_ASSIGNED,
            "2026-11-09T08:01:00",
            {"subject_id": 1, "channel": c, "category": "tyonhaku", "staff_id": a, "seconds": 60},
        ),
        (
            events.CHAT_FIRST_REPLY,
            "2026-11-09T08:01:30",
            {"subject_id": 1, "channel": c, "category": "tyonhaku", "staff_id": a, "seconds": 30},
        ),
        (
            events.REFERRAL_MADE,
            "2026-11-09T08:10:00",
            {
                "subject_id": 1,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": a,
                "detail": {"service_id": "svc-workshop"},
            },
        ),
        (
            events.REFERRAL_MADE,
            "2026-11-09T08:11:00",
            {
                "subject_id": 1,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": a,
                "detail": {"service_id": "svc-ohjaamo"},
            },
        ),
        (
            events.CHAT_ENDED,
            "2026-11-09T08:21:00",
            {
                "subject_id": 1,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": a,
                "seconds": 1200,
                "detail": {"by": "staff"},
            },
        ),
        (
            events.CHAT_RATED,
            "2026-11-09T08:22:00",
            {
                "subject_id": 1,
                "channel": c,
                "category": "tyonhaku",
                "detail": {"score": 5, "helped": True},
            },
        ),
        # C2: gone from the queue in the same second it arrived.
        (
            events.CHAT_REQUESTED,
            "2026-11-09T08:05:00",
            {"subject_id": 2, "channel": c, "category": "tyonhaku", "detail": {"open": True}},
        ),
        (
            events.CHAT_ABANDONED,
            "2026-11-09T08:05:00",
            {
                "subject_id": 2,
                "channel": c,
                "category": "tyonhaku",
                "seconds": 0,
                "detail": {"by": "visitor"},
            },
        ),
        # C3: five minutes in the queue, transferred, then the young person went silent.
        (
            events.CHAT_REQUESTED,
            "2026-11-10T16:00:00",
            {"subject_id": 3, "channel": c, "category": "tyonhaku", "detail": {"open": True}},
        ),
        (
            events.CHAT_ASSIGNED,
            "2026-11-10T16:05:00",
            {"subject_id": 3, "channel": c, "category": "tyonhaku", "staff_id": b, "seconds": 300},
        ),
        (
            events.CHAT_FIRST_REPLY,
            "2026-11-10T16:05:20",
            {"subject_id": 3, "channel": c, "category": "tyonhaku", "staff_id": b, "seconds": 20},
        ),
        (
            events.CHAT_TRANSFERRED,
            "2026-11-10T16:10:00",
            {
                "subject_id": 3,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": b,
                "detail": {"to": "staff", "role": None},
            },
        ),
        (
            events.CHAT_ASSIGNED,
            "2026-11-10T16:10:00",
            {
                "subject_id": 3,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": a,
                "seconds": 600,
                "detail": {"again": True},
            },
        ),
        (
            events.CHAT_ENDED,
            "2026-11-10T16:35:00",
            {
                "subject_id": 3,
                "channel": c,
                "category": "tyonhaku",
                "staff_id": a,
                "seconds": 1800,
                "detail": {"by": "timeout"},
            },
        ),
        (
            events.CHAT_RATED,
            "2026-11-10T16:40:00",
            {
                "subject_id": 3,
                "channel": c,
                "category": "tyonhaku",
                "detail": {"score": 2, "helped": False},
            },
        ),
        # C4 (coping): turned into a question while waiting.
        (
            events.CHAT_REQUESTED,
            "2026-11-11T12:00:00",
            {"subject_id": 4, "channel": c, "category": "jaksaminen", "detail": {"open": True}},
        ),
        (
            events.CHAT_CONVERTED,
            "2026-11-11T12:06:40",
            {
                "subject_id": 4,
                "channel": c,
                "category": "jaksaminen",
                "seconds": 400,
                "detail": {"by": "visitor"},
            },
        ),
        # Attempts while closed: Saturday 09:00 and Sunday 23:59, Helsinki time.
        (
            events.CHAT_REQUESTED,
            "2026-11-14T07:00:00",
            {"channel": c, "category": "tyonhaku", "detail": {"open": False}},
        ),
        (
            events.CHAT_REQUESTED,
            "2026-11-15T21:59:00",
            {"channel": c, "category": "tyonhaku", "detail": {"open": False}},
        ),
        # Availability: Ben was on when the period began; Anna and Ben overlap on Tuesday.
        (events.STAFF_AVAILABILITY, "2026-11-01T21:00:00", {"staff_id": b, "detail": {"on": True}}),
        (
            events.STAFF_AVAILABILITY,
            "2026-11-01T23:30:00",
            {"staff_id": b, "detail": {"on": False}},
        ),
        (events.STAFF_AVAILABILITY, "2026-11-09T07:30:00", {"staff_id": a, "detail": {"on": True}}),
        (
            events.STAFF_AVAILABILITY,
            "2026-11-09T10:00:00",
            {"staff_id": a, "detail": {"on": False}},
        ),
        (events.STAFF_AVAILABILITY, "2026-11-10T15:30:00", {"staff_id": b, "detail": {"on": True}}),
        (events.STAFF_AVAILABILITY, "2026-11-10T16:00:00", {"staff_id": a, "detail": {"on": True}}),
        (
            events.STAFF_AVAILABILITY,
            "2026-11-10T16:30:00",
            {"staff_id": a, "detail": {"on": False}},
        ),
        (
            events.STAFF_AVAILABILITY,
            "2026-11-10T17:30:00",
            {"staff_id": b, "detail": {"on": False}},
        ),
    ]
    async with client.server.app[keys.DB].transaction() as tx:
        for kind, at, fields in sequence:
            fields = {"category": "tyopajat", "channel": q, **fields}
            if kind == events.STAFF_AVAILABILITY:
                fields.update(category=None, channel=c)
            await events.record(tx, kind, at=_at(at), **fields)


@pytest.fixture
async def coordinator(
    client: TestClient, staff_client: StaffClient, clock: FakeClock
) -> TestClient:
    clock.now = NOW
    coordinator = await staff_client("helena", "coordinator", "Helena")
    anna = await staff_client("anna", "counsellor", "Anna")
    ben = await staff_client("ben", "adviser", "Ben")
    ids = {}
    for name, who in (("anna", anna), ("ben", ben)):
        ids[name] = (await (await who.get("/api/staff/me")).json())["id"]
    await _feed(client, ids)
    return coordinator


async def _stats(who: TestClient, query: str = PERIOD) -> dict[str, Any]:
    response = await who.get(f"/api/stats?{query}")
    assert response.status == 200, await response.text()
    return await response.json()


async def test_question_figures_follow_the_definitions(coordinator: TestClient) -> None:
    q = (await _stats(coordinator))["questions"]
    counted = ("asked", "published", "answered_privately", "rejected", "deleted")
    assert {k: q[k] for k in counted} == {
        "asked": 7,
        "published": 3,
        "answered_privately": 1,
        "rejected": 1,
        "deleted": 1,
    }
    # First answers of Q1, Q2, Q3 and Q7: 1800, 7200, 255600, 518400 s; nearest rank.
    assert q["first_answer"] == {"n": 4, "median": 7200, "p90": 518400}
    # Within one working day: Q1 (23 working hours over the weekend), Q2, Q7; Q3 late; Q5 is
    # waiting and overdue. Within five: all four answered; Q5 is not yet five days old.
    assert q["within_working_days"] == {
        "1": {"count": 3, "base": 5, "value": 0.6},
        "5": {"count": 4, "base": 4, "value": 1.0},
    }


async def test_chat_figures_keep_each_ending_apart(coordinator: TestClient) -> None:
    chat = (await _stats(coordinator))["chat"]
    assert {k: chat[k] for k in chat if not isinstance(chat[k], dict)} == {
        "attempts": 6,
        "attempts_open": 4,
        "attempts_closed": 2,
        "answered": 2,
        "abandoned": 1,
        "timed_out": 1,
        "converted": 1,
        "transfers": 1,
    }
    assert chat["queue_wait"] == {"n": 2, "median": 60, "p90": 300}
    # Abandoned after 0 seconds is a wait of zero, not a missing value.
    assert chat["abandon_wait"] == {"n": 1, "median": 0, "p90": 0}
    assert chat["first_response"] == {"n": 2, "median": 20, "p90": 30}
    assert chat["handle_time"] == {"n": 2, "median": 1200, "p90": 1800}


async def test_demand_heatmap_and_staffed_hours_are_in_helsinki_time(
    coordinator: TestClient,
) -> None:
    demand = (await _stats(coordinator))["demand"]
    cells = {(c["weekday"], c["hour"]): c for c in demand["cells"]}
    assert len(cells) == 7 * 24
    attempts = {key: c["attempts"] for key, c in cells.items() if c["attempts"]}
    # 23:59 on Sunday stays on Sunday at 23, not Monday.
    assert attempts == {(0, 10): 2, (1, 18): 1, (2, 14): 1, (5, 9): 1, (6, 23): 1}
    assert cells[(6, 23)]["attempts_closed"] == 1 and cells[(0, 10)]["attempts_closed"] == 0
    assert demand["closed_share"] == {"count": 2, "base": 6, "value": pytest.approx(1 / 3)}
    staffed = {key: c["staffed_hours"] for key, c in cells.items() if c["staffed_hours"]}
    assert staffed == {
        (0, 0): 1.0,
        (0, 1): 0.5,
        (0, 9): 0.5,
        (0, 10): 1.0,
        (0, 11): 1.0,
        (1, 17): 0.5,
        (1, 18): 1.0,
        (1, 19): 0.5,
    }
    assert demand["staffed_hours"] == 6.0
    assert {c["slots"] for c in cells.values()} == {2}


async def test_referrals_ratings_and_staff(coordinator: TestClient) -> None:
    stats = await _stats(coordinator)
    assert stats["referrals"] == {
        "by_service": [
            {"service_id": "svc-workshop", "name": "svc-workshop", "count": 2},
            {"service_id": "svc-ohjaamo", "name": "svc-ohjaamo", "count": 1},
        ],
        "by_category": [{"category": "tyonhaku", "count": 2}, {"category": "tyopajat", "count": 1}],
    }
    assert stats["ratings"] == {
        "rated": 2,
        "helped": {"count": 1, "base": 2, "value": 0.5},
        "mean_score": 3.5,
        "scored": 2,
        "response": {"count": 2, "base": 2, "value": 1.0},
    }
    by_name = {p["name"]: p for p in stats["staff"]}
    assert by_name["Anna (anna)"]["questions_answered"] == 2
    assert by_name["Anna (anna)"]["chats_handled"] == 2
    assert by_name["Anna (anna)"]["handle_time"] == {"n": 2, "median": 1200, "p90": 1800}
    assert by_name["Ben (ben)"]["questions_answered"] == 2
    assert by_name["Ben (ben)"]["chats_handled"] == 0
    assert set(by_name) == {"Anna (anna)", "Ben (ben)"}


async def test_category_and_channel_filters(coordinator: TestClient) -> None:
    jobs = await _stats(coordinator, PERIOD + "&category=tyonhaku")
    assert jobs["chat"]["attempts"] == 5
    assert jobs["questions"]["asked"] == 0
    assert jobs["referrals"]["by_category"] == [{"category": "tyonhaku", "count": 2}]
    questions = await _stats(coordinator, PERIOD + "&channel=question")
    assert questions["chat"]["attempts"] == 0
    assert questions["referrals"]["by_service"] == [
        {"service_id": "svc-workshop", "name": "svc-workshop", "count": 1}
    ]
    # Staffed hours are not about a topic: a category filter leaves them as they are.
    assert jobs["demand"]["staffed_hours"] == 6.0


async def test_page_shows_figures_with_definitions_and_charts(coordinator: TestClient) -> None:
    response = await coordinator.get(f"/coordinator/stats?{PERIOD}&lang=en")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    for text in (
        "Questions asked",
        "Answered within 1 working day",
        "60.0\xa0%",
        "Abandoned in the queue",
        "0 s",
        "Contact attempts by weekday and hour",
        "Share of the hour with someone available",
        "Referrals by service",
        "Anna (anna)",
        # A definition shown as help text:
        "weekdays that are not Finnish public holidays",
    ):
        assert text in page, text
    assert page.count('<svg role="img"') == 6
    assert 'aria-labelledby="demand.attempts-chart-title demand.attempts-chart-desc"' in page
    assert "highest on Mon at 10–11 (2)" in page
    filtered = await (await coordinator.get(f"/coordinator/stats?{PERIOD}&category=raha")).text()
    assert 'href="/coordinator/stats?period=week&amp;category=raha"' in filtered


def excel_rows(text: str) -> list[list[str]]:
    """A download as Finnish Excel reads it: a UTF-8 BOM, then rows separated by semicolons."""
    assert text.startswith("\ufeff"), "without the BOM Excel reads UTF-8 as an old code page"
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


async def test_csv_exports_hide_small_counts(coordinator: TestClient) -> None:
    response = await coordinator.get(f"/coordinator/stats/questions.csv?{PERIOD}&lang=en")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    assert "koppi-questions-2026-11-02-2026-11-15.csv" in response.headers["Content-Disposition"]
    assert (await response.read()).startswith(b"\xef\xbb\xbf# Questions;")
    table = excel_rows(await response.text())
    assert ["Figure", "Value"] in table
    values = {row[0]: row[1] for row in table if row and not row[0].startswith("#")}
    assert values["Questions asked"] == "7"
    assert values["Answered and published"] == "<5"
    assert values["Deleted by the asker"] == "<5"
    # A decimal comma: Finnish Excel reads "60,0" as a number and "60.0" as text or a date.
    assert values["Answered within 1 working day (%)"] == "60,0"
    # Resting on four questions: left empty rather than revealing them.
    assert values["Answered within 5 working days (%)"] == ""
    assert values["Time to first answer – median (min)"] == ""
    services = await coordinator.get(f"/coordinator/stats/referrals.by_service.csv?{PERIOD}")
    rows = excel_rows(await services.text())
    assert ["svc-workshop", "<5"] in rows and ["svc-ohjaamo", "<5"] in rows
    missing = await coordinator.get(f"/coordinator/stats/nonsense.csv?{PERIOD}")
    assert missing.status == 404
    # Staffed time is about staff: a share resting on two Mondays is still written.
    staffed = await coordinator.get(f"/coordinator/stats/demand.staffed.csv?{PERIOD}")
    grid = {row[0]: row[1:] for row in excel_rows(await staffed.text())}
    assert grid["Hour"][0] == "Mon (%)"
    assert grid["10–11"][0] == "50,0" and grid["09–10"][0] == "25,0"


def test_exports_defuse_spreadsheet_formulas() -> None:
    query = StatsQuery(Period(date(2026, 11, 2), date(2026, 11, 15)))
    table = Table(
        "t",
        "T",
        ["Name", "Count"],
        [[Cell(name, "text"), Cell(n)] for name, n in (("=HYPERLINK(1)", 7), ("\t=1", 0))]
        + [[Cell("-5", "text"), Cell(9)]],
    )
    rows = excel_rows(csv_text(table, query))[-3:]
    assert rows == [["'=HYPERLINK(1)", "7"], ["'\t=1", "0"], ["-5", "9"]]


def test_exports_write_durations_in_minutes_with_the_unit_in_the_header() -> None:
    query = StatsQuery(Period(date(2026, 11, 2), date(2026, 11, 15)))
    figures = Table(
        "f",
        "F",
        ["Figure", "Value"],
        [
            [Cell("Response time – median", "text"), Cell(90, "seconds", 12)],
            [Cell("Rated", "text"), Cell(12)],
            [Cell("Helped", "text"), Cell(0.755, "share", 12)],
            [Cell("Score", "text"), Cell(4.25, "score", 12)],
        ],
    )
    assert excel_rows(csv_text(figures, query))[-5:] == [
        ["Figure", "Value"],
        ["Response time – median (min)", "1,5"],
        ["Rated", "12"],
        ["Helped (%)", "75,5"],
        ["Score", "4,2"],
    ]
    people = Table(
        "p",
        "P",
        ["Staff member", "Chats", "Median handle time"],
        [[Cell("Sanna", "text"), Cell(9), Cell(754, "seconds", 9)]],
    )
    header, sanna = excel_rows(csv_text(people, query))[-2:]
    assert header == ["Staff member", "Chats", "Median handle time (min)"]
    assert sanna == ["Sanna", "9", "12,6"]
    assert float(sanna[2].replace(",", ".")) == pytest.approx(754 / 60, abs=0.05)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("from=9999-12-31&to=9999-12-31", "from"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("category=nope", "category"),
        ("channel=phone", "channel"),
        ("period=decade", "period"),
    ],
)
async def test_bad_parameters_name_the_field(
    coordinator: TestClient, query: str, field: str
) -> None:
    response = await coordinator.get(f"/api/stats?{query}")
    assert response.status == 400
    assert field in (await response.json())["errors"]
    page = await coordinator.get(f"/coordinator/stats?{query}")
    assert page.status == 400
    assert f'id="{field}-error"' in await page.text()


async def test_only_coordinators_and_admins_see_statistics(
    client: TestClient, staff_client: StaffClient
) -> None:
    counsellor = await staff_client("sanna", "counsellor")
    adviser = await staff_client("aki", "adviser")
    admin = await staff_client("root", "admin")
    paths = ("/coordinator/stats", "/coordinator/stats/chat.csv", "/api/stats")
    for path in paths:
        anonymous = await client.get(path, allow_redirects=False)
        if path.startswith("/api/"):
            assert anonymous.status == 401
        else:
            assert anonymous.status == 302
            assert anonymous.headers["Location"].startswith("/staff/login?next=")
        for who in (counsellor, adviser):
            assert (await who.get(path)).status == 403, path
        assert (await admin.get(path)).status == 200, path


async def test_api_answer_matches_its_openapi_description(coordinator: TestClient) -> None:
    spec = await (await coordinator.get("/api/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    def check(value: Any, schema: dict[str, Any], where: str) -> None:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
        if "properties" in schema:
            assert set(value) == set(schema["properties"]), where
            for key, inner in value.items():
                check(inner, schema["properties"][key], f"{where}.{key}")
        elif schema.get("type") == "array":
            for n, item in enumerate(value):
                check(item, schema["items"], f"{where}[{n}]")
        else:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            python = {"integer": int, "number": (int, float), "string": str, "null": type(None)}
            assert isinstance(value, tuple(python[k] for k in kinds)), where

    ok = spec["paths"]["/api/stats"]["get"]["responses"]["200"]
    check(await _stats(coordinator), ok["content"]["application/json"]["schema"], "stats")


async def test_real_flows_feed_the_figures(
    client: TestClient,
    clock: FakeClock,
    staff_client: StaffClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
) -> None:
    """A question asked on Friday afternoon and answered on Monday, and a chat left in the same
    second it was requested, through the real HTTP and Socket.IO paths."""
    clock.now = datetime(2026, 11, 6, 13, 0, tzinfo=UTC)  # Friday 15:00 in Helsinki
    asked = await ask(client)
    clock.now = datetime(2026, 11, 9, 12, 0, tzinfo=UTC)  # Monday 14:00
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    question = f"/api/staff/questions/{asked['id']}"
    assert (await sanna.post(question + "/claim", json={})).status == 200
    answer = {"body": "Työpajaan pääsee ohjaamon kautta.", "publish": True}
    assert (await sanna.post(question + "/answer", json=answer)).status == 200

    await set_auto_assign(client, False)
    await on_duty("mikko", "adviser", "Mikko")
    young = await visitor()
    assert "chat_id" in await young.start()
    assert (await young.call("end", {}))["ok"] is True
    clock.advance(hours=1)

    coordinator = await staff_client("helena", "coordinator", "Helena")
    stats = await _stats(coordinator, "from=2026-11-02&to=2026-11-09")
    assert stats["questions"]["asked"] == 1 and stats["questions"]["published"] == 1
    assert stats["questions"]["first_answer"] == {"n": 1, "median": 255600, "p90": 255600}
    assert stats["questions"]["within_working_days"]["1"] == {"count": 1, "base": 1, "value": 1.0}
    chat = stats["chat"]
    assert (chat["attempts"], chat["attempts_open"], chat["abandoned"]) == (1, 1, 1)
    assert chat["abandon_wait"] == {"n": 1, "median": 0, "p90": 0}
    assert stats["demand"]["staffed_hours"] == 1.0


async def test_an_outage_is_not_counted_as_staffed(
    client: TestClient,
    clock: FakeClock,
    staff_client: StaffClient,
    on_duty: Callable[..., Awaitable[Staff]],
) -> None:
    """On duty for half an hour, then the service is down for ten hours: only the half hour
    counts, whether or not the counsellor comes back after the restart."""
    chat = client.server.app[keys.CHAT]
    clock.now = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
    await on_duty("sanna", "counsellor", "Sanna")
    clock.advance(minutes=30)
    await upkeep.tick(chat)  # the last heartbeat before the outage
    clock.advance(hours=10)
    await upkeep.after_restart(chat)
    clock.advance(minutes=3)
    await upkeep.tick(chat)  # she did not come back: off duty since the restart
    coordinator = await staff_client("helena", "coordinator", "Helena")
    stats = await _stats(coordinator, "from=2026-11-09&to=2026-11-09")
    assert stats["demand"]["staffed_hours"] == 0.5
