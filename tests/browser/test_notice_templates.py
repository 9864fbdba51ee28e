"""What citizens are told, edited in a real browser in Arabic: the acknowledgement's
wording changed, previewed with its placeholders filled and its SMS length, saved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Server, log_in

pytestmark = pytest.mark.browser


def test_the_acknowledgement_is_edited_in_arabic_with_a_preview(page: Any, server: Server) -> None:
    log_in(page, server, "admin")
    page.goto(f"{server.url}/settings")
    page.click('a[href="/settings/notices"]')
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("#notice-ack a").click()
    assert "{expected}" in page.locator(".notice-form .hint").first.inner_text()
    page.fill("#text_ar", "أهلًا، وصلنا {what} برقم {reference} وسنعالجه {expected}.")
    page.click('button[name="preview_only"]')
    preview = page.locator("#preview-ar")
    assert preview.inner_text() == "أهلًا، وصلنا بلاغك برقم QN-2026-000123 وسنعالجه خلال يومي عمل."
    assert "رسالة نصية من 1 جزء" in page.locator("#length-ar").inner_text()
    page.click("#notice-form button[type=submit]:not([name])")
    page.wait_for_url(re.compile(r".*/settings/notices\?done=ack$"))
    assert page.locator(".done").is_visible()
    assert "أهلًا، وصلنا {what} برقم {reference}" in page.locator("#notice-ack").inner_text()


def test_the_dashboard_charts_citizens_satisfaction(page: Any, server: Server) -> None:
    """Three reporters asked "is it fixed?": two satisfied (5 and 4), one not (reopened)."""

    async def answers(runtime: Any, _who: Any) -> None:
        from sqlmodel import col, select

        from qanat.store import notices
        from qanat.store.notice_tables import CitizenNotice
        from qanat.store.tables import Ticket, utcnow

        async with runtime.db.writing() as session:
            tickets = (
                await session.execute(select(Ticket).order_by(col(Ticket.id)).limit(3))
            ).scalars()
            for ticket in tickets:
                ticket.channel = "sms"  # an answering channel, as far as notices go
                await notices.add_notice(session, ticket=ticket, kind="survey", values={})
            await session.flush()
            await notices.release_due(session)
            surveys = (
                await session.execute(
                    select(CitizenNotice).where(col(CitizenNotice.kind) == "survey")
                )
            ).scalars()
            for survey, (score, satisfied) in zip(
                surveys, [(5, True), (4, True), (None, False)], strict=True
            ):
                survey.answered_at, survey.score, survey.satisfied = utcnow(), score, satisfied
                survey.answer_text = str(score or "لا")

    server.act_as("admin", answers)
    log_in(page, server, "admin")
    page.goto(f"{server.url}/dashboard")
    section = page.locator("#satisfaction")
    assert section.locator("h2").inner_text() == "رضا المواطنين"
    assert page.locator("#csat").inner_text() == "67٪"  # two of the three satisfied
    assert page.locator("#average-score").inner_text() == "4.5"
    charts = section.locator("svg.chart")
    assert charts.count() == 2 and charts.first.is_visible()
    assert "نسبة الراضين لكل قسم" in charts.first.inner_html()
    rows = page.locator("#satisfaction-table tbody tr")
    assert rows.count() >= 1
    link = section.locator('a[href^="/dashboard/satisfaction_by_channel.csv"]')
    assert link.count() == 1
