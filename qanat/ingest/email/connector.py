"""The email connector: an IMAP mailbox polled, replies sent over SMTP.

IMAP must flag or move a message only after it is committed, so this connector polls
by itself (``poll_once``: save, then acknowledge, then advance the UID watermark) rather
than yielding items for qanat's generic loop. Mail sent to qanat's own SMTP listener
(``qanat smtp``, or ``qanat serve`` with ``QANAT_SMTP_DOMAINS``) needs no account here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from qanat import __version__
from qanat.errors import BadPayload
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    PollReport,
    Pulled,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.email.imap import ImapMailbox, ImapPoller
from qanat.ingest.email.send import EmailSender
from qanat.model import Inbound, Reply, SentReply

CHANNEL = "email"


class OutgoingMail(BaseModel):
    """The SMTP server replies leave through."""

    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    reply_to: str | None = None

    def sender(self) -> EmailSender:
        """What sends mail through this server."""
        return EmailSender(
            self.host,
            self.port,
            self.starttls,
            self.username,
            self.password.get_secret_value() if self.password else None,
            from_address=self.from_address,
            reply_to=self.reply_to,
        )


class EmailAccount(BaseModel):
    """One mailbox: where complaints arrive (IMAP) and how replies leave (SMTP)."""

    model_config = ConfigDict(extra="forbid")

    account: str
    imap: dict[str, Any] | None = Field(default=None, description="ImapMailbox settings")
    smtp: OutgoingMail | None = None

    def mailbox(self) -> ImapMailbox | None:
        """The IMAP settings, validated, with this account's name."""
        if self.imap is None:
            return None
        return ImapMailbox.model_validate({**self.imap, "account": self.account})


class EmailConnector:
    """One email account."""

    def __init__(self, context: ConnectorContext) -> None:
        assert isinstance(context.config, EmailAccount)
        self.context = context
        self.config: EmailAccount = context.config
        mailbox = self.config.mailbox()
        self.poller = (
            ImapPoller(mailbox, context.intake, context.cursors, context.clock) if mailbox else None
        )

    async def poll_once(self) -> PollReport | None:
        """Fetch what arrived, save it, then flag or move it and advance the watermark."""
        if self.poller is None:
            return None
        polled = await self.poller.poll_once()
        if polled.error:
            await self.context.health.failure(CHANNEL, self.context.account, polled.error)
        else:
            await self.context.health.success(CHANNEL, self.context.account)
        return PollReport(
            CHANNEL,
            self.context.account,
            saved=polled.saved,
            already_known=polled.duplicates,
            dead_lettered=polled.dead_lettered,
            error=polled.error,
        )

    async def close(self) -> None:
        """Log out of the mailbox."""
        if self.poller is not None:
            await self.poller.close()

    async def send(self, reply: Reply) -> SentReply:
        """Send a staff reply, threaded under the citizen's message."""
        outgoing = self.config.smtp
        if outgoing is None:
            raise BadPayload(f"email account {self.context.account!r} has no smtp settings")
        return await outgoing.sender().send(reply)

    async def list_since(self, since: datetime) -> list[str]:
        """Message-IDs in the mailbox since a date (for the nightly gap check)."""
        return await self.poller.list_since(since) if self.poller else []

    async def _rescan(self) -> AsyncIterator[Inbound]:
        # Missing messages are saved by a full re-scan through the normal intake;
        # idempotent saves make it safe. Nothing is yielded: it is already stored.
        await self.context.cursors.put(CHANNEL, self.context.account, {})
        await self.poll_once()
        for _ in ():
            yield _

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """Recover missing messages by re-scanning the mailbox."""
        return self._rescan()

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """Email arrives by IMAP or SMTP, not by webhook."""
        raise NotImplementedError

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """Not used: see :meth:`poll_once`."""
        raise NotImplementedError


SPEC = ConnectorSpec(
    name=CHANNEL,
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset({"receive", "send", "attachments", "list", "poll"}),
    config_model=EmailAccount,
    build=EmailConnector,
    description="Email: IMAP mailboxes polled, replies over SMTP (qanat smtp listens too)",
    secret_fields=frozenset({"imap", "smtp"}),
)


def smtp_options(settings: Any) -> dict[str, Any]:
    """The SMTP listener's options from the settings (``qanat smtp`` and ``qanat serve``)."""
    from qanat.ingest.email.smtp import tls_context

    tls = None
    if settings.smtp_tls_cert:
        key = str(settings.smtp_tls_key) if settings.smtp_tls_key else None
        tls = tls_context(str(settings.smtp_tls_cert), key)
    return {
        "domains": settings.smtp_domain_set(),
        "data_size_limit": settings.smtp_max_bytes,
        "attachment_max_bytes": settings.attachment_max_bytes,
        "tls": tls,
    }
