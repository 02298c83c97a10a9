"""Asking anonymously: the form, its checks, and the follow-up code shown once."""

from __future__ import annotations

from aiohttp import web

from moderation import intake
from moderation.errors import PersonalDetails, RefusedWords
from service import i18n, keys
from service.http import bodies, origin
from service.http.after_hours import after_hours_context
from service.http.render import render
from service.storage import categories

HONEYPOT = "website"
# Set by the "send anyway" button after the personal-details warning.
PERSONAL_CONFIRMED = "personal_ok"


def publish_choice(raw: object) -> bool | None:
    return {"yes": True, "no": False}.get(raw) if isinstance(raw, str) else None


async def form(request: web.Request) -> web.Response:
    db = keys.db(request)
    return render(
        request,
        "board/ask.html",
        {
            "categories": await categories.list_active(db),
            # Consent to publish is never preset: the asker chooses.
            "values": {"category": request.query.get("category", ""), "publish": ""},
            "errors": {},
            **await after_hours_context(request),
        },
    )


async def submit(request: web.Request) -> web.StreamResponse:
    origin.refuse_other_sites(request)
    data = await bodies.form(request)
    values = {name: str(data.get(name, "")) for name in ("body", "title", "category", "publish")}
    ctx = keys.moderation(request)
    if data.get(HONEYPOT):
        # Bots fill every field; people never see this one. Answer as if all went well.
        return render(request, "board/ask_received.html", status=200, no_store=True)
    draft, errors = await intake.validate(
        ctx,
        body=values["body"],
        title=values["title"],
        category=values["category"],
        publish=publish_choice(values["publish"]),
    )
    if draft is None:
        return await _again(request, values, errors=errors)
    try:
        screening = intake.admit(
            ctx, draft, personal_confirmed=data.get(PERSONAL_CONFIRMED) == "yes"
        )
    except RefusedWords as exc:
        return await _again(request, values, errors={"body": exc.message})
    except PersonalDetails as exc:
        # Nothing is stored yet: the writer decides whether to remove the details or send.
        # 422 like the API, so the asking limit gives this attempt back.
        return await _again(
            request,
            values,
            status=exc.status,
            personal=exc.found,
            crisis=exc.crisis,
            crisis_langs=exc.crisis_langs,
        )
    submitted = await intake.submit(ctx, draft, screening)
    raise web.HTTPSeeOther(f"/f/{submitted.code}?new=1")


async def _again(
    request: web.Request,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 400,
    personal: list[dict[str, str]] | None = None,
    crisis: bool = False,
    crisis_langs: tuple[str, ...] = (),
) -> web.Response:
    """The form once more with what was typed, and why it was not sent yet."""
    return render(
        request,
        "board/ask.html",
        {
            "categories": await categories.list_active(keys.db(request)),
            "values": values,
            "errors": errors or {},
            "summary": i18n.gettext("Please check the marked fields.") if errors else None,
            "personal": personal or [],
            "crisis": crisis,
            "crisis_langs": crisis_langs,
            **await after_hours_context(request),
        },
        status=status,
        no_store=True,
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/ask", form, name="ask"), web.post("/ask", submit)]
