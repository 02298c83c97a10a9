"""Files that are not HSDS are refused whole, with a message naming the field, and nothing of
them is stored: through the coordinators' import API and page, as a script or a browser sends
them."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from service.http.bodies import UPLOAD_MAX
from service.settings import Settings
from tests.conftest import csrf_token, rows
from web import DEMO_DIR

DEMO = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
IMPORT = "/api/coordinator/directory/import"
StaffClient = Callable[..., Awaitable[TestClient]]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _package(header: str) -> bytes:
    descriptor = {
        "name": "bad",
        "resources": [{"name": "services", "path": "services.csv"}],
    }
    return _zip(
        {
            "datapackage.json": json.dumps(descriptor),
            "services.csv": f"{header}\n3b1c8a5e-5f7d-4c1e-9d0a-1f2e3d4c5b6a,Nimi,active\n",
        }
    )


def _stored(settings: Settings) -> dict[str, int]:
    return {
        table: rows(settings, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
        for table in ("services", "hsds_records", "hsds_objects", "organizations")
    }


async def test_bad_files_are_refused_whole_naming_the_field(
    staff_client: StaffClient, settings: Settings
) -> None:
    helena = await staff_client("helena", "coordinator", "Helena")
    nothing = _stored(settings)
    half_good = json.dumps(DEMO)[:-40]  # valid records, then the file breaks off
    cases: list[tuple[bytes, str, int, str]] = [
        (b"name;city\nKela;Helsinki\n", "application/json", 400, "JSON"),
        (half_good.encode(), "application/json", 400, "JSON"),
        (b"42", "application/json", 400, "HSDS"),
        (_zip({"services.csv": "id,name,status\n"}), "application/zip", 400, "datapackage.json"),
        (_package("id,nimi,status"), "application/zip", 400, "nimi"),
        (b"PK\x03\x04 not really a zip", "application/zip", 400, "zip"),
    ]
    for body, content_type, status, named in cases:
        response = await helena.post(IMPORT, data=body, headers={"Content-Type": content_type})
        answer: dict[str, Any] = await response.json()
        assert response.status == status, (body[:40], answer)
        assert "body" in answer["errors"], answer
        assert named in answer["errors"]["body"], answer
        assert _stored(settings) == nothing, body[:40]


async def test_a_file_over_the_limit_is_refused_before_it_is_read(
    staff_client: StaffClient, settings: Settings
) -> None:
    helena = await staff_client("helena", "coordinator", "Helena")
    nothing = _stored(settings)
    too_big = b"[" + b" " * (UPLOAD_MAX + 1024) + b"]"
    response = await helena.post(
        IMPORT, data=io.BytesIO(too_big), headers={"Content-Type": "application/json"}
    )
    answer = await response.json()
    assert response.status == 413 and "body" in answer["errors"], answer
    assert _stored(settings) == nothing
    # From the page, the same refusal names the file field and keeps the page.
    page = await (await helena.get("/coordinator/directory")).text()
    form = FormData()
    form.add_field("csrf_token", csrf_token(page))
    form.add_field("file", b"not json at all", filename="x.json", content_type="application/json")
    result = await helena.post("/coordinator/directory", data=form)
    html = await result.text()
    assert result.status == 400 and "JSON" in html
    assert _stored(settings) == nothing
