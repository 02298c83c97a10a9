"""Referrals: staff point an answer or a chat to directory services; each one is counted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from moderation.errors import Invalid
from service.directory.cards import card
from service.directory.hsds import is_uuid
from service.i18n import gettext as _
from service.storage import directory, events
from service.storage.db import Database, Writer

MAX_PER_ANSWER = 5


def service_ids(value: object, field: str = "services") -> list[str]:
    """A list of service ids, each once, in the order given."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(_("Give the services as a list of ids."), field=field)
    ids = list(dict.fromkeys(value))
    if len(ids) > MAX_PER_ANSWER:
        raise Invalid(
            _("Refer to at most %(n)d services at a time.") % {"n": MAX_PER_ANSWER}, field=field
        )
    if not all(is_uuid(v) for v in ids):
        raise Invalid(_("A service id must be a UUID."), field=field)
    return ids


async def cards(
    db: Database, service_ids: Iterable[str], lang: str, now: datetime
) -> dict[str, dict[str, Any]]:
    """Cards for the services as they stand at `now`, in `lang`, by service id."""
    wanted = list(dict.fromkeys(service_ids))
    if not wanted:
        return {}
    return {r["id"]: card(r, lang, now) for r in await directory.load(db, wanted)}


async def require_referable(tx: Writer, ids: list[str], field: str) -> dict[str, str]:
    """The services' names; refused if one is unknown, inactive or defunct."""
    names = await directory.referable(tx, ids)
    if len(names) != len(ids):
        raise Invalid(
            _("A chosen service is not in the directory or is no longer active."), field=field
        )
    return names


async def record(
    tx: Writer,
    ids: list[str],
    *,
    at: str,
    channel: str,
    category: str | None,
    subject_id: int,
    staff_id: int,
) -> None:
    """One `referral_made` usage event per service."""
    for service_id in ids:
        await events.record(
            tx,
            events.REFERRAL_MADE,
            at=at,
            category=category,
            channel=channel,
            subject_id=subject_id,
            staff_id=staff_id,
            detail={"service_id": service_id},
        )
