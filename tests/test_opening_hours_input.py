"""Opening hours accept the forms people type (`9-16`, `9.00-16.00`, `09:00–16:00`), and a form
that cannot be read is refused naming the field, with an example."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from service.hours import typed_spans
from tests.conftest import csrf_token

CHAT = "/coordinator/chat"


def labels(text: str) -> list[str]:
    return [span.label() for span in typed_spans(text)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9-16", ["09:00–16:00"]),
        ("9.00-16.00", ["09:00–16:00"]),
        ("09:00–16:00", ["09:00–16:00"]),  # en dash
        ("09:00—16:00", ["09:00–16:00"]),  # em dash
        ("9 – 16", ["09:00–16:00"]),
        ("9:30-16", ["09:30–16:00"]),
        ("klo 9-16", ["09:00–16:00"]),
        ("Klo 9.15 - klo 16.45", ["09:15–16:45"]),
        ("kl. 9–16", ["09:00–16:00"]),
        ("9-12, 13-16", ["09:00–12:00", "13:00–16:00"]),
        ("9-12; 18.30-21", ["09:00–12:00", "18:30–21:00"]),
        ("18-24", ["18:00–24:00"]),
        ("0-8", ["00:00–08:00"]),
        ("", []),
        (" , ", []),
    ],
)
def test_typed_forms_are_read(typed: str, expected: list[str]) -> None:
    assert labels(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "16-9",  # the end before the start
        "9-9",
        "9",
        "9-16-18",
        "25-26",
        "9:60-10",
        "9.5-16",  # a decimal hour is not a time
        "9 16",
        "24-24",
        "aamusta iltaan",
        "٩-١٦",  # digits of another script
        "9-16 klo",
    ],
)
def test_unreadable_forms_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        typed_spans(typed)


async def _post(who: TestClient, fields: dict[str, str]) -> str:
    token = csrf_token(await (await who.get(CHAT)).text())
    response = await who.post(CHAT, data={"csrf_token": token, **fields}, allow_redirects=False)
    return f"{response.status}\n{await response.text()}"


HOURS = {f"weekly-{day}": "" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def test_the_hours_form_saves_typed_forms_and_names_a_bad_field(
    coordinator: TestClient,
) -> None:
    await coordinator.get("/staff?lang=en")
    typed = {
        **HOURS,
        "weekly-mon": "9-16",
        "weekly-tue": "9.00-16.00, 18–21",
        "weekly-wed": "09:00 — 16:00",
        "exceptions-0-day": "2026-12-24",
        "exceptions-0-hours": "klo 10-12",
        "exceptions-0-note": "",
        "wait_minutes": "10",
    }
    saved = await _post(coordinator, typed)
    assert saved.startswith("303"), saved
    config = await (await coordinator.get("/api/coordinator/chat")).json()
    assert config["weekly"] == {
        "mon": ["09:00-16:00"],
        "tue": ["09:00-16:00", "18:00-21:00"],
        "wed": ["09:00-16:00"],
    }
    assert config["exceptions"][0]["hours"] == ["10:00-12:00"]

    refused = await _post(coordinator, {**typed, "weekly-thu": "9 to 16"})
    assert refused.startswith("400")
    # Beside the field: the example; in the summary: which field, linked.
    assert re.search(
        r'<p class="field-error" id="weekly-thu-error">Write times like 09:00-16:00 or 9-16',
        refused,
    )
    assert '<a href="#weekly-thu">Thursday: Write times like' in refused
    assert 'value="9 to 16"' in refused, "the typing is kept"
    bad_exception = await _post(coordinator, {**typed, "exceptions-0-hours": "12-10"})
    assert '<a href="#exceptions-0">Exception on 2026-12-24: Write times' in bad_exception
    after = await (await coordinator.get("/api/coordinator/chat")).json()
    assert after["weekly"] == config["weekly"], "nothing was saved"
