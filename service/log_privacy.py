"""No client address in any log line: the libraries' own lines are rewritten before they leave."""

from __future__ import annotations

import logging
import re

# aiohttp logs "Error handling request from <peer>" for every malformed request; asyncio and
# engine.io log transports and sockets. Our own code never logs an address at all.
LIBRARY_LOGGERS = (
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.access",
    "aiohttp.internal",
    "aiohttp.websocket",
    "asyncio",
    "engineio.server",
    "socketio.server",
)
HIDDEN = "<address>"
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Two colons at least: "::1", "fe80::2", "2001:db8:0:0:1:2:3:4". A clock time such as 10:00:00
# is hidden too, which costs nothing in these libraries' lines.
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def without_addresses(text: str) -> str:
    return _IPV6.sub(HIDDEN, _IPV4.sub(HIDDEN, text))


class HideAddresses(logging.Filter):
    """Replaces IPv4 and IPv6 addresses in a record's message; keeps the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's own error to report, not ours
            return True
        hidden = without_addresses(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


_FILTER = HideAddresses()


def install() -> None:
    """Attach the filter to each library logger once (a logger's filter sees its own records)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
