"""Email through the whole product: SMTP and IMAP into tickets, replies out, on the store."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import uuid
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from imapclient import IMAPClient
from sqlalchemy import select

from qanat.ingest.base import ConnectorContext
from qanat.ingest.email.connector import SPEC, EmailConnector, smtp_options
from qanat.ingest.email.smtp import serve_smtp
from qanat.ingest.registry import account_config
from qanat.model import Reply, Sender
from qanat.runtime import Runtime
from qanat.store.tables import ContactIdentity, Message, Ticket
from tests.support.dovecot import Dovecot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"


def crlf(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def rows(runtime: Runtime, table: type) -> list:  # type: ignore[type-arg]
    async with runtime.db.session() as session:
        return list((await session.execute(select(table))).scalars())


def send(port: int, raw: bytes, sender: str, to: str = "complaints@qanat.example") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [to], raw)


async def test_mail_to_our_domain_becomes_a_ticket_and_a_reply_joins_it(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"smtp_domains": "qanat.example"})
    port = free_port()
    server = await serve_smtp(runtime.intake, "127.0.0.1", port, **smtp_options(runtime.settings))
    try:
        first = crlf("arabic_utf8_base64.eml")
        await asyncio.to_thread(send, port, first, "mariam.hasan.bh@gmail.com")
        message_id = message_from_bytes(first, policy=policy.default)["Message-ID"]
        follow_up = (
            f"From: Mariam <mariam.hasan.bh@gmail.com>\r\nTo: complaints@qanat.example\r\n"
            f"Subject: Re: followup\r\nMessage-ID: <{uuid.uuid4()}@mail.gmail.com>\r\n"
            f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        ).encode() + "للحين ما تصلحت".encode()
        await asyncio.to_thread(send, port, follow_up, "mariam.hasan.bh@gmail.com")
        await asyncio.to_thread(send, port, crlf("auto_reply_out_of_office.eml"), "x@y.example")
    finally:
        server.close()
    messages = await rows(runtime, Message)
    [ticket] = await rows(runtime, Ticket)
    assert len(messages) == 3
    assert [m.ticket_id for m in messages[:2]] == [ticket.id, ticket.id]
    assert messages[2].state == "ignored" and messages[2].state_reason == "automatic reply"
    identities = {(i.kind, i.value) for i in await rows(runtime, ContactIdentity)}
    assert ("email", "mariam.hasan.bh@gmail.com") in identities
    assert any("\u0600" <= ch <= "\u06ff" for ch in messages[0].text)


async def test_a_staff_reply_leaves_threaded_with_rtl_html(runtime: Runtime) -> None:
    captured: list[bytes] = []

    class OutsideWorld:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            captured.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    outside = Controller(OutsideWorld(), hostname="127.0.0.1", port=port)
    outside.start()
    try:
        config = account_config(
            SPEC,
            {
                "account": "complaints",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": port,
                    "starttls": False,
                    "from_address": "complaints@qanat.example",
                },
            },
        )
        connector = EmailConnector(
            ConnectorContext(
                channel="email",
                account="complaints",
                config=config,
                intake=runtime.intake,
                cursors=runtime.cursors,
                health=runtime.health,
                http=runtime.connectors.http,
                clock=lambda: None,  # type: ignore[arg-type,return-value]
            )
        )
        sent = await connector.send(
            Reply(
                ticket_reference="QN-2026-000007",
                channel="email",
                account="complaints",
                to=Sender(handle="mariam.hasan.bh@gmail.com", email="mariam.hasan.bh@gmail.com"),
                text="تم إصلاح الإنارة، شكراً لتواصلكم",
                subject="إنارة الشارع مطفأة",
                language="ar",
                in_reply_to=["<CAJx8Rt2o@mail.gmail.com>"],
            )
        )
    finally:
        outside.stop()
    [raw] = captured
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["In-Reply-To"] == "<CAJx8Rt2o@mail.gmail.com>"
    assert "[QN-2026-000007]" in mail["Subject"] and mail["Message-ID"] == sent.external_id
    html = mail.get_body(("html",))
    assert html is not None and 'dir="rtl"' in html.get_content()


async def test_imap_mail_is_polled_into_tickets_once(runtime: Runtime, dovecot: Dovecot) -> None:
    folder = f"e2e-{uuid.uuid4().hex[:8]}"
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as admin:
        admin.login(dovecot.username, dovecot.password)
        admin.create_folder(folder)
        admin.append(folder, crlf("arabic_windows1256_quoted_printable.eml"))
        admin.append(folder, crlf("attachment_rfc2231_arabic_filename.eml"))
    config = account_config(
        SPEC,
        {
            "account": "ministry",
            "imap": {
                "host": dovecot.host,
                "port": dovecot.port,
                "ssl": False,
                "username": dovecot.username,
                "password": dovecot.password,
                "folder": folder,
            },
        },
    )
    from qanat.store.tables import utcnow

    connector = EmailConnector(
        ConnectorContext(
            channel="email",
            account="ministry",
            config=config,
            intake=runtime.intake,
            cursors=runtime.cursors,
            health=runtime.health,
            http=runtime.connectors.http,
            clock=utcnow,
        )
    )
    try:
        first = await connector.poll_once()
        again = await connector.poll_once()
        listed = await connector.list_since(utcnow().replace(year=2020))
    finally:
        await connector.close()
    assert first is not None and first.saved == 2 and first.error is None
    assert again is not None and again.saved == 0
    tickets = await rows(runtime, Ticket)
    from qanat.store.tables import Attachment

    attachments = await rows(runtime, Attachment)
    assert len(tickets) == 2 and attachments and attachments[0].stored_at
    assert len(listed) == 2
