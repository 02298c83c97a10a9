"""Topic categories and directory services in Swedish, with the Finnish name as the fallback."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from moderation.directory import do_import
from service import keys
from service.settings import Settings
from service.storage.db import migrate_settings
from tests.conftest import ask, rows
from tests.conftest import staff_post as post
from web import DEMO_DIR

StaffClient = Callable[..., Awaitable[TestClient]]
CATEGORIES = "/coordinator/categories"
SWEDISH = {
    "tyonhaku": "Jobbsökning",
    "opiskelu": "Studier och utbildning",
    "raha": "Pengar och förmåner",
    "tyopajat": "Verkstäder och arbetsverksamhet i rehabiliteringssyfte",
    "jaksaminen": "Ork och vardag",
    "asuminen": "Boende",
    "muu": "Något annat",
}


async def test_starting_categories_are_named_in_swedish_on_swedish_pages(
    client: TestClient,
) -> None:
    board = await (await client.get("/?lang=sv")).text()
    form = await (await client.get("/ask?lang=sv")).text()
    for slug, name in SWEDISH.items():
        assert f'<a href="/?category={slug}#board-title">{name}</a>' in board
        assert f'<option value="{slug}">{name}</option>' in form
    assert "Työnhaku" not in board and "Työnhaku" not in form
    assert "Työnhaku" in await (await client.get("/?lang=fi")).text()
    api = await (await client.get("/api/categories?lang=sv")).json()
    assert {c["slug"]: c["name"] for c in api} == SWEDISH


async def test_a_question_carries_its_category_in_swedish(
    client: TestClient, staff_client: StaffClient
) -> None:
    counsellor = await staff_client("tuula", "counsellor")
    asked = await ask(client, category="raha")
    page = await (await counsellor.get(f"/staff/questions/{asked['id']}?lang=sv")).text()
    assert "Pengar och förmåner" in page and "Raha ja etuudet" not in page


async def test_coordinator_sets_the_swedish_name_and_an_empty_one_falls_back_to_finnish(
    client: TestClient, coordinator: TestClient, settings: Settings
) -> None:
    form = await (await coordinator.get(CATEGORIES + "?lang=sv")).text()
    assert "Namn på svenska (frivilligt)" in form
    assert "Om fältet är tomt visas namnet på finska på de svenska sidorna." in form
    added = await post(
        coordinator,
        CATEGORIES,
        slug="kela-asiat",
        name_fi="Kela-asiat",
        name_sv="FPA-ärenden",
        chat_role="",
        position="8",
    )
    assert added.status == 303
    assert (
        '<option value="kela-asiat">FPA-ärenden</option>'
        in await (await client.get("/ask?lang=sv")).text()
    )
    assert "FPA-ärenden" in await (await client.get("/?lang=sv")).text(), "cache forgotten"
    [(category_id, name_sv)] = rows(
        settings, "SELECT id, name_sv FROM categories WHERE slug = 'kela-asiat'"
    )
    assert name_sv == "FPA-ärenden"
    assert f'id="name_sv-{category_id}" name="name_sv" maxlength="60" value="FPA-ärenden"' in (
        await (await coordinator.get(CATEGORIES)).text()
    )

    cleared = await post(
        coordinator,
        f"{CATEGORIES}/{category_id}",
        name_fi="Kela ja etuudet",
        name_sv="  ",
        name_en="Kela matters",
        chat_role="",
        position="8",
    )
    assert cleared.status == 303
    assert rows(settings, "SELECT name_sv FROM categories WHERE id = ?", (category_id,)) == [
        (None,)
    ]
    swedish = await (await client.get("/ask?lang=sv")).text()
    assert '<option value="kela-asiat">Kela ja etuudet</option>' in swedish
    assert "FPA-ärenden" not in swedish
    assert "Kela matters" in await (await client.get("/ask?lang=en")).text()
    stats = await (await coordinator.get("/coordinator/stats?lang=sv")).text()
    assert '<option value="raha">Pengar och förmåner</option>' in stats
    assert '<option value="kela-asiat">Kela ja etuudet</option>' in stats


async def test_a_too_long_swedish_name_is_refused_naming_the_field(
    coordinator: TestClient, settings: Settings
) -> None:
    [(raha_id, before)] = rows(settings, "SELECT id, name_sv FROM categories WHERE slug = 'raha'")
    refused = await post(
        coordinator, f"{CATEGORIES}/{raha_id}", name_fi="Raha ja etuudet", name_sv="x" * 61
    )
    assert refused.status == 400
    html = await refused.text()
    assert f'id="name_sv-{raha_id}-error"' in html and 'value="' + "x" * 61 + '"' in html
    assert rows(settings, "SELECT name_sv FROM categories WHERE id = ?", (raha_id,)) == [(before,)]
    new = await post(coordinator, CATEGORIES, slug="uusi", name_fi="Uusi", name_sv="x" * 61)
    assert new.status == 400 and 'id="name_sv-error"' in await new.text()
    assert rows(settings, "SELECT count(*) FROM categories WHERE slug = 'uusi'") == [(0,)]


async def test_the_migration_names_only_categories_still_named_as_seeded(
    settings: Settings,
) -> None:
    """An upgraded database: a category a coordinator renamed keeps no Swedish guess."""
    await migrate_settings(settings)
    rows(settings, "ALTER TABLE categories DROP COLUMN name_sv")
    # Rewound to version 10: later migrations run again, so their columns go too.
    rows(settings, "ALTER TABLE chats DROP COLUMN lang")
    rows(settings, "ALTER TABLE chats DROP COLUMN queued_at")
    if settings.database_url is None:
        rows(settings, "PRAGMA user_version = 10")
    else:
        rows(settings, "UPDATE koppi_schema_version SET version = 10")
    rows(settings, "UPDATE categories SET name_fi = 'Rahat ja tuet' WHERE slug = 'raha'")

    _label, applied = await migrate_settings(settings)

    assert applied[0] == "0011_category_names_sv.sql"
    named = dict(rows(settings, "SELECT slug, name_sv FROM categories"))
    assert named == {**SWEDISH, "raha": None}


async def test_directory_services_show_in_swedish_with_swedish_topics(
    app: web.Application, client: TestClient
) -> None:
    demo = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
    report = await do_import(app[keys.DIRECTORY], copy.deepcopy(demo), acting_staff=None)
    assert not report.failures
    kela: dict[str, Any] = next(s for s in demo if s["name"].startswith("Kelan palvelupiste"))
    page = await (await client.get(f"/services/{kela['id']}?lang=sv")).text()
    assert kela["translations"]["sv"]["name"] in page and kela["name"] not in page
    assert "Pengar och förmåner" in page
    listing = await (await client.get("/services?lang=sv&category=raha")).text()
    assert kela["translations"]["sv"]["name"] in listing
