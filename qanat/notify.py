"""Mail to staff: alerts, escalations and reports, through the body's outbound SMTP server.

Outbound mail is configured once, on an email account in ``QANAT_CONNECTORS_FILE``
(its ``smtp:`` block, the one staff replies leave through). Without one, nothing is
sent and a log line says so: a body that hasn't set up mail still gets its ledger,
metrics and reports in the inbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from qanat.store.tables import User

if TYPE_CHECKING:
    from qanat.ingest.email_connector import OutgoingMail
    from qanat.runtime import Runtime

log = logging.getLogger(__name__)


def outgoing_mail(accounts: dict[str, list[dict[str, Any]]]) -> OutgoingMail | None:
    """The first email account's outbound server, or None when mail isn't configured."""
    from qanat.ingest.email_connector import OutgoingMail

    for entry in accounts.get("email", []):
        if entry.get("smtp"):
            return OutgoingMail.model_validate(entry["smtp"])
    return None


def compose_notice(
    *, from_address: str, to: Sequence[str], subject: str, text: str, html: str | None
) -> EmailMessage:
    """A message from qanat to staff, marked as automatic so nobody's robot answers it."""
    message = EmailMessage(policy=policy.SMTP)
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring="qn-notice", domain=domain)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["From"] = from_address
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def notify_staff(
    runtime: Runtime, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> None:
    """Mail ``subject`` to staff addresses ``to`` through the configured outbound server.

    A no-op with a log line when mail isn't configured or nobody is to be told. Raises
    :class:`~qanat.errors.ChannelUnavailable` when the server can't take it now and
    :class:`~qanat.errors.BadPayload` when it refuses it.
    """
    recipients = list(dict.fromkeys(address.strip() for address in to if address.strip()))
    outgoing = outgoing_mail(runtime.accounts)
    if outgoing is None:
        log.info("mail is not configured: %r not sent", subject)
        return
    if not recipients:
        log.info("no staff address to send %r to", subject)
        return
    message = compose_notice(
        from_address=outgoing.from_address, to=recipients, subject=subject, text=text, html=html
    )
    await outgoing.sender().deliver(message, what=f"staff mail {subject!r}")
    log.info("staff mail %r sent to %d addresses", subject, len(recipients))


async def staff_addresses(runtime: Runtime, *roles: str) -> list[str]:
    """The email addresses of active staff in ``roles`` (those who gave one)."""
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(User.email)
            .where(
                col(User.active).is_(True),
                col(User.role).in_(roles),
                col(User.email).is_not(None),
            )
            .order_by(col(User.username))
        )
        return [address for address in rows.scalars() if address]
