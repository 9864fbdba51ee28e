"""Staff replies by email, captured by a second SMTP server playing the outside world."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.email.mime import parse_email
from qanat.ingest.email.send import (
    EmailSender,
    compose_reply,
    reply_subject,
)
from qanat.model import Reply, Sender
from qanat.store.notices import DEFAULTS, render
from tests.support.mail_server import OutsideWorld, mail_server

OFFICE = "مكتب الشكاوى <complaints@qanat.example>"
INGEST = "complaints@qanat.example"
CITIZEN_MESSAGES = [
    "<DB9P191MB1658A2C4E1F0B2D9C3E4B7A1C1A52@DB9P191MB1658.EURP191.PROD.OUTLOOK.COM>",
    "<DB9P191MB16583F1E2D7A9B0C1D2E3F4A5C1A52@DB9P191MB1658.EURP191.PROD.OUTLOOK.COM>",
]


def staff_reply(**changes: object) -> Reply:
    """A reply to Ahmed's sewage complaint."""
    values: dict[str, object] = {
        "ticket_reference": "QN-2026-000123",
        "channel": "email",
        "to": Sender(
            handle="ahmed.khalifa87@hotmail.com",
            email="ahmed.khalifa87@hotmail.com",
            name="أحمد خليفة",
        ),
        "text": "تم إرسال فريق الصرف الصحي صباح اليوم.\n"
        "سيتم شفط المياه خلال ساعتين <script>x</script>",
        "subject": "RE: [QN-2026-000123] Re: طفح مجاري في مجمع 305",
        "language": "ar",
        "in_reply_to": CITIZEN_MESSAGES,
    }
    return Reply.model_validate(values | changes)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a composed (or received) reply."""
    text = message.get_body(preferencelist=("plain",))
    page = message.get_body(preferencelist=("html",))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


def test_arabic_reply_is_threaded_referenced_and_right_to_left() -> None:
    message = compose_reply(
        staff_reply(),
        from_address=OFFICE,
        reply_to=INGEST,
        domain="qanat.example",
        now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    assert str(message["Message-ID"]).endswith("@qanat.example>")
    assert message["In-Reply-To"] == CITIZEN_MESSAGES[-1]
    assert message["References"] == " ".join(CITIZEN_MESSAGES)
    assert message["Subject"] == "[QN-2026-000123] Re: طفح مجاري في مجمع 305"
    assert message["Reply-To"] == INGEST
    assert message["To"].addresses[0].display_name == "أحمد خليفة"
    assert message["X-Qanat-Reference"] == "QN-2026-000123"
    assert message["Content-Language"] == "ar"
    assert message["Auto-Submitted"] is None
    text, page = parts(message)
    assert "السيد/السيدة أحمد خليفة،" in text
    assert "تم إرسال فريق الصرف الصحي صباح اليوم." in text
    assert "رقم البلاغ: QN-2026-000123" in text
    assert '<html dir="rtl" lang="ar">' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "صباح اليوم.<br>" in page


def test_english_reply_is_left_to_right() -> None:
    reply = staff_reply(language="en", text="A crew was sent this morning.", subject=None)
    message = compose_reply(reply, from_address=OFFICE, reply_to=INGEST, domain="qanat.example")
    text, page = parts(message)
    assert '<html dir="ltr" lang="en">' in page
    assert text.startswith("Dear أحمد خليفة,")
    assert "Reference: QN-2026-000123" in text
    assert message["Subject"] == "[QN-2026-000123] About your report"


def test_subject_prefixes_do_not_pile_up() -> None:
    assert reply_subject("QN-2026-000123", "Re: RE: [QN-2026-000123] Fwd: Pothole") == (
        "[QN-2026-000123] Re: Pothole"
    )
    assert reply_subject("QN-2026-000123", "رد: حفرة") == "[QN-2026-000123] Re: حفرة"
    assert reply_subject("QN-2026-000123", "  ", "ar") == "[QN-2026-000123] بخصوص بلاغكم"


def test_automatic_acknowledgement_is_marked_and_read_back_as_automatic() -> None:
    text = render(DEFAULTS["ack"]["ar"], {"reference": "QN-2026-000124"})
    reply = staff_reply(text=text, metadata={"automatic": True}, in_reply_to=[])
    message = compose_reply(reply, from_address=OFFICE, reply_to=INGEST, domain="qanat.example")
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] is None
    read_back = parse_email(message.as_bytes(), account="loop-check")
    assert read_back.metadata["auto_reply"] is True  # our own robot mail never opens a ticket
    assert "QN-2026-000124" in read_back.text


def test_a_citizen_without_email_cannot_be_written_to() -> None:
    reply = staff_reply(to=Sender(handle="+97333123456", phone="+97333123456"))
    with pytest.raises(BadPayload, match="no email address"):
        compose_reply(reply, from_address=OFFICE, reply_to=INGEST, domain="qanat.example")


@pytest.fixture
async def outside() -> AsyncIterator[tuple[OutsideWorld, int]]:
    """The outside world's SMTP server on a free port of 127.0.0.1."""
    async with mail_server("mx.hotmail.example") as running:
        yield running


def sender(port: int) -> EmailSender:
    """A sender through the test relay, without TLS."""
    return EmailSender(
        "127.0.0.1", port, starttls=False, from_address=OFFICE, reply_to=INGEST, timeout=5
    )


async def test_reply_arrives_with_threading_headers_and_rtl_html(
    outside: tuple[OutsideWorld, int],
) -> None:
    world, port = outside
    sent = await sender(port).send(staff_reply())
    [(mail_from, rcpt_to, raw)] = world.received
    assert mail_from == INGEST  # bounces come back to the ingest address
    assert rcpt_to == ["ahmed.khalifa87@hotmail.com"]
    arrived = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(arrived, EmailMessage)
    assert arrived["Message-ID"] == sent.external_id
    assert arrived["In-Reply-To"] == CITIZEN_MESSAGES[-1]
    assert arrived["References"] == " ".join(CITIZEN_MESSAGES)
    assert arrived["Subject"] == "[QN-2026-000123] Re: طفح مجاري في مجمع 305"
    assert arrived["Reply-To"] == INGEST
    text, page = parts(arrived)
    assert '<html dir="rtl" lang="ar">' in page
    assert "سيتم شفط المياه خلال ساعتين" in text
    assert sent.metadata["to"].endswith("<ahmed.khalifa87@hotmail.com>")
    assert sent.raw.startswith(b"Message-ID: ")


async def test_a_bounce_of_the_reply_names_it(outside: tuple[OutsideWorld, int]) -> None:
    world, port = outside
    sent = await sender(port).send(staff_reply())
    headers = world.received[0][2].split(b"\r\n\r\n", 1)[0]
    dsn = (
        b"From: MAILER-DAEMON@mx.hotmail.example\r\nTo: complaints@qanat.example\r\n"
        b"Subject: Undeliverable\r\nMessage-ID: <dsn.1@mx.hotmail.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        b' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nMailbox full.\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; ahmed.khalifa87@hotmail.com\r\nAction: failed\r\n"
        b"Status: 5.2.2\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + headers
        + b"\r\n\r\n--b--\r\n"
    )
    bounce = parse_email(dsn, account="mx").metadata["bounce"]
    assert bounce["original_message_id"] == sent.external_id
    assert bounce["ticket_reference"] == "QN-2026-000123"
    assert bounce["status"] == "5.2.2"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("550 5.1.1 No such user", BadPayload),
        ("452 4.2.2 Mailbox full, try later", ChannelUnavailable),
    ],
)
async def test_refusals_are_told_apart(
    outside: tuple[OutsideWorld, int], answer: str, error: type[Exception]
) -> None:
    world, port = outside
    world.rcpt_answer = answer
    with pytest.raises(error, match="QN-2026-000123"):
        await sender(port).send(staff_reply())
    assert world.received == []


async def test_an_unreachable_relay_means_try_later() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = int(probe.getsockname()[1])
    with pytest.raises(ChannelUnavailable):
        await sender(closed).send(staff_reply())
