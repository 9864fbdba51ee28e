"""Mail to staff through the configured outbound server, received by a real aiosmtpd."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.email.connector import OutgoingMail
from qanat.outbound.deps import Delivery
from qanat.outbound.staff_mail import (
    deliver_staff_mail,
    notify_staff,
    send_staff_mail,
    staff_addresses,
    staff_relay,
)
from qanat.runtime import Runtime
from qanat.store.tables import User
from tests.support.mail_server import OutsideWorld, mail_server

OFFICE = "qanat <ops@works.example>"


def configure_mail(runtime: Runtime, port: int) -> None:
    """An email account with an outbound server, as the connectors file would give it."""
    runtime.accounts["email"] = [
        {"account": "inbox-only", "imap": None},
        {
            "account": "complaints",
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "starttls": False,
                "from_address": OFFICE,
            },
        },
    ]


@pytest.fixture
async def relay(runtime: Runtime) -> AsyncIterator[OutsideWorld]:
    async with mail_server() as (world, port):
        configure_mail(runtime, port)
        yield world


async def test_staff_mail_arrives_with_text_html_and_an_automatic_mark(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    await notify_staff(
        runtime,
        ["fatima@works.example", "ali@works.example", "fatima@works.example", " "],
        "تنبيه: تجاوز المهلة QN-2026-000042",
        "تجاوزت التذكرة QN-2026-000042 مهلتها.\n",
        html="<p>تجاوزت التذكرة <b>QN-2026-000042</b> مهلتها.</p>",
    )
    [(mail_from, rcpt_to, _raw)] = relay.received
    [message] = relay.messages()
    assert mail_from == "ops@works.example"
    assert rcpt_to == ["fatima@works.example", "ali@works.example"]
    assert message["Subject"] == "تنبيه: تجاوز المهلة QN-2026-000042"
    assert message["From"] == OFFICE and message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(preferencelist=("plain",))
    page = message.get_body(preferencelist=("html",))
    assert text is not None and "مهلتها" in str(text.get_content())
    assert page is not None and "<b>QN-2026-000042</b>" in str(page.get_content())


async def test_without_outbound_mail_nothing_is_sent_and_the_log_says_so(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.accounts["email"] = [{"account": "inbox-only", "imap": None}]
    with caplog.at_level(logging.INFO, logger="qanat.outbound.staff_mail"):
        await notify_staff(runtime, ["fatima@works.example"], "report", "text")
    assert "mail is not configured" in caplog.text


async def test_nobody_to_tell_sends_nothing(runtime: Runtime, relay: OutsideWorld) -> None:
    await notify_staff(runtime, [], "report", "text")
    assert relay.received == []


def relay_of(runtime: Runtime) -> OutgoingMail:
    found = staff_relay(runtime.accounts, runtime.settings.notify_account)
    assert found is not None
    return found


async def test_a_refusal_and_an_unreachable_server_are_told_apart(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    relay.rcpt_answer = "550 5.1.1 No such user"
    with pytest.raises(BadPayload, match="staff mail 'alert' refused"):
        await send_staff_mail(relay_of(runtime), ["nobody@works.example"], "alert", "text")
    relay.rcpt_answer = "451 4.3.0 Try again later"
    with pytest.raises(ChannelUnavailable, match="will retry"):
        await send_staff_mail(relay_of(runtime), ["fatima@works.example"], "alert", "text")
    configure_mail(runtime, port=1)
    with pytest.raises(ChannelUnavailable, match=r"Error connecting to 127\.0\.0\.1 on port 1"):
        await send_staff_mail(relay_of(runtime), ["fatima@works.example"], "alert", "text")


async def test_the_mail_job_retries_a_passing_failure_and_stops_at_a_refusal(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    mail = (["fatima@works.example"], "alert", "text")
    relay.rcpt_answer = "451 4.3.0 Try again later"
    assert await deliver_staff_mail(runtime, *mail, attempt=1) == Delivery.retry
    tries = runtime.settings.send_attempts
    assert await deliver_staff_mail(runtime, *mail, attempt=tries) == Delivery.failed
    relay.rcpt_answer = "550 5.1.1 No such user"
    assert await deliver_staff_mail(runtime, *mail, attempt=1) == Delivery.failed
    relay.rcpt_answer = "250 OK"
    assert await deliver_staff_mail(runtime, *mail, attempt=2) == Delivery.sent
    assert [rcpt for _from, rcpt, _raw in relay.received] == [["fatima@works.example"]]


async def test_queued_staff_mail_that_fails_twice_then_goes_is_sent_once(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    relay.rcpt_answers = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    assert await notify_staff(runtime, ["fatima@works.example"], "alert", "text")
    assert [rcpt for _from, rcpt, _raw in relay.received] == [["fatima@works.example"]]


async def add_people(runtime: Runtime, people: list[tuple[str, str, str | None, bool]]) -> None:
    """Staff accounts: (username, role, email, active)."""
    async with runtime.db.writing() as session:
        for username, role, email, active in people:
            session.add(
                User(
                    username=username,
                    display_name=username,
                    password_hash="x",
                    role=role,
                    email=email,
                    active=active,
                )
            )


async def test_staff_addresses_are_those_of_active_staff_in_the_roles(runtime: Runtime) -> None:
    await add_people(
        runtime,
        [
            ("amina", "admin", "amina@works.example", True),
            ("badr", "admin", None, True),
            ("chafic", "admin", "chafic@works.example", False),
            ("dana", "supervisor", "dana@works.example", True),
        ],
    )
    assert await staff_addresses(runtime.db, "admin") == ["amina@works.example"]
    assert await staff_addresses(runtime.db, "admin", "supervisor") == [
        "amina@works.example",
        "dana@works.example",
    ]
