"""Argon2id password hashing, off the event loop because each hash takes tens of milliseconds."""

from __future__ import annotations

import asyncio
import unicodedata
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.common_passwords import is_common

_HASHER = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _HASHER.hash("koppi-no-such-user")

MIN_LENGTH = 12


class Weakness(Enum):
    SHORT = "short"
    COMMON = "common"  # on the list of common passwords
    USERNAME = "username"  # the username itself, in any case


def weakness(password: str, *, username: str | None = None) -> Weakness | None:
    """Why a new password would be refused, or None. Length counts characters as typed
    (NFC), so "ä" is one character whichever way the keyboard sent it."""
    if len(unicodedata.normalize("NFC", password)) < MIN_LENGTH:
        return Weakness.SHORT
    if is_common(password):
        return Weakness.COMMON
    if username and password.strip().casefold() == username.strip().casefold():
        return Weakness.USERNAME
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


async def hash_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
