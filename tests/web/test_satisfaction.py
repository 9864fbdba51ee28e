"""Satisfaction figures: citizens' answers to "is it fixed?" on the dashboard, in its CSV,
in the daily report, and on the ticket page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qanat.jobs.report_page import render_csv
from qanat.jobs.reports import daily_report
from qanat.model import Inbound, Reply, Sender, SentReply
from qanat.runtime import Runtime
from qanat.store.satisfaction import SurveyFact, by, summarise
from qanat.store.staff import user_named, viewer_of
from qanat.store.tables import Ticket, utcnow
from qanat.web import work
from tests.support.rows import message, rows
from tests.web.conftest import Login

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def fact(department: str, answered: bool, score: int | None, satisfied: bool | None) -> SurveyFact:
    return SurveyFact(
        department=department,
        channel="sms",
        category=None,
        asked_at=NOW,
        answered_at=NOW if answered else None,
        score=score,
        satisfied=satisfied,
    )


def test_csat_average_response_and_reopen_rates() -> None:
    facts = [
        fact("roads", True, 5, True),
        fact("roads", True, 4, True),
        fact("roads", True, None, False),  # "still broken": reopened
        fact("roads", True, 3, False),  # neutral: not reopened
        fact("roads", False, None, None),
        fact("sewage", True, 1, False),
    ]
    roads = by(facts, lambda f: f.department)["roads"]
    assert roads == {
        "asked": 5,
        "answered": 4,
        "satisfied": 2,
        "reopened": 1,
        "csat": 50.0,
        "average_score": 4.0,
        "response_rate": 80.0,
        "reopen_rate": 20.0,
    }
    assert summarise([])["csat"] is None and summarise([])["asked"] == 0


class Gateway:
    """An SMS gateway that takes everything."""

    def __init__(self) -> None:
        self.sent: list[Reply] = []

    async def send(self, reply: Reply) -> SentReply:
        self.sent.append(reply)
        return SentReply(external_id=f"SMout-{len(self.sent)}")


async def test_a_satisfied_answer_shows_on_the_dashboard_report_and_ticket(
    seeded: Runtime, login: Login
) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"notices": True, "notice_quiet_hours": "", "survey_delay_hours": 0}
    )
    gateway = Gateway()
    seeded.senders["sms"] = gateway
    phone = "+97333999888"
    await seeded.intake.save(
        Inbound(
            channel="sms",
            external_id="SM-sat-1",
            received_at=utcnow() - timedelta(hours=2),
            sender=Sender(handle=phone, phone=phone),
            text="طفح مجاري في مجمع 305 طريق 45",
        )
    )
    reported = await message(seeded, "SM-sat-1")
    [ticket] = await rows(seeded, Ticket, Ticket.id == reported.ticket_id)
    async with seeded.db.session() as session:
        admin = await user_named(session, username="admin")
    assert admin is not None
    await work.update(
        seeded, work.Request(viewer=viewer_of(admin)), ticket.reference, status="resolved"
    )
    assert "هل حُلّت المشكلة" in gateway.sent[-1].text
    await seeded.intake.save(
        Inbound(
            channel="sms",
            external_id="SM-sat-2",
            received_at=utcnow(),
            sender=Sender(handle=phone, phone=phone),
            text="5",
        )
    )
    client = await login("admin")
    dashboard = (await client.get("/dashboard")).text
    assert 'id="csat"' in dashboard and "100" in dashboard.split('id="csat"')[1][:40]
    csv = (await client.get("/dashboard/satisfaction_by_channel.csv")).text
    assert "sms" in csv.lower() or "رسالة نصية" in csv
    page = (await client.get(f"/tickets/{ticket.reference}")).text
    assert 'id="citizen-answer"' in page and "التقييم 5 من 5" in page
    today = utcnow().astimezone(seeded.settings.tz).date()
    lines = await daily_report(seeded, today)
    [sms] = [line for line in lines if line.group == "channel" and line.name == "sms"]
    assert (sms.surveys, sms.csat, sms.average_score) == (1, 100.0, 5.0)
    assert "Satisfied (%)" in render_csv(lines, {})


async def test_a_reopening_reads_in_arabic_on_the_ticket_timeline(
    seeded: Runtime, login: Login
) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"notices": True, "notice_quiet_hours": "", "survey_delay_hours": 0}
    )
    seeded.senders["sms"] = Gateway()
    phone = "+97333777666"
    first = Inbound(
        channel="sms",
        external_id="SM-no-1",
        received_at=utcnow() - timedelta(hours=2),
        sender=Sender(handle=phone, phone=phone),
        text="حفرة كبيرة في طريق 2803 مجمع 328",
    )
    await seeded.intake.save(first)
    ticket_id = (await message(seeded, "SM-no-1")).ticket_id
    [ticket] = await rows(seeded, Ticket, Ticket.id == ticket_id)
    async with seeded.db.session() as session:
        admin = await user_named(session, username="admin")
    assert admin is not None
    await work.update(
        seeded, work.Request(viewer=viewer_of(admin)), ticket.reference, status="resolved"
    )
    no = first.model_copy(update={"external_id": "SM-no-2", "text": "لا، ما زالت المشكلة"})
    await seeded.intake.save(no.model_copy(update={"received_at": utcnow()}))
    page = (await (await login("admin")).get(f"/tickets/{ticket.reference}")).text
    assert "أجاب المواطن عن «هل حُلّت؟»" in page
    assert "يقول المواطن إن المشكلة لم تُحل" in page
    assert "بدأ احتساب موعد الحل من جديد" in page
    assert page.count("لا، ما زالت المشكلة") >= 2  # the message, and the words on the reopening
    assert "the citizen says it is not fixed" not in page
