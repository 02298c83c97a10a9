"""Choosing a language as people expect: `?lang=` (also on redirects), then the cookie, then the
browser's Accept-Language, else Finnish; the switch keeps the page; hreflang on public pages;
crisis help in the page's language; and no English or Finnish left on any page in Swedish."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from babel.messages.pofile import read_po

from moderation.directory import do_import
from service import keys
from service.http import coordinator_staff
from tests.chat_clients import Staff, Visitor
from tests.conftest import ask, staff_id, url
from tests.test_directory import DEMO, by_name
from tests.test_translations import _extracted
from web import TRANSLATIONS_DIR

StaffClient = Callable[..., Awaitable[TestClient]]
OnDuty = Callable[..., Awaitable[Staff]]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SWEDISH_QUESTION = "Hur söker jag till en verkstad för unga när jag inte kom in på studier?"
SWEDISH_ANSWER = "Gå till Ohjaamo, där får du hjälp med ansökan."


def _lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, page[:200]
    return found[1]


async def _page_lang(client: TestClient, path: str, **headers: str) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return _lang(await response.text())


def _lang_cookie(response: Any) -> str | None:
    for value in response.headers.getall("Set-Cookie", []):
        found = re.match(r"lang=([a-z]+);", value)
        if found:
            return found[1]
    return None


# -- Choosing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sv-FI", "sv"),
        ("sv", "sv"),
        ("sv-SE,sv;q=0.9,en;q=0.8", "sv"),
        ("en-US,en;q=0.9", "en"),
        ("fi-FI,fi;q=0.9,en-US;q=0.8,en;q=0.7", "fi"),
        ("de-DE,de;q=0.9,en;q=0.5,sv;q=0.6", "sv"),  # the best q of ours wins, not the first
        ("en;q=0.4, sv-FI;q=0.8", "sv"),
        ("sv;q=0, en;q=0.1", "en"),  # q=0: "not this one"
        ("de-DE", "fi"),  # nothing we have: Finnish, no error
        ("*", "fi"),
        ("sv;q=banana, en;q=2", "fi"),  # malformed q-values count as nothing
        (";;,,;q=", "fi"),
    ],
)
async def test_the_browsers_language_is_honoured_on_the_first_visit(
    client: TestClient, header: str, expected: str
) -> None:
    assert await _page_lang(client, "/", **{"Accept-Language": header}) == expected


async def test_query_beats_cookie_beats_browser(client: TestClient) -> None:
    swedish_browser = {"Accept-Language": "sv-FI,sv;q=0.9"}
    assert await _page_lang(client, "/ask", **swedish_browser) == "sv"
    chosen = await client.get("/ask?lang=en", headers=swedish_browser)
    assert _lang(await chosen.text()) == "en" and _lang_cookie(chosen) == "en"
    assert await _page_lang(client, "/services", **swedish_browser) == "en", "remembered"
    assert await _page_lang(client, "/?lang=fi", **swedish_browser) == "fi"
    assert await _page_lang(client, "/privacy", **swedish_browser) == "fi"


async def test_a_language_we_do_not_have_falls_back_silently(client: TestClient) -> None:
    response = await client.get("/?lang=de")
    assert response.status == 200 and _lang(await response.text()) == "fi"
    assert _lang_cookie(response) is None, "an unknown code is not remembered"
    assert await _page_lang(client, "/?lang=de", **{"Accept-Language": "sv-FI"}) == "sv"
    client.session.cookie_jar.update_cookies({"lang": "xx"})
    assert await _page_lang(client, "/", **{"Accept-Language": "en-GB"}) == "en"
    assert await _page_lang(client, "/ask?lang=%00%FF") == "fi"


async def test_lang_on_a_redirecting_address_is_applied_and_remembered(
    client: TestClient, new_client: Callable[[], Awaitable[TestClient]]
) -> None:
    # A staff page redirects to the sign-in page: in Swedish, and remembered.
    for path in ("/staff", "/staff/queue"):
        staff = await (await new_client()).get(f"{path}?lang=sv", allow_redirects=False)
        assert staff.status in (302, 303) and "/staff/login" in staff.headers["Location"]
        assert _lang_cookie(staff) == "sv", path
    assert await _page_lang(client, "/staff/queue?lang=sv") == "sv"
    assert await _page_lang(client, "/staff/login") == "sv", "remembered"

    # The ask form's post redirects to the follow-up page.
    asker = await new_client()
    sent = await asker.post(
        "/ask?lang=en",
        data={"category": "tyopajat", "body": SWEDISH_QUESTION, "publish": "no"},
        allow_redirects=False,
    )
    assert sent.status == 303 and _lang_cookie(sent) == "en"
    code_page = sent.headers["Location"]
    assert await _page_lang(asker, code_page) == "en"

    # Looking a code up redirects to its page.
    reader = await new_client()
    code = code_page.split("/f/")[1].split("?")[0]
    found = await reader.get(f"/f?code={code}&lang=sv", allow_redirects=False)
    assert found.status == 303 and _lang_cookie(found) == "sv"
    assert await _page_lang(reader, found.headers["Location"]) == "sv"

    # The JSON API never sets the cookie, but answers in the language asked for.
    api = await (await new_client()).get("/api/categories?lang=sv")
    assert _lang_cookie(api) is None


# -- The switch and the head ---------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alternates: dict[str, str] = {}
        self.switch: dict[str, str] = {}
        self.current: list[str] = []
        self._in_langs = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and a.get("rel") == "alternate":
            self.alternates[a["hreflang"]] = a["href"]
        if tag == "nav" and "langs" in a.get("class", "").split():
            self._in_langs = True
        if self._in_langs and tag == "a":
            self.switch[a["hreflang"]] = a["href"]
        if self._in_langs and tag == "span" and a.get("aria-current"):
            self.current.append("here")

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_langs = False


def _links(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


async def test_public_pages_name_their_alternates_and_staff_pages_do_not(
    client: TestClient, coordinator: TestClient
) -> None:
    page = await (await client.get("/services?q=ohjaamo&lang=sv")).text()
    assert _links(page).alternates == {
        "fi": "/services?q=ohjaamo&lang=fi",
        "sv": "/services?q=ohjaamo&lang=sv",
        "en": "/services?q=ohjaamo&lang=en",
        "x-default": "/services?q=ohjaamo",
    }
    for path in ("/", "/ask", "/chat", "/privacy", "/f", "/no-such-page"):
        found = _links(await (await client.get(path)).text()).alternates
        assert set(found) == {"fi", "sv", "en", "x-default"}, path
        assert all(href.startswith("/") and not href.startswith("//") for href in found.values())
    for who, path in ((client, "/staff/login"), (coordinator, "/coordinator/staff")):
        page = await (await who.get(path)).text()
        assert 'rel="alternate"' not in page and "hreflang=" in page, path  # the switch stays


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/services?q=kela&area=helsinki&lang=sv", "/services?q=kela&area=helsinki&lang={}"),
        ("/ask?lang=sv", "/ask?lang={}"),
        ("/no-such-page?lang=sv", "/no-such-page?lang={}"),
        ("/staff/login?next=/staff/queue&lang=sv", "/staff/login?next=/staff/queue&lang={}"),
        ("/?stray=1&lang=sv", "/?lang={}"),  # a cached public page keeps known parameters only
    ],
)
async def test_the_switch_keeps_the_page_and_its_query(
    client: TestClient, path: str, expected: str
) -> None:
    page = await (await client.get(path)).text()
    links = _links(page)
    assert _lang(page) == "sv" and links.current == ["here"]
    assert links.switch == {code: expected.format(code) for code in ("fi", "en")}


async def test_the_switch_is_on_staff_and_coordinator_pages(
    coordinator: TestClient, staff_client: StaffClient
) -> None:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    for who, path in ((sanna, "/staff/queue"), (coordinator, "/coordinator/audit?action=x")):
        joiner = "&" if "?" in path else "?"
        links = _links(await (await who.get(f"{path}{joiner}lang=sv")).text())
        assert set(links.switch) == {"fi", "en"}, path
        assert links.switch["fi"] == f"{path}{joiner}lang=fi"


# -- Dates per locale ------------------------------------------------------------------------


async def _answered(
    client: TestClient, staff_client: StaffClient, app: web.Application
) -> dict[str, Any]:
    """A published question with an answer and two referral cards, asked and answered in
    Swedish, so that none of its words can be taken for interface text."""
    await do_import(app[keys.DIRECTORY], [dict(s) for s in DEMO], acting_staff=None)
    asked = await ask(client, body=SWEDISH_QUESTION, category="tyopajat")
    mikko = await staff_client("mikko", "adviser", "Mikko")
    assert (await mikko.post(f"/api/staff/questions/{asked['id']}/claim", json={})).status == 200
    answered = await mikko.post(
        f"/api/staff/questions/{asked['id']}/answer",
        json={
            "body": SWEDISH_ANSWER,
            "publish": True,
            "services": [by_name("Ohjaamo")["id"], by_name("Verstas")["id"]],
        },
    )
    assert answered.status == 200, await answered.text()
    return {**asked, "staff": mikko}


async def test_dates_are_written_as_in_each_language(
    client: TestClient, staff_client: StaffClient, app: web.Application
) -> None:
    asked = await _answered(client, staff_client, app)
    moments = {
        "fi": r"\d{1,2}\.\d{1,2}\.20\d\d klo \d{1,2}\.\d\d",
        "sv": r"\d{1,2}\.\d{1,2}\.20\d\d kl\. \d{1,2}\.\d\d",
        "en": r"\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d",
    }
    for lang, moment in moments.items():
        page = await (await client.get(f"/f/{asked['code']}?lang={lang}")).text()
        assert re.search(moment, page), (lang, page)


# -- Crisis help in the page's language ------------------------------------------------------


class _BrowserVisitor(Visitor):
    """A visitor's socket opened as a browser opens it: with its Accept-Language."""

    def __init__(self, accept_language: str) -> None:
        super().__init__()
        self.accept_language = accept_language

    async def connect(self, url: str) -> str:
        await self.sio.connect(
            url,
            namespaces=[self.namespace],
            auth={"token": None},
            headers={"Accept-Language": self.accept_language},
            transports=["websocket"],
            wait_timeout=10,
        )
        self.token = (await self.next("session"))["token"]
        return self.token


async def _socket(client: TestClient, opened: list[Any], accept_language: str) -> Visitor:
    visitor = _BrowserVisitor(accept_language)
    opened.append(visitor)
    await visitor.connect(url(client))
    return visitor


async def test_crisis_help_comes_in_the_sockets_language_and_names_another(
    client: TestClient, on_duty: OnDuty, opened: list[Any]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    swedish = await _socket(client, opened, "sv-FI,sv;q=0.9")
    help_ = (await swedish.start("Jag orkar inte mer, jag vill dö."))["crisis_help"]
    assert help_["crisis_line"] == "09 2525 0112" and "note" not in help_
    later = (await swedish.send("Haluan kuolla."))["crisis_help"]
    assert later["crisis_line"] == "09 2525 0112"
    assert later["note"].startswith("Vi såg ord på finska"), later

    finnish = await _socket(client, opened, "fi-FI")
    help_ = (await finnish.start("Haluan kuolla, en jaksa enää."))["crisis_help"]
    assert help_["crisis_line"] == "09 2525 0111" and "note" not in help_

    english = await _socket(client, opened, "en-US,en;q=0.9")
    help_ = (await english.start("Jag vill dö."))["crisis_help"]
    assert help_["crisis_line"] == "09 2525 0116"
    assert help_["note"].startswith("We saw words in Swedish"), help_
    # A socket error message in the socket's language as well.
    assert (await english.call("start", "not an object"))["message"] == "Send a JSON object."


async def test_crisis_words_with_personal_details_bring_help_before_sending(
    client: TestClient, on_duty: OnDuty, opened: list[Any]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    swedish = await _socket(client, opened, "sv-FI")
    ack = await swedish.start("Jag vill dö. Ring mig på 040 123 4567.")
    assert ack["error"] == "personal_data" and ack["crisis_help"]["crisis_line"] == "09 2525 0112"


async def test_the_ask_form_shows_crisis_help_in_swedish(client: TestClient) -> None:
    response = await client.post(
        "/ask?lang=sv",
        data={
            "category": "tyopajat",
            "body": "Jag vill dö. Ring mig på 040 123 4567, snälla.",
            "publish": "no",
        },
    )
    page = await response.text()
    assert response.status == 422 and _lang(page) == "sv"
    assert 'class="crisis-help"' in page and "09 2525 0112" in page
    assert "09 2525 0111" not in page


# -- No English or Finnish on a Swedish page -------------------------------------------------

# Interface strings of three words or more are compared: shorter ones are often the same in
# Swedish ("Koppi", "OK"), or Swedish words or names of their own.
MIN_WORDS = 3
# msgids whose English or Finnish form may show on a Swedish page, each with the reason.
ALLOWED: dict[str, str] = {
    # The language switch and the crisis note name the other languages on purpose.
}


def _catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    with (TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {
        (m.id if isinstance(m.id, str) else m.id[0]): m.string
        for m in catalog
        if m.id and not m.fuzzy
    }


_PLACEHOLDER = r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}"


def _words(text: str) -> int:
    """Words of two letters or more, placeholders and punctuation left out."""
    return len(re.findall(r"[^\W\d_]{2,}", re.sub(_PLACEHOLDER, " ", text)))


def _pattern(text: str) -> re.Pattern[str]:
    """A message as it shows: placeholders stand for anything, whitespace for any space."""
    parts = re.split(_PLACEHOLDER, text)
    words = [r"\s+".join(re.escape(w) for w in part.split()) for part in parts]
    return re.compile(r"\s*.{1,80}?\s*".join(words))


class _Visible(HTMLParser):
    """Text a person meets: text nodes, and the attributes read aloud or shown later by the
    page's scripts (title, aria-label, placeholder, alt, value, data-*)."""

    _SKIPPED = {"script", "style"}
    _SPOKEN = {"title", "aria-label", "placeholder", "alt", "value"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip += 1
        for name, value in attrs:
            if value and (name in self._SPOKEN or name.startswith("data-s-")):
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def visible_text(page: str, *, own: tuple[str, ...] = ()) -> str:
    parser = _Visible()
    parser.feed(page)
    text = " ".join(" ".join(parser.chunks).split())
    for content in own:
        text = text.replace(" ".join(content.split()), " ")
    return text


def _foreign_forms(tmp_path: Path) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """For every message of the code with a Swedish translation of its own: its English and
    Finnish forms, which must not show on a Swedish page."""
    swedish, finnish = _catalog("sv"), _catalog("fi")
    forms: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for msgid in _extracted(tmp_path):
        if msgid in ALLOWED:
            continue
        sv = swedish.get(msgid)
        sv_text = sv[0] if isinstance(sv, tuple) else sv
        candidates = [("en", msgid)]
        fi = finnish.get(msgid)
        candidates.append(("fi", fi[0] if isinstance(fi, tuple) else fi or ""))
        for lang, text in candidates:
            if _words(text) >= MIN_WORDS and text != sv_text:
                forms.setdefault(msgid, []).append((lang, _pattern(text)))
    return forms


async def _swedish_pages(
    client: TestClient,
    staff_client: StaffClient,
    coordinator: TestClient,
    app: web.Application,
) -> dict[str, str]:
    """Every page a person can open, in Swedish: public pages, error pages, the ask form with
    its errors, a question with an answer and referral cards, staff and coordinator pages."""
    asked = await _answered(client, staff_client, app)
    private = await ask(client, body=SWEDISH_QUESTION + " Privat.", publish=False)
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    service = by_name("Ohjaamo")["id"]
    pages: dict[str, str] = {}

    async def get(who: TestClient, path: str, name: str | None = None) -> None:
        joiner = "&" if "?" in path else "?"
        response = await who.get(path + joiner + "lang=sv")
        if response.content_type == "text/html":
            pages[name or path] = await response.text()

    # Each path parameter of a page, by the path it is in; a new page with a parameter not
    # named here fails the test until it is added, so no page is left out unnoticed.
    sanna_id = str(staff_id(app[keys.SETTINGS], "sanna"))
    values: dict[str, list[str]] = {
        "code": [asked["code"]],
        "table": ["questions"],
        "action": sorted(coordinator_staff.CONFIRMATIONS),
    }
    for route in app.router.routes():
        resource = route.resource
        if route.method != "GET" or resource is None or isinstance(resource, web.StaticResource):
            continue
        canonical = resource.canonical
        if canonical.startswith(("/socket.io", "/api/")):
            continue
        if canonical.startswith("/services"):
            ids = [service]
        elif canonical.startswith("/coordinator/staff"):
            ids = [sanna_id]
        elif canonical.startswith("/staff"):
            ids = [str(private["id"])]
        else:
            ids = [str(asked["id"])]
        names = re.findall(r"\{(\w+)\}", canonical)
        unknown = [n for n in names if n != "id" and n not in values]
        assert not unknown, f"give {canonical} a value for {unknown}"
        choices = [ids if n == "id" else values[n] for n in names]
        for chosen in itertools.product(*choices):
            path = canonical
            for name, picked in zip(names, chosen, strict=True):
                path = path.replace("{" + name + "}", picked, 1)
            who = coordinator if path.startswith("/coordinator") else sanna
            await get(who if path.startswith(("/staff", "/coordinator")) else client, path)
    await get(client, "/staff/login", "sign-in")
    await get(client, f"/f/{asked['code']}?new=1", "follow-up, new")
    await get(client, "/services?q=ohjaamo", "directory search")
    await get(client, "/?q=verkstad", "board search")
    await get(client, "/no-such-page", "404")
    await get(client, "/f?code=wrong", "wrong code")
    await get(sanna, "/coordinator/staff", "403")
    await get(coordinator, "/coordinator/stats?period=year", "stats, a year")
    for name, body in (
        ("ask, errors", {"category": "", "body": "", "publish": ""}),
        (
            "ask, personal details and crisis",
            {
                "category": "tyopajat",
                "body": "Jag vill dö. Ring mig på 040 123 4567, snälla.",
                "publish": "no",
            },
        ),
    ):
        response = await client.post("/ask?lang=sv", data=body)
        pages[name] = await response.text()
    return pages


async def test_no_english_or_finnish_shows_on_any_page_in_swedish(
    client: TestClient,
    staff_client: StaffClient,
    coordinator: TestClient,
    app: web.Application,
    tmp_path: Path,
) -> None:
    pages = await _swedish_pages(client, staff_client, coordinator, app)
    assert len(pages) >= 25, sorted(pages)
    forms = _foreign_forms(tmp_path)
    own = (SWEDISH_QUESTION, SWEDISH_ANSWER, "Mikko", "Sanna", "Helena")
    left: dict[str, list[str]] = {}
    for name, page in sorted(pages.items()):
        assert _lang(page) == "sv", name
        text = visible_text(page, own=own)
        for msgid, patterns in forms.items():
            for lang, pattern in patterns:
                if pattern.search(text):
                    left.setdefault(f"{lang}: {msgid}", []).append(name)
    report = "\n".join(f"{m!r} on {', '.join(sorted(set(p)))}" for m, p in sorted(left.items()))
    assert not left, f"{len(left)} strings not in Swedish:\n{report}"


def test_the_visible_text_check_can_fail() -> None:
    page = (
        '<html lang="sv"><body><p data-s-x="Connection lost. Reconnecting…">Hej</p>'
        "<script>var s = 'Please sign in.';</script><p>Ask a question instead</p></body></html>"
    )
    text = visible_text(page)
    assert "Connection lost. Reconnecting…" in text and "Please sign in." not in text
    assert _pattern("You are number %(position)s in the queue.").search(
        "Du är… You are number 3 in the queue."
    )
