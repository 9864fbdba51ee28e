"""Settings: canned replies edited in both languages, checked, previewed, offered on the
ticket page."""

from __future__ import annotations

import re

from qanat.runtime import Runtime
from qanat.store import audit, canned
from tests.web.conftest import Login


async def test_an_edited_reply_is_offered_on_the_ticket_page(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    page = (await admin.get("/settings/canned")).text
    reply_id = re.search(r'href="/settings/canned/(\d+)"', page)
    assert reply_id is not None and "تأكيد الاستلام" in page
    form = await admin.get(f"/settings/canned/{reply_id.group(1)}")
    assert "QN-2026-000123" in form.text  # the preview fills the placeholders
    saved = await admin.post(
        f"/settings/canned/{reply_id.group(1)}",
        data={
            "name_ar": "استلام البلاغ",
            "name_en": "Received",
            "active": "1",
            "text_ar": "أهلًا {name}، وصل بلاغكم {reference}.",
            "text_en": "Hello {name}, {reference} is in.",
        },
    )
    assert saved.status_code == 303
    ticket = (await admin.get("/tickets/QN-2026-000001")).text
    assert 'data-text="أهلًا {name}، وصل بلاغكم {reference}.">استلام البلاغ</button>' in ticket
    async with seeded.db.session() as session:
        assert [
            e["detail"]["key"] for e in await audit.recent(session) if e["action"] == "canned_saved"
        ] == ["received"]


async def test_a_new_reply_with_an_unknown_placeholder_is_refused(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    form = {
        "key": "visit",
        "name_ar": "زيارة",
        "name_en": "Visit",
        "active": "1",
        "text_ar": "سنزوركم يا {nmae}",
        "text_en": "We will visit, {name}",
    }
    refused = await admin.post("/settings/canned", data=form)
    assert refused.status_code == 422 and "في النص عنصر نائب غير معروف." in refused.text
    taken = await admin.post("/settings/canned", data=form | {"key": "received"})
    assert taken.status_code == 422 and "هذا المعرّف مستخدم." in taken.text
    added = await admin.post("/settings/canned", data=form | {"text_ar": "سنزوركم يا {name}"})
    assert added.status_code == 303
    async with seeded.db.session() as session:
        assert (await canned.canned(session, "visit")).text("ar") == "سنزوركم يا {name}"


async def test_a_reply_switched_off_is_no_longer_offered(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    async with seeded.db.session() as session:
        reply = await canned.canned(session, "need_location")
    form = {
        "name_ar": reply.name_ar,
        "name_en": reply.name_en,
        "text_ar": reply.text_ar,
        "text_en": reply.text_en,
    }  # no "active"
    assert (await admin.post(f"/settings/canned/{reply.id}", data=form)).status_code == 303
    assert 'data-key="need_location"' not in (await admin.get("/tickets/QN-2026-000001")).text
