"""The reply flow's pure parts: placeholders, addressing, canned replies."""

from __future__ import annotations

from datetime import UTC, datetime

from qanat.outbound.replies import fill_placeholders, reply_to
from qanat.store.canned import DEFAULT_REPLIES, placeholder_problems
from qanat.store.tables import Message, Ticket


def test_placeholders_are_filled_and_nothing_else() -> None:
    text = "مرحبا {name}، بلاغكم {reference} {0} {name.__class__} {other}"
    filled = fill_placeholders(text, reference="QN-2026-000001", name="هدى")
    assert filled == "مرحبا هدى، بلاغكم QN-2026-000001 {0} {name.__class__} {other}"


def test_a_missing_name_leaves_no_gap_before_punctuation() -> None:
    assert fill_placeholders("Thank you {name}.", reference="R", name=None) == "Thank you."
    assert fill_placeholders("شكرا {name}، تم", reference="R", name="") == "شكرا، تم"


def test_every_default_canned_reply_has_both_languages_and_the_reference() -> None:
    assert {c.key for c in DEFAULT_REPLIES} >= {"received", "resolved"}
    for reply in DEFAULT_REPLIES:
        assert "{reference}" in reply.ar and "{reference}" in reply.en
        assert reply.name_ar and reply.name_en
        assert placeholder_problems(reply.ar) == placeholder_problems(reply.en) == []


def test_a_reply_answers_the_citizens_message_on_its_channel() -> None:
    ticket = Ticket(reference="QN-2026-000003", kind="complaint", status="new", channel="email",
                    language="en")  # fmt: skip
    message = Message(
        channel="email",
        account="complaints",
        external_id="<m1@example.bh>",
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        sender_handle="fatima@example.bh",
        sender_name="Fatima",
        sender_email="fatima@example.bh",
        subject="Pothole",
        raw=b"",
    )
    reply = reply_to(ticket, message, "Dear {name}, {reference} is fixed.")
    assert reply.channel == "email" and reply.account == "complaints"
    assert reply.to.email == "fatima@example.bh"
    assert reply.in_reply_to == ["<m1@example.bh>"]
    assert reply.subject == "Re: Pothole" and reply.language == "en"
    assert reply.text == "Dear Fatima, QN-2026-000003 is fixed."
    message.subject = "RE: Pothole"
    assert reply_to(ticket, message, "x").subject == "RE: Pothole"
