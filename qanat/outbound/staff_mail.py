"""Mail to staff: SLA warnings and escalations, reconciliation alerts, the daily report.

Mail leaves through the relay staff replies use: the ``smtp`` settings of the email
account named by ``QANAT_NOTIFY_ACCOUNT``, or of the first email account that has them
(``QANAT_CONNECTORS_FILE``). Without one, mail is not configured: nothing is sent, a log
line says so, and the caller's event or page in the inbox is the notice.

:func:`send_staff_mail` says what went wrong (for callers that record it, like the
reconciliation alert); :func:`notify_staff` never raises, because the alert it carries
is already recorded where staff see it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlmodel import col, select

from qanat.errors import QanatError
from qanat.store.tables import User

if TYPE_CHECKING:
    from qanat.ingest.email.connector import OutgoingMail
    from qanat.runtime import Runtime

log = logging.getLogger(__name__)


def staff_relay(runtime: Runtime) -> OutgoingMail | None:
    """The SMTP relay staff mail leaves through, or None when mail is not configured."""
    from qanat.ingest.email.connector import OutgoingMail

    wanted = runtime.settings.notify_account
    for account in runtime.accounts.get("email", []):
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


async def send_staff_mail(
    runtime: Runtime, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> int:
    """Mail staff addresses ``to`` (blanks and repeats dropped); how many it went to.

    0, with a log line, when nobody is to be told or mail is not configured. Raises
    :class:`~qanat.errors.ChannelUnavailable` when the relay can't take it now and
    :class:`~qanat.errors.BadPayload` when it refuses it.
    """
    recipients = list(dict.fromkeys(address.strip() for address in to if address.strip()))
    relay = staff_relay(runtime)
    if relay is None or not recipients:
        reason = "mail is not configured" if relay is None else "no staff address"
        log.info("staff mail %r not sent: %s", subject, reason)
        return 0
    message = compose(
        from_address=relay.from_address, to=recipients, subject=subject, text=text, html=html
    )
    await relay.sender().deliver(message, what=f"staff mail {subject!r}")
    log.info("staff mail %r sent to %d addresses", subject, len(recipients))
    return len(recipients)


async def notify_staff(
    runtime: Runtime, to: Sequence[str], subject: str, text: str, html: str | None = None
) -> bool:
    """Like :func:`send_staff_mail`, but never raises: True when the relay took the mail,
    False (and a log line saying why) otherwise."""
    try:
        return await send_staff_mail(runtime, to, subject, text, html) > 0
    except QanatError as exc:
        log.warning("staff notification not sent: %s", exc)
        return False


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
