"""The operations room's day in a real browser, in Arabic and in English: find an overdue
ticket, take it, reply, transfer it with a reason, unlink it (confirmed), close it — all
through the update panel, without the page reloading; then bulk work on the list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qanat.model import Inbound, Sender
from qanat.web import work
from tests.browser.conftest import Server, log_in, switch_to_english

pytestmark = pytest.mark.browser

#: language → (the ticket worked, the primary it starts linked to, words on the way)
ARABIC = {
    "took": "أُسندت إلى admin.",
    "replied": "حُفظ الرد للتسليم يدويًا.",
    "moved": "حُوّلت إلى الطرق.",
    "unlinked": "فُك الربط.",
    "closed": "الحالة الآن: مغلقة.",
    "open": "مفتوحة",
    "closed_status": "مغلقة",
    "roads": "الطرق",
}
ENGLISH = {
    "took": "Assigned to admin.",
    "replied": "Reply saved to deliver by hand.",
    "moved": "Transferred to Roads.",
    "unlinked": "Unlinked.",
    "closed": "Status is now Closed.",
    "open": "Open",
    "closed_status": "Closed",
    "roads": "Roads",
}
CASES = {
    "ar": ("QN-2026-000002", "QN-2026-000001", ARABIC),
    "en": ("QN-2026-000005", "QN-2026-000006", ENGLISH),
}


@pytest.fixture(scope="module")
def linked(server: Server) -> Server:
    """Each case's ticket starts as a duplicate (so it can be unlinked)."""

    async def link_them(runtime: Any, who: Any) -> None:
        for reference, primary, _words in CASES.values():
            await work.link(runtime, who, reference, primary)

    server.act_as("admin", link_them)
    return server


def toast(page: Any, text: str) -> None:
    page.locator(".toast").filter(has_text=text).first.wait_for()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_find_take_reply_transfer_unlink_close(page: Any, linked: Server, language: str) -> None:
    reference, _primary, words = CASES[language]
    log_in(page, linked, "admin")
    if language == "en":
        switch_to_english(page)
    page.click('a[href="/inbox?queue=overdue"]')
    row = page.locator(f'#rows tr[data-reference="{reference}"]')
    row.locator("td.due span.late").wait_for()  # overdue, and it says by how much
    row.locator("td.ref a").click()
    page.wait_for_url(re.compile(rf".*/tickets/{reference}$"))
    page.evaluate("window.stayed = true")  # a reload would forget it

    page.select_option("#assignee-select", "admin")  # take it
    page.click("#apply")
    toast(page, words["took"])
    page.fill("#text", "Received {reference}; a team is on the way." if language == "en"
              else "وصل بلاغكم {reference} والفريق في الطريق.")  # fmt: skip
    page.click("#apply")
    toast(page, words["replied"])
    assert page.locator(".ticket-head .status").inner_text() == words["open"]

    page.select_option("#department-select", "roads")
    page.click("#apply")  # no reason: marked beside the field, nothing moves
    page.locator('#update-form .field-error[data-for="reason"]').wait_for(state="visible")
    page.fill("#transfer-reason", "on the main road" if language == "en" else "على الطريق العام")
    page.click("#apply")
    toast(page, words["moved"])
    page.locator(".ticket-head .department").filter(has_text=words["roads"]).wait_for()

    page.click("#unlink-form button[type=submit]")
    dialog = page.locator("#unlink-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("textarea").fill("another street" if language == "en" else "شارع آخر")
    dialog.locator('button[value="confirm"]').click()
    toast(page, words["unlinked"])
    assert page.locator("#link-form").is_visible()  # now independent: it could be linked

    page.select_option("#status-select", "closed")
    page.click("#apply")
    closing = page.locator("#close-dialog")
    closing.wait_for(state="visible")
    closing.locator("textarea").fill("handled by the road crew" if language == "en"
                                     else "عالجه فريق الطرق")  # fmt: skip
    closing.locator('button[value="confirm"]').click()
    toast(page, words["closed"])
    assert page.locator(".ticket-head .status").inner_text() == words["closed_status"]
    assert page.evaluate("window.stayed") is True  # the whole way without a reload
    events = page.locator("#timeline .event .what").all_inner_texts()
    assert len(events) >= 6
    if language == "en":  # back to Arabic for the module's other tests
        page.click('header.top form[action="/account/language"] button')


def test_twenty_tickets_assigned_at_once(page: Any, linked: Server) -> None:
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    linked.save_all(
        [
            Inbound(
                channel="sms", external_id=f"bulk-{n}", received_at=start + timedelta(minutes=n),
                sender=Sender(handle=f"+9733390{n:04d}", phone=f"+9733390{n:04d}"),
                text=f"انسداد مجرى في مجمع {400 + n} طريق {n}", department="sewage",
            )
            for n in range(20)
        ]
    )  # fmt: skip
    log_in(page, linked, "sup_sewage")
    page.goto(f"{linked.url}/inbox?queue=unassigned&sort=created&dir=desc")
    boxes = page.locator("#rows .pick-row")
    for n in range(20):
        boxes.nth(n).check()
    assert page.locator("#picked-count").inner_text() == "20"
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-username", "agent_sewage")
    page.click("#bulk-apply")
    toast(page, "تم على 20 تذكرة.")
    assigned = page.locator("#rows td.assignee").filter(has_text="agent sewage")
    assigned.nth(19).wait_for()
    page.goto(f"{linked.url}/inbox?queue=all&assignee=agent_sewage")
    assert page.locator("#rows tr").count() >= 20


def test_sorting_by_a_column_both_ways(page: Any, linked: Server) -> None:
    log_in(page, linked, "admin")
    page.goto(f"{linked.url}/inbox?queue=all")
    page.click("th.when span:first-child a")  # created, oldest first
    page.wait_for_url(re.compile(r".*sort=created&dir=asc.*"))
    first = page.locator("#rows tr").first.get_attribute("data-reference")
    assert first == "QN-2026-000001"
    page.click("th.when span:first-child a")  # again: newest first
    page.wait_for_url(re.compile(r".*sort=created&dir=desc.*"))
    assert page.locator("#rows tr").first.get_attribute("data-reference") != "QN-2026-000001"
    assert page.get_attribute("th.when span:first-child", "aria-sort") == "descending"


def test_question_mark_shows_the_keyboard_help(page: Any, linked: Server) -> None:
    log_in(page, linked, "agent_sewage")
    page.keyboard.press("?")
    help_box = page.locator("#keys-help")
    help_box.wait_for(state="visible")
    assert "التنقل بين التذاكر" in help_box.inner_text()
    page.keyboard.press("Escape")
    help_box.wait_for(state="hidden")


def test_queue_counts_follow_what_others_do(page: Any, linked: Server) -> None:
    log_in(page, linked, "agent_roads")
    mine = page.locator('.count[data-queue="mine"]')
    before = int(mine.inner_text())
    page.wait_for_timeout(500)  # let the event stream connect
    linked.act_as("agent_roads", lambda runtime, who: work.take(runtime, who, "QN-2026-000003"))
    mine.filter(has_text=re.compile(rf"^{before + 1}$")).wait_for()
