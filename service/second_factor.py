"""The staff second factor: TOTP codes (RFC 6238) and single-use recovery codes, pure functions.

The TOTP secret is kept encrypted in the database under a key derived from the service's
secret, so a copy of the database alone (a backup, a dump) does not let anyone make codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ISSUER = "Koppi"
STEP_SECONDS = 30
DIGITS = 6
# A code from the step before or after is accepted (a phone's clock a few seconds off, or the
# code typed just as it changed); further off is refused, whatever the code.
ACCEPTED_DRIFT = 1
# Steps searched only to tell a person enrolling that their device's clock is wrong: 20 minutes
# either way. Never at sign-in: there a match in a future step would tell a guesser which code
# will open the account in N minutes (a 6-digit guess hitting any of 81 steps, not 3).
DIAGNOSED_DRIFT = 40
RECOVERY_CODES = 10
# Ten characters from 31 letters and digits without look-alikes (0/O, 1/I/L): 49 random bits.
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RECOVERY_LENGTH = 10


class CodeCheck(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REUSED = "reused"  # this account already used the code's time step
    CLOCK_OFF = "clock_off"  # right code for a time further off than one step


@dataclass(frozen=True)
class CodeResult:
    outcome: CodeCheck
    step: int = 0
    # For CLOCK_OFF: how far the device's clock is off, in minutes (positive: ahead).
    minutes_off: int = 0


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends and authenticator apps expect."""
    return pyotp.random_base32(32)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def qr_svg(uri: str, title: str) -> str:
    """The enrolment QR code as inline SVG: drawn here, no outside service sees the secret.

    segno's SVG carries only attributes (no style attribute), so it passes the strict CSP."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title=title, svgclass="qr-code"))


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def check_code(
    secret: str, code: str, now: datetime, last_step: int, *, diagnose_clock: bool = False
) -> CodeResult:
    """Whether `code` is this secret's code now (±1 step) and its step is newer than the last
    one accepted: a code seen by someone over the shoulder cannot be used again.

    Only with `diagnose_clock` (enrolment, where the person holds the secret anyway) is a code
    for a time further off answered CLOCK_OFF; otherwise it is simply WRONG."""
    typed = "".join(code.split())
    if len(typed) != DIGITS or not typed.isdigit():
        return CodeResult(CodeCheck.WRONG)
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_at(now)
    for offset in range(-ACCEPTED_DRIFT, ACCEPTED_DRIFT + 1):
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), typed):
            if step <= last_step:
                return CodeResult(CodeCheck.REUSED, step)
            return CodeResult(CodeCheck.ACCEPTED, step)
    if not diagnose_clock:
        return CodeResult(CodeCheck.WRONG)
    for distance in range(ACCEPTED_DRIFT + 1, DIAGNOSED_DRIFT + 1):
        for step in (current - distance, current + distance):
            if hmac.compare_digest(totp.generate_otp(step), typed):
                minutes = round((step - current) * STEP_SECONDS / 60)
                return CodeResult(CodeCheck.CLOCK_OFF, step, minutes_off=minutes)
    return CodeResult(CodeCheck.WRONG)


def code_for(secret: str, now: datetime) -> str:
    """The code an app shows at `now` (the demo and tests compute codes as a phone would)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)


def new_recovery_codes() -> list[str]:
    """Ten codes as shown to the member: XXXXX-XXXXX."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalised_recovery_code(typed: str) -> str | None:
    """A typed recovery code in its stored form, or None when it cannot be one."""
    raw = "".join(ch for ch in typed.upper() if ch not in " -")
    if len(raw) != _RECOVERY_LENGTH or any(ch not in _RECOVERY_ALPHABET for ch in raw):
        return None
    return raw


def recovery_code_hash(service_secret: str, staff_id: int, code: str) -> str:
    """A keyed hash (HMAC-SHA256), not a slow password hash: each code holds 49 random bits,
    so nothing can be guessed from a list, and without the service's secret not even one guess
    can be checked offline. The member's id is mixed in so equal codes never share a hash."""
    raw = normalised_recovery_code(code) or ""
    key = _derived(service_secret, b"recovery-codes")
    return hmac.new(key, f"{staff_id}:{raw}".encode(), hashlib.sha256).hexdigest()


# Encryption of the TOTP secret at rest: AES-256-GCM (pyca/cryptography) under a key derived
# from the service secret; GCM's tag refuses a row altered or sealed under another secret.
# Changing KOPPI_SECRET means every member enrols again.
_VERSION = "v2"
_NONCE_BYTES = 12


def _derived(service_secret: str, purpose: bytes) -> bytes:
    return hmac.new(service_secret.encode(), b"koppi-second-factor:" + purpose, "sha256").digest()


def seal(service_secret: str, secret: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    cipher = AESGCM(_derived(service_secret, b"encrypt")).encrypt(nonce, secret.encode(), None)
    return _VERSION + ":" + base64.b64encode(nonce + cipher).decode("ascii")


class SealBroken(ValueError):
    """The stored secret was not sealed with this service secret (or was altered)."""


def unseal(service_secret: str, sealed: str) -> str:
    version, _, body = sealed.partition(":")
    if version != _VERSION:
        raise SealBroken("unknown format")
    raw = base64.b64decode(body)
    nonce, cipher = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        plain = AESGCM(_derived(service_secret, b"encrypt")).decrypt(nonce, cipher, None)
    except InvalidTag:
        raise SealBroken("the service secret has changed or the row was altered") from None
    return plain.decode()
