"""An X account's settings, its stored watermarks, and the rate-limit pause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from qanat.errors import ChannelUnavailable


class XAccount(BaseModel):
    """One X account qanat reads and answers for."""

    model_config = ConfigDict(extra="forbid")

    account: str
    user_id: str = Field(pattern=r"^\d+$", description="The account's numeric X user id.")
    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    mentions: bool = True
    direct_messages: bool = True
    max_pages: int = Field(default=10, ge=1, description="Pages per poll (X pages back 800).")
    dm_thread_days: float = Field(default=7, gt=0, description="A DM within this continues.")

    @property
    def user_auth(self) -> bool:
        """True with OAuth 1.0a user context (needed for DMs and posting)."""
        keys = (self.consumer_key, self.consumer_secret, self.access_token)
        return all(key is not None for key in (*keys, self.access_token_secret))

    @model_validator(mode="after")
    def _credentials_fit(self) -> XAccount:
        keys = (self.consumer_key, self.consumer_secret, self.access_token)
        given = [key is not None for key in (*keys, self.access_token_secret)]
        if any(given) and not all(given):
            raise ValueError("OAuth 1.0a needs all four keys: consumer and access, key and secret")
        if self.direct_messages and not self.user_auth:
            raise ValueError("reading DMs needs the OAuth 1.0a keys (or direct_messages: false)")
        if not self.user_auth and self.bearer_token is None:
            raise ValueError("give a bearer_token or the OAuth 1.0a keys")
        return self


class RateLimited(ChannelUnavailable):
    """X answered 429: nothing more until ``reset_at``."""

    def __init__(self, reset_at: datetime) -> None:
        super().__init__(f"X rate limit reached; polling paused until {reset_at.isoformat()}")
        self.reset_at = reset_at


@dataclass
class XCursor:
    """The watermarks of one account, and the end of a rate-limit pause."""

    mentions_since_id: str | None = None
    dm_since_id: str | None = None
    paused_until: datetime | None = None

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> XCursor:
        """Read a stored cursor (None before the first poll)."""
        value = value or {}
        paused = value.get("paused_until")
        return cls(
            mentions_since_id=value.get("mentions_since_id"),
            dm_since_id=value.get("dm_since_id"),
            paused_until=datetime.fromisoformat(paused) if paused else None,
        )

    def value(self) -> dict[str, Any]:
        """What to store."""
        stored: dict[str, Any] = {
            "mentions_since_id": self.mentions_since_id,
            "dm_since_id": self.dm_since_id,
        }
        if self.paused_until is not None:
            stored["paused_until"] = self.paused_until.isoformat()
        return stored
