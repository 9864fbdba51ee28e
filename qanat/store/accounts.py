"""What staff do to their own accounts, and admins to others': passwords, one-time reset
links, recovery codes for the second factor.

Secrets are shown once and kept only as hashes (sha256 of a random token; argon2 for
passwords). A new password ends every open session of the account.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.settings_tables import PasswordReset, RecoveryCode
from qanat.store.staff import new_secret_token, token_digest
from qanat.store.tables import StaffSession, StaffTotp, User

#: A reset link is good once, for this long.
RESET_LIFETIME = timedelta(hours=24)
#: Passwords shorter than this are refused.
PASSWORD_MIN = 10
#: How many recovery codes a person gets at a time.
RECOVERY_CODES = 10


def password_problem(password: str, *, username: str) -> str | None:
    """Why a new password is refused (a message key), or None."""
    if len(password) < PASSWORD_MIN:
        return "password_too_short"
    if len(password) > 1000:
        return "error_too_long"
    if password.casefold() == username.casefold():
        return "password_is_username"
    return None


async def set_password(
    session: AsyncSession, *, user: User, password_hash: str, now: datetime
) -> None:
    """Give ``user`` a new password (its argon2 hash: the caller hashes it off the event
    loop, after :func:`password_problem`) and end their open sessions."""
    user.password_hash = password_hash
    session.add(user)
    await session.execute(
        update(StaffSession)
        .where(col(StaffSession.user_id) == user.id, col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def make_reset_link(
    session: AsyncSession, *, user_id: int, by_id: int | None, now: datetime
) -> str:
    """A one-time reset token for ``user_id`` (earlier unused ones stop working)."""
    await session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user_id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    token = new_secret_token()
    session.add(
        PasswordReset(
            token_hash=token_digest(token),
            user_id=user_id,
            created_by_id=by_id,
            created_at=now,
            expires_at=now + RESET_LIFETIME,
        )
    )
    await session.flush()
    return token


async def reset_of(session: AsyncSession, *, token: str, now: datetime) -> PasswordReset | None:
    """The unused, unexpired reset a token names (None otherwise)."""
    statement = select(PasswordReset).where(
        col(PasswordReset.token_hash) == token_digest(token),
        col(PasswordReset.used_at).is_(None),
        col(PasswordReset.expires_at) > now,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def make_recovery_codes(session: AsyncSession, *, user_id: int) -> list[str]:
    """New recovery codes for ``user_id`` (the old ones stop working); shown once."""
    old = await session.execute(select(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    for spent in old.scalars():
        await session.delete(spent)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    for fresh in codes:
        session.add(RecoveryCode(user_id=user_id, code_hash=token_digest(fresh)))
    await session.flush()
    return codes


def _clean(code: str) -> str:
    return code.strip().lower().replace(" ", "")


async def use_recovery_code(
    session: AsyncSession, *, user_id: int, code: str, now: datetime
) -> bool:
    """True (and the code is spent) when ``code`` is one of the person's unused codes."""
    statement = select(RecoveryCode).where(
        col(RecoveryCode.user_id) == user_id,
        col(RecoveryCode.code_hash) == token_digest(_clean(code)),
        col(RecoveryCode.used_at).is_(None),
    )
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        return False
    found.used_at = now
    session.add(found)
    return True


async def codes_left(session: AsyncSession, *, user_id: int) -> int:
    """How many unused recovery codes a person has."""
    statement = select(RecoveryCode).where(
        col(RecoveryCode.user_id) == user_id, col(RecoveryCode.used_at).is_(None)
    )
    return len(list((await session.execute(statement)).scalars()))


async def turn_off_second_factor(session: AsyncSession, *, user_id: int) -> None:
    """Forget a person's authenticator and recovery codes."""
    totp = await session.get(StaffTotp, user_id)
    if totp is not None:
        await session.delete(totp)
    kept = await session.execute(select(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    for code in kept.scalars():
        await session.delete(code)
