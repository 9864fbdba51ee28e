"""The inbox in a real browser: log in, work a ticket in Arabic, live arrivals, RTL, safety."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from qanat.model import Inbound, Sender
from qanat.web import work
from tests.browser.conftest import PASSWORD, Server

pytestmark = pytest.mark.browser


def log_in(page: Any, server: Server, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r".*/inbox$"))


def test_the_inbox_is_laid_out_right_to_left(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    queues = page.locator("aside.queues").bounding_box()
    tickets = page.locator("section.list").bounding_box()
    assert queues["x"] > tickets["x"]  # the queue list sits on the right
    first = page.locator("#rows tr").first.locator("td.excerpt span[dir=auto]")
    assert first.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_a_ticket_is_worked_end_to_end_in_arabic(page: Any, server: Server) -> None:
    log_in(page, server, "sup_sewage")
    page.keyboard.press("j")
    selected = page.locator("#rows tr.selected")
    reference = selected.get_attribute("data-reference")
    assert reference == "QN-2026-000006"
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/tickets/{reference}$"))

    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply"
    page.select_option("#canned", "received")
    assert "{reference}" in page.input_value("#reply")
    page.fill("#reply", "شكرًا لبلاغكم رقم {reference}، الفريق في الطريق إليكم.")
    page.click("#reply-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=reply_by_hand$"))  # the app channel has no sender
    assert page.locator("article.msg.out .text").first.inner_text() == (
        f"شكرًا لبلاغكم رقم {reference}، الفريق في الطريق إليكم."
    )

    page.keyboard.press("n")
    page.keyboard.type("تم التنسيق مع فريق الصيانة")
    page.click("#note-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=note$"))
    assert page.locator("article.note .text").inner_text() == "تم التنسيق مع فريق الصيانة"

    page.keyboard.press("e")  # resolve
    page.wait_for_url(re.compile(r".*done=status$"))
    assert page.locator(".ticket-head .status").inner_text() == "محلولة"

    page.select_option("#transfer-form select[name=department]", "roads")
    page.fill("#transfer-form input[name=reason]", "الموقع على الطريق العام")
    page.click("#transfer-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox\?transferred=.*"))
    assert page.locator(f'#rows tr[data-reference="{reference}"]').count() == 0

    page.goto(f"{server.url}/tickets/{reference}")
    assert page.locator("h1").inner_text() == "404"  # now another department's ticket


def test_the_timeline_keeps_every_step(page: Any, server: Server) -> None:
    log_in(page, server, "admin")
    page.goto(f"{server.url}/tickets/QN-2026-000001")
    page.fill("#reply", "نعتذر عن الإزعاج، تم إرسال فريق {reference}")
    page.click("#reply-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=reply_sent$"))
    [sent] = server.sms.sent
    assert sent.text == "نعتذر عن الإزعاج، تم إرسال فريق QN-2026-000001"
    assert sent.to.phone == "+97333123456"
    assert "أُرسل" in page.locator("article.msg.out .state").inner_text()
    assert page.locator(".event.ev-routed .reason").count() == 1


def test_a_new_ticket_arrives_live(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    page.wait_for_timeout(500)  # let the event stream connect
    server.save(
        Inbound(
            channel="sms",
            external_id="live-browser-1",
            received_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
            sender=Sender(handle="+97333111222", phone="+97333111222"),
            text="انفجار ماسورة صرف في مجمع 320 طريق 2011",
            department="sewage",
        )
    )
    row = page.locator("#rows tr.fresh")
    row.wait_for(state="visible", timeout=10_000)
    assert "انفجار ماسورة صرف" in row.inner_text()
    assert page.locator("#live").is_visible()
    assert page.locator("#live-count").inner_text() == "1"


def test_a_hostile_email_runs_no_script(page: Any, server: Server) -> None:
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    log_in(page, server, "agent_roads")
    page.goto(f"{server.url}/tickets/QN-2026-000003")
    page.click("details.formatted summary")
    assert page.locator(".email-html b").inner_text() == "deep pothole"
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    page.goto(f"{server.url}/tickets/QN-2026-000003?images=1")
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_a_change_by_someone_else_is_announced(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    page.goto(f"{server.url}/tickets/QN-2026-000005")
    page.wait_for_timeout(500)
    assert page.locator("#changed").is_hidden()  # nothing has happened since the page loaded
    server.act_as("sup_sewage", lambda runtime, who: work.note(runtime, who, "QN-2026-000005", "x"))
    page.locator("#changed").wait_for(state="visible", timeout=10_000)


def test_take_and_resolve_from_the_inbox_keyboard(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    page.goto(f"{server.url}/inbox?queue=all")
    page.keyboard.press("j")
    row = page.locator("#rows tr.selected")
    reference = row.get_attribute("data-reference")
    page.keyboard.press("a")
    taken = page.locator(f'#rows tr[data-reference="{reference}"] td.assignee')
    taken.filter(has_text="agent sewage").wait_for()
    page.keyboard.press("e")
    status = page.locator(f'#rows tr[data-reference="{reference}"] .status')
    status.filter(has_text="محلولة").wait_for()
    assert page.locator("#rows tr.selected").get_attribute("data-reference") == reference
