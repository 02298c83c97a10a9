"""Follow-up codes a person can read aloud and type on a phone, and the older codes still in use.

A new code is `KOPPI-` and five groups of four Crockford base32 characters: 100 random bits in
an alphabet without I, L, O and U, so nothing looks like anything else and case never matters.
Codes given out before (24 characters of `secrets.token_urlsafe`) stay valid and are matched
exactly, case and all, as they always were."""

from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "KOPPI"
GROUPS = 5
GROUP_SIZE = 4
LENGTH = GROUPS * GROUP_SIZE
BITS = LENGTH * 5  # 100: each character carries five bits
# What a shown example looks like (not a code anyone holds: it is never generated on purpose).
EXAMPLE = "KOPPI-7QX4-M2RD-9TWE-H5KA-3B8N"

# Read aloud and typed by hand: O is heard and typed for 0, I and L for 1 (Crockford's rule).
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Spaces of any kind and every dash a phone keyboard or a copied text may hold.
_SEPARATORS = re.compile(r"[\s\-\u00ad\u2010-\u2015\u2212]+")
# An older code, exactly as `secrets.token_urlsafe(18)` made it; the length range is the one
# the follow-up page has always accepted.
_OLD_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# No typed code is longer than this: a code with spaces between every character and a prefix.
MAX_TYPED = 120


def new_code() -> str:
    """A fresh code in its canonical form, e.g. KOPPI-7QX4-M2RD-9TWE-H5KA-3B8N."""
    number = secrets.randbits(BITS)
    chars = []
    for _ in range(LENGTH):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return _grouped("".join(chars))


def _grouped(body: str) -> str:
    groups = [body[i : i + GROUP_SIZE] for i in range(0, LENGTH, GROUP_SIZE)]
    return "-".join((PREFIX, *groups))


def canonical(typed: str) -> str | None:
    """The new-style code a person meant, whatever the case, spacing, dashes or look-alikes,
    with or without the prefix; None when it cannot be one."""
    if len(typed) > MAX_TYPED:
        return None
    squeezed = _SEPARATORS.sub("", typed).upper()
    if len(squeezed) == LENGTH + len(PREFIX):
        # Checked before look-alikes are mapped: the prefix itself holds an O and an I.
        head = squeezed[: len(PREFIX)].translate(_LOOK_ALIKES)
        if head != PREFIX.translate(_LOOK_ALIKES):
            return None
        squeezed = squeezed[len(PREFIX) :]
    body = squeezed.translate(_LOOK_ALIKES)
    if len(body) != LENGTH or any(c not in ALPHABET for c in body):
        return None
    return _grouped(body)


def candidates(typed: str) -> list[str]:
    """Every stored form `typed` may be, most likely first: the new code it spells, then the
    text itself as an older code. A new code's canonical form is 30 characters and an older
    code 24, so no older code is ever mistaken for a new one."""
    found = []
    new = canonical(typed)
    if new is not None:
        found.append(new)
    exact = typed.strip()
    if _OLD_SHAPE.fullmatch(exact) and exact != new:
        found.append(exact)
    return found


def hash_code(code: str) -> str:
    """Codes carry at least 100 random bits, so a plain SHA-256 keeps them unreadable at rest."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
