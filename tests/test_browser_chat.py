"""In headless Chromium: a young person and a counsellor chat live, survive reloads, end and rate;
with no one on duty the chat page turns the message into a question instead; the queue, turning
a wait into a question, capacity, a server restart, transfer and blocking work from both pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from service.settings import Settings
from tests.conftest import rows
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir
from web import DEMO_DIR

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password\n"
FIRST = "Hei, minulla on ollut tosi raskasta ja rahat loppuvat aina kesken kuukauden."
REPLY = "Hei! Kiva kun kirjoitit. Kerrotko lisää, mihin rahat yleensä menevät?"
SECOND = "Vuokraan ja ruokaan.\nEn tiedä, saisinko jotain tukea."
THIRD = "Sivu latautui uudelleen, olen yhä täällä."
ANSWER = "Olet oikeassa paikassa. Asumistukea kannattaa hakea Kelasta."
CODE = r"KOPPI(-[0-9A-Z]{4}){5}"  # a follow-up code (moderation/followup_codes.py)


class Problems(list[str]):
    """Uncaught script errors and Content-Security-Policy refusals on any page watched."""

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                self.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page


def _server(tmp_path: Path, database_url: str | None) -> LiveServer:
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    return server


def chat_console(
    browser: Browser,
    server: LiveServer,
    problems: Problems,
    *,
    username: str = "sanna",
    available: bool = False,
) -> Page:
    """A counsellor signs in on the chat console, and switches herself available when asked."""
    page = problems.watch(browser.new_context().new_page())
    page.goto(server.url + "/staff/chat")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD.strip())
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/chat$"))
    expect(page.locator("#staff-connection")).to_have_attribute("data-state", "connected")
    if available:
        page.check("#available")
        expect(page.locator("#staff-chat")).to_have_attribute("data-available", "yes")
    return page


def _messages(page: Page, scope: str, kind: str, text: str) -> Locator:
    return page.locator(f"{scope} .msg-{kind} .msg-text", has_text=text)


def test_visitor_and_counsellor_chat_reload_end_and_rate(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = output_dir()
    problems = Problems()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems)
            expect(staff.locator("header nav a[href='/staff/chat']")).to_be_visible()
            expect(staff.locator("#desk-open")).not_to_be_empty()  # the first `desk` arrived
            staff.check("#available")
            expect(staff.locator("#staff-chat")).to_have_attribute("data-available", "yes")

            visitor = problems.watch(
                browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            )
            visitor.goto(server.url + "/chat")
            expect(visitor.locator("html")).to_have_attribute("lang", "fi")
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(visitor.locator("#chat-closed-notice")).to_be_hidden()
            visitor.select_option("#chat-category", "raha")
            visitor.fill("#chat-first", FIRST)
            visitor.click("#start-button")

            # Automatic assignment: the visitor sees who answers, in Finnish.
            expect(visitor.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")
            expect(_messages(visitor, "#messages", "visitor", FIRST)).to_have_count(1)

            panel = staff.locator(".chat-panel")
            expect(panel).to_have_count(1)
            expect(_messages(staff, ".chat-panel", "visitor", FIRST)).to_have_count(1)

            # The counsellor starts from a ready reply, edits it and sends with Enter.
            staff_text = panel.locator("textarea[data-id=text]")
            panel.locator("select[data-id=canned]").select_option(label="Tervehdys")
            expect(staff_text).to_have_value(re.compile(r"^Hei, kiva kun kirjoitit!"))
            staff_text.fill("")
            staff_text.press_sequentially("Hei!")
            expect(visitor.locator("#typing")).to_contain_text("Sanna")
            staff_text.fill(REPLY)
            staff_text.press("Enter")
            expect(staff_text).to_have_value("")
            expect(_messages(visitor, "#messages", "staff", REPLY)).to_have_count(1)
            expect(panel.locator(".msg-own[data-state=sent]")).to_have_count(1)

            # The visitor types (the counsellor sees it), then sends two lines with Shift+Enter.
            visitor_text = visitor.locator("#chat-text")
            visitor_text.press_sequentially("Vuokraan ja ruokaan.")
            expect(panel.locator("[data-part=typing]")).not_to_be_empty()
            visitor_text.press("Shift+Enter")
            visitor_text.press_sequentially("En tiedä, saisinko jotain tukea.")
            visitor_text.press("Enter")
            expect(visitor.locator("#messages .msg-visitor[data-state=sent]")).to_have_count(2)
            expect(_messages(staff, ".chat-panel", "visitor", "saisinko jotain")).to_have_text(
                SECOND
            )

            # A reload mid-chat restores everything exactly once, and the chat goes on.
            visitor.reload()
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")
            expect(visitor.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
            for kind, text in (("visitor", FIRST), ("staff", REPLY), ("visitor", SECOND)):
                expect(_messages(visitor, "#messages", kind, text)).to_have_count(1)
            expect(visitor.locator("#messages .msg-visitor")).to_have_count(2)
            expect(visitor.locator("#messages .msg-staff")).to_have_count(1)
            staff.reload()  # the counsellor's page restores the chat too
            panel = staff.locator(".chat-panel")
            staff_text = panel.locator("textarea[data-id=text]")
            for kind, text in (("visitor", FIRST), ("staff", REPLY), ("visitor", SECOND)):
                expect(_messages(staff, ".chat-panel", kind, text)).to_have_count(1)
            visitor.fill("#chat-text", THIRD)
            visitor.click("#send-button")
            expect(_messages(staff, ".chat-panel", "visitor", THIRD)).to_have_count(1)
            staff_text.fill(ANSWER)
            staff_text.press("Enter")
            expect(_messages(visitor, "#messages", "staff", ANSWER)).to_have_count(1)
            expect(visitor.locator("#messages .msg-visitor")).to_have_count(3)
            expect(visitor.locator("#messages .msg-staff")).to_have_count(2)
            visitor.screenshot(path=str(shots / "chat-visitor.png"), full_page=True)
            staff.screenshot(path=str(shots / "chat-staff.png"), full_page=True)

            # The counsellor ends the chat with a wrap-up; the visitor rates it.
            panel.locator("[data-part=end-summary]").click()
            panel.locator("select[data-id=end-category]").select_option("raha")
            panel.locator("select[data-id=end-outcome]").select_option("advice")
            panel.locator("form[data-part=end-form] button[type=submit]").click()
            expect(panel).to_have_count(0)
            expect(staff.locator("#no-chats")).to_be_visible()
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "ended")
            expect(visitor.locator("#chat-text")).to_be_hidden()
            expect(visitor.locator("#rate-form")).to_be_visible()
            visitor.screenshot(path=str(shots / "chat-visitor-ended.png"), full_page=True)
            visitor.check("#rate-form input[name=score][value='5']")
            visitor.check("#rate-form input[name=helped][value=yes]")
            visitor.click("#rate-form button[type=submit]")
            expect(visitor.locator("#rate-thanks")).to_be_visible()
            expect(visitor.locator("#rate-form")).to_be_hidden()
            visitor.screenshot(path=str(shots / "chat-visitor-rated.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []


def test_closed_chat_offers_the_ask_form_with_the_text_carried_over(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = output_dir()
    problems = Problems()
    server = _server(
        tmp_path, database_url
    )  # Sanna exists but is not available: the chat is closed
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            visitor = problems.watch(browser.new_context().new_page())
            visitor.goto(server.url + "/chat")
            expect(visitor.locator("#chat-closed-notice")).to_be_visible()
            visitor.select_option("#chat-category", "opiskelu")
            visitor.fill("#chat-first", FIRST)
            visitor.click("#start-button")

            expect(visitor.locator("#chat-closed")).to_be_visible()
            expect(visitor.locator("#chat-start")).to_be_hidden()
            expect(visitor.locator("#ask-category")).to_have_value("opiskelu")
            expect(visitor.locator("#ask-body")).to_have_value(FIRST)
            expect(visitor.locator("#ask-form input[name=publish]:checked")).to_have_count(0)
            visitor.screenshot(path=str(shots / "chat-closed.png"), full_page=True)
            visitor.check("#ask-form input[name=publish][value=no]")
            visitor.click("#ask-form button[type=submit]")

            expect(visitor).to_have_url(re.compile(rf"/f/{CODE}\?new=1$"))
            expect(visitor.locator(".code-notice")).to_be_visible()
            expect(visitor.locator(".question .text")).to_have_text(FIRST)
        finally:
            browser.close()
    assert problems == []


def _start(
    browser: Browser, server: LiveServer, problems: Problems, category: str, text: str
) -> Page:
    page = problems.watch(browser.new_context().new_page())
    page.goto(server.url + "/chat")
    expect(page.locator("#chat-connection")).to_have_attribute("data-state", "connected")
    page.select_option("#chat-category", category)
    page.fill("#chat-first", text)
    page.click("#start-button")
    return page


def test_queue_convert_capacity_and_server_restart(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = output_dir()
    problems = Problems()
    server = _server(tmp_path, database_url)
    # Coordinators set these through their API; here the database is set before the start.
    target = Settings(db_path=tmp_path / "koppi.sqlite3", database_url=database_url)
    rows(target, "UPDATE staff SET chat_capacity = 1")
    rows(target, "UPDATE chat_settings SET value = 60 WHERE name = 'offer_question_after_s'")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            with server.running():
                staff = chat_console(browser, server, problems, available=True)
                first = _start(browser, server, problems, "raha", FIRST)
                expect(first.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")

                # Sanna's one place is taken: the next visitor waits about 10 minutes (no
                # handled chats yet, so 600 s per chat) and may turn the chat into a question.
                second = _start(browser, server, problems, "jaksaminen", SECOND)
                expect(second.locator("#chat")).to_have_attribute("data-view", "waiting")
                expect(second.locator("#queue-position")).to_contain_text("1")
                expect(second.locator("#queue-eta")).to_contain_text("10")
                expect(second.locator("#offer")).to_be_visible()
                third = _start(browser, server, problems, "asuminen", THIRD)
                expect(third.locator("#queue-position")).to_contain_text("2")
                expect(staff.locator("#waiting-list li")).to_have_count(2)
                expect(staff.locator("#waiting-list li").first).to_contain_text("saisinko")
                second.screenshot(path=str(shots / "chat-waiting.png"), full_page=True)
                staff.screenshot(path=str(shots / "chat-staff-queue.png"), full_page=True)

                third.click("#convert-button")
                expect(third.locator("#chat-converted")).to_be_visible()
                code = third.locator("#followup-code").inner_text()
                assert re.fullmatch(CODE, code)
                expect(third.locator("#followup-link")).to_have_attribute("href", f"/f/{code}")
                expect(third.locator("#followup-link")).to_have_text(f"{server.url}/f/{code}")
                expect(third.locator("button[data-copy=followup-code]")).to_be_visible()
                expect(staff.locator("#waiting-list li")).to_have_count(1)
                expect(second.locator("#queue-position")).to_contain_text("1")
                # Reloads keep both: the code stays on screen, the queue place is kept.
                third.reload()
                expect(third.locator("#followup-code")).to_have_text(code)
                second.reload()
                expect(second.locator("#chat")).to_have_attribute("data-view", "waiting")
                expect(second.locator("#queue-position")).to_contain_text("1")
                expect(_messages(second, "#messages", "visitor", "saisinko")).to_have_count(1)

                # Accepting beyond capacity is refused, and the refusal is shown.
                staff.locator("#waiting-list li button").click()
                expect(staff.locator("#queue-error")).not_to_be_empty()

                # The connections drop and then the server restarts mid-chat: both pages say
                # so, and the visitor's message waits. (Offline first, because the server
                # does not stop promptly while sockets are open.)
                for page in (first, second, third, staff):
                    page.context.set_offline(True)
                expect(first.locator("#chat-connection")).to_have_attribute(
                    "data-state", "reconnecting"
                )
                expect(staff.locator("#staff-connection")).to_have_attribute(
                    "data-state", "reconnecting"
                )
            first.fill("#chat-text", "Lähtikö tämä perille?")
            first.press("#chat-text", "Enter")
            expect(first.locator("#messages .msg-visitor[data-state=queued]")).to_have_count(1)

            with server.running():
                for page in (first, second, third, staff):
                    page.context.set_offline(False)
                # Back up: the queued message goes out once, and the chat carries on.
                panel = staff.locator(".chat-panel")
                expect(_messages(staff, ".chat-panel", "visitor", "Lähtikö tämä")).to_have_count(
                    1, timeout=20_000
                )
                expect(first.locator("#messages .msg-visitor[data-state=sent]")).to_have_count(2)
                expect(_messages(staff, ".chat-panel", "visitor", FIRST)).to_have_count(1)
                staff_text = panel.locator("textarea[data-id=text]")
                staff_text.fill(ANSWER)
                staff_text.press("Enter")
                expect(_messages(first, "#messages", "staff", ANSWER)).to_have_count(1)

                # Sanna hands the first chat to the advisers with a note: that visitor waits
                # again, and her freed place goes to the one who was waiting.
                panel.locator("[data-part=transfer-summary]").click()
                panel.locator("select[data-id=transfer-to]").select_option("role:adviser")
                panel.locator("textarea[data-id=transfer-note]").fill("Kysyy asumistuesta.")
                panel.locator("form[data-part=transfer-form] button[type=submit]").click()
                expect(first.locator("#chat")).to_have_attribute("data-view", "waiting")
                expect(second.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
                expect(staff.locator("#waiting-list li")).to_have_count(1)
                expect(staff.locator("#waiting-list li")).to_contain_text("Työllisyysneuvoja")
                expect(_messages(staff, ".chat-panel", "visitor", "saisinko")).to_have_count(1)
                expect(_messages(staff, ".chat-panel", "visitor", FIRST)).to_have_count(0)

                # Blocking ends the chat and leaves only its wrap-up on Sanna's desk; the
                # blocked visitor cannot start another.
                panel.locator("[data-part=block-summary]").click()
                panel.locator("input[name=hours][value='168']").check()
                panel.locator("textarea[data-id=block-reason]").fill("Asiatonta kielenkäyttöä.")
                panel.locator("form[data-part=block-form] button[type=submit]").click()
                expect(second.locator("#chat")).to_have_attribute("data-view", "ended")
                expect(panel).to_have_attribute("data-mode", "wrapup")
                expect(panel.locator("form[data-part=send-form]")).to_be_hidden()
                expect(panel.locator("form[data-part=end-form]")).to_be_visible()
                staff.screenshot(path=str(shots / "chat-staff-wrapup.png"), full_page=True)
                panel.locator("select[data-id=end-outcome]").select_option("no_contact")
                panel.locator("form[data-part=end-form] button[type=submit]").click()
                expect(staff.locator(".chat-panel")).to_have_count(0)
                second.click("#new-chat-button")
                second.select_option("#chat-category", "jaksaminen")
                second.fill("#chat-first", "Voinko jatkaa?")
                second.click("#start-button")
                expect(second.locator("#start-error")).not_to_be_empty()
                expect(second.locator("#chat")).to_have_attribute("data-view", "start")
                browser.close()  # before the server stops, which it does promptly only then
        finally:
            browser.close()
    assert problems == []


def _reply(staff: Page, text: str) -> None:
    box = staff.locator(".chat-panel textarea[data-id=text]")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def test_writer_names_survive_replays_and_signing_out_ends_the_console(
    tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            visitor = _start(browser, server, problems, "raha", FIRST)
            expect(visitor.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
            expect(visitor.locator("#chat-announce")).to_contain_text("Sanna")
            _reply(staff, REPLY)
            staff_message = visitor.locator("#messages .msg-staff", has_text=REPLY)
            expect(staff_message.locator(".msg-from")).to_have_text("Sanna")

            # The tab forgets the transcript but keeps its token: the server replays it all,
            # and the staff message still says who wrote it.
            visitor.evaluate("sessionStorage.removeItem('koppi.chat.log')")
            visitor.reload()
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")
            expect(staff_message).to_have_count(1)
            expect(staff_message.locator(".msg-from")).to_have_text("Sanna")
            expect(_messages(visitor, "#messages", "visitor", FIRST)).to_have_count(1)

            # A second console tab (no stored client ids) still shows Sanna's message as hers.
            second = problems.watch(staff.context.new_page())
            second.goto(server.url + "/staff/chat")
            expect(second.locator("#staff-connection")).to_have_attribute("data-state", "connected")
            expect(second.locator(".chat-panel .msg-own", has_text=REPLY)).to_have_count(1)

            # Signing out there closes this session's sockets: the first tab says so and links
            # to the sign-in page instead of reconnecting for ever.
            second.locator("form[action='/staff/logout'] button").click()
            expect(second).to_have_url(re.compile(r"/staff/login"))
            connection = staff.locator("#staff-connection")
            expect(connection).to_have_attribute("data-state", "ended")
            expect(connection.locator("a")).to_have_attribute("href", re.compile(r"^/staff/login"))

            # Signing out on the last device hands the chat back to the queue at once.
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "waiting")

            # The visitor leaves and makes the tab forget the chat: the transcript goes, and
            # the next connection brings a new token that cannot resume the old chat.
            old_token = visitor.evaluate("sessionStorage.getItem('koppi.chat.token')")
            visitor.click("#leave-button")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "ended")
            visitor.click("#forget-button")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "start")
            expect(visitor.locator("#chat-start-heading")).to_be_focused()
            expect(visitor.locator("#messages .msg")).to_have_count(0)
            visitor.wait_for_function(
                "old => { const t = sessionStorage.getItem('koppi.chat.token');"
                " return t !== null && t !== old; }",
                arg=old_token,
            )
            stored = visitor.evaluate("JSON.parse(sessionStorage.getItem('koppi.chat.log'))")
            assert stored is None or (stored["messages"] == [] and stored["chat_id"] is None)
            visitor.reload()
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "start")
            expect(visitor.locator("#messages .msg")).to_have_count(0)
        finally:
            browser.close()
    assert problems == []


BLOCKED_STORAGE = """
for (const name of ["getItem", "setItem", "removeItem"]) {
  Storage.prototype[name] = function () { throw new DOMException("blocked", "SecurityError"); };
}
"""


def test_visitor_chat_works_when_session_storage_refuses(
    tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            context = browser.new_context()
            context.add_init_script(BLOCKED_STORAGE)
            visitor = problems.watch(context.new_page())
            visitor.goto(server.url + "/chat")
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            visitor.select_option("#chat-category", "raha")
            visitor.fill("#chat-first", FIRST)
            visitor.click("#start-button")
            expect(visitor.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
            _reply(staff, REPLY)
            expect(_messages(visitor, "#messages", "staff", REPLY)).to_have_count(1)
            # The staff typing notice names the chat for screen readers.
            visitor.locator("#chat-text").press_sequentially("Vuokraan")
            title = staff.locator(".chat-panel h3").inner_text()
            expect(staff.locator(".chat-panel [data-part=typing]")).to_contain_text(title)

            # A sent message is added to the log once and then updated in place.
            visitor.evaluate(
                "window.added = 0; new MutationObserver(r => r.forEach(m =>"
                " window.added += m.addedNodes.length)).observe("
                "document.getElementById('messages'), {childList: true})"
            )
            visitor.fill("#chat-text", SECOND)
            visitor.press("#chat-text", "Enter")
            expect(visitor.locator("#messages .msg-visitor[data-state=sent]")).to_have_count(2)
            assert visitor.evaluate("window.added") == 1
            expect(_messages(staff, ".chat-panel", "visitor", "saisinko")).to_have_count(1)
        finally:
            browser.close()
    assert problems == []


def test_counsellor_finds_a_service_in_the_console_and_sends_it_as_a_card(
    tmp_path: Path,
    database_url: str | None,
) -> None:
    shots = output_dir()
    problems = Problems()
    server = _server(tmp_path, database_url)
    server.cli("directory", "import", str(DEMO_DIR / "directory.json"))
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            visitor = _start(browser, server, problems, "raha", FIRST)
            panel = staff.locator(".chat-panel")
            expect(panel).to_have_count(1)

            panel.locator("summary", has_text="Ohjaa palveluun").click()
            panel.locator("input[data-id=refer-q]").fill("velkaneuvonta")
            panel.locator("form[data-part=refer-form] button").click()
            result = panel.locator("[data-part=refer-results] li", has_text="velkaneuvonta")
            expect(result).to_have_count(1)
            result.locator("button").click()

            name = "Talous- ja velkaneuvonta"
            expect(panel.locator(".msg-own .referral-card", has_text=name)).to_have_count(1)
            card = visitor.locator("#messages .msg-staff .referral-card", has_text=name)
            expect(card).to_have_count(1)
            expect(card.locator("a[href^='tel:']")).to_have_count(1)
            staff.screenshot(path=str(shots / "chat-staff-referral.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []


def test_personal_details_warning_crisis_help_and_flags_for_staff(
    tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = chat_console(browser, server, problems, available=True)
            visitor = problems.watch(browser.new_context().new_page())
            visitor.goto(server.url + "/chat")
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(visitor.locator("#chat-crisis")).to_be_hidden()

            # A phone number in the first message: a warning, nothing sent until confirmed.
            visitor.select_option("#chat-category", "raha")
            visitor.fill("#chat-first", "Voitteko soittaa minulle numeroon 040 123 4567?")
            visitor.click("#start-button")
            warning = visitor.locator("#start-personal")
            expect(warning).to_be_visible()
            expect(warning.locator("mark")).to_have_text("040 123 4567")
            expect(staff.locator(".chat-panel")).to_have_count(0)
            warning.locator("[data-part=send-anyway]").click()
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")
            panel = staff.locator(".chat-panel")
            expect(_messages(staff, ".chat-panel", "visitor", "040 123 4567")).to_have_count(1)

            # In the room: "Edit" keeps the text; "Send anyway" sends it.
            text = visitor.locator("#chat-text")
            text.fill("Tai sähköpostiin nimi@example.com")
            text.press("Enter")
            box = visitor.locator("#send-personal")
            expect(box).to_be_visible()
            expect(text).to_have_value("Tai sähköpostiin nimi@example.com")
            box.locator("[data-part=edit]").click()
            expect(text).to_be_focused()
            box.locator("[data-part=send-anyway]").click()
            expect(box).to_be_hidden()
            expect(text).to_have_value("")
            expect(_messages(staff, ".chat-panel", "visitor", "nimi@example.com")).to_have_count(1)

            # A crisis word: help at once for the young person, urgent and flagged for staff.
            text.fill("Joskus haluan kuolla.")
            text.press("Enter")
            crisis = visitor.locator("#chat-crisis")
            expect(crisis).to_be_visible()
            expect(crisis).to_contain_text("112")
            expect(panel.locator("[data-part=urgent]")).to_be_visible()
            expect(panel.locator(".msg-visitor .badge-urgent")).to_contain_text("haluan kuolla")
            expect(visitor.locator("#messages .badge")).to_have_count(0)
            visitor.reload()
            expect(visitor.locator("#chat-crisis")).to_be_visible()
            assert problems == []
        finally:
            browser.close()
