"""In headless Chromium on a demo database: the coordinators' statistics page shows figures and
charts, its filters and CSV downloads work, and axe-core finds no serious or critical
accessibility problem on it or on the other coordinators' pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from service.demo import LOGINS_FILE
from tests.axe import axe_violations, poor_chart_text, readable
from tests.live_server import LiveServer, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
OTHER_PAGES = (
    "/coordinator/staff",
    "/coordinator/categories",
    "/coordinator/chat",
    "/coordinator/audit",
    "/coordinator/directory",
)


OTHER_PAGES_EN = tuple(p + "?lang=en" for p in OTHER_PAGES)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str | None
) -> Iterator[LiveServer]:
    """One demo server for the module: demo staff, questions, directory and usage history."""
    live = LiveServer(tmp_path_factory.mktemp("stats"), module_database_url)
    live.env["KOPPI_DEMO"] = "1"
    with live.running():
        yield live


def _coordinator_password(server: LiveServer) -> tuple[str, str]:
    """Demo mode writes `username<TAB>role<TAB>password` lines beside the database."""
    logins = (Path(server.env["KOPPI_DB"]).parent / LOGINS_FILE).read_text(encoding="utf-8")
    for line in logins.splitlines():
        username, role, password = line.split("\t")
        if role == "coordinator":
            return username, password
    raise AssertionError("demo mode made no coordinator")


@pytest.fixture
def signed_in(browser: Browser, server: LiveServer) -> Iterator[tuple[Page, Problems]]:
    """A fresh browser context in which the demo coordinator has signed in (in English)."""
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 900})
    problems = Problems()
    page = problems.watch(context.new_page())
    try:
        _sign_in(page, server)
        yield page, problems
        assert list(problems) == []
    finally:
        context.close()


def _sign_in(page: Page, server: LiveServer) -> None:
    username, password = _coordinator_password(server)
    page.goto(server.url + "/coordinator/stats?lang=en")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/coordinator/stats"))


def _figure(page: Page, label: str) -> str:
    """The first value cell of the statistics table row headed `label`."""
    row = page.locator("table.stats-table tr", has=page.locator(f"th:text-is('{label}')"))
    return row.first.locator("td").first.inner_text().strip()


def test_page_shows_figures_and_charts(signed_in: tuple[Page, Problems]) -> None:
    page, _problems = signed_in
    page.goto(page.url.split("?")[0] + "?lang=en")
    expect(page.get_by_role("heading", name="Statistics", level=1)).to_be_visible()
    heatmap = page.locator("svg.heatmap").first
    expect(heatmap).to_be_visible()
    assert heatmap.locator("rect").count() == 7 * 24
    assert "weekday and hour" in (heatmap.locator("title").text_content() or "")
    bars = page.locator("svg.bars")
    expect(bars.first).to_be_visible()
    assert bars.first.locator("rect.bar").count() >= 2
    attempts = _figure(page, "Contact attempts")
    assert int(attempts.replace("\xa0", "").replace(" ", "")) > 0, attempts
    assert _figure(page, "Questions asked") not in ("", "0")
    page.screenshot(path=str(output_dir() / "stats.png"), full_page=True)


def test_period_preset_and_category_filter(signed_in: tuple[Page, Problems]) -> None:
    page, _problems = signed_in
    month = _figure(page, "Contact attempts")
    page.get_by_role("link", name="Last 7 days").click()
    expect(page).to_have_url(re.compile(r"period=week"))
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")
    week = _figure(page, "Contact attempts")
    assert int(week) < int(month), (week, month)

    page.select_option("#category", "tyonhaku")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"category=tyonhaku"))
    expect(page.locator("#category")).to_have_value("tyonhaku")
    expect(page.locator(".period-line")).to_contain_text("Category:")
    assert int(_figure(page, "Contact attempts")) <= int(week)


def test_csv_download(signed_in: tuple[Page, Problems]) -> None:
    page, _problems = signed_in
    link = page.locator("p.export a[href*='/coordinator/stats/chat.csv']")
    href = link.get_attribute("href")
    assert href
    response = page.request.get(page.url.split("/coordinator")[0] + href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "Contact attempts" in response.text()
    # For Finnish Excel: a UTF-8 BOM, semicolons; Python's csv reads it with delimiter=";".
    body = response.body()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert any(len(row) == 2 and row[0].startswith("Contact attempts") for row in rows)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")


@pytest.mark.parametrize(
    "path",
    [
        "/coordinator/stats?lang=en",
        "/coordinator/stats?lang=fi",
        "/coordinator/stats?lang=en&period=week&category=tyonhaku",
        *OTHER_PAGES_EN,
    ],
)
def test_no_serious_accessibility_problems(signed_in: tuple[Page, Problems], path: str) -> None:
    page, _problems = signed_in
    response = page.goto(page.url.split("/coordinator")[0] + path)
    assert response is not None
    assert response.status == 200
    if path in OTHER_PAGES_EN:
        name = path.split("?")[0].rsplit("/", 1)[1]
        page.screenshot(path=str(output_dir() / f"coordinator-{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, readable(path, violations)
    poor = poor_chart_text(page)
    assert not poor, f"{path}: chart text below 4.5:1 contrast:\n" + "\n".join(poor[:20])
