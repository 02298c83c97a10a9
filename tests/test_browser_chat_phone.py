"""In headless Chromium on a 390×844 phone, with a counsellor answering from a second browser:
the young person's chat is a messenger (the newest message and the send button in view after a
dozen messages, also at 200 % text, and nothing wider than the screen); crisis help appears
inside the conversation right after the message that needed it, in view and with the keyboard
on it, also for the first message and after a reload; the personal-details warning takes the
keyboard with "Send anyway" in view and clear of the quick exit; and the service's own lines
(a transfer) show centred in the conversation, live and after a reload. Screenshots of each
state go to output_dir()/phone-first/chat-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from service import i18n
from service.settings import Settings
from tests.axe import axe_violations, readable
from tests.conftest import rows
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir
from tests.test_browser_chat import PASSWORD, Problems, chat_console

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
FIRST = "Hei, minulla on ollut tosi raskasta ja rahat loppuvat aina kesken kuukauden."
CRISIS = "haluan tappaa itseni"
NUMBER = "Voitko soittaa minulle numeroon 040 123 4567?"
STAFF_SAYS = "Kiitos, että kerroit. Kerro lisää, niin katsotaan yhdessä, mitä voisi tehdä."
YOUNG_SAYS = "Vuokra ja ruoka vievät melkein kaiken, eikä mitään jää säästöön."


def _shots() -> Path:
    path = output_dir() / "phone-first"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _server(tmp_path: Path, database_url: str | None, *, auto_assign: bool = True) -> LiveServer:
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    if not auto_assign:  # the young person waits until Sanna takes the chat from the list
        target = Settings(db_path=tmp_path / "koppi.sqlite3", database_url=database_url)
        rows(target, "UPDATE chat_settings SET value = 0 WHERE name = 'auto_assign'")
    return server


def _phone(browser: Browser, server: LiveServer, problems: Problems) -> Page:
    page = problems.watch(browser.new_context(viewport=PHONE).new_page())
    page.goto(server.url + "/chat")
    expect(page.locator("#chat-connection")).to_have_attribute("data-state", "connected")
    return page


def _reply(staff: Page, text: str) -> None:
    box = staff.locator(".chat-panel textarea[data-id=text]")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def _box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _screen(page: Page) -> dict[str, float]:
    size = page.viewport_size
    assert size is not None
    return {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}


def _in_view(page: Page, locator: Locator) -> None:
    """On the screen, and when inside the conversation, inside its visible part."""
    box = _box(locator)
    assert _inside(box, _screen(page)), f"{locator} at {box} is off the screen"
    if locator.evaluate("node => !!node.closest('#messages')"):
        shown = _box(page.locator("#messages"))
        assert _inside(box, shown), f"{locator} at {box} is scrolled out of {shown}"


def _end_in_view(page: Page, locator: Locator) -> None:
    """The end of a message (taller than the conversation's room at large text) in view."""
    box, shown = _box(locator), _box(page.locator("#messages"))
    bottom = box["y"] + box["height"]
    assert shown["y"] < bottom <= min(shown["y"] + shown["height"], _screen(page)["height"]) + 0.5


def _clear_of_quick_exit(page: Page, *targets: Locator) -> None:
    exit_box = _box(page.locator("#quick-exit"))
    for target in targets:
        assert not _overlap(_box(target), exit_box), f"the quick exit covers {target}"


def _no_sideways_scroll(page: Page) -> None:
    widths: Any = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], f"the page is wider than the phone: {widths}"


class Findings(list[str]):
    """axe-core's serious and critical findings in each state of the chat, gathered."""

    def check(self, page: Page, what: str) -> None:
        violations = axe_violations(page)
        if violations:
            self.append(readable(what, violations))


def _text_size(page: Page, times: float) -> None:
    """The browser's text-size setting (what a user changes in its settings, so rem and media
    queries in rem follow), through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    sizes = {"standard": round(16 * times), "fixed": round(13 * times)}
    cdp.send("Page.setFontSizes", {"fontSizes": sizes})
    cdp.detach()
    page.wait_for_timeout(300)  # a layout and the conversation's resize observer


def _focus_inside(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            "sel => { const box = document.querySelector(sel);"
            " return !!box && box.contains(document.activeElement); }",
            selector,
        )
    )


def _crisis_follows(page: Page) -> str:
    """The text of the message right before the crisis help in the conversation."""
    return str(
        page.evaluate(
            "() => { const help = document.getElementById('chat-crisis');"
            " if (help.parentElement.id !== 'messages') return 'not in the conversation';"
            " const before = help.previousElementSibling;"
            " return before ? before.querySelector('.msg-text').textContent : 'first'; }"
        )
    )


def test_a_long_chat_on_a_phone_keeps_crisis_help_warnings_and_the_composer_in_view(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = _shots()
    problems = Problems()
    findings = Findings()
    server = _server(tmp_path, database_url, auto_assign=False)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            young = _phone(browser, server, problems)
            expect(young.locator("#chat-start")).to_be_visible()
            young.screenshot(path=str(shots / "chat-start.png"))
            findings.check(young, "start")
            young.select_option("#chat-category", "raha")
            young.fill("#chat-first", FIRST)
            young.click("#start-button")

            # Waiting: the place in the queue at the top, the composer at the bottom.
            expect(young.locator("#chat")).to_have_attribute("data-view", "waiting")
            expect(young.locator("#queue-position")).to_contain_text("1")
            _in_view(young, young.locator("#queue-position"))
            _in_view(young, young.locator("#send-button"))
            _in_view(young, young.locator("#messages .msg-visitor").last)
            young.screenshot(path=str(shots / "chat-waiting.png"))
            findings.check(young, "waiting")

            staff.locator("#waiting-list li button").click()
            expect(young.locator("#chat")).to_have_attribute("data-view", "room")
            expect(young.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")

            # Twelve messages, six each way, long enough to fill the screen twice.
            sent = young.locator("#messages .msg-visitor[data-state=sent]")
            for n in range(1, 7):
                _reply(staff, f"{n}. {STAFF_SAYS}")
                expect(young.locator("#messages .msg-staff")).to_have_count(n)
                young.fill("#chat-text", f"{n}. {YOUNG_SAYS}")
                young.press("#chat-text", "Enter")
                expect(sent).to_have_count(n + 1)
            messages = young.locator("#messages .msg")
            expect(messages).to_have_count(13)
            assert young.evaluate(
                "() => { const list = document.getElementById('messages');"
                " return list.scrollHeight > 2 * list.clientHeight; }"
            ), "the conversation is longer than two screens"
            _in_view(young, young.locator("#send-button"))
            _in_view(young, messages.last)
            _in_view(young, young.locator("#end-button"))
            _clear_of_quick_exit(
                young, young.locator("#end-button"), young.locator("#send-button"), messages.last
            )
            _no_sideways_scroll(young)
            young.screenshot(path=str(shots / "chat-chatting.png"))
            findings.check(young, "chatting")

            # A staff message while the young person reads at the bottom: still in view.
            _reply(staff, "Hyvä, että kerroit. Kelasta voi hakea asumistukea.")
            expect(young.locator("#messages .msg-staff")).to_have_count(7)
            _in_view(young, young.locator("#messages .msg").last)

            # At 200 % text the conversation shrinks, the send button stays on the screen.
            _text_size(young, 2)
            young.screenshot(path=str(shots / "chat-chatting-200.png"))
            _in_view(young, young.locator("#send-button"))
            _in_view(young, young.locator("#chat-text"))
            _end_in_view(young, young.locator("#messages .msg").last)
            _no_sideways_scroll(young)
            _text_size(young, 1)

            # Crisis words as the fifteenth message: help right after it, in view, focused.
            young.fill("#chat-text", CRISIS)
            young.press("#chat-text", "Enter")
            crisis = young.locator("#messages > #chat-crisis")
            expect(crisis).to_be_visible()
            expect(crisis).to_contain_text("112")
            assert _crisis_follows(young) == CRISIS
            _in_view(young, crisis)
            young.wait_for_function(
                "() => document.getElementById('chat-crisis').contains(document.activeElement)"
            )
            expect(young.locator("#crisis-help-title")).to_be_focused()
            young.screenshot(path=str(shots / "chat-crisis.png"))
            findings.check(young, "crisis help in the conversation")

            # Sanna answers; after a reload the help is still right after the crisis words.
            _reply(staff, "Olen tässä. Soitathan kriisipuhelimeen, jos olo on tukala.")
            expect(young.locator("#messages .msg-staff")).to_have_count(8)
            young.reload()
            expect(young.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(young.locator("#chat")).to_have_attribute("data-view", "room")
            expect(crisis).to_be_visible()
            assert _crisis_follows(young) == CRISIS
            expect(young.locator("#messages .msg")).to_have_count(16)
            expect(young.locator("#messages > *").last).to_contain_text("kriisipuhelimeen")
            _in_view(young, young.locator("#messages > *").last)  # reopened at the newest

            # A phone number: the warning takes the keyboard; "Send anyway" is on the screen
            # and clear of the quick exit.
            young.fill("#chat-text", NUMBER)
            young.press("#chat-text", "Enter")
            warning = young.locator("#send-personal")
            expect(warning).to_be_visible()
            expect(warning.locator("mark")).to_have_text("040 123 4567")
            young.wait_for_function(
                "() => document.getElementById('send-personal').contains(document.activeElement)"
            )
            anyway = warning.locator("[data-part=send-anyway]")
            _in_view(young, anyway)
            _in_view(young, young.locator("#send-button"))
            _clear_of_quick_exit(young, anyway, warning.locator("[data-part=edit]"))
            young.screenshot(path=str(shots / "chat-warning.png"))
            findings.check(young, "personal-details warning")
            anyway.click()
            expect(warning).to_be_hidden()
            expect(young.locator("#messages .msg-visitor .msg-text").last).to_have_text(NUMBER)
            _in_view(young, young.locator("#messages .msg").last)

            # The end: the rating fits under the conversation.
            young.click("#end-button")
            expect(young.locator("#chat")).to_have_attribute("data-view", "ended")
            expect(young.locator("#chat-ended-heading")).to_be_focused()
            _in_view(young, young.locator("#chat-ended-heading"))
            _in_view(young, young.locator("#messages .msg").last)
            _no_sideways_scroll(young)
            young.screenshot(path=str(shots / "chat-ended.png"))
            findings.check(young, "ended")
            young.check("#rate-form input[name=score][value='4']")
            young.click("#rate-form button[type=submit]")
            expect(young.locator("#rate-thanks")).to_be_focused()
            _in_view(young, young.locator("#new-chat-button"))
        finally:
            browser.close()
    assert problems == []
    assert not findings, "\n\n".join(findings)


def test_crisis_words_in_the_first_message_and_a_transfer_line_in_the_conversation(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = _shots()
    problems = Problems()
    findings = Findings()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            young = _phone(browser, server, problems)

            # Refused at the start: no topic chosen, then a phone number. The keyboard goes to
            # the list with the error in view, then to the warning, "Send anyway" on screen.
            young.fill("#chat-first", NUMBER)
            young.click("#start-button")
            expect(young.locator("#chat-category")).to_be_focused()
            expect(young.locator("#start-error")).not_to_be_empty()
            _in_view(young, young.locator("#start-error"))
            young.select_option("#chat-category", "jaksaminen")
            young.click("#start-button")
            warning = young.locator("#start-personal")
            expect(warning).to_be_visible()
            expect(warning).to_be_focused()
            _in_view(young, warning.locator("[data-part=send-anyway]"))
            _clear_of_quick_exit(young, warning.locator("[data-part=send-anyway]"))
            young.screenshot(path=str(shots / "chat-start-warning.png"))
            findings.check(young, "a warning before the start")
            warning.locator("[data-part=edit]").click()
            expect(young.locator("#chat-first")).to_be_focused()
            young.fill("#chat-first", f"En jaksa enää, {CRISIS}.")
            young.click("#start-button")

            # The first message had crisis words: the help follows it and has the keyboard.
            expect(young.locator("#chat")).to_have_attribute("data-view", "room")
            crisis = young.locator("#messages > #chat-crisis")
            expect(crisis).to_be_visible()
            assert _crisis_follows(young) == f"En jaksa enää, {CRISIS}."
            expect(young.locator("#crisis-help-title")).to_be_focused()
            _in_view(young, young.locator("#crisis-help-title"))

            # Sanna hands the chat on to the employment advisers: a line from the service
            # says so in the conversation, centred, with no sender.
            _reply(staff, "Hei, olen täällä. Kerro lisää.")
            panel = staff.locator(".chat-panel")
            panel.locator("[data-part=transfer-summary]").click()
            panel.locator("select[data-id=transfer-to]").select_option("role:adviser")
            panel.locator("form[data-part=transfer-form] button[type=submit]").click()
            line = young.locator("#messages .msg-system")
            expect(line).to_have_count(1)
            expect(line).to_contain_text(
                i18n.translations("fi")
                .gettext("The chat was transferred to the queue: the next free %(role)s continues.")
                .split("%(role)s")[0]
            )
            expect(line.locator(".msg-from")).to_have_count(0)
            _in_view(young, line)
            centre = _box(line)["x"] + _box(line)["width"] / 2
            assert abs(centre - PHONE["width"] / 2) < 4, "the line is centred"
            assert young.evaluate(
                "() => { const line = document.querySelector('#messages .msg-system');"
                " return !!line.closest('[role=log][aria-live=polite]'); }"
            ), "the line is read out politely, as the log's other additions"
            young.screenshot(path=str(shots / "chat-transfer.png"))
            findings.check(young, "a transfer line")

            # After a reload: the help still after the first message, the line still there.
            young.reload()
            expect(young.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(line).to_have_count(1)
            assert _crisis_follows(young) == f"En jaksa enää, {CRISIS}."
            # And from the server's replay alone (the tab's copy of the chat forgotten).
            young.evaluate("sessionStorage.removeItem('koppi.chat.log')")
            young.reload()
            expect(young.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(line).to_have_count(1)
            expect(young.locator("#messages .msg-staff")).to_have_count(1)
        finally:
            browser.close()
    assert problems == []
    assert not findings, "\n\n".join(findings)


def test_without_javascript_the_chat_page_says_so_and_offers_the_ask_form(
    tmp_path: Path, database_url: str | None
) -> None:
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
            page.goto(server.url + "/chat")
            notice = page.locator(".chat-nojs")
            expect(notice).to_be_visible()
            expect(notice.locator("h2")).to_have_text(
                i18n.translations("fi").gettext("The chat needs JavaScript")
            )
            expect(notice.locator("a[href='/ask']")).to_be_visible()
            _in_view(page, notice.locator("a[href='/ask']"))
            expect(page.locator("#start-form")).to_be_hidden()
            expect(page.locator("#chat-connection")).to_be_hidden()
            page.screenshot(path=str(_shots() / "chat-no-javascript.png"))
        finally:
            browser.close()
