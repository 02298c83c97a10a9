"""Reading request bodies: a JSON object or a form, with a 400 naming what is wrong."""

from __future__ import annotations

import codecs
import json
from typing import Any
from urllib.parse import unquote_to_bytes

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from moderation.errors import Invalid
from moderation.text import has_unstorable_text
from service import i18n

FormData = dict[str, str]
_FORM = web.RequestKey("form", dict)
_POSTED = web.RequestKey("posted", MultiDictProxy)
_MAX_FIELDS = 1000
# A route whose name ends so takes one uploaded text file, in the form field `file`.
UPLOAD_ROUTE_SUFFIX = "_upload"
UPLOAD_FIELD = "file"
# A directory of a few thousand services is some 10–20 MB as JSON; a file past this is refused
# before it is read whole (bodies.too_large).
UPLOAD_MAX = 64 * 1024 * 1024
_UPLOAD = web.RequestKey("upload", bytes)
_ZIP_MAGIC = b"PK\x03\x04"


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; JSON is UTF-8 whatever charset the request claims."""
    raw = await request.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad JSON or UTF-8, or numbers and nesting too deep
        raise Invalid(i18n.gettext("The body is not valid JSON."), field="body") from None
    if not isinstance(data, dict):
        raise Invalid(i18n.gettext("The body must be a JSON object."), field="body")
    if has_unstorable_text(data):
        raise Invalid(i18n.gettext("The text has characters that cannot be stored."), field="body")
    return data


def _takes_upload(request: web.Request) -> bool:
    name = request.match_info.route.name
    return name is not None and name.endswith(UPLOAD_ROUTE_SUFFIX)


def _uploaded_text(request: web.Request, value: web.FileField) -> str:
    """The uploaded file as text; a zip file is kept as bytes (uploaded_bytes) instead."""
    with value.file:
        raw = value.file.read()
    request[_UPLOAD] = raw
    if raw.startswith(_ZIP_MAGIC):
        return ""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(i18n.gettext("The file must be UTF-8 text."), field=UPLOAD_FIELD) from None


def uploaded_zip(request: web.Request) -> bytes | None:
    """The uploaded file when it is a zip archive, after form() has read the form."""
    raw = request.get(_UPLOAD)
    return raw if raw is not None and raw.startswith(_ZIP_MAGIC) else None


def is_zip(raw: bytes) -> bool:
    return raw.startswith(_ZIP_MAGIC)


def too_large(field: str) -> Invalid:
    error = Invalid(
        i18n.gettext("The file is larger than %(n)d MB.") % {"n": UPLOAD_MAX // (1024 * 1024)},
        field=field,
    )
    error.status = 413
    return error


def _field_text(raw: bytes, charset: str, name: str) -> str:
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        shown = name[:40]
        raise Invalid(
            i18n.gettext("The field %(name)s holds bytes that are not text.") % {"name": shown},
            field=shown,
        ) from None


def _unquote(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _urlencoded(raw: bytes, charset: str) -> MultiDict[str]:
    """An application/x-www-form-urlencoded body, decoded strictly: aiohttp's parser turns
    bytes that are not text into U+FFFD without a word, and a field would be stored altered."""
    fields: MultiDict[str] = MultiDict()
    for pair in raw.rstrip().split(b"&"):
        if not pair:
            continue
        if len(fields) >= _MAX_FIELDS:
            raise web.HTTPBadRequest(text=i18n.gettext("The form has too many fields."))
        raw_name, _, raw_value = pair.partition(b"=")
        name = _field_text(_unquote(raw_name), charset, raw_name.decode("ascii", "replace"))
        fields.add(name, _field_text(_unquote(raw_value), charset, name))
    return fields


async def _posted(request: web.Request, upload: bool) -> MultiDictProxy[Any]:
    if not upload and request.content_type in ("", "application/x-www-form-urlencoded"):
        charset = request.charset or "utf-8"
        codecs.lookup(charset)  # an unknown charset is a LookupError before any field is read
        return MultiDictProxy(_urlencoded(await request.read(), charset))
    source = request.clone(client_max_size=UPLOAD_MAX) if upload else request
    return await source.post()


async def form(request: web.Request) -> FormData:
    """The submitted form's text fields; files are refused except on an upload route."""
    cached: FormData | None = request.get(_FORM)
    if cached is not None:
        return cached
    upload = _takes_upload(request)
    try:
        posted = await _posted(request, upload)
    except web.HTTPRequestEntityTooLarge:
        raise too_large(UPLOAD_FIELD) from None
    except (ValueError, LookupError):  # undecodable multipart bytes or an unknown charset
        raise web.HTTPBadRequest(text=i18n.gettext("The form could not be read.")) from None
    request[_POSTED] = posted
    fields: FormData = {}
    for name, value in posted.items():
        if upload and name == UPLOAD_FIELD and isinstance(value, web.FileField):
            value = _uploaded_text(request, value)
        if not isinstance(value, str) or has_unstorable_text(value):
            raise web.HTTPBadRequest(
                text=i18n.gettext("The field %(name)s must be text.") % {"name": name[:40]}
            )
        fields[name] = value
    request[_FORM] = fields
    return fields


async def form_values(request: web.Request, name: str) -> list[str]:
    """Every value of a repeated field, such as ticked checkboxes; `form` keeps only one."""
    await form(request)  # checks the whole form once
    return [v for v in request[_POSTED].getall(name, []) if isinstance(v, str)]


def active_choice(form: FormData) -> bool:
    """The `active` field of a coordinator's activate/deactivate form: "1" or "0"."""
    choice = {"1": True, "0": False}.get(form.get("active", ""))
    if choice is None:
        raise Invalid(i18n.gettext("Choose active or inactive."), field="active")
    return choice


def created(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=201)
