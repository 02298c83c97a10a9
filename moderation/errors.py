"""Refusals a moderation step can give, each carrying the HTTP status it maps to."""

from __future__ import annotations


class ActionError(Exception):
    status = 400
    code = "invalid"  # the `error` a socket acknowledgement carries

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ActionError):
    status = 400


class Forbidden(ActionError):
    status = 403
    code = "forbidden"


class NotFound(ActionError):
    status = 404
    code = "not_found"


class Conflict(ActionError):
    status = 409
    code = "conflict"


class Closed(ActionError):
    """The chat is not open now: outside opening hours or no one on duty."""

    status = 409
    code = "closed"


class Blocked(ActionError):
    status = 403
    code = "blocked"

    def __init__(self, message: str, *, until: str) -> None:
        super().__init__(message)
        self.until = until


class RateLimited(ActionError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RefusedWords(ActionError):
    """A block word in what was written: nothing is stored."""

    code = "refused_words"


class PersonalDetails(ActionError):
    """Personal details the writer has not confirmed sending: nothing is stored yet. `found`
    is what the page shows; `crisis` says the text also asks for crisis help at once, and
    `crisis_langs` the languages its crisis words were written in."""

    status = 422
    code = "personal_data"

    def __init__(
        self,
        message: str,
        *,
        found: list[dict[str, str]],
        crisis: bool,
        field: str,
        crisis_langs: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, field=field)
        self.found = found
        self.crisis = crisis
        self.crisis_langs = crisis_langs
