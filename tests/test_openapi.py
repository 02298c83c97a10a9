"""The OpenAPI description covers every JSON route the app serves."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient


async def test_every_api_route_is_described(client: TestClient) -> None:
    spec = await (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = set()
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        if path.startswith("/api/") and path != "/api/openapi.json" and route.method != "HEAD":
            served.add((re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path), route.method))
    assert served == described
    refs = re.findall(r'"#/components/schemas/(\w+)"', str(spec).replace("'", '"'))
    assert set(refs) <= set(spec["components"]["schemas"])
