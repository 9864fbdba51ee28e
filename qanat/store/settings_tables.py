"""Tables of what staff keep in the inbox itself: canned replies, the routing rules'
versions, saved filters, and what accounts need (one-time reset links, recovery codes).

Registered on the same metadata as :mod:`qanat.store.tables`; the migration is
``0013_inbox_product``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from qanat.store.row import Row
from qanat.store.tables import _when


class CannedReply(Row, table=True):
    """A ready-made reply in Arabic and English; ``{reference}``, ``{name}`` and
    ``{department}`` are filled in when it is sent."""

    __tablename__ = "canned_reply"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60, unique=True, index=True)
    name_ar: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    text_ar: str = Field(sa_column=Column(Text, nullable=False))
    text_en: str = Field(sa_column=Column(Text, nullable=False))
    position: int = 0
    active: bool = True
    updated_at: datetime = _when()
    updated_by: str | None = Field(default=None, max_length=160)

    def text(self, language: str | None) -> str:
        """The reply in ``language`` (Arabic unless English)."""
        return self.text_en if language == "en" else self.text_ar

    def name(self, language: str | None) -> str:
        """The reply's name in ``language``."""
        return self.name_en if language == "en" else self.name_ar


class RulesVersion(Row, table=True):
    """One saved version of the routing rules file (the YAML text, checked before saving).

    The newest row is the rules in force; the YAML file stays the import/export format.
    """

    __tablename__ = "rules_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=20, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _when()
    created_by: str = Field(max_length=160)
    note: str | None = Field(default=None, max_length=500)


class SavedFilter(Row, table=True):
    """A view of the inbox a member of staff saved: a name and the list's query string."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_filter_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    name: str = Field(max_length=80)
    query: str = Field(max_length=2000)
    created_at: datetime = _when()


class PasswordReset(Row, table=True):
    """A one-time link an admin made so someone can set a new password; only its hash."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)


class RecoveryCode(Row, table=True):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    code_hash: str = Field(max_length=64, index=True)
    created_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)
