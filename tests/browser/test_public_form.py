"""The public form in a real browser: fill it in Arabic, upload a photo, follow the report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent.parent / "fixtures" / "web"


def watch(page: Any, server: Server) -> tuple[list[str], list[str]]:
    """Console errors (a CSP refusal is one; an answer's 404 is not) and requests to anywhere
    but qanat."""
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("request", lambda r: None if r.url.startswith(server.url) else elsewhere.append(r.url))
    return errors, elsewhere


def fill_report(page: Any, server: Server, photo: str) -> None:
    page.goto(f"{server.url}/report")
    page.select_option('select[name="kind"]', "complaint")
    page.select_option('select[name="category"]', "pothole")
    page.fill(
        'textarea[name="text"]', "حفرة عميقة أمام مبنى ١٢ طريق ٤٥ مجمع ٣٠٥، سقطت فيها سيارتان"
    )
    page.fill('input[name="block"]', "٣٠٥")
    page.fill('input[name="road"]', "45")
    page.fill('input[name="name"]', "علي حسن")
    page.fill('input[name="phone"]', "3344 5566")
    page.set_input_files('input[name="photos"]', str(FIXTURES / photo))
    page.click('form.public-form button[type="submit"]')


def test_a_citizen_reports_in_arabic_and_follows_the_report(page: Any, server: Server) -> None:
    errors, elsewhere = watch(page, server)
    page.goto(f"{server.url}/report")
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ar"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    fill_report(page, server, "pothole.png")
    page.wait_for_selector("#reference")
    reference = page.inner_text("#reference")
    assert re.fullmatch(r"QN-\d{4}-\d{6}", reference)
    assert "تم استلام بلاغك" in page.inner_text("p.done")

    page.click(f'a[href="/report/status?reference={reference}"]')
    assert page.input_value('input[name="reference"]') == reference
    page.fill('input[name="contact"]', "+973 3344 5566")
    page.click('form.public-form button[type="submit"]')
    page.wait_for_selector("#status")
    card = page.inner_text("#status")
    assert reference in card and "جديدة" in card and "الطرق" in card
    assert "علي" not in page.content()  # the citizen's own name is not even echoed back

    page.fill('input[name="reference"]', reference)
    page.fill('input[name="contact"]', "36112244")
    page.click('form.public-form button[type="submit"]')
    page.wait_for_selector("#problem")
    assert "لا يوجد بلاغ بهذا الرقم" in page.inner_text("#problem")
    assert page.locator("#status").count() == 0
    assert errors == [] and elsewhere == []


def test_a_program_posing_as_a_photo_is_refused_and_the_text_kept(
    page: Any, server: Server
) -> None:
    fill_report(page, server, "program.jpg")
    page.wait_for_selector("#problem")
    assert page.inner_text("#problem") == "الملف program.jpg ليس صورة: إنه برنامج لينكس (ELF)."
    assert "سقطت فيها سيارتان" in page.input_value('textarea[name="text"]')
    assert page.locator("#reference").count() == 0


def test_the_form_switches_to_english_left_to_right(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/report")
    page.click('a[lang="en"]')
    page.wait_for_url(re.compile(r".*lang=en$"))
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.inner_text("h1") == "Report a problem"
