"""One problem reported on X, SMS, the call centre and email, through to the fix.

The reports link to one primary; other problems in the same block stay apart; staff
unlink and link again (kept as labelled pairs); resolving the primary tells every
reporter on their own channel through the real connectors: a reply on X (to a fake X
API), an SMS through the gateway's URL, an email through SMTP, and a call back by hand.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.ingest.x.connector import SPEC as X_SPEC
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store.access import Viewer
from qanat.store.tables import Ticket, User
from qanat.web import work
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve

T0 = datetime(2026, 11, 3, 5, 40, tzinfo=UTC)


def inbound(
    channel: str, account: str, external_id: str, minutes: int, text: str, **sender: str
) -> Inbound:
    return Inbound(
        channel=channel,
        account=account,
        external_id=external_id,
        received_at=T0 + timedelta(minutes=minutes),
        sender=Sender(**sender),
        text=text,
    )


SAME_PROBLEM = [
    inbound("x", "moworks", "1985123456789012345", 0,
            "@MOW_BH المجاري طافحة في مجمع 305 طريق 524 جنب المخبز والريحة ما تنطاق 😡",
            handle="1523456789012345678", name="فاطمة"),
    inbound("sms", "gateway", "SM-0001", 25, "طفح مجاري مجمع ٣٠٥ طريق ٥٢٤ من الصبح",
            handle="+97333112233", phone="+97333112233"),
    inbound("call_centre", "default", "CALL-20261103-0050", 50,
            "Caller reports sewage overflowing on Road 524, Block 305, next to the bakery.",
            handle="+97339001122", phone="+97339001122", name="Hassan"),
    inbound("email", "complaints", "<CAJ-sewage-305@mail.gmail.com>", 95,
            "السلام عليكم، sewage water all over Road 524 Block 305 قرب المخبز since this morning",
            handle="mariam.hasan.bh@gmail.com", email="mariam.hasan.bh@gmail.com"),
]  # fmt: skip
SAME_BLOCK_OTHER_PROBLEMS = [
    inbound("sms", "gateway", "SM-0002", 40, "الانارة طافية في طريق 518 مجمع 305",
            handle="+97333445566", phone="+97333445566"),
    inbound("email", "complaints", "<pothole-305@example.net>", 70,
            "Huge pothole on Road 530, Block 305, please fix", handle="ali@example.net",
            email="ali@example.net"),
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def fake_x() -> Iterator[tuple[FakeXApi, str]]:
    fake = FakeXApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[list[dict[str, str]], str]]:
    """An SMS gateway's send URL, recording what it is asked to send."""
    sent: list[dict[str, str]] = []

    async def send(request: HttpRequest) -> PlainTextResponse:
        sent.append(dict(request.query_params))
        return PlainTextResponse("0: Accepted for delivery")

    with serve(Starlette(routes=[Route("/send", send)])) as url:
        yield sent, url


@pytest.fixture
def mailbox() -> Iterator[tuple[list[bytes], int]]:
    """The outside world's mail server."""
    received: list[bytes] = []

    class OutsideWorld:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    port = free_port()
    outside = Controller(OutsideWorld(), hostname="127.0.0.1", port=port)
    outside.start()
    try:
        yield received, port
    finally:
        outside.stop()


@pytest.fixture
async def wired(
    runtime: Runtime,
    fake_x: tuple[FakeXApi, str],
    gateway: tuple[list[dict[str, str]], str],
    mailbox: tuple[list[bytes], int],
) -> Runtime:
    """The runtime with an X account, an SMS gateway and a mailbox to reply through."""
    fake_x[0].reset()
    gateway[0].clear()
    runtime.connectors.specs["x"] = X_SPEC
    runtime.accounts.update(
        {
            "x": [{"account": "moworks", "user_id": OUR_ID, "consumer_key": "ck",
                   "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}],
            "sms": [{"account": "gateway", "provider": "generic", "secret": "s3cret",
                     "send_url": f"{gateway[1]}/send?to={{to}}&text={{text}}"}],
            "email": [{"account": "complaints", "smtp": {
                "host": "127.0.0.1", "port": mailbox[1], "starttls": False,
                "from_address": "complaints@qanat.example"}}],
        }
    )  # fmt: skip
    await runtime.connectors.http.aclose()
    runtime.connectors.http = client_for(fake_x[1])  # X's hosts to the fake, the rest as is
    return runtime


async def supervisor(runtime: Runtime) -> work.Request:
    async with runtime.db.writing() as session:
        user = User(username="noora", display_name="Noora", password_hash="-", role="admin")
        session.add(user)
        await session.flush()
    assert user.id is not None
    return work.Request(
        Viewer(user_id=user.id, username="noora", display_name="Noora", role="admin")
    )


async def tickets(runtime: Runtime) -> dict[str, Ticket]:
    """Tickets by the channel and external id of their first message."""
    from qanat.store.tables import Message

    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Message.channel, Message.external_id, Ticket)
            .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
            .where(col(Message.direction) == "in")
        )
        return {f"{channel}:{external_id}": ticket for channel, external_id, ticket in rows}


def key(message: Inbound) -> str:
    return f"{message.channel}:{message.external_id}"


async def test_four_channels_one_primary_and_every_reporter_hears_of_the_fix(
    wired: Runtime,
    fake_x: tuple[FakeXApi, str],
    gateway: tuple[list[dict[str, str]], str],
    mailbox: tuple[list[bytes], int],
) -> None:
    for message in sorted(SAME_PROBLEM + SAME_BLOCK_OTHER_PROBLEMS, key=lambda m: m.received_at):
        await wired.intake.save(message)
    found = await tickets(wired)
    primary = found[key(SAME_PROBLEM[0])]
    assert primary.primary_ticket_id is None
    assert [found[key(m)].primary_ticket_id for m in SAME_PROBLEM[1:]] == [primary.id] * 3
    assert [found[key(m)].primary_ticket_id for m in SAME_BLOCK_OTHER_PROBLEMS] == [None, None]

    staff = await supervisor(wired)
    email = found[key(SAME_PROBLEM[3])]
    await work.unlink(wired, staff, email.reference)
    assert (await tickets(wired))[key(SAME_PROBLEM[3])].primary_ticket_id is None
    assert await work.link(wired, staff, email.reference, primary.reference) == primary.reference

    done = await work.update(
        wired, staff, primary.reference, status="resolved",
        resolution_text="تم شفط المياه وإصلاح الخط، بلاغكم {reference}",
    )  # fmt: skip
    duplicates = [found[key(m)].reference for m in SAME_PROBLEM[1:]]
    assert sorted(done["duplicates_resolved"]) == sorted(duplicates)
    states = {reply["ticket_reference"]: reply["state"] for reply in done["replies"]}
    assert states == {
        primary.reference: "sent",  # a public reply on X
        duplicates[0]: "sent",  # an SMS
        duplicates[1]: "by_hand",  # the call centre calls back
        duplicates[2]: "sent",  # an email
    }
    [tweet] = fake_x[0].to("/2/tweets")
    assert tweet.body["reply"] == {"in_reply_to_tweet_id": SAME_PROBLEM[0].external_id}
    assert primary.reference in tweet.body["text"]
    [sms] = gateway[0]
    assert sms["to"] == "+97333112233" and duplicates[0] in sms["text"]
    [mail] = [message_from_bytes(raw, policy=policy.default) for raw in mailbox[0]]
    assert mail["To"].addresses[0].addr_spec == "mariam.hasan.bh@gmail.com"
    assert mail["In-Reply-To"] == SAME_PROBLEM[3].external_id
    assert duplicates[2] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    environment = {"QANAT_DATABASE_URL": wired.settings.database_url}
    exported = await asyncio.to_thread(  # the command runs its own event loop
        CliRunner().invoke, app, ["dedupe", "pairs"], env=environment
    )
    [pair] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert exported.exit_code == 0
    assert (pair["reference_a"], pair["reference_b"]) == (primary.reference, email.reference)
    assert pair["label"] == 1  # unlinked, then linked again: the latest word counts
    assert pair["location_b"]["block"] == "305" and pair["category_b"] == "sewage_overflow"
