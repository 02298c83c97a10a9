"""Log lines that never hold a follow-up code or a client address."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

_CODE_IN_PATH = re.compile(r"^(/f|/api/followup)/[^/]+")


def mask_path(path: str) -> str:
    """`/f/<code>/delete` -> `/f/…/delete`: the code is the asker's only key to their question."""
    return _CODE_IN_PATH.sub(r"\1/…", path)


class AccessLogger(AbstractAccessLogger):
    """Method, masked path, status, size and duration; no address, no query, no headers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.4fs",
            request.method,
            mask_path(request.path),
            response.status,
            response.body_length,
            time,
        )
