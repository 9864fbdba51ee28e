"""The SMTP listener against smtplib on 127.0.0.1: relaying, sizes, outages, bad mail."""

from __future__ import annotations

import asyncio
import re
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qanat.ingest.email.smtp import run_smtp, serve_smtp, start_smtp_server, tls_context
from qanat.model import Inbound

if TYPE_CHECKING:
    from qanat.testing import MemoryIntake

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
CITIZEN = "ahmed.khalifa87@hotmail.com"
OURS = "complaints@qanat.example"


def mail(name: str) -> bytes:
    """A fixture as an MTA sends it: CRLF line endings."""
    return re.sub(rb"\r?\n", b"\r\n", (FIXTURES / name).read_bytes())


@dataclass
class Outcome:
    """The server's answers to one mail transaction."""

    rcpt: list[tuple[int, bytes]]
    data: tuple[int, bytes] | None


def transaction(client: smtplib.SMTP, raw: bytes, rcpts: list[str], size: bool = False) -> Outcome:
    """MAIL, RCPT…, DATA on an open connection; RSET after, so the next can follow."""
    options = [f"SIZE={len(raw)}"] if size else []
    code, message = client.mail(CITIZEN, options)
    if code != 250:
        client.rset()
        return Outcome([(code, message)], None)
    answers = [client.rcpt(rcpt) for rcpt in rcpts]
    data = client.data(raw) if any(code == 250 for code, _ in answers) else None
    client.rset()
    return Outcome(answers, data)


def send(port: int, items: list[tuple[bytes, list[str]]], size: bool = False) -> list[Outcome]:
    """One SMTP session carrying every (message, recipients) in ``items``."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.citizen.example")
        return [transaction(client, raw, rcpts, size) for raw, rcpts in items]


@pytest.fixture
async def smtp_port(intake: MemoryIntake) -> AsyncIterator[int]:
    """A listener for qanat.example in this test's event loop, on a free port."""
    server = await serve_smtp(
        intake,
        "127.0.0.1",
        0,
        domains={"qanat.example"},
        account="mx",
        data_size_limit=64 * 1024,
        attachment_max_bytes=100,
    )
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def deliver(
    port: int, items: list[tuple[bytes, list[str]]], size: bool = False
) -> list[Outcome]:
    """``send`` off the event loop (the listener runs on it)."""
    return await asyncio.to_thread(send, port, items, size)


async def test_mail_for_our_domain_is_stored_once_then_accepted(
    smtp_port: int, intake: MemoryIntake
) -> None:
    raw = mail("attachment_rfc2231_arabic_filename.eml")
    [outcome] = await deliver(smtp_port, [(raw, [OURS])])
    assert outcome.rcpt == [(250, b"2.1.5 OK")]
    assert outcome.data is not None and outcome.data[0] == 250
    assert outcome.data[1] == b"2.0.0 OK stored as message 1"
    [inbound] = intake.inbounds()
    assert (inbound.channel, inbound.account) == ("email", "mx")
    assert inbound.raw == raw
    assert inbound.sender.email == "yousif.almubarak@gmail.com"
    assert [a.name for a in inbound.attachments] == [
        "صورة الحفرة.jpg",
        "تقرير المعاينة - مجمع 915.pdf",
    ]
    photo, report = inbound.attachments
    assert photo.content is None and photo.note is not None  # 227 bytes, over the 100 limit
    assert report.content is not None and report.content.startswith(b"%PDF")
    assert inbound.metadata["envelope"]["rcpt_to"] == [OURS]
    assert inbound.metadata["envelope"]["mail_from"] == CITIZEN
    assert inbound.metadata["envelope"]["helo"] == "mx.citizen.example"


async def test_other_domains_are_refused_not_relayed(smtp_port: int, intake: MemoryIntake) -> None:
    raw = mail("arabic_utf8_base64.eml")
    only_foreign, mixed = await deliver(
        smtp_port,
        [(raw, ["victim@gmail.com"]), (raw, ["someone@qanat.example.evil.com", OURS])],
    )
    assert only_foreign.rcpt[0][0] == 550
    assert b"Relaying denied" in only_foreign.rcpt[0][1]
    # The answer names the domain served, not the one refused.
    assert b"accepts mail for qanat.example only" in only_foreign.rcpt[0][1]
    assert b"gmail" not in only_foreign.rcpt[0][1]
    assert only_foreign.data is None
    assert [code for code, _ in mixed.rcpt] == [550, 250]
    assert mixed.data is not None and mixed.data[0] == 250
    [inbound] = intake.inbounds()
    assert inbound.metadata["envelope"]["rcpt_to"] == [OURS]


async def test_oversize_mail_is_refused_with_552(smtp_port: int, intake: MemoryIntake) -> None:
    big = mail("arabic_utf8_base64.eml") + (b"A" * 76 + b"\r\n") * 900  # ~70 KB > 64 KB
    [announced] = await deliver(smtp_port, [(big, [OURS])], size=True)
    assert announced.rcpt[0][0] == 552  # refused at MAIL FROM, from the SIZE it announced
    [streamed] = await deliver(smtp_port, [(big, [OURS])])
    assert streamed.data is not None and streamed.data[0] == 552
    assert intake.inbounds() == []


async def test_a_store_outage_answers_451_and_keeps_nothing(
    smtp_port: int, intake: MemoryIntake
) -> None:
    raw = mail("arabic_windows1256_quoted_printable.eml")
    intake.down = True
    [deferred] = await deliver(smtp_port, [(raw, [OURS])])
    assert deferred.data is not None and deferred.data[0] == 451
    assert intake.inbounds() == []
    intake.down = False  # the MTA retries later
    [retried] = await deliver(smtp_port, [(raw, [OURS])])
    assert retried.data is not None and retried.data[0] == 250
    assert len(intake.inbounds()) == 1


async def test_any_store_error_answers_451(
    smtp_port: int, intake: MemoryIntake, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(inbound: object) -> None:
        raise RuntimeError("connection pool exhausted")

    monkeypatch.setattr(intake, "save", broken)
    [outcome] = await deliver(smtp_port, [(mail("arabic_utf8_base64.eml"), [OURS])])
    assert outcome.data == (451, b"4.3.0 Message not stored, try again later")


async def test_the_same_message_twice_is_stored_once(smtp_port: int, intake: MemoryIntake) -> None:
    raw = mail("gmail_reply_arabic_ui.eml")
    first, second = await deliver(smtp_port, [(raw, [OURS]), (raw, [OURS])])
    assert first.data == (250, b"2.0.0 OK stored as message 1")
    assert second.data == (250, b"2.0.0 OK already stored as message 1")
    assert len(intake.inbounds()) == 1
    assert intake.attempts == 2


#: Each malformed fixture and what must become of it.
MALFORMED: dict[str, Callable[[MemoryIntake, bytes], bool]] = {
    "malformed_missing_boundary.eml": lambda intake, raw: (
        "boundary recovered from the body" in stored(intake, raw).metadata["defects"]
    ),
    "malformed_no_header_body_separator.eml": lambda intake, raw: (
        "MissingHeaderBodySeparatorDefect" in stored(intake, raw).metadata["defects"]
    ),
    "malformed_lying_charset_latin1_is_utf8.eml": lambda intake, raw: (
        stored(intake, raw).text == "كلاب ضالة قرب حديقة مجمع 360."
    ),
    "malformed_lying_charset_utf8_is_cp1256.eml": lambda intake, raw: stored(
        intake, raw
    ).text.startswith("تسرب غاز"),
    "malformed_invalid_utf8_bytes.eml": lambda intake, raw: (
        "charset_fallback" in stored(intake, raw).metadata
    ),
    "malformed_unknown_charset_encoded_word.eml": lambda intake, raw: (
        stored(intake, raw).text == "تلوث بحري قرب ساحل مجمع 228."
    ),
    "malformed_8bit_headers.eml": lambda intake, raw: (
        stored(intake, raw).subject == "مطب عالي في طريق 3901"
    ),
    "malformed_bad_base64_body.eml": lambda intake, raw: stored(intake, raw).text.startswith(
        "حاوية القمامة"
    ),
    "malformed_bad_from_and_date.eml": lambda intake, raw: (
        stored(intake, raw).sender.email == CITIZEN
    ),  # From is unusable: the envelope sender stands in
}


def stored(intake: MemoryIntake, raw: bytes) -> Inbound:
    """The one stored message with exactly these bytes."""
    [found] = [inbound for inbound in intake.inbounds() if inbound.raw == raw]
    return found


async def test_every_malformed_message_in_one_session(smtp_port: int, intake: MemoryIntake) -> None:
    names = sorted(MALFORMED)
    raws = [mail(name) for name in names]
    outcomes = await deliver(smtp_port, [(raw, [OURS]) for raw in [*raws, b""]])
    *accepted, empty = outcomes
    for name, raw, outcome in zip(names, raws, accepted, strict=True):
        assert outcome.data is not None and outcome.data[0] == 250, name
        assert MALFORMED[name](intake, raw), name
    assert empty.data is not None and empty.data[0] == 554
    assert b"empty" in empty.data[1]
    assert len(intake.inbounds()) == len(names)


def test_threaded_listener_saves_on_the_applications_loop(intake: MemoryIntake) -> None:
    app_loop = asyncio.new_event_loop()
    app_thread = threading.Thread(target=app_loop.run_forever, daemon=True)
    app_thread.start()
    port = free_port()
    controller = start_smtp_server(
        intake, "127.0.0.1", port, domains={"qanat.example"}, intake_loop=app_loop
    )
    try:
        [outcome] = send(port, [(mail("arabic_iso8859_6_8bit.eml"), [OURS])])
    finally:
        controller.stop()
        app_loop.call_soon_threadsafe(app_loop.stop)
        app_thread.join(timeout=5)
        app_loop.close()
    assert outcome.data is not None and outcome.data[0] == 250
    assert intake.threads == [app_thread.ident]
    assert intake.inbounds()[0].subject == "حفرة في الطريق"


async def test_run_smtp_serves_until_cancelled(intake: MemoryIntake) -> None:
    port = free_port()
    task = asyncio.create_task(run_smtp(intake, "127.0.0.1", port, domains={"qanat.example"}))
    for _ in range(100):  # until it listens
        await asyncio.sleep(0.02)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
    [outcome] = await deliver(port, [(mail("arabic_utf8_base64.eml"), [OURS])])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome.data is not None and outcome.data[0] == 250
    assert len(intake.inbounds()) == 1
    with pytest.raises(ConnectionRefusedError):
        await asyncio.to_thread(send, port, [])


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A self-signed certificate for STARTTLS (openssl command line)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=mx.qanat.example", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    yield str(cert), str(key)


async def test_auth_only_after_starttls(intake: MemoryIntake, certificate: tuple[str, str]) -> None:
    server = await serve_smtp(
        intake,
        "127.0.0.1",
        0,
        domains={"qanat.example"},
        tls=tls_context(*certificate),
        password_check=lambda user, password: (user, password) == ("records", "s3cret"),
    )
    port = int(server.sockets[0].getsockname()[1])

    def session() -> tuple[bool, bool, int, int, Outcome]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("records.internal")
            auth_in_clear = client.has_extn("auth")
            client.starttls(context=ssl._create_unverified_context())
            client.ehlo("records.internal")
            try:
                client.login("records", "wrong")
                wrong = 235
            except smtplib.SMTPAuthenticationError as exc:
                wrong = exc.smtp_code
            right = client.login("records", "s3cret")[0]
            outcome = transaction(client, mail("no_message_id.eml"), [OURS])
            return auth_in_clear, client.has_extn("auth"), wrong, right, outcome

    try:
        auth_in_clear, auth_over_tls, wrong, right, outcome = await asyncio.to_thread(session)
    finally:
        server.close()
        await server.wait_closed()
    assert (auth_in_clear, auth_over_tls) == (False, True)
    assert (wrong, right) == (535, 235)
    assert outcome.data is not None and outcome.data[0] == 250
    assert intake.inbounds()[0].metadata["envelope"]["authenticated_as"] == "records"
