"""In headless Chromium: a visitor asks, a counsellor sees it arrive live, answers and publishes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir

pytestmark = pytest.mark.browser
QUESTION = "Pääsenkö nuorten työpajaan, vaikka keskeytin ammattikoulun kesken?"
ANSWER = "Pääset! Työpajaan voi hakeutua Ohjaamon tai työllisyyspalvelujen kautta."


def test_ask_moderate_publish_and_read_answer(tmp_path: Path, database_url: str | None) -> None:
    shots = output_dir()
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli(
        "create-staff",
        "sanna",
        "--role",
        "counsellor",
        "--name",
        "Sanna",
        stdin="browser-test-password\n",
    )
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            staff = browser.new_context().new_page()
            staff.goto(server.url + "/staff/queue")
            expect(staff).to_have_url(re.compile(r"/staff/login"))
            staff.fill("#username", "sanna")
            staff.fill("#password", "browser-test-password")
            staff.click("button[type=submit]")
            expect(staff).to_have_url(re.compile(r"/staff/queue$"))
            expect(staff.locator("#queue")).to_have_attribute("data-live", "yes")
            expect(staff.locator("#queue tbody")).to_contain_text("Jono on tyhjä")

            visitor = browser.new_context().new_page()
            visitor.goto(server.url + "/ask")
            visitor.select_option("#category", "tyopajat")
            visitor.fill("#body", QUESTION)
            visitor.check("input[name=publish][value=yes]")
            visitor.click("form.ask button[type=submit]")
            expect(visitor.locator(".code-notice")).to_be_visible()
            code = visitor.locator(".code code").inner_text()
            assert re.fullmatch(r"KOPPI(?:-[0-9A-HJKMNP-TV-Z]{4}){5}", code)
            visitor.screenshot(path=str(shots / "followup-new.png"), full_page=True)

            row = staff.locator("#queue tbody tr", has_text="Pääsenkö nuorten työpajaan")
            expect(row).to_be_visible()  # arrived over socket.io, no reload
            staff.screenshot(path=str(shots / "queue.png"), full_page=True)
            row.locator("a").click()
            staff.click("text=Ota kysymys käsittelyyn")
            staff.fill("#answer-body", ANSWER)
            staff.check("input[name=publish][value=yes]")
            # The answer form also holds the directory search's button: send by name.
            staff.get_by_role("button", name="Lähetä vastaus").click()
            expect(staff.locator(".answer")).to_contain_text(ANSWER)

            visitor.goto(f"{server.url}/f/{code}")
            expect(visitor.locator(".answer")).to_contain_text(ANSWER)
            expect(visitor.locator(".answer h3")).to_have_text("Sosiaaliohjaaja Sanna")
            visitor.screenshot(path=str(shots / "followup-answered.png"), full_page=True)

            visitor.goto(server.url + "/")
            expect(visitor.locator(".card").first).to_contain_text("Pääsenkö nuorten työpajaan")
            visitor.screenshot(path=str(shots / "board.png"), full_page=True)
            visitor.goto(server.url + "/?q=ty%C3%B6paja")
            expect(visitor.locator(".card")).to_have_count(1)
        finally:
            browser.close()
    log = server.log.read_text()
    assert "GET /f/… 200" in log, "the access log ran"
    assert code not in log, "follow-up codes never reach the log"
    client_lines = [line for line in log.splitlines() if "127.0.0.1" in line]
    assert all("serving on" in line for line in client_lines), "no client address is logged"
