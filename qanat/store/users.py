"""Staff accounts in the store."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from qanat.auth import hash_password
from qanat.store import queries
from qanat.store.db import Database
from qanat.store.tables import User


async def add_user(
    db: Database,
    *,
    username: str,
    role: str,
    display_name: str,
    password: str,
    department: str | None = None,
    block: str | None = None,
    email: str | None = None,
) -> str:
    """Create a staff account; raises ``ValueError`` for a taken name or unknown department."""
    async with db.writing() as session:
        taken = await session.execute(select(User.id).where(col(User.username) == username))
        if taken.scalar_one_or_none() is not None:
            raise ValueError(f"user {username!r} already exists")
        department_id = None
        if department is not None:
            department_id = (await queries.department_ids(session)).get(department)
            if department_id is None:
                raise ValueError(f"no department with code {department!r}")
        session.add(
            User(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                department_id=department_id,
                block=block,
                email=email,
            )
        )
    return f"Added {role} {username!r}."


#: Languages staff can be given tickets in (the inbox's two languages).
LANGUAGES = ("ar", "en")


async def set_work_details(
    db: Database,
    *,
    username: str,
    languages: list[str] | None = None,
    shift: str | None = None,
    away_until: datetime | None = None,
    back: bool = False,
    email: str | None = None,
) -> str:
    """Change how tickets reach a member of staff: the languages they handle, their shift
    (``HH:MM-HH:MM``, checked by the caller; ``""`` clears it), an absence, their email.
    ``ValueError`` names what is wrong."""
    if languages is not None and (not languages or set(languages) - set(LANGUAGES)):
        raise ValueError(f"languages: choose from {', '.join(LANGUAGES)}, like ar,en")
    async with db.writing() as session:
        user = (
            await session.execute(select(User).where(col(User.username) == username))
        ).scalar_one_or_none()
        if user is None:
            raise ValueError(f"no member of staff {username!r}")
        if languages is not None:
            user.languages = list(dict.fromkeys(languages))
        if shift is not None:
            user.shift = shift or None
        if away_until is not None or back:
            user.away_until = None if back else away_until
        if email is not None:
            user.email = email or None
        return _describe(user)


def _describe(user: User) -> str:
    away = f", away until {user.away_until.isoformat()}" if user.away_until else ""
    return (
        f"{user.username}: languages {','.join(user.languages)}, "
        f"shift {user.shift or 'any time'}{away}, email {user.email or '-'}"
    )
