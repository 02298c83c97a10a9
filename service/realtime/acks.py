"""Socket.io event handlers answer through one wrapper: refusals become `{"error": …}` acks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from moderation.errors import ActionError, Blocked, PersonalDetails, RateLimited
from moderation.text import has_unstorable_text
from service import i18n
from service.storage import database_down, disk_full

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Owner = TypeVar("Owner")
Handler = Callable[[Owner, str, dict[str, Any]], Awaitable[Ack | None]]
Wrapped = Callable[[Owner, str, Any], Awaitable[Ack | None]]


def refusal(exc: ActionError) -> Ack:
    ack: Ack = {"error": exc.code, "message": exc.message}
    if exc.field:
        ack["field"] = exc.field
    if isinstance(exc, Blocked):
        ack["until"] = exc.until
    if isinstance(exc, RateLimited):
        ack["retry_after"] = exc.retry_after
    if isinstance(exc, PersonalDetails):
        # Nothing stored: what was found, so the page can ask before sending it as it is.
        ack["personal_data"] = exc.found
    return ack


def invalid(message: str, field: str | None = None) -> Ack:
    ack: Ack = {"error": "invalid", "message": message}
    if field:
        ack["field"] = field
    return ack


def event(
    language_of: Callable[[Owner, str], str],
) -> Callable[[Handler[Owner]], Wrapped[Owner]]:
    """Check that the payload is a JSON object, speak the socket's language, map refusals."""

    def decorate(handler: Handler[Owner]) -> Wrapped[Owner]:
        @functools.wraps(handler)
        async def wrapped(self: Owner, sid: str, data: Any = None) -> Ack | None:
            with i18n.speaking(language_of(self, sid)):
                if data is None:
                    data = {}
                if not isinstance(data, dict):
                    return invalid(i18n.gettext("Send a JSON object."))
                if has_unstorable_text(data):
                    return invalid(i18n.gettext("The text has characters that cannot be stored."))
                try:
                    return await handler(self, sid, data)
                except ActionError as exc:
                    return refusal(exc)
                except Exception as exc:  # the sender still gets an answer; details to the log
                    if disk_full.is_disk_full(exc):
                        disk_full.note(exc)
                        return {
                            "error": "unavailable",
                            "message": i18n.gettext(disk_full.CANNOT_SAVE),
                        }
                    if database_down.is_database_down(exc):
                        database_down.note(exc)
                        return {
                            "error": "unavailable",
                            "message": i18n.gettext(database_down.CANNOT_REACH),
                        }
                    log.exception("socket event %s failed", handler.__name__)
                    return {
                        "error": "internal",
                        "message": i18n.gettext(
                            "Something went wrong on our side. Please try again."
                        ),
                    }

        return wrapped

    return decorate
