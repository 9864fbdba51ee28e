"""The email connector passes the connector contract kit, against a real Dovecot."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

from qanat.ingest.email.connector import SPEC
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests
from tests.support.dovecot import Dovecot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"


def crlf(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Accept:
    """The outside world's mail server: takes every reply."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


class TestEmailContract(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {"account": "complaints"}

    @pytest.fixture(autouse=True)
    def _mailbox_and_smtp(self, dovecot: Dovecot) -> Iterator[None]:
        folder = f"kit-{uuid.uuid4().hex[:8]}"
        with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as admin:
            admin.login(dovecot.username, dovecot.password)
            admin.create_folder(folder)
            admin.append(folder, crlf("arabic_utf8_base64.eml"))
            admin.append(folder, crlf("arabic_windows1256_quoted_printable.eml"))
        with socket.socket() as probe:  # aiosmtpd needs a concrete port
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        smtp = Controller(Accept(), hostname="127.0.0.1", port=port)
        smtp.start()
        self.account = {  # type: ignore[misc]
            "account": "complaints",
            "imap": {
                "host": dovecot.host,
                "port": dovecot.port,
                "ssl": False,
                "username": dovecot.username,
                "password": dovecot.password,
                "folder": folder,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "starttls": False,
                "from_address": "complaints@qanat.example",
            },
        }
        yield
        smtp.stop()

    def reply(self) -> Reply:
        return Reply(
            ticket_reference="QN-2026-000001",
            channel="email",
            account="complaints",
            to=Sender(handle="mariam@example.bh", email="mariam@example.bh"),
            text="تم استلام بلاغكم",
            language="ar",
        )
