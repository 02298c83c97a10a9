"""Coordinators manage the topic categories: add, edit, deactivate and reactivate.

Categories are never deleted, because questions and chats refer to them. Each change is one
transaction with one audit row, and the cached public pages are forgotten after the commit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from moderation.context import Change, ModerationContext
from moderation.errors import Conflict, Forbidden, Invalid, NotFound
from moderation.text import optional_text
from service.i18n import gettext as _
from service.storage import audit, categories
from service.storage.db import Writer
from service.storage.errors import Duplicate
from service.storage.staff import ANSWERING_ROLES, MANAGING_ROLES, StaffMember

SLUG = re.compile(r"[a-z0-9-]{2,30}")
NAME_MAX = 60
POSITION_MAX = 10_000
ANYONE = ""  # the form's value for a category any answering role may chat about
# Told after a commit: every public page lists the categories.
_BOARD_CHANGED = Change(board=True)


@dataclass(frozen=True)
class CategoryFields:
    name_fi: str
    # Optional: without them Swedish and English pages show the Finnish name.
    name_sv: str | None
    name_en: str | None
    chat_role: str | None
    position: int


def _require_manager(acting: StaffMember) -> None:
    if acting.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage the categories."))


def parse_fields(data: dict[str, str]) -> CategoryFields:
    name_fi = optional_text(data.get("name_fi"), "name_fi", maximum=NAME_MAX)
    if name_fi is None:
        raise Invalid(_("This field is required."), field="name_fi")
    name_sv = optional_text(data.get("name_sv"), "name_sv", maximum=NAME_MAX)
    name_en = optional_text(data.get("name_en"), "name_en", maximum=NAME_MAX)
    chat_role = data.get("chat_role", ANYONE)
    if chat_role != ANYONE and chat_role not in ANSWERING_ROLES:
        raise Invalid(_("Choose who chats about this topic."), field="chat_role")
    position = data.get("position", "").strip() or "0"
    digits = position.removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 6) or not (
        -POSITION_MAX <= int(position) <= POSITION_MAX
    ):
        raise Invalid(
            _("Give the position as a whole number from -%(n)d to %(n)d.") % {"n": POSITION_MAX},
            field="position",
        )
    return CategoryFields(name_fi, name_sv, name_en, chat_role or None, int(position))


def parse_slug(value: object) -> str:
    slug = value.strip() if isinstance(value, str) else ""
    if not SLUG.fullmatch(slug):
        raise Invalid(_("Use 2–30 lowercase letters a–z, digits or hyphens."), field="slug")
    return slug


async def _audit(
    ctx: ModerationContext, tx: Writer, acting: StaffMember, action: str, category_id: int
) -> None:
    await audit.append(
        tx,
        at=ctx.now_iso(),
        staff_id=acting.id,
        action=action,
        target_type="category",
        target_id=category_id,
    )


async def do_add_category(
    ctx: ModerationContext, data: dict[str, str], *, acting_staff: StaffMember
) -> int:
    _require_manager(acting_staff)
    slug = parse_slug(data.get("slug"))
    fields = parse_fields(data)
    taken = Conflict(_("Another category already uses that slug."), field="slug")
    try:
        async with ctx.db.transaction() as tx:
            if await categories.slug_taken(tx, slug):
                raise taken
            category_id = await categories.insert(
                tx,
                slug=slug,
                name_fi=fields.name_fi,
                name_sv=fields.name_sv,
                name_en=fields.name_en,
                chat_role=fields.chat_role,
                position=fields.position,
            )
            await _audit(ctx, tx, acting_staff, "category_add", category_id)
            tx.announce(_BOARD_CHANGED)
    except Duplicate:  # added by someone else in the meantime
        raise taken from None
    return category_id


async def do_edit_category(
    ctx: ModerationContext, category_id: int, data: dict[str, str], *, acting_staff: StaffMember
) -> None:
    """Names, chat role and position; the slug stays, since links and filters use it."""
    _require_manager(acting_staff)
    fields = parse_fields(data)
    async with ctx.db.transaction() as tx:
        if not await categories.update(
            tx,
            category_id,
            name_fi=fields.name_fi,
            name_sv=fields.name_sv,
            name_en=fields.name_en,
            chat_role=fields.chat_role,
            position=fields.position,
        ):
            raise NotFound(_("No such category."))
        await _audit(ctx, tx, acting_staff, "category_edit", category_id)
        tx.announce(_BOARD_CHANGED)


async def do_set_active(
    ctx: ModerationContext, category_id: int, active: bool, *, acting_staff: StaffMember
) -> None:
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        if not await categories.set_active(tx, category_id, active):
            raise NotFound(_("No such category."))
        action = "category_reactivate" if active else "category_deactivate"
        await _audit(ctx, tx, acting_staff, action, category_id)
        tx.announce(_BOARD_CHANGED)
