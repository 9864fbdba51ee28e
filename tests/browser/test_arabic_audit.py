"""Every page in Arabic in Chromium, as people see it after the page's script ran, at a
desktop width and a phone width: ``<html lang="ar" dir="rtl">``, no Latin word that is not
data (references, addresses, numbers, the seed's names), read-aloud attributes and options
translated, nothing wider than the window, no console error. The texts scripts build
(toasts, queue counts, the ask-first dialogs, validation messages, the phone's outbox, the
map's labels) are shown too. English pages are checked the other way round, lighter.

One server, one browser, one signed-in context per person for the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from qanat.store import accounts, inspections, staff
from qanat.store.tables import Ticket, User, utcnow
from qanat.web.auth import SESSION_COOKIE
from tests.browser.conftest import Server
from tests.support.page_audit import (
    Watched,
    arabic_texts,
    audit_all,
    in_arabic,
    latin_words,
    look,
    report,
    said,
    watch,
)

pytestmark = pytest.mark.browser

PHOTO = Path(__file__).parents[1] / "fixtures" / "web" / "pothole.png"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The phone is about 30 metres from the reported place.
PLACE = (26.2170, 50.5800)
WHERE_THE_PHONE_IS = {"latitude": 26.2172, "longitude": 50.5802, "accuracy": 9}
#: Staff names on the pages: Arabic ones, and one Latin name (a proper name, allowed).
NAMES = {
    "admin": "مدير النظام",
    "sup_sewage": "مشرف الصرف",
    "agent_sewage": "موظف الصرف",
    "agent_roads": "Sara Ahmed",
}


def test_the_check_finds_words_to_translate_but_not_data() -> None:
    texts = [
        "وصل بلاغكم QN-2026-000001 من fatima.ali@example.bh", "title=Zoom in",
        "placeholder=https://tile.example.bh/{z}", "Fatima Ali", "تصدير CSV", "queue_open",
        "Open311", "± 9 m", "data-failed=تعذر على {count}: {references}",
    ]  # fmt: skip
    assert latin_words(texts) == ["Zoom", "in", "queue_open"]
    assert arabic_texts(["Inbox", "aria-label=الخريطة", "QN-2026-000001"]) == ["aria-label=الخريطة"]


@dataclass
class Day:
    """The server after a day's work: what the pages need to name."""

    server: Server
    inspection: int = 0
    reset_token: str = ""
    user_id: int = 0
    csrf: str = ""
    sessions: dict[str, str] = field(default_factory=dict)


def signed_in(context: Any, day: Day, username: str) -> Any:
    """``context`` with ``username``'s session (opened in the store: the log-in form is a
    page audited like the others, and checking a password is slow on purpose)."""
    cookie = {"name": SESSION_COOKIE, "value": day.sessions[username], "url": day.server.url}
    context.add_cookies([cookie])
    return context


async def _people_and_places(runtime: Any) -> dict[str, Any]:
    """Arabic staff names, an inspector for block 305, an English-speaking admin, the
    first report on the map, and a reset link for one person."""
    async with runtime.db.writing() as session:
        admin = await staff.user_named(session, username="admin")
        assert admin is not None
        # The admin's password hash again: hashing is slow on purpose, and nobody types it.
        for username, role, name, language in (
            ("insp_305", "inspector", "مفتش 305", "ar"), ("admin_en", "admin", "Noor", "en"),
        ):  # fmt: skip
            session.add(User(username=username, role=role, display_name=name, language=language,
                             password_hash=admin.password_hash))  # fmt: skip
        await session.flush()
        for username, name in NAMES.items():
            await session.execute(
                update(User).where(col(User.username) == username).values(display_name=name)
            )
        inspector = await staff.user_named(session, username="insp_305")
        roads = await staff.user_named(session, username="agent_roads")
        assert inspector is not None and inspector.id and roads is not None and roads.id
        await inspections.set_areas(session, user_id=inspector.id, blocks=["305"])
        first = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == "QN-2026-000001"))
        ).scalar_one()
        first.lat, first.lon = PLACE
        token = await accounts.make_reset_link(session, user_id=roads.id, by_id=None, now=utcnow())
        sessions = {}
        for username in ("admin", "insp_305", "admin_en", "sup_sewage"):
            person = await staff.user_named(session, username=username)
            assert person is not None and person.id is not None
            sessions[username] = await staff.open_session(
                session, user_id=person.id, now=utcnow(), ip=None, user_agent="audit"
            )
    return {"reset_token": token, "user_id": roads.id, "sessions": sessions}


def a_days_work(page: Any, day: Day) -> None:
    """Every kind of change staff make (as tests/web/test_arabic_pages.py does), and an
    inspection of the first report, through the API as the signed-in admin."""
    headers = {"X-CSRF-Token": day.csrf}
    api = f"{day.server.url}/api/tickets"

    def call(method: str, path: str, **body: Any) -> Any:
        answer = page.request.fetch(f"{api}/{path}", method=method, headers=headers, **body)
        assert answer.ok, (path, answer.status, answer.text())
        return answer

    call("POST", "QN-2026-000001/take")
    call("POST", "QN-2026-000001/replies", data={"text": "وصلنا {reference}"})
    call("POST", "QN-2026-000005/replies", data={"text": "سنتصل بكم"})
    call("POST", "QN-2026-000001/notes", data={"text": "أرسلنا الصهريج"})
    call("PATCH", "QN-2026-000001", data={"kind": "request", "priority": "high"})
    call("PUT", "QN-2026-000002/primary", data={"primary_reference": "QN-2026-000006"})
    call("POST", "QN-2026-000003/transfer", data={"department": "sewage", "reason": "تسرب"})
    call("POST", "QN-2026-000005/contact/merge", data={"reference": "QN-2026-000001"})
    for path, form in (
        ("QN-2026-000002/unlink", {"reason": "موقع آخر"}),
        (
            "QN-2026-000006/update",
            {"status": "closed", "status_was": "new", "close_reason": "مكرر"},
        ),
    ):
        answer = page.request.post(f"{day.server.url}/tickets/{path}", headers=headers, form=form)
        assert answer.ok, (path, answer.status)
    made = call(
        "POST",
        "QN-2026-000001/inspections",
        data={"what": "تأكد من الطفح", "inspector": "insp_305"},
    )
    day.inspection = int(made.json()["id"])


@pytest.fixture(scope="module")
def day(server: Server) -> Day:
    """The server after a day's work."""
    made = server.in_store(_people_and_places)
    return Day(
        server=server, reset_token=made["reset_token"], user_id=made["user_id"],
        sessions=made["sessions"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def admin(browser: Any, day: Day) -> Iterator[Watched]:
    """The admin, signed in with Arabic (the default), who did the day's work."""
    context = signed_in(browser.new_context(locale="ar-BH", viewport=DESKTOP), day, "admin")
    watched = watch(context.new_page())
    watched.page.goto(f"{day.server.url}/inbox")
    day.csrf = watched.page.get_attribute('meta[name="csrf-token"]', "content")
    a_days_work(watched.page, day)
    yield watched
    context.close()


@pytest.fixture(scope="module")
def inspector(browser: Any, day: Day, admin: Watched) -> Iterator[Watched]:
    """The block's inspector on a phone with a GPS fix."""
    context = browser.new_context(
        locale="ar-BH", viewport=PHONE, is_mobile=True, has_touch=True,
        geolocation=WHERE_THE_PHONE_IS, permissions=["geolocation"],
    )  # fmt: skip
    watched = watch(signed_in(context, day, "insp_305").new_page())
    yield watched
    context.close()


@pytest.fixture(scope="module")
def citizen(browser: Any, day: Day) -> Iterator[Watched]:
    """Someone who is not signed in."""
    context = browser.new_context(locale="ar-BH", viewport=DESKTOP)
    yield watch(context.new_page())
    context.close()


def staff_pages(day: Day) -> list[str]:
    """Every page of qanat/web/*.py a signed-in admin opens, two not found among them."""
    return [
        "/inbox", "/inbox?queue=all", "/inbox?queue=overdue&sort=due&dir=asc",
        "/inbox?queue=duplicates", "/inbox?q=305",
        *[f"/tickets/QN-2026-00000{n}" for n in range(1, 7)],
        "/dashboard", "/dashboard?days=120", "/coverage", "/log", "/submit", "/dead-letters",
        "/account", "/settings", "/settings/departments", "/settings/departments/sewage",
        "/settings/canned", "/settings/canned/1", "/settings/canned/new", "/settings/users",
        f"/settings/users/{day.user_id}", "/settings/rules", "/settings/sla",
        "/settings/notices", "/settings/notices/ack", "/admin/tokens", "/admin/audit",
        "/admin/ledger", "/admin/channels", "/admin/checklists", "/inspections",
        f"/inspections/{day.inspection}", "/tickets/QN-2026-999999", "/no-such-page",
    ]  # fmt: skip


def field_pages(day: Day) -> list[str]:
    """The inspector's pages, and a page an inspector may not open."""
    return ["/inspect?lat=26.2172&lon=50.5802", f"/inspect/{day.inspection}", "/dashboard"]


def public_pages(day: Day) -> list[str]:
    """The pages of people who are not signed in."""
    return [
        "/login", "/report", "/report/status", "/report/status?reference=QN-2026-000001",
        f"/reset/{day.reset_token}", "/reset/spent", "/no-such-page",
    ]  # fmt: skip


def test_every_page_in_arabic_on_a_desktop_and_a_phone(
    day: Day, admin: Watched, inspector: Watched, citizen: Watched
) -> None:
    found = {}
    for watched, paths, who, sizes in (
        (admin, staff_pages(day), "admin", [DESKTOP, PHONE]),
        (inspector, field_pages(day), "inspector", [PHONE, DESKTOP]),
        (citizen, public_pages(day), "citizen", [DESKTOP, PHONE]),
    ):
        found |= audit_all(watched, day.server.url, paths, "ar", who, sizes)
    assert found == {}, report(found)


@pytest.fixture(scope="module")
def english(browser: Any, day: Day, admin: Watched) -> Iterator[tuple[Watched, Watched]]:
    """An admin who chose English, and a citizen who asked for English."""
    context = signed_in(browser.new_context(locale="en-GB", viewport=DESKTOP), day, "admin_en")
    staff_page = watch(context.new_page())
    public = browser.new_context(locale="en-GB", viewport=DESKTOP)
    public.add_cookies([{"name": "qanat_lang", "value": "en", "url": day.server.url}])
    yield staff_page, watch(public.new_page())
    context.close()
    public.close()


def test_every_page_in_english_shows_no_arabic_and_fits(
    day: Day, english: tuple[Watched, Watched]
) -> None:
    staff_page, citizen = english
    url = day.server.url
    # Lighter: one of each kind of page (the other queues and tickets share their templates).
    again = ("/inbox?", "/tickets/QN-2026-00000")
    pages = [p for p in staff_pages(day) if not p.startswith(again) or p.endswith("1")]
    found = audit_all(staff_page, url, pages, "en", "admin", [DESKTOP])
    found |= audit_all(citizen, url, public_pages(day), "en", "citizen", [DESKTOP, PHONE])
    assert found == {}, report(found)


def test_what_scripts_write_on_the_ticket_page_is_arabic(day: Day, admin: Watched) -> None:
    page = admin.page
    page.set_viewport_size(PHONE)
    page.goto(f"{day.server.url}/tickets/QN-2026-000004")
    # A reply: the toast says it went.
    page.fill("#text", "وصلنا بلاغكم")
    page.click("#update-form button#apply")
    assert in_arabic(said(admin, "#toasts .toast"))
    # Linking: the toast names the primary, set apart from the words.
    page.fill('#link-form [name="primary_reference"]', "QN-2026-000001")
    page.click("#link-form button[type=submit]")
    assert in_arabic(said(admin, "#toasts .toast:has-text('QN-2026-000001')"))
    page.wait_for_selector("#unlink-form")
    assert look(admin, "ar", [PHONE]) == []  # the toast and the unlink dialog's words too
    # Unlinking asks first; an empty reason is refused in Arabic.
    page.click("#unlink-form button[type=submit]")
    dialog = "#unlink-dialog"
    assert in_arabic(said(admin, dialog))
    page.click(f"{dialog} button[value=confirm]")
    refusal = page.eval_on_selector(f"{dialog} textarea", "box => box.validationMessage")
    assert in_arabic(refusal), refusal
    page.fill(f"{dialog} textarea", "مشكلة أخرى")
    page.click(f"{dialog} button[value=confirm]")
    page.wait_for_selector("#unlink-form", state="detached")
    # Closing asks first too.
    page.select_option('#update-form [name="status"]', "closed")
    page.click("#update-form button#apply")
    assert in_arabic(said(admin, "#close-dialog"))
    page.click("#close-dialog button[value=cancel]")
    assert admin.take_errors() == []


def test_live_counts_and_arrivals_in_the_inbox_are_arabic(day: Day, admin: Watched) -> None:
    from datetime import UTC, datetime

    from qanat.model import Inbound, Location, Sender

    page = admin.page
    page.set_viewport_size(DESKTOP)
    page.goto(f"{day.server.url}/inbox")
    before = page.inner_text('.count[data-queue="open"]')
    day.server.save(
        Inbound(
            channel="sms", external_id="SM-audit-1",
            received_at=datetime(2026, 11, 7, 8, tzinfo=UTC),
            sender=Sender(handle="+97333000111", phone="+97333000111"),
            text="عمود إنارة مطفأ في طريق 12 مجمع 305", location=Location(block="305", road="12"),
        )
    )  # fmt: skip
    assert in_arabic(said(admin, "#live"))
    page.wait_for_function(
        "before => document.querySelector('.count[data-queue=open]').textContent !== before",
        arg=before,
    )
    assert in_arabic(page.inner_text(".queues"))
    assert admin.take_errors() == []


def test_the_citizens_form_refuses_and_answers_in_arabic(day: Day, citizen: Watched) -> None:
    page = citizen.page
    page.set_viewport_size(PHONE)
    page.goto(f"{day.server.url}/report")
    # The photo picker's words are the page's (the browser's own button is hidden).
    assert in_arabic(page.inner_text(".file-pick"))
    page.set_input_files('input[name="photos"]', str(PHOTO))
    assert page.inner_text(".file-pick .file-names") == "pothole.png"
    page.click(".public-form button[type=submit]")
    refusal = page.eval_on_selector('textarea[name="text"]', "box => box.validationMessage")
    assert in_arabic(refusal), refusal
    page.fill('input[name="email"]', "not-an-address")
    page.fill('textarea[name="text"]', "حفرة في الطريق")
    page.click(".public-form button[type=submit]")
    refusal = page.eval_on_selector('input[name="email"]', "box => box.validationMessage")
    assert in_arabic(refusal), refusal
    page.fill('input[name="email"]', "citizen@example.bh")
    page.click(".public-form button[type=submit]")
    page.wait_for_selector("body[data-page=public-done]")
    assert look(citizen, "ar", [PHONE, DESKTOP]) == []
    # A wrong password, and a new password typed differently twice.
    page.goto(f"{day.server.url}/login")
    page.fill('input[name="username"]', "agent_sewage")
    page.fill('input[name="password"]', "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector(".login .error")
    assert look(citizen, "ar", [PHONE, DESKTOP]) == []
    page.goto(f"{day.server.url}/reset/{day.reset_token}")
    page.fill('input[name="new"]', "a long enough new password")
    page.fill('input[name="again"]', "another long new password")
    page.click("main button[type=submit]")
    page.wait_for_selector(".field-error")
    assert look(citizen, "ar", [PHONE, DESKTOP]) == []
    page.goto(f"{day.server.url}/report/status")
    page.fill('input[name="reference"]', "QN-2026-000001")
    page.fill('input[name="contact"]', "+97300000000")
    page.click(".public-form button[type=submit]")
    assert in_arabic(said(citizen, "#problem"))
    page.fill('input[name="contact"]', "+97333123456")
    page.click(".public-form button[type=submit]")
    assert in_arabic(said(citizen, "#status"))
    assert citizen.take_errors() == []


def test_the_map_and_the_phones_outbox_speak_arabic(
    day: Day, admin: Watched, inspector: Watched
) -> None:
    admin.page.goto(f"{day.server.url}/inspections")
    admin.page.wait_for_selector(".map[data-markers]")
    admin.page.hover(".leaflet-interactive")
    assert in_arabic(said(admin, ".leaflet-tooltip"))
    assert admin.page.get_attribute(".leaflet-control-zoom-in", "title") == "تكبير"

    page = inspector.page
    page.goto(f"{day.server.url}/inspect/{day.inspection}")
    page.wait_for_function("document.getElementById('lat').value !== ''")
    assert said(inspector, "#gps-accuracy") == "± 9 م"
    page.click("#visit-form button[type=submit]")
    refusal = page.eval_on_selector('input[name="decision"]', "box => box.validationMessage")
    assert in_arabic(refusal), refusal
    page.check('input[name="decision"][value="resolved"]')
    # A refusal: the page's words, the server's reason apart (as code).
    visits = re.compile(r".*/api/inspections/\d+/visits$")
    refusal = {"detail": "observed_at needs its offset"}
    page.route(visits, lambda route: route.fulfill(status=400, json=refusal))
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector('#outbox[data-state="refused"]')
    words = page.eval_on_selector("#outbox", "line => line.firstChild.textContent")
    assert in_arabic(words) and page.inner_text("#outbox code") == refusal["detail"]
    page.unroute(visits)
    page.reload()
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.check('input[name="decision"][value="resolved"]')
    page.context.set_offline(True)
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector('#outbox[data-state="waiting"]')
    assert in_arabic(said(inspector, "#outbox"))
    page.context.set_offline(False)
    page.wait_for_url(re.compile(r".*/inspect\?done=sent$"))
    assert in_arabic(page.inner_text("main"))
    assert inspector.take_errors() == []


def test_the_account_and_two_step_verification_are_arabic(browser: Any, day: Day) -> None:
    import time

    from qanat.web import totp

    context = signed_in(browser.new_context(locale="ar-BH", viewport=PHONE), day, "sup_sewage")
    watched = watch(context.new_page())
    page = watched.page
    try:
        page.goto(f"{day.server.url}/account")
        page.fill('#password-form [name="current"]', "not my password")
        page.fill('#password-form [name="new"]', "short")
        page.click("#password-form button[type=submit]")
        refusal = page.eval_on_selector(
            '#password-form [name="new"]', "box => box.validationMessage"
        )
        assert in_arabic(refusal), refusal
        page.fill('#password-form [name="new"]', "a long enough new password")
        page.fill('#password-form [name="again"]', "another long new password")
        page.click("#password-form button[type=submit]")
        page.wait_for_selector("#password-form .field-error")
        assert look(watched, "ar", [PHONE, DESKTOP]) == []
        page.click('form[action="/account/totp"] button')
        page.wait_for_selector("#totp-qr")
        assert look(watched, "ar", [PHONE, DESKTOP]) == []
        page.fill('[name="code"]', "000000")
        page.click('form[action="/account/totp/confirm"] button')
        assert in_arabic(said(watched, '.field-error[data-for="code"]'))
        secret = str(page.text_content("#totp-secret")).strip()
        page.fill('[name="code"]', totp.code_at(secret, totp.step_of(time.time())))
        page.click('form[action="/account/totp/confirm"] button')
        page.wait_for_selector(".recovery-codes")
        assert look(watched, "ar", [PHONE, DESKTOP]) == []
    finally:
        context.close()
