"""A field inspection end to end in Chromium: a supervisor asks for it from a ticket, the
inspector's phone (a phone-sized viewport with a GPS fix) lists the visit, records it with a
photo while offline, and the outbox sends it once the phone is back online — twice, since
the first answer is lost — and it is stored once; the cluster's tickets are resolved and
their reporters told."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from qanat.model import Direction, Inbound, Location, Sender
from qanat.store import inspections, staff
from qanat.store.inspection_tables import Visit
from qanat.store.tables import Message, Ticket
from qanat.store.users import add_user
from qanat.web import work
from tests.browser.conftest import PASSWORD, Server

pytestmark = pytest.mark.browser

PHOTO = Path(__file__).parent.parent / "fixtures" / "web" / "pothole.png"
PLACE = (26.2170, 50.5800)
#: Where the phone is: about 30 metres from the reported place.
PHONE = {"latitude": 26.2172, "longitude": 50.5802, "accuracy": 9}


def prepare(server: Server) -> str:
    """An inspector for block 305, a second SMS report linked to QN-2026-000001, which is
    placed on the map; the new report's reference."""

    async def body(runtime: Any) -> str:
        await add_user(
            runtime.db,
            username="insp_305",
            role="inspector",
            display_name="مفتش 305",
            password=PASSWORD,
        )
        async with runtime.db.writing() as session:
            person = await staff.user_named(session, username="insp_305")
            assert person is not None and person.id is not None
            await inspections.set_areas(session, user_id=person.id, blocks=["305"])
            first = (
                await session.execute(
                    select(Ticket).where(col(Ticket.reference) == "QN-2026-000001")
                )
            ).scalar_one()
            first.lat, first.lon = PLACE
        await runtime.intake.save(
            Inbound(
                channel="sms",
                external_id="SM-field-2",
                received_at=datetime(2026, 11, 6, 7, tzinfo=UTC),
                sender=Sender(handle="+97333990011", phone="+97333990011"),
                text="المجاري طافحة عند مبنى 12 طريق 45 مجمع 305",
                location=Location(block="305", road="45"),
            )
        )
        async with runtime.db.session() as session:
            reference = (
                await session.execute(
                    select(Ticket.reference)
                    .join(Message, col(Message.ticket_id) == col(Ticket.id))
                    .where(col(Message.external_id) == "SM-field-2")
                )
            ).scalar_one()
        async with runtime.db.session() as session:
            supervisor = await staff.user_named(session, username="sup_sewage")
        assert supervisor is not None
        who = work.Request(viewer=staff.viewer_of(supervisor))
        if reference != "QN-2026-000001":
            async with runtime.db.session() as session:
                linked = (
                    await session.execute(
                        select(Ticket.primary_ticket_id).where(col(Ticket.reference) == reference)
                    )
                ).scalar_one()
            if linked is None:
                await work.link(runtime, who, reference, "QN-2026-000001")
        return str(reference)

    return str(server.in_store(body))


def log_in(page: Any, server: Server, username: str, landing: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(rf".*{landing}"))


def phone_context(browser: Any, server: Server) -> Any:
    return browser.new_context(
        locale="ar-BH",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=PHONE,
        permissions=["geolocation"],
    )


def stored(server: Server) -> dict[str, Any]:
    async def body(runtime: Any) -> dict[str, Any]:
        async with runtime.db.session() as session:
            visits = (await session.execute(select(func.count()).select_from(Visit))).scalar_one()
            statuses = dict((await session.execute(select(Ticket.reference, Ticket.status))).all())
            told = (
                (
                    await session.execute(
                        select(Message.ticket_id).where(
                            col(Message.direction) == Direction.outbound
                        )
                    )
                )
                .scalars()
                .all()
            )
        return {"visits": visits, "statuses": statuses, "told": len(told)}

    result: dict[str, Any] = server.in_store(body)
    return result


def test_an_inspection_round_trip_on_a_phone(page: Any, browser: Any, server: Server) -> None:
    second = prepare(server)
    elsewhere: list[str] = []
    log_in(page, server, "sup_sewage", "/inbox")
    page.goto(f"{server.url}/tickets/{second}")
    page.fill('#inspection-form input[name="what"]', "تأكد من مصدر الطفح أمام المبنى 12")
    page.click("#inspection-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=inspection$"))
    link = page.locator("#inspections a").first
    number = link.inner_text().split()[-1]

    context = phone_context(browser, server)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    phone.on("request", lambda r: None if r.url.startswith(server.url) else elsewhere.append(r.url))
    try:
        log_in(phone, server, "insp_305", r"/inspect\?lat=")  # the list asks where the phone is
        assert phone.get_attribute("html", "dir") == "rtl"
        card = phone.locator(f'li.visit-card[data-inspection="{number}"]')
        # The distance in the phone's language: kilometres in Arabic on this Arabic page.
        assert re.fullmatch(r"[\d.]+ كم", card.locator(".distance").inner_text().strip())
        phone.wait_for_selector('.map[data-markers="2"]')  # the visit and the phone
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone

        card.locator("a").click()
        phone.wait_for_url(re.compile(rf".*/inspect/{number}$"))
        phone.wait_for_function("document.getElementById('lat').value !== ''")
        assert phone.input_value("#accuracy") == "9"
        phone.check('input[name="answer.found"][value="yes"]')
        phone.check('input[name="answer.safe"][value="no"]')
        phone.fill('textarea[name="notes"]', "تم تنظيف غرفة التفتيش وتسليك الخط")
        phone.set_input_files('input[name="photos"]', str(PHOTO))
        phone.check('input[name="decision"][value="resolved"]')

        context.set_offline(True)
        phone.click("#visit-form button[type=submit]")
        phone.wait_for_selector('#outbox[data-state="waiting"]')
        assert stored(server)["visits"] == 0  # nothing reached the server: it waits on the phone

        answers = {"lost": 0}

        def lose_the_first_answer(route: Any) -> None:
            response = route.fetch()  # the server stores the visit …
            if answers["lost"] == 0:
                answers["lost"] += 1
                route.abort()  # … but the phone never hears back, so it sends it again
            else:
                route.fulfill(response=response)

        phone.route(re.compile(r".*/api/inspections/\d+/visits$"), lose_the_first_answer)
        context.set_offline(False)
        phone.wait_for_url(re.compile(r".*/inspect\?done=sent$"), timeout=30_000)
        assert answers["lost"] == 1
    finally:
        context.close()

    after = stored(server)
    assert after["visits"] == 1  # sent twice, stored once
    assert after["statuses"]["QN-2026-000001"] == "resolved"
    assert after["statuses"][second] == "resolved"
    assert {r.ticket_reference for r in server.sms.sent} >= {"QN-2026-000001", second}
    assert elsewhere == []  # the map and its files come from qanat itself

    page.goto(f"{server.url}/tickets/QN-2026-000001")
    timeline = page.locator(".ev-inspection_visited").first.inner_text()
    assert "حُلّت في الموقع" in timeline and "تم تنظيف غرفة التفتيش" in timeline
    page.goto(f"{server.url}/inspections/{number}")
    page.wait_for_selector('.map[data-markers="2"]')
    assert page.locator(".visit-record img").count() == 1
    assert page.locator(".visit-record img").evaluate("img => img.naturalWidth") > 0


def test_the_supervisors_map_loads_without_tiles_or_errors(page: Any, server: Server) -> None:
    errors: list[str] = []
    missing: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            missing.append(r.url)
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    log_in(page, server, "sup_sewage", "/inbox")
    page.goto(f"{server.url}/inspections")
    page.wait_for_selector(".map.leaflet-container")
    assert page.locator(".leaflet-tile").count() == 0  # no tile server configured
    assert errors == [] and missing == []
