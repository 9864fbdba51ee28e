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
