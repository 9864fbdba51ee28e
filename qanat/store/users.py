"""Staff accounts in the store."""

from __future__ import annotations

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
