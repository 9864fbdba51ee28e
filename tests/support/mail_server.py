"""A real SMTP server (aiosmtpd) on 127.0.0.1 playing a mail server elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class OutsideWorld:
    """A mail server elsewhere: records what it receives, or refuses with a given answer.

    ``rcpt_answers`` are answered first, one RCPT each (a relay that says "later" twice,
    then takes the mail); then ``rcpt_answer``, every time.
    """

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_answer: str = "250 OK"
    rcpt_answers: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = self.rcpt_answers.pop(0) if self.rcpt_answers else self.rcpt_answer
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), envelope.original_content or b"")
        )
        return "250 OK queued"

    def messages(self) -> list[EmailMessage]:
        """Every message received, parsed."""
        parsed = []
        for _, _, raw in self.received:
            message = BytesParser(policy=policy.default).parsebytes(raw)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


@asynccontextmanager
async def mail_server(hostname: str = "mx.example") -> AsyncIterator[tuple[OutsideWorld, int]]:
    """An :class:`OutsideWorld` listening on a free port of 127.0.0.1; yields it and the port."""
    world = OutsideWorld()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(world, hostname=hostname, loop=loop), "127.0.0.1", 0
    )
    try:
        yield world, int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()
