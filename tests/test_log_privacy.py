"""No client address in any log line: aiohttp's own error lines included."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient

from service.log_privacy import without_addresses

MALFORMED = [
    # A header line with no colon: aiohttp logs "Error handling request from <peer>" (ERROR).
    b"GET / HTTP/1.1\r\nHost: koppi\r\nno colon in this header line\r\n\r\n",
    # Not HTTP at all (a TLS hello, a port scan): the same line at DEBUG.
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
]


@pytest.mark.parametrize("request_bytes", MALFORMED, ids=["bad-header", "not-http"])
async def test_malformed_requests_are_logged_without_the_address(
    client: TestClient, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    server = client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request_bytes)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request"), answer[:80]

    lines = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert any("Error handling request from" in r.getMessage() for r in lines), caplog.text
    assert "127.0.0.1" not in caplog.text
    for record in lines:
        assert "127.0.0.1" not in record.getMessage()


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("Error handling request from 192.0.2.17", "Error handling request from <address>"),
        ("peer ::1 gone", "peer <address> gone"),
        ("from 2001:db8::5:1 port 443", "from <address> port 443"),
        ("from ::ffff:198.51.100.3", "from <address><address>"),
        ("no address in 3.14 nor in GET /api/questions", None),
    ],
)
def test_addresses_in_any_form_are_hidden(line: str, hidden: str | None) -> None:
    assert without_addresses(line) == (hidden or line)
