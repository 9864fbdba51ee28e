"""The inbox in a real browser: log in, work a ticket in Arabic, live arrivals, RTL, safety."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from qanat.model import Inbound, Sender
from qanat.web import work
from tests.browser.conftest import Server, log_in

pytestmark = pytest.mark.browser


def test_the_inbox_is_laid_out_right_to_left(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    queues = page.locator("aside.queues").bounding_box()
    tickets = page.locator("section.list").bounding_box()
    assert queues["x"] > tickets["x"]  # the queue list sits on the right
    first = page.locator("#rows tr").first.locator("td.message span[dir=auto]")
    assert first.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_a_ticket_is_worked_with_the_keyboard_and_the_panel(page: Any, server: Server) -> None:
    log_in(page, server, "sup_sewage")
    page.keyboard.press("j")
    selected = page.locator("#rows tr.selected")
    reference = selected.get_attribute("data-reference")
    assert reference == "QN-2026-000006"
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/tickets/{reference}$"))
    page.evaluate("window.stayed = true")  # gone if the page reloads

    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.type("/")
    page.locator("#canned-menu").wait_for(state="visible")
    page.keyboard.type("استلام")
    page.keyboard.press("Enter")
    assert "{reference}" in page.input_value("#text")  # the canned reply, filled when sent
    page.fill("#text", "شكرًا لبلاغكم رقم {reference}، الفريق في الطريق إليكم.")
    page.click("#apply")
    page.locator(".toast").filter(has_text="حُفظ الرد للتسليم يدويًا.").wait_for()  # app: by hand
    assert page.locator("article.msg.out .text").first.inner_text() == (
        f"شكرًا لبلاغكم رقم {reference}، الفريق في الطريق إليكم."
    )
    assert page.locator(".ticket-head .status").inner_text() == "مفتوحة"  # replied: open

    page.keyboard.press("n")
    page.keyboard.type("تم التنسيق مع فريق الصيانة")
    page.click("#apply")
    page.locator("article.note .text").filter(has_text="تم التنسيق مع فريق الصيانة").wait_for()

    page.keyboard.press("e")  # resolve
    page.locator(".ticket-head .status").filter(has_text="محلولة").wait_for()
    assert page.evaluate("window.stayed") is True

    page.select_option("#department-select", "roads")
    page.fill("#transfer-reason", "الموقع على الطريق العام")
    page.click("#apply")
    page.wait_for_url(re.compile(r".*/inbox\?transferred=.*"))  # it left the supervisor's view
    assert page.locator(f'#rows tr[data-reference="{reference}"]').count() == 0
    page.goto(f"{server.url}/tickets/{reference}")
    assert page.locator("h1").inner_text() == "404"  # now another department's ticket


def test_a_reply_leaves_on_the_citizens_channel(page: Any, server: Server) -> None:
    log_in(page, server, "admin")
    page.goto(f"{server.url}/tickets/QN-2026-000001")
    page.fill("#text", "نعتذر عن الإزعاج، تم إرسال فريق {reference}")
    page.click("#apply")
    page.locator(".toast").filter(has_text="أُرسل الرد.").wait_for()
    [sent] = server.sms.sent
    assert sent.text == "نعتذر عن الإزعاج، تم إرسال فريق QN-2026-000001"
    assert sent.to.phone == "+97333123456"
    assert "أُرسل" in page.locator("article.msg.out .state").inner_text()
    assert page.locator(".event.ev-routed .reason li").count() >= 1


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
