"""Staff sign-in in the store: sessions, log-in attempts and lock-out, API tokens, TOTP.

Secrets (session cookies, API tokens) are random and only their sha256 is stored, so a
copy of the database lets nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.access import Viewer
from qanat.store.tables import ApiToken, LoginAttempt, StaffSession, StaffTotp, User

#: How long a log-in lasts: one working shift.
SESSION_LIFETIME = timedelta(hours=12)
#: Failed log-ins to one account from one address, within the window, that stop that
#: address trying that account until the window has passed. The account's owner, at
#: their own address, is not locked out by a stranger's guesses.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
#: Failures from one address, whatever the accounts, that stop the address (spraying).
ADDRESS_FAILURES = 20
#: Failures at one account from every address that stop addresses the account has never
#: signed in from (a spread-out guess at one password); known addresses still may.
ACCOUNT_FAILURES = 50
#: How far back an address counts as one the account signed in from.
KNOWN_ADDRESS_DAYS = 90
#: What an API token may be allowed: read tickets, work them, submit new ones (block
#: representatives), or send citizens' reports (the citizens' app).
TOKEN_SCOPES = ("read", "write", "submit", "app")
#: Prefix of API tokens, so a leaked one is recognisable in logs and scanners.
TOKEN_PREFIX = "qanat_"


def new_secret_token(prefix: str = "") -> str:
    """A random token with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def viewer_of(user: User, **how: Any) -> Viewer:
    """The :class:`Viewer` a staff account acts as."""
    assert user.id is not None
    return Viewer(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        department_id=user.department_id,
        block=user.block,
        language=user.language,
        **how,
    )


async def open_session(
    session: AsyncSession, *, user_id: int, now: datetime, ip: str | None, user_agent: str | None
) -> str:
    """Start a log-in for ``user_id``; returns the cookie's token (stored only as a hash)."""
    token = new_secret_token()
    session.add(
        StaffSession(
            token_hash=token_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    await session.flush()
    return token


async def session_viewer(session: AsyncSession, *, token: str, now: datetime) -> Viewer | None:
    """The member of staff a session cookie belongs to, if it is live and they are active."""
    statement = (
        select(User)
        .join(StaffSession, col(StaffSession.user_id) == col(User.id))
        .where(
            col(StaffSession.token_hash) == token_digest(token),
            col(StaffSession.revoked_at).is_(None),
            col(StaffSession.expires_at) > now,
            col(User.active).is_(True),
        )
    )
    user = (await session.execute(statement)).scalar_one_or_none()
    return viewer_of(user) if user else None


async def close_session(session: AsyncSession, *, token: str, now: datetime) -> None:
    """Log out: the cookie's session stops working at once."""
    await session.execute(
        update(StaffSession)
        .where(col(StaffSession.token_hash) == token_digest(token))
        .values(revoked_at=now)
    )


async def record_attempt(
    session: AsyncSession, *, username: str, succeeded: bool, ip: str | None, now: datetime
) -> None:
    """Remember a log-in attempt (the lock-out counts the failures)."""
    session.add(LoginAttempt(username=username, succeeded=succeeded, ip=ip, at=now))
    await session.flush()


async def locked_until(
    session: AsyncSession, *, username: str, now: datetime, ip: str | None = None
) -> datetime | None:
    """When this address may try this account again, or None if it may now.

    Failures count within :data:`LOCKOUT_WINDOW` and since the account's last successful
    log-in: :data:`LOCKOUT_FAILURES` at this account from this address, or
    :data:`ADDRESS_FAILURES` from this address at any account, or
    :data:`ACCOUNT_FAILURES` at this account from anywhere — the last only for an
    address the account has not signed in from, so its owner is never shut out.
    """
    since = now - LOCKOUT_WINDOW
    last_success = await _last_success(session, username=username)
    if last_success is not None and last_success > since:
        since = last_success
    same = col(LoginAttempt.ip) == ip if ip is not None else col(LoginAttempt.ip).is_(None)
    checks = (
        (LOCKOUT_FAILURES, [col(LoginAttempt.username) == username, same]),
        (ADDRESS_FAILURES, [same, col(LoginAttempt.at) > now - LOCKOUT_WINDOW]),
    )
    for limit, where in checks:
        until = await _failures_lock(session, since=since, limit=limit, where=where)
        if until is not None:
            return until
    if await _known_address(session, username=username, ip=ip, now=now):
        return None
    where = [col(LoginAttempt.username) == username]
    return await _failures_lock(session, since=since, limit=ACCOUNT_FAILURES, where=where)


async def _last_success(session: AsyncSession, *, username: str) -> datetime | None:
    statement = select(func.max(col(LoginAttempt.at))).where(
        col(LoginAttempt.username) == username, col(LoginAttempt.succeeded).is_(True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _failures_lock(
    session: AsyncSession, *, since: datetime, limit: int, where: list[Any]
) -> datetime | None:
    """The end of the lock when ``limit`` failures matching ``where`` came after ``since``."""
    failures = (
        await session.execute(
            select(col(LoginAttempt.at))
            .where(*where, col(LoginAttempt.succeeded).is_(False), col(LoginAttempt.at) > since)
            .order_by(col(LoginAttempt.at).desc())
            .limit(limit)
        )
    ).scalars()
    recent = list(failures)
    if len(recent) < limit:
        return None
    return min(recent) + LOCKOUT_WINDOW


async def _known_address(
    session: AsyncSession, *, username: str, ip: str | None, now: datetime
) -> bool:
    if ip is None:
        return False
    statement = select(func.count()).where(
        col(LoginAttempt.username) == username,
        col(LoginAttempt.ip) == ip,
        col(LoginAttempt.succeeded).is_(True),
        col(LoginAttempt.at) > now - timedelta(days=KNOWN_ADDRESS_DAYS),
    )
    return bool((await session.execute(statement)).scalar_one())


async def user_named(session: AsyncSession, *, username: str) -> User | None:
    """The active account with this username, if any."""
    statement = select(User).where(col(User.username) == username, col(User.active).is_(True))
    return (await session.execute(statement)).scalar_one_or_none()


async def create_api_token(
    session: AsyncSession,
    *,
    name: str,
    user_id: int,
    scopes: Iterable[str],
    created_by_id: int | None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token acting as ``user_id`` within ``scopes``; the secret is returned once."""
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in TOKEN_SCOPES]
    if unknown or not wanted:
        raise ValueError(f"scopes must be some of {', '.join(TOKEN_SCOPES)}; got {wanted}")
    secret = new_secret_token(TOKEN_PREFIX)
    token = ApiToken(
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        user_id=user_id,
        scopes=wanted,
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


#: How stale a token's "last used" may get before a request writes it again.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


async def token_viewer(
    session: AsyncSession, *, token: str, now: datetime
) -> tuple[Viewer, bool] | None:
    """Who a bearer token acts as (if known, unrevoked, unexpired, its user active), and
    whether its "last used" time is stale enough to be written again."""
    statement = (
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(
            col(ApiToken.token_hash) == token_digest(token),
            col(ApiToken.revoked_at).is_(None),
            col(User.active).is_(True),
        )
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    api_token, user = row
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    viewer = viewer_of(user, via="token", scopes=frozenset(api_token.scopes), token_id=api_token.id)
    last = api_token.last_used_at
    return viewer, last is None or now - last >= TOKEN_TOUCH_INTERVAL


async def touch_token(session: AsyncSession, *, token_id: int, now: datetime) -> None:
    """Note when a token was last used (shown to admins deciding what to revoke)."""
    await session.execute(
        update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now)
    )


async def revoke_api_token(session: AsyncSession, *, token_id: int, now: datetime) -> bool:
    """Revoke a token; False when there is no such live token."""
    result = await session.execute(
        update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def api_tokens(session: AsyncSession) -> list[dict[str, Any]]:
    """Every token (never its secret), newest first, with its user."""
    statement = (
        select(ApiToken, User.username)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .order_by(col(ApiToken.id).desc())
    )
    return [
        {
            "id": token.id,
            "name": token.name,
            "prefix": token.prefix,
            "username": username,
            "scopes": token.scopes,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        }
        for token, username in (await session.execute(statement)).all()
    ]


async def totp_of(session: AsyncSession, *, user_id: int) -> StaffTotp | None:
    """A staff member's second factor, confirmed or not."""
    return await session.get(StaffTotp, user_id)
