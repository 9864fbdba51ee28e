"""The inbox and ticket pages: language and direction, queues, search, and safe display."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlmodel import col

from qanat.model import Attachment, Inbound, Sender
from qanat.runtime import Runtime
from qanat.store import queries
from qanat.store.tables import Attachment as AttachmentRow
from qanat.store.tables import Message, Ticket, utcnow
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
    assert '<span dir="auto" data-typed>طفح مجاري في مجمع 305' in html


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
            r'queue=(\w+)"[^>]*>\s*[^<]+<span class="count" data-queue="\w+">(\d+)',
            (await agent.get("/inbox")).text,
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
    assert "حددت الجهة المرسلة القسم: الصرف الصحي" in html  # the routing reason, in Arabic
    assert "أرسلنا الصهريج" in html and 'class="note"' in html
    assert 'href="/tickets/QN-2026-000002"' in html  # its duplicate
    assert "+97333123456" in html  # the contact card
    duplicate = (await agent.get("/tickets/QN-2026-000002")).text
    assert "مكررة من" in duplicate and "agent sewage" in duplicate  # who linked it, by name
    assert "staff:agent_sewage" not in duplicate


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
                "features": {"text": 93.4, "same_block": True, "hours_apart": 0.6},
            },
        )
    html = (await (await login("agent_sewage")).get("/tickets/QN-2026-000002")).text
    assert "المجمع نفسه 305؛ بفارق 36 دقيقة؛ تشابه الصياغة 93٪ (الدرجة 91.5 والحد 85)" in html
    assert "same_block" not in html and "text=93" not in html


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
    assert "https:" not in policy and "cdn" not in response.text  # nothing from elsewhere
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in response.text
    bundle = await anonymous.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
    schema = (await anonymous.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/api/tickets"]["get"]["security"] == [{"bearer": []}]


async def test_every_json_route_documents_its_answer(anonymous: httpx.AsyncClient) -> None:
    schema = (await anonymous.get("/openapi.json")).json()
    undocumented = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            answers = [
                body.get("content", {}).get("application/json", {}).get("schema", {})
                for code, body in operation["responses"].items()
                if code.startswith("2")
            ]
            if not any("$ref" in a or ("items" in a and "$ref" in a["items"]) for a in answers):
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == []
    ticket = schema["components"]["schemas"]["TicketSummary"]["properties"]
    assert {"reference", "status", "department", "location"} <= set(ticket)


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
    assert named.headers["content-type"] == "image/png"  # its type, as its bytes prove
    assert named.headers["content-disposition"].startswith("attachment")
    svg = await attachment_on(
        seeded, name="map.svg", content_type="image/svg+xml", content=b"<svg/>"
    )
    fake = await attachment_on(seeded, name="a.png", content_type="image/png", content=b"<html>")
    for other in (svg, fake):
        sent = await roads.get(f"/attachments/{other}")
        assert sent.headers["content-type"] == "application/octet-stream"
    async with seeded.db.session() as session:
        reference = (
            await session.execute(
                select(Ticket.reference)
                .join(Message, col(Message.ticket_id) == col(Ticket.id))
                .join(AttachmentRow, col(AttachmentRow.message_id) == col(Message.id))
                .where(col(AttachmentRow.id) == picture)
            )
        ).scalar_one()
    ticket = (await roads.get(f"/tickets/{reference}")).text
    assert f'<img src="/attachments/{picture}/preview"' in ticket  # a thumbnail on the page
    sewage = await login("agent_sewage")
    assert (await sewage.get(f"/attachments/{picture}")).status_code == 404


async def test_every_installed_connector_is_a_channel_filter(login: Login, seeded: Runtime) -> None:
    page = (await (await login("admin")).get("/inbox")).text
    assert seeded.connectors.specs  # qanat's own connectors register like plugins
    for name in seeded.connectors.specs:
        assert f'value="{name}"' in page


async def test_the_list_sorts_by_a_column_both_ways(login: Login, seeded: Runtime) -> None:
    admin = await login("admin")
    await admin.patch("/api/tickets/QN-2026-000004", json={"priority": "urgent"})
    await admin.patch("/api/tickets/QN-2026-000002", json={"priority": "high"})
    page = await admin.get("/inbox", params={"queue": "all", "sort": "priority", "dir": "desc"})
    found = references(page.text)
    assert found[:2] == ["QN-2026-000004", "QN-2026-000002"]
    assert 'aria-sort="descending"' in page.text
    again = references(
        (await admin.get("/inbox", params={"queue": "all", "sort": "priority", "dir": "asc"})).text
    )
    assert again[-2:] == ["QN-2026-000002", "QN-2026-000004"]
    created = await admin.get("/inbox", params={"queue": "all", "sort": "created", "dir": "asc"})
    assert references(created.text)[0] == "QN-2026-000001"


async def test_a_saved_view_belongs_to_its_maker(login: Login) -> None:
    agent = await login("agent_sewage")
    saved = await agent.post(
        "/inbox/views", data={"name": "متأخرة", "query": "queue=overdue&sort=due&offset=50"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/inbox?queue=overdue&sort=due"
    page = (await agent.get("/inbox")).text
    assert 'href="/inbox?queue=overdue&amp;sort=due">متأخرة</a>' in page
    other = (await (await login("sup_sewage")).get("/inbox")).text
    assert "متأخرة</a>" not in other
    view_id = re.search(r'action="/inbox/views/(\d+)/delete"', page)
    assert view_id is not None
    stolen = await (await login("sup_sewage")).post(f"/inbox/views/{view_id.group(1)}/delete")
    assert stolen.status_code == 404
    await agent.post(f"/inbox/views/{view_id.group(1)}/delete")
    assert "متأخرة</a>" not in (await agent.get("/inbox")).text


async def test_rows_say_how_late_in_words_and_name_the_department(
    login: Login, seeded: Runtime
) -> None:
    async with seeded.db.writing() as session:
        await session.execute(
            update(Ticket)
            .where(col(Ticket.reference) == "QN-2026-000006")
            .values(sla_due_at=utcnow() - timedelta(days=2, hours=1), sla_warn_at=None)
        )
    page = (await (await login("sup_sewage")).get("/inbox?queue=all")).text
    row = page[page.index('data-reference="QN-2026-000006"') :].split("</tr>")[0]
    assert "متأخرة يومين" in row and 'class="dept">الصرف الصحي<' in row
    assert ">sewage<" not in page


async def test_an_x_author_shows_as_a_handle_linking_to_the_post(login: Login) -> None:
    page = (await (await login("agent_sewage")).get("/tickets/QN-2026-000002")).text
    assert (
        'href="https://x.com/abu_mohammed305/status/1852000000000000777"' in page
        and "><bdi>@abu_mohammed305</bdi></a>" in page
    )
    assert ">1498765432101<" not in page  # the numeric id is not what staff read
