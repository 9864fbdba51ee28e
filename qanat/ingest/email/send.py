"""Sending staff replies by email: composed in the citizen's language, threaded, over SMTP.

A reply carries our own Message-ID, In-Reply-To/References naming the citizen's
messages, the ticket reference in the subject (``[QN-2026-000123] Re: …``) and
Reply-To the ingest address, so the citizen's answer comes back to qanat and joins
the ticket. The wording lives in ``templates/email_reply.yaml``.
"""

from __future__ import annotations

import html
import re
import ssl
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any

import aiosmtplib
import jinja2
import nh3
import yaml
from markupsafe import Markup

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.email.headers import normalize_message_id
from qanat.model import Reply, SentReply

TEMPLATES = Path(__file__).parent / "templates" / "email_reply.yaml"

#: "Re:", "RE:", "Fwd:", "رد:" and earlier [QN-…] tags at the start of a subject.
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|رد|إعادة توجيه)\s*:|\[QN-\d{4}-\d+\])\s*", re.I)


@cache
def _wording() -> dict[str, Any]:
    loaded = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _environment(*, escape: bool) -> jinja2.Environment:
    return jinja2.Environment(autoescape=escape, undefined=jinja2.StrictUndefined)


def _phrase(template: str, **values: Any) -> str:
    return _environment(escape=False).from_string(template).render(**values).strip()


def reply_language(language: str | None) -> str:
    """The template language for a ticket's language: English or (by default) Arabic."""
    return "en" if (language or "").lower().startswith("en") else "ar"


def reply_subject(reference: str, original: str | None, language: str = "ar") -> str:
    """``[reference] Re: original``, without piling up earlier prefixes and tags."""
    base = original or ""
    while True:
        stripped = _SUBJECT_PREFIX.sub("", base, count=1)
        if stripped == base:
            break
        base = stripped
    if not base.strip():
        return f"[{reference}] {_wording()[reply_language(language)]['default_subject']}"
    return f"[{reference}] Re: {base.strip()}"


def _html_body(reply: Reply) -> Markup:
    if reply.html:
        return Markup(nh3.clean(reply.html))  # staff rich text, sanitized like citizens' mail
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", reply.text) if part.strip()]
    escaped = ["<p>" + html.escape(part).replace("\n", "<br>\n") + "</p>" for part in paragraphs]
    return Markup("\n".join(escaped))


def render_reply(reply: Reply, subject: str) -> tuple[str, str]:
    """The text and HTML bodies of ``reply`` in its language's template."""
    wording = _wording()
    language = reply_language(reply.language)
    phrases = wording[language]
    values = {
        "greeting": _phrase(phrases["greeting"], name=reply.to.name or ""),
        "closing": phrases["closing"],
        "signature": phrases["signature"],
        "reference_line": _phrase(phrases["reference_line"], reference=reply.ticket_reference),
        "reply_hint": phrases["reply_hint"],
    }
    text = _environment(escape=False).from_string(wording["layout_text"])
    page = _environment(escape=True).from_string(wording["layout_html"])
    return (
        text.render(body=reply.text.strip(), **values).strip() + "\n",
        page.render(
            body_html=_html_body(reply),
            subject=subject,
            dir=phrases["dir"],
            lang=language,
            **values,
        ),
    )


def _recipient(reply: Reply) -> Address:
    address = reply.to.email or (reply.to.handle if "@" in reply.to.handle else None)
    if not address:
        raise BadPayload(f"reply on {reply.ticket_reference}: the citizen has no email address")
    username, _, domain = address.strip().rpartition("@")
    try:
        return Address(display_name=reply.to.name or "", username=username, domain=domain)
    except (ValueError, IndexError) as exc:
        raise BadPayload(f"reply on {reply.ticket_reference}: bad address {address!r}") from exc


def compose_reply(
    reply: Reply,
    *,
    from_address: str,
    reply_to: str | None,
    domain: str,
    now: datetime | None = None,
) -> EmailMessage:
    """The email for a staff reply: threaded, referenced, bilingual text + RTL/LTR HTML.

    ``reply.in_reply_to`` lists the citizen's Message-IDs oldest first; the last is the
    one answered directly. A reply with ``metadata["automatic"]`` (a notice qanat sends by itself)
    is marked ``Auto-Submitted: auto-replied`` so other robots do not answer it.
    """
    subject = reply_subject(reply.ticket_reference, reply.subject, reply.language)
    text, page = render_reply(reply, subject)
    message = EmailMessage(policy=policy.SMTP)
    message["Message-ID"] = make_msgid(idstring="qn", domain=domain)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["From"] = from_address
    message["To"] = _recipient(reply)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    threads = [i for i in (normalize_message_id(v) for v in reply.in_reply_to) if i]
    if threads:
        message["In-Reply-To"] = threads[-1]
        message["References"] = " ".join(dict.fromkeys(threads))
    message["X-Qanat-Reference"] = reply.ticket_reference
    if reply.metadata.get("automatic"):
        message["Auto-Submitted"] = "auto-replied"
    # The encoding is left to the library: base64 for Arabic is half the size of QP.
    message.set_content(text)
    message.add_alternative(page, subtype="html")
    message["Content-Language"] = reply_language(reply.language)  # set_content clears it
    return message


class EmailSender:
    """Sends staff replies through an SMTP relay (the body's mail server).

    Bounces come back to ``bounce_address`` (default: the Reply-To, i.e. the ingest
    address) so qanat reads them and records the delivery failure on the ticket.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        *,
        from_address: str,
        reply_to: str | None = None,
        domain: str | None = None,
        bounce_address: str | None = None,
        use_tls: bool = False,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.starttls, self.use_tls, self.tls_context = starttls, use_tls, tls_context
        self.username, self.password = username, password
        self.from_address = from_address
        self.reply_to = reply_to
        sender = parseaddr(from_address)[1]
        self.domain = domain or sender.rpartition("@")[2] or "localhost"
        self.bounce_address = bounce_address or parseaddr(reply_to or "")[1] or sender
        self.timeout = timeout

    async def send(self, reply: Reply) -> SentReply:
        """Send ``reply``; its Message-ID is the external id of the outbound message.

        Raises :class:`ChannelUnavailable` when the relay cannot take it now (retry
        later) and :class:`BadPayload` when it refuses it for good (5xx).
        """
        message = compose_reply(
            reply, from_address=self.from_address, reply_to=self.reply_to, domain=self.domain
        )
        response = await self.deliver(message, what=f"reply on {reply.ticket_reference}")
        return SentReply(
            external_id=str(message["Message-ID"]),
            raw=message.as_bytes(),
            metadata={"smtp_response": response, "to": str(message["To"])},
        )

    async def deliver(self, message: EmailMessage, *, what: str) -> str:
        """Hand a composed message to the relay; its answer. ``what`` names it in errors.

        Raises :class:`ChannelUnavailable` (try later) or :class:`BadPayload` (refused).
        """
        try:
            _, response = await aiosmtplib.send(
                message,
                sender=self.bounce_address,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.starttls,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _classify(exc, what) from exc
        except OSError as exc:
            raise ChannelUnavailable(f"SMTP relay {self.host}:{self.port}: {exc}") from exc
        return str(response)


def _classify(exc: aiosmtplib.SMTPException, what: str) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        codes = [exc.code]
    else:
        codes = []
    if codes and all(code >= 500 for code in codes):
        return BadPayload(f"{what} refused by the mail server: {exc}")
    return ChannelUnavailable(f"{what} not sent, will retry: {exc}")
