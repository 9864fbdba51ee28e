"""The inbox and ticket pages: language and direction, queues, search, and safe display."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update
from sqlmodel import col

from qanat.model import Attachment, Inbound, Sender
from qanat.runtime import Runtime
from qanat.store import queries
from qanat.store.tables import Attachment as AttachmentRow
from qanat.store.tables import Ticket
from tests.web.conftest import Login
from tests.web.test_access_matrix import PIXEL


def references(html: str) -> list[str]:
    """Ticket references in the inbox rows, in page order."""
    return re.findall(r'<tr data-reference="(QN-\d{4}-\d{6})"', html)


async def test_the_inbox_is_arabic_and_right_to_left_by_default(login: Login) -> None:
    page = await login("agent_sewage")
    html = (await page.get("/inbox")).text
    assert '<html lang="ar" dir="rtl">' in html
    assert "صندوق الوارد" in html
    # Citizens' texts are isolated so mixed Arabic and English read right.
    assert '<span dir="auto">طفح مجاري في مجمع 305' in html


async def test_english_is_chosen_per_person(login: Login) -> None:
    page = await login("agent_sewage")
    switched = await page.post("/account/language", data={"language": "en", "next": "/inbox"})
    assert switched.headers["location"] == "/inbox"
    html = (await page.get("/inbox")).text
    assert '<html lang="en" dir="ltr">' in html and "Inbox" in html
    other = await login("agent_roads")
    assert 'dir="rtl"' in (await other.get("/inbox")).text


async def test_an_agent_sees_only_their_departments_queue(login: Login) -> None:
    sewage = await login("agent_sewage")
    assert references((await sewage.get("/inbox")).text) == [
        "QN-2026-000006",
        "QN-2026-000005",
        "QN-2026-000002",
        "QN-2026-000001",
    ]
    roads = await login("agent_roads")
    assert references((await roads.get("/inbox?queue=all")).text) == ["QN-2026-000003"]
    rep = await login("rep305")
    assert references((await rep.get("/inbox")).text) == ["QN-2026-000006"]


async def test_queues(login: Login, seeded: Runtime) -> None:
    agent = await login("agent_sewage")
    await agent.post("/api/tickets/QN-2026-000005/take")
    await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000001"}
    )
    async with seeded.db.writing() as session:
        # Only QN-6 is past its due time here (the router gives every ticket one).
        await session.execute(
            update(Ticket).values(sla_due_at=None, sla_warn_at=None, first_response_warn_at=None)
        )
        await session.execute(
            update(Ticket)
            .where(col(Ticket.reference) == "QN-2026-000006")
            .values(sla_due_at=datetime(2026, 11, 6, 12, 0, tzinfo=UTC))
        )
    mine = references((await agent.get("/inbox?queue=mine")).text)
    assert mine == ["QN-2026-000005"]
    unassigned = references((await agent.get("/inbox?queue=unassigned")).text)
    assert "QN-2026-000005" not in unassigned and "QN-2026-000001" in unassigned
    assert references((await agent.get("/inbox?queue=duplicates")).text) == ["QN-2026-000001"]
    assert references((await agent.get("/inbox?queue=overdue")).text) == ["QN-2026-000006"]
    # Block 305 has four sewage tickets in 90 days: a recurring place.
    recurring = references((await agent.get("/inbox?queue=recurring")).text)
    assert set(recurring) == {
        "QN-2026-000001",
        "QN-2026-000002",
        "QN-2026-000005",
        "QN-2026-000006",
    }
    counts = dict(
        re.findall(
            r'queue=(\w+)"[^>]*>\s*[^<]+<span class="count">(\d+)', (await agent.get("/inbox")).text
        )
    )
    assert counts["mine"] == "1" and counts["duplicates"] == "1" and counts["overdue"] == "1"


#: Search queries and the tickets they find (newest first).
SEARCHES = [
    ("مجارى", ["QN-2026-000002", "QN-2026-000001"]),  # alef maqsura for yaa
    ("طُفْح", ["QN-2026-000001"]),  # diacritics ignored
    ("حديقه", ["QN-2026-000004"]),  # taa marbuta spelled as haa
    ("٣٣٨", ["QN-2026-000004"]),  # Arabic-Indic digits
    ("POTHOLE 2803", ["QN-2026-000003"]),
    ("qn-2026-000005", ["QN-2026-000005"]),
    ("39001122", ["QN-2026-000004"]),  # a phone number of the citizen
    ("100%_", []),  # LIKE wildcards are literal
]


async def test_search_matches_spelling_variants(login: Login) -> None:
    admin = await login("admin")
    for query, expected in SEARCHES:
        found = references((await admin.get("/inbox", params={"queue": "all", "q": query})).text)
        assert found == expected, query


async def test_filters(login: Login) -> None:
    admin = await login("admin")

    async def find(**params: str) -> list[str]:
        return references((await admin.get("/inbox", params={"queue": "all", **params})).text)

    assert await find(channel="email") == ["QN-2026-000003"]
    assert await find(kind="suggestion") == ["QN-2026-000004"]
    assert await find(block="338") == ["QN-2026-000004"]
    assert await find(department="roads") == ["QN-2026-000003"]
    assert await find(representative="rep305") == ["QN-2026-000006"]
    assert await find(date_from="2026-11-05") == ["QN-2026-000006", "QN-2026-000005"]
    assert await find(date_to="2026-11-02") == [
        "QN-2026-000003",
        "QN-2026-000002",
        "QN-2026-000001",
    ]
    assert await find(date_from="not a date", status="new") == await find(status="new")
    api = (await admin.get("/api/tickets", params={"q": "حديقة", "kind": "suggestion"})).json()
    assert [t["reference"] for t in api] == ["QN-2026-000004"]


async def test_the_ticket_page_shows_one_timeline(login: Login, seeded: Runtime) -> None:
    agent = await login("agent_sewage")
    await agent.post("/api/tickets/QN-2026-000001/notes", json={"text": "أرسلنا الصهريج"})
    await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000001"}
    )
    html = (await agent.get("/tickets/QN-2026-000001")).text
    assert "department given by the source: sewage" in html  # the routing reason
    assert "أرسلنا الصهريج" in html and 'class="note"' in html
    assert 'href="/tickets/QN-2026-000002"' in html  # its duplicate
    assert "+97333123456" in html  # the contact card
    duplicate = (await agent.get("/tickets/QN-2026-000002")).text
    assert "مكررة من" in duplicate and "staff:agent_sewage" in duplicate  # who linked it


async def test_duplicate_evidence_is_shown(login: Login, seeded: Runtime) -> None:
    primary = await ticket_id(seeded, "QN-2026-000001")
    async with seeded.db.writing() as session:
        await queries.add_event(
            session,
            actor="dedupe",
            type="linked_duplicate",
            ticket_id=await ticket_id(seeded, "QN-2026-000002"),
            data={
                "primary_ticket_id": primary,
                "primary_reference": "QN-2026-000001",
                "score": 91.5,
                "threshold": 85.0,
                "features": {"text": 0.93, "same_block": True},
            },
        )
    html = (await (await login("agent_sewage")).get("/tickets/QN-2026-000002")).text
    assert "91.5 / 85.0" in html
    assert "text=0.93" in html and "same_block=True" in html


async def ticket_id(runtime: Runtime, reference: str) -> int:
    async with runtime.db.session() as session:
        return (
            await session.execute(select(Ticket.id).where(col(Ticket.reference) == reference))
        ).scalar_one()


async def test_other_departments_tickets_are_404_pages(login: Login) -> None:
    roads = await login("agent_roads")
    response = await roads.get("/tickets/QN-2026-000001")
    assert response.status_code == 404
    assert 'dir="rtl"' in response.text and "QN-2026-000001" in response.text


async def test_hostile_email_html_is_sanitized(login: Login) -> None:
    roads = await login("agent_roads")
    response = await roads.get("/tickets/QN-2026-000003")
    html = response.text
    assert "<b>deep pothole</b>" in html
    assert "onerror" not in html and "window.pwned" not in html
    assert "javascript:" not in html
    assert "tracker.example.com" not in html  # remote image not loaded
    assert "img-src 'self' data:;" in response.headers["content-security-policy"]
    shown = await roads.get("/tickets/QN-2026-000003?images=1")
    assert 'src="https://tracker.example.com/pixel.gif"' in shown.text
    assert "img-src 'self' data: https:;" in shown.headers["content-security-policy"]


async def test_bidi_overrides_cannot_disguise_names_or_subjects(login: Login) -> None:
    parks = await login("admin")
    html = (await parks.get("/tickets/QN-2026-000004")).text
    assert "\u202e" not in html and "\u202c" not in html
    assert '<bdi dir="auto">هدى علي</bdi>' in html
    assert '<bdi dir="auto">اقتراح حديقة</bdi>' in html


async def test_pages_carry_a_strict_policy_and_no_inline_script(login: Login) -> None:
    admin = await login("admin")
    for path in ("/inbox", "/tickets/QN-2026-000003", "/dashboard", "/dead-letters", "/account"):
        response = await admin.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"  # personal data
        assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None, path
        assert re.search(r"\son[a-z]+\s*=", response.text) is None, path


async def test_the_api_docs_allow_only_their_own_script(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/docs")
    policy = response.headers["content-security-policy"]
    assert "'sha256-" in policy and "unsafe-inline" not in policy
    assert (await anonymous.get("/openapi.json")).status_code == 200


async def attachment_on(seeded: Runtime, *, name: str, content_type: str, content: bytes) -> int:
    saved = await seeded.intake.save(
        Inbound(
            channel="telegram",
            external_id=f"tg-{name}",
            received_at=datetime(2026, 11, 8, 8, 0, tzinfo=UTC),
            sender=Sender(handle="5150"),
            text="صورة الحفرة",
            department="roads",
            attachments=[
                Attachment(name=name, content_type=content_type, size=len(content), content=content)
            ],
        )
    )
    async with seeded.db.session() as session:
        return (
            await session.execute(
                select(AttachmentRow.id).where(AttachmentRow.message_id == saved.message_id)
            )
        ).scalar_one()


async def test_attachments_download_safely_and_images_preview(
    login: Login, seeded: Runtime
) -> None:
    picture = await attachment_on(
        seeded, name="\u202egnp.exe", content_type="image/png", content=PIXEL
    )
    page = await attachment_on(seeded, name="x.html", content_type="text/html", content=b"<script>")
    roads = await login("agent_roads")
    download = await roads.get(f"/attachments/{page}")
    assert download.status_code == 200 and download.content == b"<script>"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert (await roads.get(f"/attachments/{page}/preview")).status_code == 404  # not an image
    preview = await roads.get(f"/attachments/{picture}/preview")
    assert preview.headers["content-type"] == "image/png" and preview.content == PIXEL
    assert preview.headers["content-disposition"] == "attachment"
    named = await roads.get(f"/attachments/{picture}")
    assert "\u202e" not in named.headers["content-disposition"]
    assert "gnp.exe" in named.headers["content-disposition"]
    sewage = await login("agent_sewage")
    assert (await sewage.get(f"/attachments/{picture}")).status_code == 404


async def test_every_installed_connector_is_a_channel_filter(login: Login, seeded: Runtime) -> None:
    page = (await (await login("admin")).get("/inbox")).text
    assert seeded.connectors.specs  # qanat's own connectors register like plugins
    for name in seeded.connectors.specs:
        assert f'value="{name}"' in page
