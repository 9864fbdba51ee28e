"""A possible duplicate in a real browser, in Arabic and in English: the inbox marks it,
the ticket page names the other ticket, and staff answer without the page reloading."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qanat.model import Inbound, Sender
from tests.browser.conftest import Server, log_in, switch_to_english

pytestmark = pytest.mark.browser

START = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def garbage(n: int, text: str, minutes: int) -> Inbound:
    return Inbound(
        channel="sms", external_id=f"suggest-{n}", received_at=START + timedelta(minutes=minutes),
        sender=Sender(handle=f"+9733377{n:04d}", phone=f"+9733377{n:04d}"), text=text,
    )  # fmt: skip


#: language → (block, first report, second report, words on the page)
CASES = {
    "ar": ("609", "القمامة متراكمة في مجمع 609 سترة من أسبوع",
           "الزبالة في مجمع 609 ما انشالت من أسبوع",
           ("مكررة؟", "قد تكون المشكلة نفسها في", "مشكلة أخرى", "سُجّل أنها مشكلة أخرى.")),
    "en": ("611", "القمامة متراكمة في مجمع 611 من أسبوع",
           "الزبالة في مجمع 611 ما انشالت من أسبوع",
           ("Duplicate?", "Possibly the same problem as", "Another problem",
            "Noted: another problem.")),
}  # fmt: skip


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_possible_duplicate_is_marked_and_answered_in_place(
    page: Any, server: Server, language: str
) -> None:
    block, first, second, words = CASES[language]
    offset = 0 if language == "ar" else 100
    server.save_all([garbage(offset + 1, first, offset), garbage(offset + 2, second, offset + 30)])
    log_in(page, server, "admin")
    if language == "en":
        switch_to_english(page)
    page.goto(f"{server.url}/inbox?queue=all&q={block}")
    badge = page.locator("#rows .badge.maybe").first
    badge.wait_for()
    assert badge.inner_text() == words[0]
    row = page.locator("#rows tr").filter(has=page.locator(".badge.maybe")).first
    row.locator("td.ref a").click()
    page.wait_for_url(re.compile(r".*/tickets/QN-\d{4}-\d{6}$"))
    box = page.locator("#suggestion")
    box.wait_for()
    assert words[1] in box.inner_text() and box.locator("a[dir=ltr]").inner_text().startswith("QN-")
    page.evaluate("window.stayed = true")
    box.locator("button").filter(has_text=words[2]).click()
    page.locator(".toast").filter(has_text=words[3]).first.wait_for()
    page.locator("#suggestion").wait_for(state="detached")
    assert page.evaluate("window.stayed") is True  # answered without a reload
    if language == "en":  # back to Arabic for the module's other tests
        page.click('header.top form[action="/account/language"] button')
