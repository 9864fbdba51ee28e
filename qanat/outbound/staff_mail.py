"""Mail to staff: SLA warnings and escalations, reconciliation alerts, the daily report.

Mail leaves through the relay staff replies use: the ``smtp`` settings of the email
account named by ``QANAT_NOTIFY_ACCOUNT``, or of the first email account that has them
(``QANAT_CONNECTORS_FILE``). Without one, mail is not configured: nothing is sent, a log
line says so, and the caller's event or page in the inbox is the notice.

Mail is queued (:func:`queue_staff_mail`) and sent by a job (:func:`deliver_staff_mail`)
that tries again, with a back-off, while the relay is unreachable or answers "try
later", up to ``QANAT_SEND_ATTEMPTS`` times; a refusal ends it at once. Either way the
log says so. :func:`notify_staff` never raises, because the alert it carries is already
recorded where staff see it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.ingest.email.connector import OutgoingMail
from qanat.outbound.deps import SEND_STAFF_MAIL, Delivery, OutboundDeps
from qanat.store.db import Database
from qanat.store.tables import User

log = logging.getLogger(__name__)


def staff_relay(
    accounts: Mapping[str, list[dict[str, Any]]], notify_account: str | None = None
) -> OutgoingMail | None:
    """The SMTP relay staff mail leaves through (the email account ``notify_account``, or
    the first with ``smtp`` settings), or None when mail is not configured."""
    wanted = notify_account
    for account in accounts.get("email", []):
        if account.get("smtp") and (wanted is None or account.get("account") == wanted):
            try:
                return OutgoingMail.model_validate(account["smtp"])
            except ValidationError as exc:
                log.error("email account %s: bad smtp settings: %s", account.get("account"), exc)
                return None
    return None


def compose(
    *, from_address: str, to: Sequence[str], subject: str, text: str, html: str | None = None
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


def recipients_of(to: Sequence[str]) -> list[str]:
    """The addresses to write to: blanks and repeats dropped, order kept."""
    return list(dict.fromkeys(address.strip() for address in to if address.strip()))


async def send_staff_mail(
    relay: OutgoingMail, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> None:
    """Hand one message to the relay now. Raises
    :class:`~qanat.errors.ChannelUnavailable` when the relay can't take it now and
    :class:`~qanat.errors.BadPayload` when it refuses it."""
    message = compose(from_address=relay.from_address, to=to, subject=subject, text=text, html=html)
    await relay.sender().deliver(message, what=f"staff mail {subject!r}")


async def queue_staff_mail(
    deps: OutboundDeps, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> int:
    """Queue mail to staff addresses ``to``; how many it is for.

    0, with a log line, when nobody is to be told or mail is not configured. Raises when
    the queue cannot take it (the caller records that).
    """
    recipients = recipients_of(to)
    if staff_relay(deps.accounts, deps.settings.notify_account) is None:
        log.info("staff mail %r not sent: mail is not configured", subject)
        return 0
    if not recipients:
        log.info("staff mail %r not sent: no staff address", subject)
        return 0
    await deps.queue.enqueue(SEND_STAFF_MAIL, recipients, subject, text, html)
    return len(recipients)


async def deliver_staff_mail(
    deps: OutboundDeps,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    attempt: int = 1,
) -> Delivery:
    """The job: send one queued staff mail; ``retry`` while the relay says "later" and
    tries are left."""
    relay = staff_relay(deps.accounts, deps.settings.notify_account)
    if relay is None:
        log.info("staff mail %r not sent: mail is not configured", subject)
        return Delivery.skipped
    try:
        await send_staff_mail(relay, to, subject, text, html)
    except BadPayload as exc:
        log.warning("staff mail %r not sent: %s", subject, exc)
        return Delivery.failed
    except Exception as exc:  # unreachable, "try later", a timeout: a passing reason
        if attempt < deps.settings.send_attempts:
            log.info("staff mail %r: try %d failed, will retry: %s", subject, attempt, exc)
            return Delivery.retry
        log.warning("staff mail %r not sent after %d tries: %s", subject, attempt, exc)
        return Delivery.failed
    log.info("staff mail %r sent to %d addresses", subject, len(to))
    return Delivery.sent


async def notify_staff(
    deps: OutboundDeps, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> bool:
    """Like :func:`queue_staff_mail`, but never raises: True when the mail was queued,
    False (and a log line saying why) otherwise."""
    try:
        return await queue_staff_mail(deps, to, subject, text, html) > 0
    except Exception as exc:
        log.warning("staff notification not queued: %s", type(exc).__name__)
        return False


async def staff_addresses(db: Database, *roles: str) -> list[str]:
    """The email addresses of active staff in ``roles`` (those who gave one)."""
    async with db.session() as session:
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
