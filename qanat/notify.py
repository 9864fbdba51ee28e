"""Mail to staff: SLA warnings and escalations, reconciliation alerts.

One function, :func:`notify_staff`. Mail leaves through the relay staff replies use:
the ``smtp`` settings of the email account named by ``QANAT_NOTIFY_ACCOUNT``, or of
the first email account that has them (``QANAT_CONNECTORS_FILE``). Without one, mail
is not configured: nothing is sent, and the caller's event in the inbox is the notice.
A mail that cannot be sent is logged, never raised: the alert it carries is already
recorded where staff see it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

import aiosmtplib
from pydantic import ValidationError

from qanat.ingest.email_connector import OutgoingMail

if TYPE_CHECKING:
    from qanat.runtime import Runtime

log = logging.getLogger(__name__)

#: Seconds to wait for the relay before giving up on one notification.
TIMEOUT_S = 20.0


def staff_relay(runtime: Runtime) -> OutgoingMail | None:
    """The SMTP relay notifications leave through, or None when mail is not configured."""
    wanted = runtime.settings.notify_account
    for account in runtime.accounts.get("email", []):
        if account.get("smtp") and (wanted is None or account.get("account") == wanted):
            try:
                return OutgoingMail.model_validate(account["smtp"])
            except ValidationError as exc:
                log.error("email account %s: bad smtp settings: %s", account.get("account"), exc)
                return None
    return None


def compose(relay: OutgoingMail, to: Sequence[str], subject: str, text: str) -> EmailMessage:
    """A plain-text notification from qanat's address (marked automatic: no auto-replies)."""
    message = EmailMessage()
    message["From"] = relay.from_address
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring="qn-notify")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message


async def notify_staff(runtime: Runtime, to: Sequence[str], subject: str, text: str) -> bool:
    """Mail ``text`` to staff addresses; True when the relay took it.

    False (and a log line saying why) when there is no address, mail is not configured,
    or the relay refused or could not be reached.
    """
    addresses = list(dict.fromkeys(a.strip() for a in to if a and a.strip()))
    relay = staff_relay(runtime)
    if not addresses or relay is None:
        reason = "no address" if not addresses else "mail is not configured"
        log.info("staff notification not mailed: %s", reason, extra={"subject": subject})
        return False
    password = relay.password.get_secret_value() if relay.password else None
    try:
        await aiosmtplib.send(
            compose(relay, addresses, subject, text),
            hostname=relay.host,
            port=relay.port,
            start_tls=relay.starttls,
            username=relay.username,
            password=password,
            timeout=TIMEOUT_S,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.error("staff notification not sent: %s", exc, extra={"subject": subject})
        return False
    return True
