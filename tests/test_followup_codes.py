"""Follow-up codes a person can keep: read aloud, typed on a phone in any case, older codes too."""

from __future__ import annotations

import dataclasses
import re
import secrets

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from moderation import followup_codes
from moderation.followup_codes import candidates, canonical, hash_code, new_code
from service.app import create_app
from service.settings import Settings
from tests.conftest import ClientFactory, FakeClock, ask, rows

NEW_SHAPE = re.compile(r"KOPPI(?:-[0-9A-HJKMNP-TV-Z]{4}){5}")


def test_new_codes_are_grouped_without_look_alikes_and_carry_100_bits() -> None:
    made = [new_code() for _ in range(2000)]
    assert all(NEW_SHAPE.fullmatch(code) for code in made), made[:3]
    assert len(set(made)) == len(made)
    body = "".join(code.removeprefix("KOPPI-").replace("-", "") for code in made)
    assert not set(body) & set("ILOU"), "no look-alike letters"
    assert set(body) == set(followup_codes.ALPHABET), "every symbol of the alphabet is used"
    assert len(followup_codes.ALPHABET) == 32 and followup_codes.LENGTH * 5 >= 100
    # Each of the 20 positions takes every symbol: the bits are spread over the whole code.
    for position in range(followup_codes.LENGTH):
        assert len({c.removeprefix("KOPPI-").replace("-", "")[position] for c in made}) == 32


def test_typed_codes_are_read_in_any_case_spacing_and_look_alikes() -> None:
    code = "KOPPI-7QX4-M2RD-9TWE-H5KA-3B80"
    for typed in (
        code,
        code.lower(),
        "  koppi 7qx4 m2rd 9twe h5ka 3b80  ",
        "7QX4-M2RD-9TWE-H5KA-3B80",
        "7qx4m2rd9tweh5ka3b80",
        "KOPPI7QX4M2RD9TWEH5KA3B8O",  # O for 0
        "k0pp1-7qx4-m2rd-9twe-h5ka-3b8o",  # the prefix typed with look-alikes too
        "KOPPI\u20137QX4\u2013M2RD\u20139TWE\u2013H5KA\u20133B80",  # a phone's en dashes
    ):
        assert canonical(typed) == code, typed
    assert canonical("koppi-1111-llll-iiii-0000-oooo") == "KOPPI-1111-1111-1111-0000-0000"
    for wrong in (
        "",
        "KOPPI",
        "KOPPI-7QX4-M2RD-9TWE-H5KA",
        "KOPPI-7QX4-M2RD-9TWE-H5KA-3B8U",
        "KOPPA-7QX4-M2RD-9TWE-H5KA-3B80",
        "7QX4-M2RD-9TWE-H5KA-3B80-X",
        "ä" * 20,
        " " * 500 + code,
    ):
        assert canonical(wrong) is None, wrong


def test_an_older_code_is_tried_exactly_and_never_taken_for_a_new_one() -> None:
    old = secrets.token_urlsafe(18)
    assert candidates(old) in ([old], [canonical(old), old])
    assert candidates(" " + old + " ")[-1] == old
    # An older code that happens to spell a new one's body is still tried as itself.
    lookalike = "7QX4-M2RD-9TWE-H5KA-3B80"
    assert candidates(lookalike) == ["KOPPI-7QX4-M2RD-9TWE-H5KA-3B80", lookalike]
    assert candidates("KOPPI-7QX4-M2RD-9TWE-H5KA-3B80") == ["KOPPI-7QX4-M2RD-9TWE-H5KA-3B80"]
    assert candidates("nonsense!") == []


def _old_style(settings: Settings, question_id: int, old: str) -> None:
    """The question as one asked before the new codes: its hash is of a token_urlsafe code."""
    rows(settings, "UPDATE questions SET code_hash = ? WHERE id = ?", (hash_code(old), question_id))


async def test_a_code_is_found_whatever_way_it_is_typed(client: TestClient) -> None:
    created = await ask(client)
    code = created["code"]
    assert NEW_SHAPE.fullmatch(code)
    body = code.removeprefix("KOPPI-")
    lookalike = body.replace("0", "O").replace("1", "l")
    for typed in (code.lower(), " ".join(body.lower().split("-")), body, lookalike.lower()):
        response = await client.get("/f", params={"code": typed}, allow_redirects=False)
        assert response.status == 303, typed
        assert response.headers["Location"] == f"/f/{code}", typed
    # Followed from a link typed in small letters: one step to the address to keep.
    response = await client.get(f"/f/{code.lower()}?lang=en", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == f"/f/{code}?lang=en"
    page = await client.get(f"/f/{code.lower()}")
    assert page.status == 200 and code in await page.text()
    assert (await client.get(f"/api/followup/{code}")).status == 200


async def test_an_older_code_keeps_working_exactly(client: TestClient, settings: Settings) -> None:
    created = await ask(client)
    old = "aB3_x-Q9zK2mP7wL0vN4sT8y"
    assert len(old) == 24 and canonical(old) is None
    _old_style(settings, created["id"], old)
    assert (await client.get(f"/f/{old}")).status == 200
    assert (await client.get(f"/api/followup/{old}")).status == 200
    response = await client.get("/f", params={"code": f" {old} "}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/f/{old}"
    assert (await client.get(f"/f/{old.lower()}")).status == 404, "older codes keep their case"
    assert (await client.get(f"/f/{created['code']}")).status == 404, "the hash was replaced"
    # An older code that looks like a new one without its prefix is found as itself.
    other = await ask(client)
    lookalike = "7QX4-M2RD-9TWE-H5KA-3B80"
    _old_style(settings, other["id"], lookalike)
    page = await client.get(f"/f/{lookalike}")
    assert page.status == 200 and lookalike in await page.text()
    deleted = await client.post(f"/f/{old}/delete", data={"confirm": "yes"})
    assert deleted.status == 200
    assert rows(settings, "SELECT id FROM questions") == [(other["id"],)]


async def test_delete_takes_the_code_in_small_letters(
    client: TestClient, settings: Settings
) -> None:
    created = await ask(client)
    response = await client.post(f"/f/{created['code'].lower()}/delete", data={"confirm": "yes"})
    assert response.status == 200
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]
    api = await ask(client)
    assert (await client.delete(f"/api/followup/{api['code']}")).status == 204


@pytest.mark.parametrize("path", ["/f?code={typed}&lang=en", "/f/{typed}?lang=en"])
async def test_a_wrong_code_gets_the_form_again_with_help(client: TestClient, path: str) -> None:
    await ask(client)
    typed = "KOPPI-7QX4-M2RD-9TWE-H5KA-3B80"
    response = await client.get(path.format(typed=typed))
    page = await response.text()
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert '<form method="get" action="/f"' in page and 'id="code"' in page
    assert f'value="{typed}"' in page, "what was typed is kept to correct"
    assert "No question has this code." in page
    assert followup_codes.EXAMPLE in page, "what a code looks like"
    assert "Capital or small letters do not matter" in page
    assert "Lost your code?" in page and 'href="/ask"' in page
    assert "data-focus-on-load" in page, "the message takes focus"


async def test_the_received_page_has_the_full_link(client: TestClient) -> None:
    sent = await client.post(
        "/ask",
        data={"category": "raha", "body": "Voinko saada palkkatukea nyt?", "publish": "no"},
        allow_redirects=False,
    )
    location = sent.headers["Location"]
    code = location.removeprefix("/f/").removesuffix("?new=1")
    page = await (await client.get(location)).text()
    absolute = f"http://{client.server.host}:{client.server.port}/f/{code}"
    assert f'<a id="followup-link" href="{absolute}">{absolute}</a>' in page
    assert f'<code id="followup-code">{code}</code>' in page
    assert 'data-copy="followup-code"' in page and 'data-copy="followup-link"' in page
    assert re.search(r'<section[^>]*id="remember"[^>]*\shidden', page), "shown by followup.js only"


async def test_the_link_is_https_behind_a_tls_proxy(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> None:
    for changed, headers in (
        (dataclasses.replace(settings, tls=True), {}),
        (dataclasses.replace(settings, trust_forwarded=True), {"X-Forwarded-Proto": "https"}),
    ):
        app: web.Application = create_app(changed, clock=clock)
        proxied = await aiohttp_client(app)
        created = await ask(proxied)
        page = await (
            await proxied.get(
                f"/f/{created['code']}", headers={"Host": "koppi.example.fi", **headers}
            )
        ).text()
        assert f'href="https://koppi.example.fi/f/{created["code"]}"' in page, headers
