"""Schemathesis fuzzes the JSON API against /api/openapi.json on a demo server, anonymously and
signed in: no answer is a 5xx, and every answer has a documented status, type and shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.demo import LOGINS_FILE
from service.http.openapi import spec
from tests.live_server import LiveServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded and reproducible: the same examples on every run, none kept between runs.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# The description exactly as the app serves it (test_the_fuzzed_description_is_served checks).
# Loaded here rather than with schemathesis.pytest.from_fixture, whose lazy loader fails
# under pytest 9 (it sets the removed Node._nodeid).
DESCRIPTION = json.loads(json.dumps(spec()))
schema = schemathesis.openapi.from_dict(DESCRIPTION)
# What the API guard may answer before a handler runs: foreign Origin 403, not JSON 415.
_BODY = {"403", "415"}
GUARDED = {"post": _BODY, "put": _BODY, "patch": _BODY, "delete": {"403"}}
# A signed-in run must not end its own session.
signed_in_schema = schema.exclude(method="POST", path="/api/staff/logout")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str | None
) -> Iterator[LiveServer]:
    """One demo server (staff, questions, directory, usage) without rate limits to throttle."""
    live = LiveServer(tmp_path_factory.mktemp("fuzz"), module_database_url)
    live.env.update(KOPPI_DEMO="1", KOPPI_RATE_LIMITS="0", KOPPI_ACCESS_LOG="0")
    with live.running():
        yield live


@pytest.fixture(scope="module")
def sessions(server: LiveServer) -> Iterator[dict[str, requests.Session]]:
    """A signed-in session per demo role: counsellor, adviser, coordinator."""
    logins = (Path(server.env["KOPPI_DB"]).parent / LOGINS_FILE).read_text(encoding="utf-8")
    signed_in: dict[str, requests.Session] = {}
    try:
        for line in logins.splitlines():
            username, role, password = line.split("\t")
            session = signed_in[role] = requests.Session()
            response = session.post(
                server.url + "/api/staff/login",
                json={"username": username, "password": password},
                timeout=10,
            )
            assert response.status_code == 200, response.text
        yield signed_in
    finally:
        for session in signed_in.values():
            session.close()


def _headers(case: schemathesis.Case) -> dict[str, str]:
    """State-changing calls say application/json even without a body, as the API asks."""
    if case.method in {"POST", "PUT", "PATCH"} and not case.operation.body:
        return {"Content-Type": "application/json"}
    return {}


async def test_the_api_guards_refusals_are_documented(client: TestClient) -> None:
    """Found by this fuzz: a POST, PUT or PATCH not saying application/json (even a bodiless
    claim) is answered 415, and a foreign Origin 403, where the description named neither."""
    assert (await client.post("/api/staff/questions/1/claim")).status == 415
    foreign = {"Origin": "https://elsewhere.example", "Content-Type": "application/json"}
    assert (await client.put("/api/coordinator/chat", data="{}", headers=foreign)).status == 403
    for path, operations in spec()["paths"].items():
        for method, operation in operations.items():
            assert GUARDED.get(method, set()) <= set(operation["responses"]), (method, path)


def test_the_fuzzed_description_is_served(server: LiveServer) -> None:
    served = requests.get(server.url + "/api/openapi.json", timeout=10)
    assert served.json() == DESCRIPTION


@schema.parametrize()
@FUZZ
def test_anonymous(case: schemathesis.Case, server: LiveServer) -> None:
    case.call_and_validate(base_url=server.url, headers=_headers(case), checks=CHECKS)


@signed_in_schema.parametrize()
@FUZZ
def test_signed_in(
    case: schemathesis.Case, server: LiveServer, sessions: dict[str, requests.Session]
) -> None:
    """Moderation routes as a counsellor, coordinators' routes as a coordinator."""
    role = "counsellor" if case.path.startswith("/api/staff/") else "coordinator"
    case.call_and_validate(
        base_url=server.url, session=sessions[role], headers=_headers(case), checks=CHECKS
    )
