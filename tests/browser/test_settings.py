"""Settings and accounts in a real browser, in Arabic: a canned reply and a department
edited, a password changed, two-step verification enrolled from its QR code."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from qanat.web import totp
from tests.browser.conftest import PASSWORD, Server, log_in

pytestmark = pytest.mark.browser


def test_a_canned_reply_is_edited_with_a_live_preview(page: Any, server: Server) -> None:
    log_in(page, server, "admin")
    page.goto(f"{server.url}/settings")
    page.click('a[href="/settings/canned"]')
    page.locator("tr", has_text="تأكيد الاستلام").locator("a").click()
    page.fill("#text_ar", "مرحبًا {name}، استلمنا بلاغكم {reference} اليوم.")
    preview = page.locator("#preview-ar")
    assert preview.inner_text() == "مرحبًا محمد، استلمنا بلاغكم QN-2026-000123 اليوم."
    page.fill('input[name="name_ar"]', "استلام اليوم")
    page.click("#canned-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/settings/canned\?done=received$"))
    assert page.locator("tr", has_text="استلام اليوم").count() == 1
    page.goto(f"{server.url}/tickets/QN-2026-000001")
    page.click("#text")
    page.keyboard.type("/اليوم")
    page.keyboard.press("Enter")
    assert page.input_value("#text") == "مرحبًا {name}، استلمنا بلاغكم {reference} اليوم."


def test_a_department_is_renamed_and_its_hours_checked(page: Any, server: Server) -> None:
    log_in(page, server, "admin")
    page.goto(f"{server.url}/settings/departments")
    page.locator('a[href="/settings/departments/parks"]').click()
    page.fill('input[name="working_hours"]', "15:00-07:00")
    page.fill('input[name="name_ar"]', "الحدائق العامة")
    page.click("#department-form button[type=submit]")
    assert page.locator('.field-error[data-for="working_hours"]').is_visible()
    page.fill('input[name="working_hours"]', "06:30-13:30")
    page.click("#department-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/settings/departments\?done=parks$"))
    assert page.locator(".done").inner_text() == "حُفظ الحدائق العامة."
    assert page.locator("tr", has_text="الحدائق العامة").locator("td").nth(3).inner_text() == (
        "06:30-13:30"
    )
    page.goto(f"{server.url}/inbox?queue=all")  # the new name is the list's
    assert page.locator("#rows td.dept", has_text="الحدائق العامة").count() == 1


def test_two_step_verification_is_enrolled_from_the_qr_code(page: Any, server: Server) -> None:
    log_in(page, server, "agent_roads")
    page.goto(f"{server.url}/account")
    page.click('form[action="/account/totp"] button')
    qr = page.locator("#totp-qr svg")
    qr.wait_for()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and abs(box["width"] - box["height"]) < 2
    page.click("#second-factor details summary")
    secret = page.locator("#totp-secret").inner_text()
    page.fill('input[name="code"]', "000000")
    page.click('form[action="/account/totp/confirm"] button')
    assert page.locator('.field-error[data-for="code"]').is_visible()
    page.fill('input[name="code"]', totp.code_at(secret, totp.step_of(time.time())))
    page.click('form[action="/account/totp/confirm"] button')
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.click('header.top form[action="/logout"] button')
    page.fill('input[name="username"]', "agent_roads")
    page.fill('input[name="password"]', PASSWORD)
    page.fill('input[name="code"]', codes[0])  # the phone is elsewhere: a recovery code
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r".*/inbox$"))


def test_a_password_is_changed(page: Any, server: Server) -> None:
    log_in(page, server, "agent_sewage")
    page.goto(f"{server.url}/account")
    form = page.locator("#password-form")
    form.locator('input[name="current"]').fill(PASSWORD)
    form.locator('input[name="new"]').fill("a new password for the room")
    form.locator('input[name="again"]').fill("a new password for the rooms")
    form.locator("button[type=submit]").click()
    assert (
        page.locator('.field-error[data-for="again"]').inner_text() == "كلمتا المرور غير متطابقتين."
    )
    form = page.locator("#password-form")
    form.locator('input[name="current"]').fill(PASSWORD)
    form.locator('input[name="new"]').fill("a new password for the room")
    form.locator('input[name="again"]').fill("a new password for the room")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/login\?changed=1$"))
    assert page.locator(".done").inner_text() == "تغيرت كلمة المرور. سجّل الدخول بها."
    log_in(page, server, "agent_sewage", "a new password for the room")
