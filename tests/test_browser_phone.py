"""In headless Chromium on a demo server, as a young person's 390×844 phone shows Koppi: quick
exit never covers a control or text, text at the browser's 200 % size scales everything without
sideways scrolling, every control is a 44 px target, and a search's results and their count are
in view and announced. Screenshots of every public page at both widths, and before and after
side by side, go to output_dir()/phone-first/."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.live_server import BROWSER_ARGS, ROOT, LiveServer, chromium_path, output_dir
from tests.test_browser_accessibility import Content, _content, _password
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BEFORE = ROOT / "docs/screenshots/before"
SEARCHED = "kela"  # finds demo questions ("Saanko työttömyysturvaa Kelasta?")
# Controls that must be 44×44 px. Exempt, as WCAG 2.5.8 allows: links inside running text;
# and a question card's title link, because the whole card is its target (a stretched link).
TARGETS = ", ".join(
    (
        "header a",
        "header button",
        "footer a",
        "main button",
        "main input:not([type=hidden]):not([type=radio]):not([type=checkbox])",
        "main select",
        "main textarea",
        "main label:has(> input[type=radio])",
        "main label:has(> input[type=checkbox])",
        ".categories a",
        ".pager a",
        ".start a",
        ".facts a",
        ".referral-card h4 a",
        "ul.contact a",
        "a.button",
        "a.tag",
        "a.back",
    )
)

# Every control and every piece of visible text (each line box of it) that overlaps quick
# exit. Content scrolled beneath the sticky bar does not count: the bar hides it whether
# quick exit is there or not (checked by hiding quick exit and asking what is on top).
OVERLAPS = """() => {
  const exit = document.getElementById("quick-exit");
  const bar = exit.closest("header") || exit;
  const q = exit.getBoundingClientRect();
  const shown = (el) => {
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && s.display !== "none" && el.getClientRects().length > 0;
  };
  // Clipped away (visually hidden, for screen readers only) is not seen, so not covered.
  const clipped = (el) => {
    for (let at = el; at && at !== document.body; at = at.parentElement) {
      const s = getComputedStyle(at);
      if ((s.clip && s.clip !== "auto") || s.clipPath !== "none") return true;
    }
    return false;
  };
  const skipped = (el) => exit.contains(el) || el.closest(".hp, script, style") || clipped(el);
  const boxes = [];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], label";
  for (const el of document.querySelectorAll(controls)) {
    if (skipped(el) || el.contains(exit) || !shown(el)) continue;
    const text = JSON.stringify(el.textContent.trim().slice(0, 30));
    for (const r of el.getClientRects()) boxes.push([el.tagName.toLowerCase() + " " + text, r, el]);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || skipped(el) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const name = "text " + JSON.stringify(node.textContent.trim().slice(0, 30));
    for (const r of range.getClientRects()) boxes.push([name, r, el]);
  }
  const found = [];
  for (const [name, r, el] of boxes) {
    if (r.width <= 1 || r.height <= 1) continue;
    const x1 = Math.max(r.left, q.left), x2 = Math.min(r.right, q.right);
    const y1 = Math.max(r.top, q.top), y2 = Math.min(r.bottom, q.bottom);
    if (x2 - x1 < 1 || y2 - y1 < 1) continue;
    if (bar !== exit && !bar.contains(el)) {
      exit.style.visibility = "hidden";
      const under = document.elementFromPoint((x1 + x2) / 2, (y1 + y2) / 2);
      exit.style.visibility = "";
      if (under && bar.contains(under)) continue;
    }
    found.push(name);
  }
  return found;
}"""

# At the top of a page the sticky bar covers nothing: every control and text is below it.
UNDER_BAR = """() => {
  const bar = document.getElementById("quick-exit").closest("header");
  const b = bar.getBoundingClientRect();
  const found = [];
  for (const el of document.querySelectorAll("main *, footer *")) {
    if (el.closest(".visually-hidden, .hp") || !el.getClientRects().length) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 1 && r.height > 1 && r.top < b.bottom - 1 && r.bottom > b.top) {
      found.push(el.tagName + "." + el.className);
    }
  }
  return found;
}"""

SMALL_TARGETS = """(selector) => {
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest(".visually-hidden, .hp, [aria-hidden=true]")) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none" || !el.getClientRects().length) continue;
    if (el.matches(".list > .card h2 a")) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " "
        + JSON.stringify(el.textContent.trim().slice(0, 30));
      found.push(name + " " + Math.round(r.width) + "×" + Math.round(r.height));
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A demo server (questions, the directory, staff) with rate limits off for many pages."""
    live = LiveServer(tmp_path_factory.mktemp("phone"))
    live.env["KOPPI_DEMO"] = "1"
    live.env["KOPPI_RATE_LIMITS"] = "0"
    with live.running():
        yield live


@pytest.fixture(scope="module")
def content(server: LiveServer) -> Content:
    """An answer with a referral card, its follow-up code, a service (as the axe test has)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _content(server.url, _password(server, "sanna"))).result()


def _ask_with_errors(page: Page) -> None:
    page.locator("main form.ask button[type=submit]").first.click()
    expect(page.locator(".error-summary")).to_be_visible()


def _search(field: str, words: str) -> Callable[[Page], None]:
    def searched(page: Page) -> None:
        page.fill(field, words)
        page.press(field, "Enter")
        expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(words) + r".*#results$"))
        expect(page.locator("#results")).to_be_focused()

    return searched


def public_pages(content: Content) -> dict[str, tuple[str, Callable[[Page], None] | None]]:
    """Every public page: its name in the screenshots, its address and what a person does."""
    return {
        "board": ("/", None),
        "board-search": ("/", _search("#q", SEARCHED)),
        "question": (f"/q/{content.answered_id}", None),
        "ask": ("/ask", None),
        "ask-errors": ("/ask", _ask_with_errors),
        "lookup": ("/f", None),
        "followup": (f"/f/{content.code}", None),
        "chat": ("/chat", None),
        "services": ("/services", None),
        "services-search": ("/services", _search("#q", "nuoret")),
        "service": (f"/services/{content.service_id}", None),
        "privacy": ("/privacy", None),
        "accessibility": ("/accessibility", None),
        "not-found": ("/no-such-page", None),
    }


def _open(page: Page, base: str, path: str, then: Callable[[Page], None] | None) -> None:
    page.goto(base + path)
    if then is not None:
        then(page)


def _menu(page: Page) -> None:
    toggle = page.locator("#menu-toggle")
    if toggle.is_visible():
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#menu nav a[href='/services']")).to_be_visible()


# -- The header: a menu button on a phone, with and without JavaScript --------------------


def test_the_menu_opens_and_closes_and_needs_no_javascript(
    browser: Browser, server: LiveServer
) -> None:
    problems = Problems()
    page = problems.watch(browser.new_context(viewport=PHONE).new_page())
    page.goto(server.url + "/services?q=ohjaamo")
    nav = page.get_by_role("navigation", name="Päävalikko")
    expect(nav).to_be_hidden()
    toggle = page.get_by_role("button", name="Valikko")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", "menu")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Kysy meiltä")).to_be_visible()
    # The language switch keeps the page and its search.
    switch = page.get_by_role("navigation", name="Kieli")
    expect(switch.get_by_role("link", name="SV")).to_have_attribute(
        "href", "/services?q=ohjaamo&lang=sv"
    )
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    page.locator("main h1").click()  # a tap outside closes it too
    expect(nav).to_be_hidden()
    assert list(problems) == []

    # Without JavaScript the button is a link to the menu, which CSS shows as the target.
    plain = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    plain.goto(server.url + "/")
    expect(plain.get_by_role("navigation", name="Päävalikko")).to_be_hidden()
    plain.get_by_role("link", name="Valikko").click()
    expect(plain).to_have_url(re.compile(r"#menu$"))
    plain.get_by_role("navigation", name="Päävalikko").get_by_role("link", name="Palvelut").click()
    expect(plain).to_have_url(re.compile(r"/services$"))

    # On a wide screen the navigation is always shown and there is no menu button.
    wide = browser.new_context(viewport=DESKTOP).new_page()
    wide.goto(server.url + "/")
    expect(wide.get_by_role("navigation", name="Päävalikko")).to_be_visible()
    expect(wide.locator("#menu-toggle")).to_be_hidden()


# -- (a) Quick exit never covers anything -------------------------------------------------


def test_the_overlap_check_finds_a_floating_button(browser: Browser) -> None:
    """The check can fail: yesterday's quick exit, floating at the bottom right over a button."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_content(
        "<header><p>Koppi</p></header><main><p>Text</p>"
        "<p style='position:fixed;bottom:1.5rem;right:1.5rem'><button>Send anyway</button></p>"
        "</main><a id='quick-exit' href='#' style='position:fixed;bottom:1rem;right:1rem;"
        "padding:1rem 2rem;background:#7a1f14;color:#fff'>Quick exit</a>"
    )
    assert page.evaluate(OVERLAPS) == ['button "Send anyway"', 'text "Send anyway"']


def test_quick_exit_covers_no_control_or_text(
    browser: Browser, server: LiveServer, content: Content
) -> None:
    problems = Problems()
    found: dict[str, list[str]] = {}
    for viewport, kind in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = browser.new_context(viewport=viewport)
        page = problems.watch(context.new_page())
        for name, (path, then) in public_pages(content).items():
            _open(page, server.url, path, then)
            exit_button = page.locator("#quick-exit")
            page.evaluate("window.scrollTo(0, 0)")
            states = {"top": page.evaluate(OVERLAPS), "under the bar": page.evaluate(UNDER_BAR)}
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            expect(exit_button).to_be_in_viewport(ratio=1)
            states["bottom"] = page.evaluate(OVERLAPS)
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
            states["middle"] = page.evaluate(OVERLAPS)
            _menu(page)
            expect(exit_button).to_be_in_viewport(ratio=1)
            states["menu open"] = page.evaluate(OVERLAPS)
            for state, where in states.items():
                if where:
                    found[f"{name} ({kind}, {state})"] = where
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
    assert list(problems) == []


# -- (b) The browser's text size -----------------------------------------------------------


@pytest.fixture(scope="module")
def text_sizes(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, BrowserContext]]:
    """Two Chromium profiles whose font-size setting (chrome://settings/fonts) is 16 px, the
    default, and 32 px, i.e. 200 %: the real preference, not CSS injected into the page."""
    contexts = {}
    for size in (16, 32):
        profile = tmp_path_factory.mktemp(f"profile-{size}")
        (profile / "Default").mkdir()
        prefs = {"webkit": {"webprefs": {"default_font_size": size}}}
        (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
        contexts[size] = browser.browser_type.launch_persistent_context(
            str(profile), executable_path=chromium_path(), args=BROWSER_ARGS, viewport=PHONE
        )
    try:
        yield contexts
    finally:
        for context in contexts.values():
            context.close()


SIZES = """() => {
  const px = (selector) => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize);
  return {root: px("html"), body: px("main .lead"), heading: px("#board-title"),
          button: px("form.search button"), card: px(".list > .card .excerpt")};
}"""


def test_text_size_200_percent_scales_everything_without_sideways_scrolling(
    text_sizes: dict[int, BrowserContext], server: LiveServer, content: Content
) -> None:
    pages = {size: context.new_page() for size, context in text_sizes.items()}
    for page in pages.values():
        page.goto(server.url + "/")
    normal, large = (pages[size].evaluate(SIZES) for size in (16, 32))
    assert normal["root"] == 16 and large["root"] == 32, "the profile's setting is in force"
    for part in ("body", "heading", "button", "card"):
        assert large[part] == pytest.approx(2 * normal[part], rel=0.02), (part, normal, large)
    wide: dict[str, int] = {}
    page = pages[32]
    for name, (path, then) in public_pages(content).items():
        _open(page, server.url, path, then)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[name] = width
        if name in ("board", "question", "services-search"):
            page.screenshot(path=str(_shots() / f"{name}-phone-200.png"))
    assert wide == {}, f"sideways scrolling at 200 % text on a 390 px phone: {wide}"


# -- (c) Touch targets -----------------------------------------------------------------------


def test_the_target_check_finds_a_small_button(browser: Browser) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_content("<main><button style='font-size:12px;padding:2px'>Hae</button></main>")
    assert len(page.evaluate(SMALL_TARGETS, TARGETS)) == 1


def test_every_control_is_a_44_px_target(
    browser: Browser, server: LiveServer, content: Content
) -> None:
    found: dict[str, list[str]] = {}
    page = browser.new_context(viewport=PHONE).new_page()
    for name, (path, then) in public_pages(content).items():
        _open(page, server.url, path, then)
        _menu(page)  # the menu's links and the language switch are shown
        small = page.evaluate(SMALL_TARGETS, TARGETS)
        if small:
            found[name] = small
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


# -- (d) Search results in view ------------------------------------------------------------

IN_VIEW = """() => {
  const heading = document.getElementById("results");
  const r = heading.getBoundingClientRect();
  const bar = document.querySelector("header.site").getBoundingClientRect();
  const live = heading.closest("[role=status], [aria-live]");
  return {top: r.top, bottom: r.bottom, below: bar.bottom, height: innerHeight,
          live: live ? live.textContent.trim() : null,
          focused: document.activeElement === heading};
}"""


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize(
    ("start", "words", "count"),
    [
        ("/", SEARCHED, r"^Haulla ”kela” löytyi \d+ vastaus"),
        ("/services", "nuoret", r"^\d+ palvelu"),
    ],
    ids=["board", "directory"],
)
def test_search_results_and_their_count_are_in_view(
    browser: Browser, server: LiveServer, start: str, words: str, count: str, javascript: bool
) -> None:
    page = browser.new_context(viewport=PHONE, java_script_enabled=javascript).new_page()
    page.goto(server.url + start)
    page.fill("#q", words)
    page.press("#q", "Enter")
    expect(page).to_have_url(re.compile(r"#results$"))
    expect(page.locator("#results")).to_have_text(re.compile(count))
    seen = page.evaluate(IN_VIEW)
    assert seen["below"] - 1 <= seen["top"] and seen["bottom"] <= seen["height"], seen
    assert seen["live"] and re.search(count, seen["live"]), "the count is in a live region"
    if javascript:
        assert seen["focused"], "focus moves to the count, so a screen reader reads it"
    # The search form stays in view above the count, to search again.
    assert page.locator("#q").evaluate("el => el.getBoundingClientRect().bottom") > 0


# -- (e) Screenshots ------------------------------------------------------------------------


def _shots() -> Path:
    path = output_dir() / "phone-first"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _side_by_side(page: Page, before: Path, after: Path, title: str, out: Path) -> None:
    page.set_content(
        "<style>body{margin:0;font:16px system-ui,sans-serif;background:#eee}"
        "main{display:flex;gap:24px;padding:16px;align-items:flex-start}"
        "figure{margin:0;flex:1;min-width:0}figcaption{font-weight:700;margin:0 0 8px}"
        "img{display:block;max-width:100%;height:auto;border:1px solid #999}</style>"
        f"<h1 style='margin:16px'>{title}</h1><main>"
        f"<figure><figcaption>Before</figcaption><img src='{_data_url(before)}'></figure>"
        f"<figure><figcaption>After</figcaption><img src='{_data_url(after)}'></figure></main>"
    )
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth)")
    page.screenshot(path=str(out), full_page=True)


def test_screenshots_of_every_public_page_before_and_after(
    browser: Browser, server: LiveServer, content: Content
) -> None:
    shots = _shots()
    taken = []
    for viewport, kind in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        for name, (path, then) in public_pages(content).items():
            _open(page, server.url, path, then)
            after = shots / f"{name}-{kind}.png"
            page.screenshot(path=str(after))
            taken.append(after)
        if kind == "phone":
            page.goto(server.url + "/")
            _menu(page)
            page.screenshot(path=str(shots / "menu-phone.png"))
        context.close()
    compare = browser.new_context(viewport={"width": 1400, "height": 600})
    page = compare.new_page()
    compared = 0
    for after in taken:
        before = BEFORE / after.name
        if before.exists():
            name, kind = after.stem.rsplit("-", 1)
            _side_by_side(page, before, after, f"{name} ({kind})", shots / f"compare-{after.name}")
            compared += 1
    compare.close()
    assert all(path.stat().st_size > 0 for path in taken)
    assert compared == len(taken), "every page has a before screenshot in docs/screenshots"
