"""No Arabic page shows a department's code or a message key: every staff page, after a
day's work has left every kind of event on the timeline."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from qanat.runtime import Runtime
from qanat.store.tables import Department
from qanat.web.template_lint import lint
from tests.support.arabic import leaks, visible_text
from tests.web.conftest import Login

PAGES = [
    "/inbox", "/inbox?queue=all", "/inbox?queue=overdue&sort=due&dir=asc",
    "/tickets/QN-2026-000001", "/tickets/QN-2026-000002", "/tickets/QN-2026-000003",
    "/tickets/QN-2026-000004", "/tickets/QN-2026-000005", "/tickets/QN-2026-000006",
    "/dashboard", "/dashboard?days=120", "/dead-letters", "/admin/audit", "/admin/ledger",
    "/admin/channels", "/coverage", "/log", "/account", "/tickets/QN-2026-999999",
    "/settings", "/settings/departments", "/settings/departments/sewage", "/settings/canned",
    "/settings/canned/1", "/settings/canned/new", "/settings/users", "/settings/rules",
    "/settings/sla", "/admin/tokens", "/settings/notices", "/settings/notices/survey",
]  # fmt: skip


async def a_days_work(login: Login) -> None:
    """Every kind of change staff make, so the timelines hold every event."""
    admin = await login("admin")
    await admin.post("/api/tickets/QN-2026-000001/take")
    await admin.post("/api/tickets/QN-2026-000001/replies", json={"text": "وصلنا {reference}"})
    await admin.post("/api/tickets/QN-2026-000005/replies", json={"text": "سنتصل بكم"})
    await admin.post("/api/tickets/QN-2026-000001/notes", json={"text": "أرسلنا الصهريج"})
    await admin.patch("/api/tickets/QN-2026-000001", json={"kind": "request", "priority": "high"})
    await admin.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000006"}
    )
    await admin.post("/tickets/QN-2026-000002/unlink", data={"reason": "موقع آخر"})
    await admin.post(
        "/api/tickets/QN-2026-000003/transfer", json={"department": "sewage", "reason": "تسرب"}
    )
    await admin.post(
        "/api/tickets/QN-2026-000004/contact/merge", json={"reference": "QN-2026-000006"}
    )
    await admin.post(
        "/tickets/QN-2026-000006/update",
        data={"status": "closed", "status_was": "new", "close_reason": "مكرر"},
    )  # fmt: skip


async def test_no_arabic_page_shows_a_code_or_a_key(login: Login, seeded: Runtime) -> None:
    await a_days_work(login)
    async with seeded.db.session() as session:
        codes = set((await session.execute(select(col(Department.code)))).scalars())
    admin = await login("admin")
    problems = {}
    for path in PAGES:
        response = await admin.get(path)
        assert response.status_code in (200, 404), path
        assert '<html lang="ar" dir="rtl">' in response.text, path
        if found := leaks(response.text, codes=codes):
            problems[path] = found
    refused = await (await login("agent_sewage")).get("/dashboard")
    assert refused.status_code == 403
    if found := leaks(refused.text, codes=codes):
        problems["/dashboard as an agent"] = found
    print("LEAKS", problems)
    assert problems == {}


def test_the_check_finds_a_code_a_key_and_an_identifier_but_not_what_people_typed() -> None:
    page = (
        '<td class="dept">sewage</td><p>queue_open</p><span title="view_ticket">x</span>'
        "<div data-typed><p>sewage overflow_here</p></div><bdi>call_centre</bdi>"
        '<input placeholder="roads"><p>الصرف الصحي</p>'
    )
    assert leaks(page, codes={"sewage", "roads"}) == [
        "queue_open",
        "roads",
        "sewage",
        "view_ticket",
    ]
    assert "overflow_here" not in visible_text(page)


@pytest.mark.parametrize(
    ("template", "found"),
    [
        ("<p>Unassigned</p>", ["Unassigned"]),
        ('<input placeholder="ابحث">', ["ابحث"]),
        ("<p>{{ t('inbox') }} · {{ ticket.reference }}</p>", []),
        ('{% block page %}inbox{% endblock %}<kbd>j</kbd><input placeholder="QN-2026-000001">', []),
    ],
)
def test_the_template_lint_finds_words_that_bypass_translation(
    tmp_path: object, template: str, found: list[str]
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "page.html").write_text(template, encoding="utf-8")
    assert [f.text for f in lint(folder)] == found


def test_qanats_own_templates_pass_the_lint() -> None:
    assert [str(f) for f in lint()] == []


async def test_an_address_no_page_answers_is_in_the_signed_in_persons_language(
    login: Login,
) -> None:
    admin = await login("admin")
    assert '<html lang="ar" dir="rtl">' in (await admin.get("/no-such-page")).text
    await admin.post("/account/language", data={"language": "en", "next": "/account"})
    missing = await admin.get("/no-such-page")
    assert missing.status_code == 404
    assert '<html lang="en" dir="ltr">' in missing.text
