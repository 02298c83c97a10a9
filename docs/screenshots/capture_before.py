"""The "before" screenshots: every public page at 390×844 and 1280×800, viewport only.

    git archive bd04031 | tar -x -C /tmp/before
    .venv/bin/python docs/screenshots/capture_before.py /tmp/before docs/screenshots/before
    pngquant --force --ext .png --quality 60-85 docs/screenshots/before/*.png

serves the checkout given with its demo content, one question answered with referral cards
and one of our own for the follow-up page, and saves <page>-<phone|desktop>.png. The "after"
shots, and both side by side, come from tests/test_browser_phone.py."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}
PASSWORD = "capture-password-1"  # noqa: S105 - a throwaway demo server's counsellor


def _post(url: str, body: dict[str, object], cookie: str = "") -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie, "Origin": url[:22]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        cookie_header = response.headers.get("Set-Cookie", "")
        found = json.loads(response.read() or b"{}")
    found["_cookie"] = cookie_header.split(";")[0]
    return found


def content(base: str, services: list[str]) -> dict[str, str]:
    """An answered question with two referral cards, and a code of our own."""
    asked = _post(
        base + "/api/questions",
        {
            "body": "Minulla on velkaa ja haen töitä, mistä saisin apua?",
            "category": "tyonhaku",
            "title": "Velkaa ja työnhaku",
            "publish": True,
        },
    )
    mine = _post(
        base + "/api/questions",
        {
            "body": "Voinko hakea opintotukea, jos olen töissä?",
            "category": "opiskelu",
            "publish": False,
        },
    )
    cookie = str(
        _post(base + "/api/staff/login", {"username": "sanna", "password": PASSWORD})["_cookie"]
    )
    qid = asked["id"]
    _post(f"{base}/api/staff/questions/{qid}/claim", {}, cookie)
    _post(
        f"{base}/api/staff/questions/{qid}/answer",
        {
            "body": "Hei! Ohjaamo auttaa sekä työnhaussa että raha-asioissa, ja talous- ja"
            " velkaneuvonta on maksutonta.",
            "publish": True,
            "services": services[:2],
        },
        cookie,
    )
    return {"question": f"/q/{qid}", "followup": f"/f/{mine['code']}"}


def pages(extra: dict[str, str], service_path: str) -> dict[str, str]:
    return {
        "board": "/",
        "board-search": "/?q=kela",
        "question": extra["question"],
        "ask": "/ask",
        "ask-errors": "/ask",
        "lookup": "/f",
        "followup": extra["followup"],
        "chat": "/chat",
        "services": "/services",
        "services-search": "/services?q=nuoret",
        "service": service_path,
        "privacy": "/privacy",
        "accessibility": "/accessibility",
        "not-found": "/no-such-page",
    }


def shoot(page: Page, base: str, name: str, path: str, out: Path, kind: str) -> None:
    page.goto(base + path)
    if name == "ask-errors":
        page.locator("form.ask button[type=submit]").first.click()
        page.wait_for_load_state()
        page.wait_for_timeout(300)
    page.screenshot(path=str(out / f"{name}-{kind}.png"))


def main(root: Path, out: Path) -> None:
    sys.path.insert(0, str(root))
    from tests.live_server import BROWSER_ARGS, LiveServer  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp))
        server.env["KOPPI_DEMO"] = "1"
        server.cli("migrate")
        server.cli(
            "create-staff",
            "sanna",
            "--role",
            "counsellor",
            "--name",
            "Sanna",
            stdin=PASSWORD + "\n",
        )
        with server.running():
            base = server.url
            with urllib.request.urlopen(base + "/api/hsds/services") as answer:  # noqa: S310
                listed = json.loads(answer.read())
            ids = [s["id"] for s in listed["contents"]]
            extra = content(base, ids)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=shutil.which("chromium"), args=BROWSER_ARGS
                )
                for kind, (width, height) in WIDTHS.items():
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    for name, path in pages(extra, f"/services/{ids[0]}").items():
                        shoot(page, base, name, path, out, kind)
                    context.close()
                browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
