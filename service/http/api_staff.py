"""The staff JSON API: sign-in, the queue, and the moderation actions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import actions, queue, views
from service import auth, i18n, keys, question_json
from service.http import staff
from service.http.bodies import json_object
from service.http.middleware import json_error
from service.http.params import path_id
from service.http.staff_session import (
    end_session,
    keep_session,
    refusal,
    require_staff,
    start_session,
)
from service.storage import questions
from service.storage.staff import ANSWERING_ROLES, StaffMember


def _member(member: StaffMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.username,
        "role": member.role,
        "first_name": member.first_name,
    }


async def login(request: web.Request) -> web.Response:
    """One request: username, password and, for a member with a second factor, `code` (the
    app's six digits or a recovery code). Without the code the refusal says it is needed."""
    data = await json_object(request)
    username, password, code = data.get("username"), data.get("password"), data.get("code")
    if not isinstance(username, str) or not isinstance(password, str):
        message = i18n.gettext("Give username and password as text.")
        return json_error(400, message, {"username": message})
    if code is not None and not isinstance(code, str):
        message = i18n.gettext("Give the code as text.")
        return json_error(400, message, {"code": message})
    result = await start_session(request, username, password, code)
    if result.token is None or result.member is None:
        if result.refusal in auth.SECOND_FACTOR_REFUSALS:
            # The password was right: say which part of the second step failed.
            assert result.refusal is not None
            return web.json_response(
                {"error": refusal(request, result), "second_factor": result.refusal.value},
                status=401,
            )
        return json_error(401, refusal(request, result))
    response = web.json_response(_member(result.member))
    keep_session(request, response, result.token)
    return response


async def logout(request: web.Request) -> web.Response:
    response = web.Response(status=204)
    await end_session(request, response)
    return response


@require_staff()
async def me(request: web.Request, member: StaffMember) -> web.Response:
    return web.json_response(_member(member))


@require_staff(*ANSWERING_ROLES)
async def list_queue(request: web.Request, member: StaffMember) -> web.Response:
    return web.json_response(await question_json.waiting_queue(keys.moderation(request)))


async def _state(request: web.Request, question_id: int) -> web.Response:
    ctx = keys.moderation(request)
    found = await questions.get(ctx.db, question_id)
    if found is None:
        return json_error(404, i18n.gettext("No such question."))
    return web.json_response(
        question_json.staff_question(found, claimed_by=queue.active_claimer(ctx, found))
    )


@require_staff(*ANSWERING_ROLES)
async def claim(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    await actions.do_claim(keys.moderation(request), question_id, acting_staff=member)
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def release(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    await actions.do_release(keys.moderation(request), question_id, acting_staff=member)
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def answer(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    data = await json_object(request)
    await actions.do_answer(
        keys.moderation(request),
        question_id,
        acting_staff=member,
        body=data.get("body"),
        publish=data.get("publish"),
        services=data.get("services"),
        personal_data_confirmed=data.get("personal_data_confirmed", False),
    )
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def mask(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    data = await json_object(request)
    await actions.do_mask(
        keys.moderation(request),
        question_id,
        acting_staff=member,
        field=data.get("field"),
        start=data.get("start"),
        end=data.get("end"),
    )
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def reject(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    data = await json_object(request)
    await actions.do_reject(
        keys.moderation(request), question_id, acting_staff=member, reason=data.get("reason")
    )
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def edit(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    data = await json_object(request)
    fields = {name: data[name] for name in ("body", "title", "category") if name in data}
    await actions.do_edit(keys.moderation(request), question_id, acting_staff=member, **fields)
    return await _state(request, question_id)


@require_staff(*ANSWERING_ROLES)
async def get_question(request: web.Request, member: StaffMember) -> web.Response:
    question_id = path_id(request)
    response = await _state(request, question_id)
    if response.status == 200:
        await views.record_view(
            keys.moderation(request),
            target_type="question",
            target_id=question_id,
            acting_staff=member,
        )
    return response


@require_staff(*ANSWERING_ROLES)
async def referral_options(request: web.Request, member: StaffMember) -> web.Response:
    """The answer page's directory search (static/js/staff-referrals.js), without a reload."""
    found = await questions.get(keys.db(request), path_id(request))
    if found is None:
        return json_error(404, i18n.gettext("No such question."))
    text = request.query.get("find", "")
    return web.json_response(await staff.referral_search(request, found, text))


def routes() -> list[web.RouteDef]:
    base = "/api/staff/questions/{id}"
    return [
        web.post("/api/staff/login", login),
        web.post("/api/staff/logout", logout),
        web.get("/api/staff/me", me),
        web.get("/api/staff/queue", list_queue),
        web.get(base, get_question),
        web.patch(base, edit),
        web.post(base + "/claim", claim),
        web.post(base + "/release", release),
        web.post(base + "/mask", mask),
        web.post(base + "/answer", answer),
        web.post(base + "/reject", reject),
        web.get(base + "/referral-options", referral_options),
    ]
