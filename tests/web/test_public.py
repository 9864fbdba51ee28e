"""The public form and status page: Arabic first, CSRF, photos by their bytes, limits, privacy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from qanat.runtime import Runtime
from qanat.store.tables import Attachment, ContactIdentity, Message, Ticket

FIXTURES = Path(__file__).parent.parent / "fixtures" / "web"
PNG = (FIXTURES / "pothole.png").read_bytes()
REPORT = {
    "kind": "complaint",
    "category": "pothole",
    "text": "حفرة عميقة أمام مبنى 12 طريق 45 مجمع ٣٠٥ تسببت في حادث",
    "block": "٣٠٥",
    "road": "45",
    "lat": "",
    "lon": "",
    "name": "علي حسن",
    "phone": "3344 5566",
}


def hidden(html: str, name: str) -> str:
    """The value of a hidden field of the page's form."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def shown(html: str, element_id: str) -> str:
    """The text of the element with ``element_id``."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, element_id
    return found.group(1).strip()


async def open_form(client: httpx.AsyncClient, path: str = "/report") -> dict[str, str]:
    page = await client.get(path)
    assert page.status_code == 200
    fields = {"csrf_token": hidden(page.text, "csrf_token")}
    if path == "/report":
        fields["form_id"] = hidden(page.text, "form_id")
    return fields


async def send(
    client: httpx.AsyncClient, *, photos: list[tuple[str, bytes]] | None = None, **changes: Any
) -> httpx.Response:
    form = await open_form(client)
    files = [("photos", (name, content, "image/jpeg")) for name, content in photos or []]
    return await client.post("/report", data=REPORT | form | changes, files=files or None)


async def count(runtime: Runtime, table: Any, *where: Any) -> int:
    async with runtime.db.session() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


async def test_the_form_is_arabic_right_to_left_with_nothing_from_elsewhere(
    anonymous: httpx.AsyncClient,
) -> None:
    page = await anonymous.get("/report")
    assert '<html lang="ar" dir="rtl">' in page.text and "تقديم بلاغ" in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'name="photos"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert not re.search(r'(src|href)="https?://', page.text)  # no map tiles, no CDN
    english = await anonymous.get("/report?lang=en")
    assert '<html lang="en" dir="ltr">' in english.text and "Report a problem" in english.text
    assert '<html lang="en"' in (await anonymous.get("/report/status")).text  # remembered


async def test_a_report_with_a_photo_gets_its_reference_and_lands_as_web(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    answer = await send(anonymous, photos=[("pothole.jpg", PNG)])
    assert answer.status_code == 200
    reference = shown(answer.text, "reference")
    async with seeded.db.session() as session:
        ticket = (
            await session.execute(select(Ticket).where(Ticket.reference == reference))
        ).scalar_one()
        message = (
            await session.execute(select(Message).where(Message.ticket_id == ticket.id))
        ).scalar_one()
        photo = (await session.execute(select(Attachment))).scalar_one()
    assert (ticket.channel, ticket.category, ticket.block, ticket.road) == (
        "web",
        "pothole",
        "305",
        "45",
    )
    assert (message.account, message.sender_phone, message.sender_name) == (
        "public",
        "+97333445566",
        "علي حسن",
    )
    assert b'"text":"\\u062d\\u0641\\u0631\\u0629' in message.raw or "حفرة".encode() in message.raw
    assert (photo.name, photo.content_type, photo.size) == ("pothole.png", "image/png", len(PNG))
    assert (seeded.settings.attachments_dir / str(photo.stored_at)).read_bytes() == PNG


async def test_the_same_form_sent_twice_is_one_report(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    form = await open_form(anonymous)
    first = await anonymous.post("/report", data=REPORT | form)
    again = await anonymous.post("/report", data=REPORT | form)  # a double click, a reload
    assert shown(first.text, "reference") == shown(again.text, "reference")
    assert await count(seeded, Message, Message.channel == "web", Message.account == "public") == 1


async def test_a_program_posing_as_a_photo_is_422_and_nothing_is_saved(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    before = await count(seeded, Message)
    program = (FIXTURES / "program.jpg").read_bytes()
    answer = await send(anonymous, photos=[("pothole.png", PNG), ("program.jpg", program)])
    assert answer.status_code == 422
    assert shown(answer.text, "problem") == "الملف program.jpg ليس صورة: إنه برنامج لينكس (ELF)."
    assert REPORT["text"] in answer.text  # what the citizen wrote is still in the form
    assert await count(seeded, Message) == before


async def test_an_oversized_photo_or_upload_is_413(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    seeded.settings.photo_max_bytes = 1024
    big = PNG + b"\0" * 2000
    answer = await send(anonymous, photos=[("big.png", big)])
    assert answer.status_code == 413 and "big.png" in shown(answer.text, "problem")
    huge = await send(anonymous, photos=[("a.png", big)] * 3 + [("b.png", PNG + b"\0" * 300_000)])
    assert huge.status_code == 413
    assert await count(seeded, Message, Message.channel == "web", Message.account == "public") == 0


async def test_without_the_csrf_token_nothing_is_saved(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    form = await open_form(anonymous)
    forged = await anonymous.post("/report", data=REPORT | form | {"csrf_token": "x" * 64})
    assert forged.status_code == 403
    stranger = httpx.AsyncClient(transport=anonymous._transport, base_url="http://qanat.test")
    async with stranger:  # another visitor's token does not fit this visitor's cookie
        await stranger.get("/report")
        stolen = await stranger.post("/report", data=REPORT | form)
    assert stolen.status_code == 403
    assert await count(seeded, Message, Message.channel == "web", Message.account == "public") == 0


async def test_a_phone_that_cannot_be_called_is_refused_in_the_visitors_language(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await send(anonymous, phone="123", email="")
    assert answer.status_code == 400 and shown(answer.text, "problem") == "رقم الهاتف غير صحيح."
    await anonymous.get("/report?lang=en")
    none = await send(anonymous, phone="", email="")
    assert shown(none.text, "problem") == "Give a phone number or an email."


async def test_reports_per_address_and_per_phone_are_limited(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    seeded.settings.public_reports_per_contact = 2
    for n in range(2):
        assert (await send(anonymous, text=f"بلاغ رقم {n} عن حفرة")).status_code == 200
    refused = await send(anonymous, text="بلاغ ثالث")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    other = await send(anonymous, text="بلاغ من رقم آخر", phone="36112244")
    assert other.status_code == 200
    seeded.settings.public_reports_per_ip = 4
    assert (await send(anonymous, text="خامس", phone="39001133")).status_code == 429


async def lookup(client: httpx.AsyncClient, reference: str, contact: str) -> httpx.Response:
    form = await open_form(client, "/report/status")
    return await client.post(
        "/report/status", data=form | {"reference": reference, "contact": contact}
    )


async def test_the_status_page_shows_only_ones_own_ticket(
    anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    reference = shown((await send(anonymous)).text, "reference")
    mine = await lookup(anonymous, reference.lower().replace("-", " "), "+973 33445566")
    assert mine.status_code == 200 and reference in mine.text and "الطرق" in mine.text
    assert "علي حسن" not in mine.text and "33445566" not in mine.text
    # QN-2026-000001 is someone else's (an SMS from +97333123456): their phone is needed.
    wrong_phone = await lookup(anonymous, "QN-2026-000001", "33445566")
    wrong_reference = await lookup(anonymous, "QN-2026-999999", "33445566")
    assert wrong_phone.status_code == wrong_reference.status_code == 404
    assert shown(wrong_phone.text, "problem") == shown(wrong_reference.text, "problem")
    assert "طفح" not in wrong_phone.text and 'id="status"' not in wrong_phone.text
    async with seeded.db.session() as session:
        owner = (await session.execute(select(ContactIdentity.value))).scalars().all()
    assert "+97333123456" in owner  # the other ticket's citizen exists; still not shown


async def test_status_lookups_of_one_reference_are_limited(anonymous: httpx.AsyncClient) -> None:
    answers = [await lookup(anonymous, "QN-2026-000001", f"3300{n:04d}") for n in range(11)]
    assert [a.status_code for a in answers] == [404] * 10 + [429]
