"""Settings: the notices citizens get, edited in both languages, checked, previewed,
measured for SMS and X, and used for the next notice."""

from __future__ import annotations

from qanat.runtime import Runtime
from qanat.store import audit, notices
from qanat.web.settings_notices import x_length
from tests.web.conftest import Login


async def test_the_page_lists_every_kind_and_the_quiet_hours(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    index = (await admin.get("/settings")).text
    assert 'href="/settings/notices"' in index
    page = (await admin.get("/settings/notices")).text
    for kind in notices.KINDS:
        assert f'href="/settings/notices/{kind}"' in page
    assert "ساعات الهدوء" in page and "21:00–07:00" in page


async def test_an_edited_acknowledgement_is_previewed_saved_and_used(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    form = (await admin.get("/settings/notices/ack")).text
    assert "QN-2026-000123" in form and "{expected}" in form  # preview and placeholders
    text_ar = "شكرًا، رقم {what} هو {reference}، ونرد {expected}."
    previewed = await admin.post(
        "/settings/notices/ack",
        data={"text_ar": text_ar, "text_en": "", "preview_only": "1"},
    )
    assert previewed.status_code == 200
    assert "شكرًا، رقم بلاغك هو QN-2026-000123، ونرد خلال يومي عمل." in previewed.text
    async with seeded.db.session() as session:  # a preview saves nothing
        assert (
            await notices.template_text(session, kind="ack", language="ar")
            == (notices.DEFAULTS["ack"]["ar"])
        )
    saved = await admin.post("/settings/notices/ack", data={"text_ar": text_ar, "text_en": ""})
    assert saved.status_code == 303
    async with seeded.db.session() as session:
        assert await notices.template_text(session, kind="ack", language="ar") == text_ar
        # An empty English text keeps qanat's own wording.
        assert (
            await notices.template_text(session, kind="ack", language="en")
            == (notices.DEFAULTS["ack"]["en"])
        )
        actions = [e["action"] for e in await audit.recent(session)]
    assert "notice_template_saved" in actions


async def test_a_placeholder_the_kind_lacks_is_refused_beside_its_field(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    refused = await admin.post(
        "/settings/notices/survey", data={"text_ar": "هل حُلّت يا {name}؟", "text_en": ""}
    )
    assert refused.status_code == 422
    assert 'data-for="text_ar"' in refused.text and "في النص عنصر نائب غير معروف." in refused.text
    assert (await admin.get("/settings/notices/nothing")).status_code == 404


async def test_lengths_are_counted_as_sms_and_x_count_them(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    long_arabic = "ب" * 150 + " {reference}"
    shown = await admin.post(
        "/settings/notices/thanks",
        data={"text_ar": long_arabic, "text_en": "", "preview_only": "1"},
    )
    assert "رسالة نصية من 3 جزء" in shown.text  # 165 UCS-2 characters: three parts
    assert x_length("بب") == 2 and x_length("😀") == 2 and x_length("a" * 281) == 281
