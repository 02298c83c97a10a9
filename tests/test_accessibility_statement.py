"""The accessibility statement at /accessibility: in each language, with the configured feedback
channel and authority, and its date of the last check kept equal to the day the axe test
(tests/test_browser_accessibility.py) last changed."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application

from service.app import create_app
from service.http import accessibility
from service.settings import Settings
from tests.axe import axe_version
from tests.conftest import ClientFactory
from tests.live_server import ROOT

AXE_TEST = "tests/test_browser_accessibility.py"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def _axe_test_changed_on() -> date:
    """The commit day of the axe test's last change; today while it has uncommitted changes
    (the statement is then being updated along with it)."""
    if _git("status", "--porcelain", "--", AXE_TEST):
        return date.today()
    committed = _git("log", "-1", "--format=%cs", "--", AXE_TEST)
    return date.fromisoformat(committed) if committed else date.today()


def test_date_of_last_check_is_the_day_the_axe_test_last_changed() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git work tree: the axe test's history is not here")
    if _git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone dates every file to its one commit")
    changed = _axe_test_changed_on()
    assert accessibility.ASSESSED_ON == changed, (
        f"{AXE_TEST} last changed on {changed}: set ASSESSED_ON in service/http/accessibility.py"
        " to that day (and UPDATED_ON if the statement's text changed)"
    )
    assert accessibility.UPDATED_ON <= date.today()


def test_statement_names_the_axe_version_that_checks_it() -> None:
    assert accessibility.AXE_VERSION == axe_version()


@pytest.mark.parametrize(
    ("lang", "title", "authority"),
    [
        ("fi", "Saavutettavuusseloste", "Saavutettavuuden valvonta"),
        ("sv", "Tillgänglighetsutlåtande", "Tillgänglighetstillsynen"),
        ("en", "Accessibility statement", "Finnish Supervisory Agency"),
    ],
)
async def test_statement_in_each_language(
    client: TestClient, lang: str, title: str, authority: str
) -> None:
    response = await client.get(f"/accessibility?lang={lang}")
    assert response.status == 200
    page = await response.text()
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{title}</h1>" in page
    assert authority in page
    assert 'href="https://www.saavutettavuusvaatimukset.fi/"' in page
    assert "WCAG" in page and "EN 301 549" in page
    assert accessibility.AXE_VERSION in page
    # Without a feedback channel or a controller, the reader is told whom to ask.
    assert "mailto:" not in page


async def _statement(aiohttp_client: ClientFactory, settings: Settings, **changes: object) -> str:
    app: Application = create_app(dataclasses.replace(settings, **changes))  # type: ignore[arg-type]
    client = await aiohttp_client(app)
    response = await client.get("/accessibility?lang=en")
    assert response.status == 200
    return await response.text()


async def test_feedback_by_email(aiohttp_client: ClientFactory, settings: Settings) -> None:
    page = await _statement(
        aiohttp_client, settings, accessibility_feedback="saavutettavuus@kunta.fi"
    )
    assert '<a href="mailto:saavutettavuus@kunta.fi">saavutettavuus@kunta.fi</a>' in page


async def test_feedback_by_form(aiohttp_client: ClientFactory, settings: Settings) -> None:
    page = await _statement(
        aiohttp_client, settings, accessibility_feedback="https://kunta.fi/palaute?aihe=koppi&x=1"
    )
    assert 'href="https://kunta.fi/palaute?aihe=koppi&amp;x=1"' in page
    assert "mailto:" not in page


async def test_feedback_falls_back_to_the_controller(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    page = await _statement(
        aiohttp_client,
        settings,
        controller_name="Esimerkkilän kaupunki",
        dpo_contact="tietosuoja@esimerkkila.fi",
    )
    assert "Esimerkkilän kaupunki: tietosuoja@esimerkkila.fi" in page
    assert "Esimerkkilän kaupunki wants everyone" in page


async def test_configured_authority_is_named_as_written(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    page = await _statement(
        aiohttp_client,
        settings,
        accessibility_authority="Tillsynsmyndighet <Test>",
        accessibility_authority_url="https://example.org/tillsyn",
    )
    assert "Tillsynsmyndighet &lt;Test&gt;" in page
    assert 'href="https://example.org/tillsyn"' in page
    assert "Finnish Supervisory Agency" not in page


async def test_time_limits_listed_are_the_configured_ones(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    page = await _statement(aiohttp_client, settings, session_hours=8, chat_idle_minutes=25)
    assert "ends after 8 hours" in page
    assert "for 25 minutes" in page
