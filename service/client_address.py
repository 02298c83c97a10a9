"""Client addresses only as keyed hashes under a salt kept in memory and replaced every day."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import date, datetime

from aiohttp import web

from service.clock import LOCAL_ZONE

KEY_CHARS = 32  # 128 bits of the HMAC-SHA256: plenty to tell addresses apart
UNKNOWN = "unknown"  # no usable address (a Unix socket, a garbled header): one shared key


def client_address(request: web.BaseRequest, *, trust_forwarded: bool) -> str | None:
    """The peer's address, or the last X-Forwarded-For hop when a trusted proxy sets it."""
    if trust_forwarded:
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
        ]
        if hops and hops[-1]:
            return hops[-1]
    return request.remote


def network(raw: str | None) -> str:
    """The address as limits see it: IPv4 whole, IPv6 by its /64 (one subscriber's share)."""
    if not raw:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(raw.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False).network_address) + "/64"
    return str(address)


class AddressKeys:
    """`key()` gives an address's keyed hash for today (Helsinki). The day's salt is random and
    lives only in this object, so a key cannot be turned back into an address, nor linked to
    the same address's key on another day, by anyone holding the database or the logs.

    Several processes must hash an address alike (their limits are one): they share each day's
    random salt through Redis (service/shared_salt.py), which hands it over with `use_salt`."""

    def __init__(self, secret: str, *, trust_forwarded: bool = False) -> None:
        self._secret = secret.encode()
        self.trust_forwarded = trust_forwarded
        self._day: date | None = None
        self._salt = b""
        self._given: dict[date, bytes] = {}

    def use_salt(self, day: date, salt: bytes) -> None:
        """The salt for `day`, shared by every process; only today's and later ones are kept."""
        if self._day is not None:
            self._given = {d: s for d, s in self._given.items() if d >= self._day}
        self._given[day] = salt
        if day == self._day:
            self._salt = salt

    def key(self, source: web.BaseRequest | str | None, now: datetime) -> str:
        """The keyed hash of a request's client address (or of a raw address) for now's day."""
        if isinstance(source, web.BaseRequest):
            source = client_address(source, trust_forwarded=self.trust_forwarded)
        day = now.astimezone(LOCAL_ZONE).date()
        if day != self._day:
            self._day, self._salt = day, self._given.pop(day, b"") or secrets.token_bytes(32)
        digest = hmac.new(self._salt + self._secret, network(source).encode(), hashlib.sha256)
        return digest.hexdigest()[:KEY_CHARS]
