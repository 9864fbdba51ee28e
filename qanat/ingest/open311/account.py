"""An upstream (or partner) Open311 system's settings, and the poll's watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: How far back a poll reads again, so a request whose update was stamped a little before
#: the last one seen (another server's clock, a slow transaction) is not missed.
OVERLAP = timedelta(minutes=5)


class UpdatesStyle(BaseModel):
    """How status goes back: the GeoReport v2 updates extension (``POST
    servicerequestupdates``), a configurable POST (``url``, ``{service_request_id}`` filled
    in), or ``none``."""

    model_config = ConfigDict(extra="forbid")

    style: Literal["servicerequestupdates", "post", "none"] = "servicerequestupdates"
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("the updates url must be an http or https address")
        return value


class Open311Account(BaseModel):
    """One Open311 GeoReport v2 system qanat exchanges service requests with."""

    model_config = ConfigDict(extra="forbid")

    account: str
    endpoint: str = Field(description="The GeoReport v2 base, like https://host/open311/v2")
    api_key: SecretStr | None = None
    jurisdiction_id: str | None = None
    #: Pull this system's requests (an upstream); False: only forward to it.
    poll: bool = True
    #: Staff may forward tickets that belong to this body to it.
    forward: bool = False
    updates: UpdatesStyle = Field(default_factory=UpdatesStyle)
    #: Only these service codes are pulled (empty: all).
    service_codes: list[str] = Field(default_factory=list)
    #: qanat category → this system's service code, when forwarding (else the category).
    forward_codes: dict[str, str] = Field(default_factory=dict)
    #: Forwarded requests carry the citizen's name, phone and email only when True.
    share_contact: bool = False
    first_days: float = Field(default=1, gt=0, description="The first poll reads this far back.")
    page_size: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=20, ge=1)

    @field_validator("endpoint")
    @classmethod
    def _base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the endpoint must be an http or https address")
        return value.rstrip("/")

    def key(self) -> str | None:
        """The API key, when one is configured."""
        return self.api_key.get_secret_value() if self.api_key is not None else None


@dataclass
class Watermark:
    """Where a poll stands: the latest upstream change qanat holds. A poll reads from a
    little before it (:data:`OVERLAP`); what it reads again unchanged is skipped by its
    text (the intake's ``stored_texts``), so nothing is kept per request here."""

    updated_after: datetime

    @classmethod
    def of(cls, value: dict[str, Any] | None, *, first: datetime) -> Watermark:
        """The stored watermark, or one starting at ``first``."""
        if not value or "updated_after" not in value:
            return cls(first)
        return cls(datetime.fromisoformat(value["updated_after"]))

    def value(self) -> dict[str, Any]:
        """As stored in the cursor table."""
        return {"updated_after": self.updated_after.isoformat()}

    def read_from(self) -> datetime:
        """The ``updated_after`` to ask for: the mark, less the overlap."""
        return self.updated_after - OVERLAP

    def advance(self, stamp: datetime) -> None:
        """The mark moves to the latest change seen."""
        self.updated_after = max(self.updated_after, stamp)
