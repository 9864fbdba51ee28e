"""Time-based one-time codes (RFC 6238, the codes authenticator apps show): pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

#: Seconds each code is valid for, and its digits (what every authenticator app uses).
STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of now a code may come from (clocks on phones drift).
DRIFT_STEPS = 1


def new_secret() -> str:
    """A random base32 secret (160 bits) to enter into an authenticator app."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def code_at(secret: str, step: int) -> str:
    """The code for time step ``step`` (RFC 4226 HOTP with the step as counter)."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def step_of(unix_seconds: float) -> int:
    """The time step a moment falls in."""
    return int(unix_seconds // STEP_SECONDS)


def matching_step(secret: str, code: str, *, unix_seconds: float, after_step: int) -> int | None:
    """The step whose code is ``code`` (near now and later than ``after_step``), else None.

    Refusing steps at or before ``after_step`` stops a code from being used twice.
    """
    cleaned = code.strip().replace(" ", "")
    if len(cleaned) != DIGITS or not cleaned.isdigit():
        return None
    now = step_of(unix_seconds)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(code_at(secret, step), cleaned):
            return step
    return None


def provisioning_uri(secret: str, *, username: str, issuer: str = "qanat") -> str:
    """The ``otpauth://`` address authenticator apps read (typed or scanned)."""
    label = quote(f"{issuer}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}"
