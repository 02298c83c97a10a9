"""A staff member's own account: password change and the second factor."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import own_account
from moderation.errors import ActionError
from moderation.own_account import OwnAccountContext
from service import auth, keys, second_factor
from service.http import bodies, notices
from service.http.render import render
from service.http.staff_session import ENROL_PATH, address_key, require_staff
from service.i18n import N_
from service.i18n import gettext as _
from service.storage import second_factor as stored_factor
from service.storage.staff import StaffMember

ACCOUNT_PATH = "/staff/account"
NOTICES = {"password": N_("Your password was changed. You were signed out everywhere else.")}


def _context(request: web.Request) -> OwnAccountContext:
    app = request.app
    return OwnAccountContext(app[keys.DB], app[keys.CLOCK], app[keys.SETTINGS])


def _token(request: web.Request) -> str:
    return request.cookies.get(auth.STAFF_COOKIE, "")


async def _account_page(
    request: web.Request, member: StaffMember, *, error: ActionError | None = None
) -> web.Response:
    db = keys.db(request)
    context: dict[str, Any] = {
        "enrolled": await stored_factor.is_enrolled(db, member.id),
        "recovery_left": await stored_factor.unused_recovery_codes(db, member.id),
        "required": request.app[keys.SETTINGS].staff_2fa,
        "error": error,
        "errors": notices.field_errors(error),
        "notice": notices.shown(request, NOTICES),
    }
    return render(
        request,
        "staff/account.html",
        context,
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff()
async def account(request: web.Request, member: StaffMember) -> web.Response:
    return await _account_page(request, member)


@require_staff()
async def change_password(request: web.Request, member: StaffMember) -> web.Response:
    form = await bodies.form(request)
    data = {name: str(form.get(name, "")) for name in ("current", "new", "again")}
    try:
        await own_account.do_change_own_password(
            _context(request),
            data,
            acting_staff=member,
            token=_token(request),
            address_key=address_key(request),
        )
    except ActionError as exc:
        return await _account_page(request, member, error=exc)
    raise notices.after_change(ACCOUNT_PATH, "password")


async def _enrol_page(
    request: web.Request,
    member: StaffMember,
    secret: str,
    *,
    error: ActionError | None = None,
) -> web.Response:
    uri = second_factor.provisioning_uri(secret, member.username)
    context: dict[str, Any] = {
        "qr_svg": second_factor.qr_svg(uri, _("QR code for your authenticator app")),
        "secret_grouped": second_factor.grouped(secret),
        "required": request.app[keys.SETTINGS].staff_2fa,
        "error": error,
        "errors": notices.field_errors(error),
        # Required and not yet enrolled: this session reaches nothing else, so the menu hides.
        "only_enrolment": request.app[keys.SETTINGS].staff_2fa,
    }
    # The secret is on this page only: never cached, never shown from history.
    return render(
        request,
        "staff/second_factor.html",
        context,
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff()
async def enrol(request: web.Request, member: StaffMember) -> web.Response:
    try:
        secret = await own_account.do_begin_enrolment(_context(request), acting_staff=member)
    except ActionError:
        raise web.HTTPSeeOther(ACCOUNT_PATH) from None  # enrolled already
    return await _enrol_page(request, member, secret)


@require_staff()
async def confirm(request: web.Request, member: StaffMember) -> web.Response:
    form = await bodies.form(request)
    ctx = _context(request)
    try:
        codes = await own_account.do_confirm_enrolment(
            ctx, form.get("code"), acting_staff=member, token=_token(request)
        )
    except ActionError as exc:
        secret = await own_account.pending_secret(ctx, member)
        if secret is None:  # enrolled meanwhile, or no secret was made: start from the top
            enrolled = await stored_factor.is_enrolled(ctx.db, member.id)
            raise web.HTTPSeeOther(ACCOUNT_PATH if enrolled else ENROL_PATH) from None
        return await _enrol_page(request, member, secret, error=exc)
    return render(request, "staff/recovery_codes.html", {"codes": codes}, status=200, no_store=True)


def routes() -> list[web.RouteDef]:
    return [
        web.get(ACCOUNT_PATH, account),
        web.post(ACCOUNT_PATH + "/password", change_password),
        web.get(ENROL_PATH, enrol),
        web.post(ENROL_PATH, confirm),
    ]
