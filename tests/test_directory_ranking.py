"""Directory search ranks by where the words matched: the service's name, then its taxonomy terms
and description, then its organization, and a place last, matched only as a whole word."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from moderation.directory import DirectoryContext, do_import
from service import keys
from service.settings import Settings
from service.storage.db import open_database
from tests.conftest import FakeClock, rows
from web import DEMO_DIR

DEMO = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
JOB_SEARCH_TERM = "c49ddcd3-79d3-58e0-9fb3-cd970d4396bf"


def _id() -> str:
    return str(uuid.uuid4())


def service(name: str, **parts: Any) -> dict[str, Any]:
    """An HSDS service record; `organization`, `areas` and `address` are given by their names."""
    record: dict[str, Any] = {"id": _id(), "name": name, "status": "active"}
    if "description" in parts:
        record["description"] = parts["description"]
    if "organization" in parts:
        organization = {"id": _id(), "name": parts["organization"], "description": "Yhdistys."}
        record["organization"] = organization
    if "areas" in parts:
        record["service_areas"] = [{"id": _id(), "name": area} for area in parts["areas"]]
    if "address" in parts:
        street, postal_code, city = parts["address"]
        address = {
            "id": _id(),
            "address_1": street,
            "postal_code": postal_code,
            "city": city,
            "state_province": "Uusimaa",
            "country": "FI",
            "address_type": "physical",
        }
        location = {"id": _id(), "location_type": "physical", "addresses": [address]}
        record["service_at_locations"] = [{"id": _id(), "location": location}]
    if "terms" in parts:
        record["attributes"] = [
            {"id": _id(), "taxonomy_term_id": term["id"], "taxonomy_term": term}
            for term in parts["terms"]
        ]
    if "term_ids" in parts:
        record["attributes"] = [{"id": _id(), "taxonomy_term_id": t} for t in parts["term_ids"]]
    return record


async def load(app: web.Application, records: list[dict[str, Any]]) -> None:
    report = await do_import(app[keys.DIRECTORY], copy.deepcopy(records), acting_staff=None)
    assert report.counts["created"] + report.counts["updated"] == len(records), report.as_json()


async def found(client: TestClient, text: str, **params: str) -> list[str]:
    """Names of the services the HSDS API finds for `text`, in its order."""
    response = await client.get(
        "/api/hsds/services", params={"search": text, "per_page": "50", **params}
    )
    assert response.status == 200, await response.text()
    return [s["name"] for s in (await response.json())["contents"]]


async def test_kela_finds_kela_first_in_the_demo_directory(
    app: web.Application, client: TestClient
) -> None:
    await load(app, DEMO)
    kela = [s["name"] for s in DEMO if s.get("organization", {}).get("name") == "Kela"]
    assert len(kela) == 2
    names = await found(client, "kela")
    assert sorted(names[:2]) == sorted(kela), names
    # In Koskela only by their service areas and addresses: not found by "kela".
    for name in ("Kuulolla-chat", "Nuorten kriisilinja 24/7"):
        assert name in [s["name"] for s in DEMO] and name not in names
    # The public directory page's first card is Kela's too.
    page = await (await client.get("/services", params={"q": "kela", "lang": "fi"})).text()
    shown = sorted((page.find(s["name"]), s["name"]) for s in DEMO if s["name"] in page)
    assert shown[0][1] in kela, shown
    # Without a search the directory stays in name order.
    every = await (await client.get("/api/hsds/services?per_page=50")).json()
    listed = [s["name"] for s in every["contents"]]
    assert listed == sorted(listed, key=lambda n: (n.lower(), n)) and len(listed) == len(DEMO)


async def test_a_name_ranks_before_terms_and_description_before_organization_before_place(
    app: web.Application, client: TestClient
) -> None:
    term = {"id": _id(), "name": "Verso", "description": "Aihe.", "taxonomy": "test"}
    records = [
        service("Delta", areas=["Verso"]),
        service("Gamma", organization="Verso ry"),
        service("Beeta", terms=[term]),
        service("Alfa", description="Tukea versoille ja muille."),
        service("Kasvuverso"),
        service("Verso-neuvonta"),
        service("Verso Ankkuri"),
        # "verso" only inside longer place words: a place matches as a whole word only.
        service("Epsilon", address=("Aaltoversontie 3", "04200", "Koverso")),
    ]
    await load(app, records)
    assert await found(client, "verso") == [
        "Verso Ankkuri",  # a word of the name, by name among equals
        "Verso-neuvonta",
        "Kasvuverso",  # a piece of a word of the name
        "Alfa",  # a word of the description …
        "Beeta",  # … or of a taxonomy term: equal, so by name
        "Gamma",  # a word of the organization's name
        "Delta",  # a place named as a whole word
    ]
    # Every word must match somewhere; more of them in the name ranks higher.
    assert await found(client, "verso delta") == ["Delta"]
    await load(app, [service("Gamma ja Verso", organization="Muu ry")])
    assert (await found(client, "gamma verso"))[:2] == ["Gamma ja Verso", "Gamma"]


async def test_a_place_matches_by_its_inflected_name_not_inside_another_word(
    app: web.Application, client: TestClient
) -> None:
    await load(
        app,
        [
            service("Nuorten pysäkki", areas=["Koskela"]),
            service("Iltapäiväkerho", address=("Asemakatu 1", "04200", "Koskela")),
            service("Kela-info"),
            service("Kelakorvausneuvonta"),
        ],
    )
    assert await found(client, "koskelassa") == ["Iltapäiväkerho", "Nuorten pysäkki"]
    assert await found(client, "Koskelan") == ["Iltapäiväkerho", "Nuorten pysäkki"]
    assert await found(client, "04200") == ["Iltapäiväkerho"]
    assert await found(client, "kela") == ["Kela-info", "Kelakorvausneuvonta"]
    assert await found(client, "kosk") == [], "a place is a whole word, not its start"
    # The municipality filter is the other way to a place, as before.
    page = await (await client.get("/services", params={"area": "Koskela"})).text()
    assert "Nuorten pysäkki" in page and "Iltapäiväkerho" not in page


async def test_a_category_is_found_by_its_names_in_each_language_and_when_renamed(
    app: web.Application, client: TestClient, settings: Settings
) -> None:
    await load(app, [service("Aamukahvila", term_ids=[JOB_SEARCH_TERM]), service("Iltakahvila")])
    assert await found(client, "jobbsökning") == ["Aamukahvila"]  # the Swedish name
    assert await found(client, "työnhakuun") == ["Aamukahvila"]  # the Finnish one, inflected
    rows(
        settings, "UPDATE categories SET name_sv = 'Jobbjakt' WHERE term_id = ?", (JOB_SEARCH_TERM,)
    )
    assert await found(client, "jobbjakt") == ["Aamukahvila"], "the new name, at once"
    assert await found(client, "jobbsökning") == []


async def test_a_changed_record_leaves_no_old_part_in_the_index(
    app: web.Application, client: TestClient
) -> None:
    record = service("Omega", organization="Verso ry", areas=["Koskela"])
    await load(app, [record])
    assert await found(client, "verso") == ["Omega"]
    changed = {k: v for k, v in record.items() if k not in ("organization", "service_areas")}
    await load(app, [changed])
    assert await found(client, "verso") == [] and await found(client, "koskela") == []
    assert await found(client, "omega") == ["Omega"]


def _index(settings: Settings) -> dict[int, tuple[list[str], list[str]]]:
    """The services' search rows: row id → (sorted stems, sorted lines of text)."""
    if settings.database_url is None:
        stems = dict(rows(settings, "SELECT rowid, words FROM service_stems"))
        texts = dict(rows(settings, "SELECT rowid, text FROM service_trigrams"))
        assert stems.keys() == texts.keys()
        return {i: (sorted(stems[i].split()), sorted(texts[i].split("\n"))) for i in stems}
    return {
        i: (sorted(lexemes), sorted(text.split("\n")))
        for i, lexemes, text in rows(
            settings, "SELECT id, tsvector_to_array(stems), text FROM service_search"
        )
    }


async def test_the_migration_indexes_stored_services_as_saving_them_does(
    settings: Settings, clock: FakeClock
) -> None:
    db = open_database(settings)
    await db.open()
    try:
        await do_import(DirectoryContext(db, clock), copy.deepcopy(DEMO), acting_staff=None)
    finally:
        await db.close()
    saved = _index(settings)
    assert sorted(i % 8 for i in saved if i % 8 == 1) == [1] * len(DEMO)
    assert {i % 8 for i in saved} == {1, 2, 3, 4}, "name, about, organization, place"
    # As a database from before: one row per service, the migration not yet applied.
    if settings.database_url is None:
        rows(settings, "DELETE FROM service_stems")
        rows(settings, "DELETE FROM service_trigrams")
        rows(settings, "INSERT INTO service_trigrams (rowid, text) SELECT num, name FROM services")
        rows(settings, "PRAGMA user_version = 13")
    else:
        rows(settings, "DELETE FROM service_search")
        rows(
            settings,
            "INSERT INTO service_search (id, stems, text)"
            " SELECT num, to_tsvector('koppi_finnish', name), lower(name) FROM services",
        )
        rows(settings, "UPDATE koppi_schema_version SET version = 13")
    db = open_database(settings)
    await db.open()
    try:
        assert db.applied == ["0014_directory_ranking.sql"]
    finally:
        await db.close()
    assert _index(settings) == saved
