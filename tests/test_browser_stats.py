"""In headless Chromium on a demo database: the coordinators' statistics page shows figures and
charts, its filters and CSV downloads work, and axe-core finds no serious or critical
accessibility problem on it or on the other coordinators' pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from service.demo import LOGINS_FILE
from tests.live_server import BROWSER_ARGS, ROOT, LiveServer, chromium_path, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
AXE = ROOT / "tests/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            yield launched
        finally:
            launched.close()


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
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now. The script is given
    to the page through DevTools, which the page's `script-src 'self'` does not govern."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in BLOCKING]


# axe cannot tell the background behind SVG text, so it leaves chart labels "incomplete".
# This measures each label against the shade it is drawn on (a heatmap cell) or else the
# section's background, with WCAG's formula; chart text is small, so 4.5:1 is the bar.
_SVG_CONTRAST = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (text) => {
    const cell = text.previousElementSibling;
    if (text.classList.contains("heat-text") && cell && cell.tagName === "rect") {
      return getComputedStyle(cell).fill;
    }
    for (let el = text.closest("svg").parentElement; el; el = el.parentElement) {
      const colour = getComputedStyle(el).backgroundColor;
      if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
    }
    return "rgb(255, 255, 255)";
  };
  const poor = [];
  for (const text of document.querySelectorAll("figure.chart svg text")) {
    const fg = lum(rgb(getComputedStyle(text).fill));
    const bg = lum(rgb(background(text)));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) {
      poor.push(`${text.getAttribute("class")} "${text.textContent}": ${ratio.toFixed(2)}:1`);
    }
  }
  return poor;
}"""


def _readable(path: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{path}: {len(violations)} serious or critical accessibility problem(s)"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' '.join(node['target'])}: {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


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
    violations = _axe_violations(page)
    assert not violations, _readable(path, violations)
    poor: list[str] = page.evaluate(_SVG_CONTRAST)
    assert not poor, f"{path}: chart text below 4.5:1 contrast:\n" + "\n".join(poor[:20])
