"""Whether a public form post came from one of this site's own pages (finding 10 of issue 13)."""

from __future__ import annotations

from aiohttp import web

from service import i18n
from service.http.middleware import same_origin


def from_this_site(request: web.Request) -> bool:
    """A public form carries no token (visitors get no cookie), so its Origin must name this
    site. Our pages send `Referrer-Policy: same-origin`, so browsers name our origin on our own
    posts. `Origin: null` (a page cached from before, when our policy was `no-referrer`, or a
    privacy setting) passes only beside `Sec-Fetch-Site: same-origin`, which no page can forge;
    a foreign page that hides its origin gets `cross-site` there. No Origin at all (curl, old
    browsers) passes, as on staff forms."""
    origin = request.headers.get("Origin")
    if origin == "null":
        return request.headers.get("Sec-Fetch-Site") == "same-origin"
    return same_origin(request)


def refuse_other_sites(request: web.Request) -> None:
    """403 with a page saying what to do, before anything is read or stored."""
    if not from_this_site(request):
        raise web.HTTPForbidden(
            text=i18n.gettext(
                "This form was sent from another site, or your browser did not say where from."
                " Open the form on this site and send it again."
            )
        )
