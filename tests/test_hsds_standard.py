"""HSDS 3.0 as the standard writes it: its own examples in, the whole API out, each answer
checked against the standard's compiled schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from moderation.directory import do_import, do_import_tables, export, export_tables
from service import keys
from service.directory import standard, tabular
from service.i18n import speaking
from service.storage.hsds_lists import KOPPI_TAXONOMY_ID

EXAMPLES = Path(__file__).parent / "data" / "hsds" / "examples"
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"
ORGANIZATION_ID = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
PLACE_ID = "e94c9f38-1e8f-4564-91d4-d53501ab1765"
LOCATION = "3a19ff88-4620-4d17-9830-ac1d859eb5d5"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def conforms(instance: Any, schema: str) -> None:
    """No error against the standard's schema (`compiled/service`, `taxonomy`, ...)."""
    errors = list(standard.problems(instance, schema))
    assert not errors, errors[:5]


def page_conforms(page: Any, item_schema: str) -> None:
    page_schema = standard.openapi()["components"]["schemas"]["Page"]
    Draft202012Validator(page_schema, format_checker=FormatChecker()).validate(page)
    assert page["size"] == len(page["contents"])
    for item in page["contents"]:
        conforms(item, item_schema)


def without_latitude(record: Any) -> Any:
    """The record with the example location's latitude of 100 left out, wherever it is."""
    copied = copy.deepcopy(record)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("id") == LOCATION:
                value.pop("latitude", None)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(copied)
    return copied


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    with speaking("en"):
        yield


async def test_the_standards_service_example_imports_whole(
    app: web.Application, client: TestClient
) -> None:
    report = await do_import(app[keys.DIRECTORY], example("service_full"), acting_staff=None)
    assert report.counts["created"] == 1, report.as_json()
    (record,) = report.records
    # A latitude of 100 is a number to the schema but no place on Earth: left out, said so.
    assert [(w.field, record.index, record.id) for w in record.warnings] == [
        ("service_at_locations[0].location.latitude", 0, SERVICE_ID)
    ]
    response = await client.get(f"/api/hsds/services/{SERVICE_ID}")
    assert response.status == 200
    served = await response.json()
    conforms(served, "compiled/service")
    assert served == without_latitude(example("service_full"))
    # Koppi's own view shows it too: the directory page and the referral search find it.
    page = await client.get("/services", params={"q": "Community Counselling"})
    assert "Community Counselling" in await page.text()


async def test_organization_and_service_at_location_examples_import(
    app: web.Application, client: TestClient
) -> None:
    ctx = app[keys.DIRECTORY]
    for name in ("organization_full", "service_at_location_full"):
        report = await do_import(ctx, example(name), acting_staff=None)
        assert report.counts["created"] == 1 and not report.failures, report.as_json()
    organization = await (await client.get(f"/api/hsds/organizations/{ORGANIZATION_ID}")).json()
    conforms(organization, "compiled/organization")
    assert organization["name"] == example("organization_full")["name"]
    assert [s["id"] for s in organization["services"]] == [SERVICE_ID]
    place = await (await client.get(f"/api/hsds/service_at_locations/{PLACE_ID}")).json()
    conforms(place, "compiled/service_at_location")
    assert place["service"]["id"] == SERVICE_ID and place["location"]["id"] == LOCATION
    assert "latitude" not in place["location"] and place["location"]["longitude"] == 101


async def test_a_publishers_nested_terms_need_no_term_ids(
    app: web.Application, client: TestClient
) -> None:
    service = example("service_full")
    service["attributes"] = [
        {
            "id": "7a5c3c55-3f43-4b1e-9a7e-2c8b2f4f0a11",
            "taxonomy_term": {
                "id": "0f3b2a44-6c77-4f5e-8d1a-9b2c3d4e5f60",
                "code": "youth-guidance",
                "name": "Youth guidance",
                "description": "Guidance for young people",
                "taxonomy": "publisher",
            },
        }
    ]
    report = await do_import(app[keys.DIRECTORY], [service], acting_staff=None)
    assert report.counts["created"] == 1, report.as_json()
    listed = await (
        await client.get(
            "/api/hsds/services",
            params={"taxonomy_term_id": "0f3b2a44-6c77-4f5e-8d1a-9b2c3d4e5f60"},
        )
    ).json()
    page_conforms(listed, "compiled/service_list")
    assert [s["id"] for s in listed["contents"]] == [SERVICE_ID]
    term = await (
        await client.get("/api/hsds/taxonomy_terms/0f3b2a44-6c77-4f5e-8d1a-9b2c3d4e5f60")
    ).json()
    conforms(term, "taxonomy_term")
    assert term["name"] == "Youth guidance"


async def test_what_the_schema_refuses_refuses_the_record_only(
    app: web.Application, client: TestClient
) -> None:
    good = example("service_full")
    broken = copy.deepcopy(good)
    broken["id"] = "5d1f7e52-0d7b-4d0c-8a55-0c1b8a3b2f10"
    broken["status"] = "open"
    del broken["name"]
    report = await do_import(app[keys.DIRECTORY], [broken, good], acting_staff=None)
    assert report.counts == {"created": 1, "updated": 0, "unchanged": 0, "failed": 1}
    failed = report.failures[0]
    assert (failed.index, failed.id) == (0, broken["id"])
    assert {e.field for e in failed.errors} == {"name", "status"}


async def test_the_standards_tabular_example_imports_and_exports_without_loss(
    app: web.Application, client: TestClient
) -> None:
    tables = tabular.read_folder(EXAMPLES / "csv")
    report = await do_import_tables(app[keys.DIRECTORY], tables, acting_staff=None)
    assert not report.failures, report.as_json()
    assert report.count("created") == len(report.records) > 1
    exported = await export_tables(app[keys.DB])
    dropped = {("location", LOCATION, "latitude")}
    for entity, rows in tables.items():
        expected = sorted(
            (
                {k: v for k, v in row.items() if (entity, row["id"], k) not in dropped}
                for row in rows
            ),
            key=lambda r: str(r["id"]),
        )
        assert exported.get(entity, []) == expected, entity
    # And it reads back through the API in the JSON form.
    served = await (await client.get(f"/api/hsds/services/{SERVICE_ID}")).json()
    conforms(served, "compiled/service")
    assert served["organization"]["id"] == ORGANIZATION_ID
    zipped = tabular.write_zip(exported)
    assert tabular.read_zip(zipped) == exported


async def test_json_export_import_export_is_identical(
    app: web.Application, client: TestClient, another_database: Any, clock: Any
) -> None:
    from moderation.directory import DirectoryContext
    from service.storage.db import open_database

    await do_import(app[keys.DIRECTORY], [example("service_full")], acting_staff=None)
    first = await export(app[keys.DB])
    other = open_database(another_database())
    await other.open()
    try:
        report = await do_import(DirectoryContext(other, clock), first, acting_staff=None)
        assert not report.failures and not any(r.warnings for r in report.records)
        second = await export(other)
    finally:
        await other.close()
    assert second == first


async def test_every_list_is_a_page_of_conforming_objects(
    app: web.Application, client: TestClient
) -> None:
    ctx = app[keys.DIRECTORY]
    await do_import(ctx, example("organization_full"), acting_staff=None)
    await do_import(ctx, example("service_at_location_full"), acting_staff=None)
    checks = {
        "/api/hsds/services": "compiled/service_list",
        "/api/hsds/services?full=true": "compiled/service",
        "/api/hsds/organizations": "compiled/organization_list",
        "/api/hsds/organizations?full=true&full_service=true": "compiled/organization",
        "/api/hsds/taxonomies": "taxonomy",
        "/api/hsds/taxonomy_terms": "taxonomy_term",
        "/api/hsds/service_at_locations": "compiled/service_at_location_list",
        "/api/hsds/service_at_locations?full=true": "compiled/service_at_location",
    }
    for path, schema in checks.items():
        response = await client.get(path)
        assert response.status == 200, path
        page = await response.json()
        assert page["total_items"] >= 1, path
        page_conforms(page, schema)
    about = await (await client.get("/api/hsds/")).json()
    assert about["version"] == "3.0" and about["profile"].endswith("/api/hsds/profile")
    profile = await (await client.get("/api/hsds/profile")).json()
    assert {"translations", "search"} <= profile["extensions"].keys()
    koppi = await (await client.get(f"/api/hsds/taxonomies/{KOPPI_TAXONOMY_ID}")).json()
    conforms(koppi, "taxonomy")
    terms = await (
        await client.get("/api/hsds/taxonomy_terms", params={"taxonomy_id": KOPPI_TAXONOMY_ID})
    ).json()
    assert terms["total_items"] == 7 and {t["taxonomy_id"] for t in terms["contents"]} == {
        KOPPI_TAXONOMY_ID
    }


async def test_parameters(app: web.Application, client: TestClient) -> None:
    await do_import(app[keys.DIRECTORY], example("service_full"), acting_staff=None)
    minimal = await (await client.get("/api/hsds/services?minimal=true")).json()
    assert set(minimal["contents"][0]) == {"id", "name", "status", "last_modified"}
    later = await (
        await client.get("/api/hsds/services", params={"modified_after": "2999-01-01"})
    ).json()
    assert later["total_items"] == 0
    earlier = await (
        await client.get("/api/hsds/services", params={"modified_after": "2000-01-01T00:00:00Z"})
    ).json()
    assert earlier["total_items"] == 1
    lines = await (await client.get("/api/hsds/services?format=ndjson")).text()
    assert [json.loads(line)["id"] for line in lines.splitlines()] == [SERVICE_ID]
    by_postcode = await (
        await client.get("/api/hsds/service_at_locations", params={"postcode": "abc1234"})
    ).json()
    assert [p["id"] for p in by_postcode["contents"]] == [PLACE_ID]
    elsewhere = await (
        await client.get("/api/hsds/service_at_locations", params={"postcode": "00100"})
    ).json()
    assert elsewhere["total_items"] == 0
    for query, name in (
        ("per_page=0", "per_page"),
        ("page=x", "page"),
        ("full=maybe", "full"),
        ("format=xml", "format"),
        ("organization_id=nope", "organization_id"),
        ("modified_after=yesterday", "modified_after"),
    ):
        response = await client.get(f"/api/hsds/services?{query}")
        assert response.status == 400, query
        assert name in (await response.json())["errors"], query
    response = await client.get("/api/hsds/service_at_locations?proximity=500")
    assert response.status == 400 and "postcode" in (await response.json())["errors"]
    for path in ("services", "organizations", "taxonomies", "taxonomy_terms"):
        missing = await client.get(f"/api/hsds/{path}/0d6f1c1e-3b7a-4a8e-9a52-6d1f0b9c2e10")
        assert missing.status == 404 and "error" in await missing.json(), path
    missing = await client.get("/api/hsds/service_at_locations/not-an-id")
    assert missing.status == 404
