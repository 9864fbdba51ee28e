"""Mail written by machines: auto-replies (out of office) and delivery reports (bounces).

Neither opens a ticket. A bounce of one of our replies names the reply it returns
(its Message-ID and ticket reference) so the pipeline records the delivery failure on
that ticket. Pure functions used by :mod:`qanat.ingest.email.mime`.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from typing import Any

from qanat.ingest.email.headers import header_text, normalize_message_id
from qanat.ingest.email.text import decode_text

#: Subjects of out-of-office replies in the languages qanat's citizens write.
_AUTO_SUBJECT = re.compile(
    r"automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office|"
    r"رد تلقائي|الرد التلقائي|رد آلي|خارج المكتب",
    re.I,
)
_REFERENCE = re.compile(r"\bQN-\d{4}-\d{1,6}\b", re.I)


def auto_reply_reason(message: Message, subject: str | None, defects: list[str]) -> str | None:
    """Why this message was written by a robot (RFC 3834 and common practice), or None."""
    auto_submitted = (header_text(message, "Auto-Submitted", defects) or "").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if header_text(message, name, defects) is not None:
            return f"{name} header"
    precedence = (header_text(message, "Precedence", defects) or "").lower()
    if precedence in ("bulk", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if subject and _AUTO_SUBJECT.search(subject):
        return "out-of-office subject"
    return None


def bounce_details(
    message: Message, delivery_status: Message | None, original: Message | None
) -> dict[str, Any] | None:
    """For a delivery report (RFC 3464), the failed recipient and the message returned.

    ``delivery_status`` is the report's ``message/delivery-status`` part; ``original``
    the returned message or its headers. None when ``message`` is not a delivery report.
    """
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    recipient = _recipient_fields(delivery_status)
    original_id = None
    reference = None
    if original is not None:
        original_id = normalize_message_id(header_text(original, "Message-ID", []))
        subject = header_text(original, "Subject", []) or ""
        reference = header_text(original, "X-Qanat-Reference", []) or next(
            iter(_REFERENCE.findall(subject)), None
        )
    final = recipient.get("final-recipient", "")
    return {
        "status": recipient.get("status"),
        "action": (recipient.get("action") or "").lower() or None,
        "final_recipient": final.split(";", 1)[-1].strip() or None,
        "diagnostic": recipient.get("diagnostic-code"),
        "original_message_id": original_id,
        "ticket_reference": reference.upper() if reference else None,
    }


def _recipient_fields(part: Message | None) -> dict[str, str]:
    """The per-recipient fields of a delivery-status part (the failed one first)."""
    if part is None:
        return {}
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [block for block in payload if isinstance(block, Message)]
    else:  # an encoded delivery-status part: split its decoded text into blocks
        data = part.get_payload(decode=True)
        text = decode_text(data if isinstance(data, bytes) else b"", "us-ascii")[0]
        blocks = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n\r?\n", text)]
    recipients = [
        {key.lower(): " ".join(str(value).split()) for key, value in block.items()}
        for block in blocks
        if block.get("Final-Recipient") or block.get("Original-Recipient")
    ]
    failed = [fields for fields in recipients if fields.get("action", "").lower() == "failed"]
    return (failed or recipients or [{}])[0]
