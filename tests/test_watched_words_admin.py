"""Coordinators manage the watched words on a server-rendered page, with audit rows."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from markupsafe import escape

from moderation import watched_word_admin
from moderation.errors import Forbidden, Invalid, NotFound
from moderation.filters.watched_words import WatchedWord, Watchlist
from moderation.watched_word_admin import WatchlistChanged, WatchlistContext
from service import keys
from service.settings import Settings
from service.storage import watched_words
from service.storage.staff import StaffMember
from tests.conftest import FakeClock, add_staff, rows, staff_id
from tests.conftest import staff_post as post

StaffClient = Callable[..., Awaitable[TestClient]]
WORDS = "/coordinator/watched-words"


@pytest.fixture
async def coordinator(staff_client: StaffClient) -> TestClient:
    helena = await staff_client("helena", "coordinator", "Helena")
    await helena.get("/staff?lang=en")  # the messages below are the English originals
    return helena


def audit(settings: Settings) -> list[tuple[Any, ...]]:
    return rows(
        settings,
        "SELECT action, target_type, target_id, detail, staff_id FROM audit_log"
        " WHERE action LIKE 'watched_word_%' ORDER BY id",
    )


def word_row(settings: Settings, lang: str, phrase: str) -> tuple[Any, ...] | None:
    found = rows(
        settings,
        "SELECT id, action, active FROM watched_words WHERE lang = ? AND phrase = ?",
        (lang, phrase),
    )
    return found[0] if found else None


async def test_a_new_install_watches_crisis_words_in_every_language(
    client: TestClient, settings: Settings
) -> None:
    defaults = rows(settings, "SELECT id, phrase, lang, action, active FROM watched_words")
    crisis = {lang: 0 for lang in watched_words.LANGS}
    for _id, phrase, lang, action, active in defaults:
        assert active == 1
        assert watched_word_admin.parse_phrase(phrase) == phrase, "stored as the form stores it"
        if action == "crisis":
            crisis[lang] += 1
    assert all(count >= 5 for count in crisis.values()), crisis
    # The real matcher finds them in ordinary writing, inflected and in short-word phrases.
    watchlist = Watchlist(WatchedWord(i, p, la, a) for i, p, la, a, _ in defaults)
    for text in (
        "Mietin itsemurhaa joka päivä",
        "haluan tappaa itseni",
        "olen viillellyt käsiä",
        "jag vill dö",
        "Jag har självmordstankar",
        "I want to die",
        "thinking about suicide",
    ):
        assert {m.word.action for m in watchlist.match(text)} == {"crisis"}, text
    assert not watchlist.match("Miten haen työpajaan, kun en päässyt opiskelemaan?")


async def test_only_coordinators_manage_watched_words(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient, settings: Settings
) -> None:
    word_id = word_row(settings, "fi", "itsemurha")
    assert word_id is not None
    target = word_id[0]
    posts: list[tuple[str, dict[str, str]]] = [
        (WORDS, {"phrase": "luvaton", "lang": "fi", "action": "block"}),
        (f"{WORDS}/{target}", {"action": "review"}),
        (f"{WORDS}/{target}/active", {"active": "0"}),
        (f"{WORDS}/{target}/delete", {}),
    ]
    anonymous = await client.get(WORDS, allow_redirects=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"] == "/staff/login?next=" + WORDS
    for path, data in posts:
        refused = await post(client, path, **data)
        assert refused.status == 302, path
        assert refused.headers["Location"].startswith("/staff/login?next="), path
    for role in ("counsellor", "adviser"):
        member = await staff_client(f"{role}1", role)
        assert (await member.get(WORDS)).status == 403, role
        for path, data in posts:
            assert (await post(member, path, **data)).status == 403, (role, path)
    assert (await coordinator.get(WORDS)).status == 200
    admin = await staff_client("root", "admin")
    assert (await admin.get(WORDS)).status == 200
    assert word_row(settings, "fi", "itsemurha") == (target, "crisis", 1)
    assert word_row(settings, "fi", "luvaton") is None
    assert not audit(settings)


async def test_a_post_without_the_form_token_is_refused(
    coordinator: TestClient, settings: Settings
) -> None:
    data = {"phrase": "väärennetty", "lang": "fi", "action": "block"}
    assert (await coordinator.post(WORDS, data=data, allow_redirects=False)).status == 403
    forged = await coordinator.post(
        WORDS, data={**data, "csrf_token": "forged"}, allow_redirects=False
    )
    assert forged.status == 403
    assert word_row(settings, "fi", "väärennetty") is None
    assert not audit(settings)


async def test_add_change_deactivate_reactivate_and_delete_a_word(
    coordinator: TestClient, settings: Settings
) -> None:
    added = await post(coordinator, WORDS, phrase="  Rahat  LOPPU* ", lang="fi", action="review")
    assert added.status == 303 and added.headers["Location"] == WORDS + "?done=added"
    listing = await (await coordinator.get(added.headers["Location"])).text()
    assert 'role="status"' in listing and "The word was added." in listing
    found = word_row(settings, "fi", "rahat loppu*")
    assert found is not None and found[1:] == ("review", 1)
    word_id = found[0]
    row = listing.split(f'<tr id="word-{word_id}">')[1].split("</tr>")[0]
    assert "<code>rahat loppu*</code>" in row and "Review" in row and "Active" in row
    finnish = listing.split("<h2>Finnish</h2>")[1].split("<h2>")[0]
    assert f'id="word-{word_id}"' in finnish, "listed under its language"
    # The same phrase may be watched in another language.
    assert (
        await post(coordinator, WORDS, phrase="rahat loppu*", lang="sv", action="block")
    ).status == 303

    changed = await post(coordinator, f"{WORDS}/{word_id}", action="crisis")
    assert changed.status == 303
    assert changed.headers["Location"] == f"{WORDS}?done=changed#word-{word_id}"
    assert word_row(settings, "fi", "rahat loppu*") == (word_id, "crisis", 1)

    off = await post(coordinator, f"{WORDS}/{word_id}/active", active="0")
    assert off.status == 303 and "done=deactivated" in off.headers["Location"]
    assert word_row(settings, "fi", "rahat loppu*") == (word_id, "crisis", 0)
    db = coordinator.server.app[keys.DB]
    assert word_id not in [w.id for w in await watched_words.list_active(db)]
    row = (await (await coordinator.get(WORDS)).text()).split(f'<tr id="word-{word_id}">')[1]
    assert "Inactive" in row.split("</tr>")[0]
    on = await post(coordinator, f"{WORDS}/{word_id}/active", active="1")
    assert on.status == 303 and "done=reactivated" in on.headers["Location"]
    assert word_id in [w.id for w in await watched_words.list_active(db)]

    gone = await post(coordinator, f"{WORDS}/{word_id}/delete")
    assert gone.status == 303 and gone.headers["Location"] == WORDS + "?done=deleted"
    assert word_row(settings, "fi", "rahat loppu*") is None
    assert f'id="word-{word_id}"' not in await (await coordinator.get(WORDS)).text()

    helena = staff_id(settings, "helena")
    mine = [a for a in audit(settings) if a[2] == word_id]
    assert [(a[0], a[1], a[4]) for a in mine] == [
        ("watched_word_add", "watched_word", helena),
        ("watched_word_action", "watched_word", helena),
        ("watched_word_deactivate", "watched_word", helena),
        ("watched_word_reactivate", "watched_word", helena),
        ("watched_word_delete", "watched_word", helena),
    ]
    details = [json.loads(a[3]) for a in mine]
    assert details[0] == {"phrase": "rahat loppu*", "lang": "fi", "action": "review"}
    assert details[1] == {
        "phrase": "rahat loppu*",
        "lang": "fi",
        "action": "crisis",
        "previous": "review",
    }
    assert details[4] == {"phrase": "rahat loppu*", "lang": "fi", "action": "crisis"}


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"phrase": "", "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "   ", "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "x" * 81, "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "yksi kaksi kolme neljä viisi kuusi", "lang": "fi"}, 400, "phrase"),
        ({"phrase": "ki*lla", "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "ab*", "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "ok", "lang": "en", "action": "block"}, 400, "phrase"),
        ({"phrase": "<b>rahaa</b>", "lang": "fi", "action": "block"}, 400, "phrase"),
        ({"phrase": "itsemurha", "lang": "fi", "action": "review"}, 409, "phrase"),
        ({"phrase": " ITSEMURHA ", "lang": "fi", "action": "review"}, 409, "phrase"),
        ({"phrase": "rahapula", "lang": "de", "action": "block"}, 400, "lang"),
        ({"phrase": "rahapula", "action": "block"}, 400, "lang"),
        ({"phrase": "rahapula", "lang": "fi", "action": "delete"}, 400, "action"),
    ],
)
async def test_bad_words_name_the_field_and_keep_the_typing(
    coordinator: TestClient,
    settings: Settings,
    data: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = rows(settings, "SELECT count(*) FROM watched_words")
    refused = await post(coordinator, WORDS, **data)
    assert refused.status == status
    html = await refused.text()
    assert f'id="{field}-error"' in html and 'class="error-summary"' in html
    assert f'name="phrase" required maxlength="80" value="{escape(data["phrase"])}"' in html
    assert rows(settings, "SELECT count(*) FROM watched_words") == before
    assert not audit(settings)


async def test_a_bad_change_names_the_field_and_keeps_the_word(
    coordinator: TestClient, settings: Settings
) -> None:
    found = word_row(settings, "en", "want to die")
    assert found is not None
    word_id = found[0]
    refused = await post(coordinator, f"{WORDS}/{word_id}", action="nuke")
    assert refused.status == 400
    assert f'id="action-{word_id}-error"' in await refused.text()
    bad = await post(coordinator, f"{WORDS}/{word_id}/active", active="maybe")
    assert bad.status == 400 and f'id="active-{word_id}-error"' in await bad.text()
    assert word_row(settings, "en", "want to die") == found
    for path, data in (
        (f"{WORDS}/999999", {"action": "block"}),
        (f"{WORDS}/999999/active", {"active": "0"}),
        (f"{WORDS}/999999/delete", {}),
    ):
        assert (await post(coordinator, path, **data)).status == 404, path
    assert not audit(settings)


async def test_after_change_is_told_after_each_commit_only(
    client: TestClient, clock: FakeClock, settings: Settings
) -> None:
    told: list[int] = []

    async def after_change(_change: WatchlistChanged) -> None:
        told.append(len(rows(settings, "SELECT id FROM watched_words WHERE active = 1")))

    client.server.app[keys.BUS].on(WatchlistChanged, after_change)
    ctx = WatchlistContext(client.server.app[keys.DB], clock)
    helena = StaffMember(
        await add_staff(client, "helena", "coordinator"), "helena", "coordinator", None, True
    )
    sanna = await add_staff(client, "sanna", "counsellor")
    counsellor = StaffMember(sanna, "sanna", "counsellor", None, True)
    start = len(rows(settings, "SELECT id FROM watched_words WHERE active = 1"))
    data = {"phrase": "roskaposti", "lang": "fi", "action": "block"}
    word_id = await watched_word_admin.do_add_word(ctx, data, acting_staff=helena)
    assert told == [start + 1], "told after the commit, so a reload sees the new word"
    await watched_word_admin.do_change_word(ctx, word_id, {"action": "review"}, acting_staff=helena)
    await watched_word_admin.do_set_word_active(ctx, word_id, False, acting_staff=helena)
    await watched_word_admin.do_delete_word(ctx, word_id, acting_staff=helena)
    assert told == [start + 1, start + 1, start, start]
    with pytest.raises(Invalid):
        await watched_word_admin.do_add_word(ctx, {**data, "action": "x"}, acting_staff=helena)
    with pytest.raises(NotFound):
        await watched_word_admin.do_delete_word(ctx, word_id, acting_staff=helena)
    with pytest.raises(Forbidden):
        await watched_word_admin.do_add_word(ctx, data, acting_staff=counsellor)
    assert len(told) == 4, "nothing is told when nothing changed"
