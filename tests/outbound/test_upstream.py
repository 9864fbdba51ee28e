"""Status back upstream and forwarding, through the real store and the inline queue,
against a GeoReport v2 fake: each change posted once, an outage retried and reconciled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from qanat.jobs.listers import sources_for
from qanat.jobs.reconcile import reconcile
from qanat.outbound.forwarding import queue_forward, request_forward
from qanat.runtime import Runtime
from qanat.store.access import Viewer
from qanat.store.federation_tables import ForwardedRequest, UpstreamUpdate
from qanat.store.tables import Event, Ticket, User, utcnow
from qanat.web import work
from tests.support.fake_open311 import FakeGeoReport, national_request

ENDPOINT = "https://ncs.example.bh/open311/v2"


def hours_ago(hours: float) -> str:
    return (utcnow() - timedelta(hours=hours)).isoformat(timespec="seconds")


def night() -> datetime:
    return utcnow() - timedelta(hours=25)


@pytest.fixture
def national() -> FakeGeoReport:
    return FakeGeoReport(
        requests=[
            national_request(
                "NCS-1001",
                "NCS-SWR-01",
                "طفح مجاري في مجمع 305 طريق 45 منذ يومين",
                at=hours_ago(3),
                block="305",
            ),
            national_request(
                "NCS-1002",
                "NCS-ROAD-01",
                "حفرة كبيرة في شارع الشيخ سلمان مجمع 908",
                at=hours_ago(2),
                block="908",
            ),
        ]
    )


@pytest.fixture
async def federated(runtime: Runtime, national: FakeGeoReport) -> Runtime:
    """The runtime with the national system as its upstream and a municipality to forward to,
    the national requests pulled in."""
    runtime.accounts["open311"] = [
        {"account": "national", "endpoint": ENDPOINT, "api_key": "upstream-key", "first_days": 1},
        {
            "account": "municipality",
            "endpoint": "https://muni.example.bh/open311/v2",
            "api_key": "upstream-key",
            "poll": False,
            "forward": True,
            "forward_codes": {"pothole": "MUN-RD"},
        },
    ]
    runtime.connectors.http = httpx.AsyncClient(transport=national.transport())
    connector = runtime.connectors.get("open311", "national")
    assert connector is not None
    report = await connector.poll_once()
    assert report is not None and report.saved == 2, report
    return runtime


async def supervisor(runtime: Runtime) -> work.Request:
    async with runtime.db.writing() as session:
        user = User(username="sup", display_name="sup", password_hash="-", role="admin")
        session.add(user)
        await session.flush()
        assert user.id is not None
        return work.Request(viewer=Viewer(user.id, "sup", "sup", "admin"))


async def events(runtime: Runtime, reference: str, kind: str) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        ticket_id = (
            await session.execute(select(Ticket.id).where(col(Ticket.reference) == reference))
        ).scalar_one()
        rows = await session.execute(
            select(Event.data).where(col(Event.ticket_id) == ticket_id, col(Event.type) == kind)
        )
        return list(rows.scalars())


async def reference_of(runtime: Runtime, request_id: str) -> str:
    async with runtime.db.session() as session:
        from qanat.store.tables import Message

        row = await session.execute(
            select(Ticket.reference)
            .join(Message, col(Message.ticket_id) == col(Ticket.id))
            .where(col(Message.external_id) == request_id)
        )
        return str(row.scalar_one())


async def test_national_requests_are_routed_by_their_service_code(federated: Runtime) -> None:
    sewage = await reference_of(federated, "NCS-1001")
    async with federated.db.session() as session:
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == sewage))
        ).scalar_one()
    assert (ticket.category, ticket.channel, ticket.block) == ("sewage_overflow", "open311", "305")
    [routed] = await events(federated, sewage, "routed")
    assert routed["reason"].startswith("service code NCS-SWR-01 → category sewage_overflow")


async def test_a_status_change_goes_upstream_once_with_its_acknowledgement(
    federated: Runtime, national: FakeGeoReport
) -> None:
    who = await supervisor(federated)
    reference = await reference_of(federated, "NCS-1001")
    await work.update(federated, who, reference, status="resolved")
    [posted] = national.updates.values()
    assert posted["service_request_id"] == "NCS-1001" and posted["status"] == "CLOSED"
    assert posted["update_id"] == "qanat-1" and reference in posted["description"]
    [ack] = await events(federated, reference, "upstream_update_sent")
    assert ack["remote_id"] == "u1" and ack["account"] == "national"
    await work.update(federated, who, reference, status="resolved")  # no change: nothing owed
    assert len(national.updates) == 1


async def test_an_outage_is_retried_then_reconciled_without_duplicates(
    federated: Runtime, national: FakeGeoReport
) -> None:
    who = await supervisor(federated)
    reference = await reference_of(federated, "NCS-1002")
    national.down = True
    await work.update(federated, who, reference, status="pending")
    [failed] = await events(federated, reference, "upstream_update_failed")
    assert failed["tries"] == federated.settings.send_attempts and "503" in failed["detail"]
    assert national.updates == {}
    national.down = False
    report = await reconcile(federated, since=night(), sources=sources_for(federated))
    [posted] = national.updates.values()
    assert posted["status"] == "OPEN" and "Waiting for information" in posted["description"]
    line = report.ledgers[("open311", "national")]
    assert line.reprocessed == 1 and line.status == "ok", line
    assert line.source_count == 2 and line.backfilled == 0
    again = await reconcile(federated, since=night(), sources=sources_for(federated))
    assert len(national.updates) == 1 and again.ledgers[("open311", "national")].reprocessed == 0
    async with federated.db.session() as session:
        states = list((await session.execute(select(UpstreamUpdate.state))).scalars())
    assert states == ["sent"]


async def test_the_night_brings_in_a_request_the_polls_missed(
    federated: Runtime, national: FakeGeoReport
) -> None:
    national.requests.append(
        national_request("NCS-1003", "NCS-LGT-01", "إنارة مطفأة", at=hours_ago(0.5))
    )
    report = await reconcile(federated, since=night(), sources=sources_for(federated))
    line = report.ledgers[("open311", "national")]
    assert (line.source_count, line.backfilled, line.status) == (3, 1, "ok")
    assert await reference_of(federated, "NCS-1003")


async def test_a_public_reply_goes_upstream_as_a_note(
    federated: Runtime, national: FakeGeoReport
) -> None:
    who = await supervisor(federated)
    reference = await reference_of(federated, "NCS-1001")
    result = await work.reply(federated, who, reference, "فريق الصرف الصحي في الموقع اليوم")
    assert result.state == "sent"
    [posted] = national.updates.values()
    assert "status" not in posted and posted["description"].startswith("فريق الصرف")


async def test_forwarding_keeps_the_other_bodys_reference(
    federated: Runtime, national: FakeGeoReport
) -> None:
    reference = await reference_of(federated, "NCS-1002")
    async with federated.db.writing() as session:
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        ).scalar_one()
        row, queue = await request_forward(
            session, accounts=federated.accounts, ticket=ticket, account="municipality", actor="t"
        )
    assert queue
    await queue_forward(federated, row)
    [posted] = national.posted
    assert posted["service_code"] == "MUN-RD" and "Block 908" in posted["address_string"]
    assert "email" not in posted and reference in posted["description"]
    [done] = await events(federated, reference, "forwarded")
    assert done["service_request_id"] == "SR26-01830901"
    async with federated.db.writing() as session:
        again, queue = await request_forward(
            session, accounts=federated.accounts, ticket=ticket, account="municipality", actor="t"
        )
        kept = (await session.execute(select(ForwardedRequest))).scalar_one()
    assert not queue and again.id == kept.id and kept.service_request_id == "SR26-01830901"
