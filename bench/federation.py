"""Federation's cost on the embedded default: pulling an upstream's requests, and the
sweep that finds the status changes owed to it.

Prints, in one run:

- the rate of pulling N requests from a GeoReport v2 upstream (pages of 100 over an
  in-process transport, each request saved and processed inline) against, as the
  baseline, the rate of saving the same requests as messages through the intake
  directly — what the Open311 client adds is paging, parsing and the watermark;
- the time of the sweep that writes the updates owed for N status changes on federated
  tickets (``owe_updates``), and of the same sweep once nothing is owed (what the
  minute's cron costs on a quiet day), against a plain count of those events.

    python bench/federation.py [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from qanat.config import load_settings
from qanat.ingest.open311.requests import request_inbound
from qanat.model import TicketStatus
from qanat.outbound.upstream import describe
from qanat.runtime import start_runtime, stop_runtime
from qanat.store import federation, queries
from qanat.store.actions import apply_status
from qanat.store.migrate import upgrade
from qanat.store.tables import Event, Ticket

TEXTS = [
    "طفح مجاري في مجمع {b} طريق {r}",
    "حفرة كبيرة في شارع {r} مجمع {b}",
    "انقطاع الإنارة في طريق {r} مجمع {b}",
]
CODES = ["NCS-SWR-01", "NCS-ROAD-01", "NCS-LGT-01"]


def upstream_requests(count: int) -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(hours=6)
    return [
        {
            "service_request_id": f"NCS-{n:06d}",
            "status": "open",
            "service_code": CODES[n % 3],
            "description": TEXTS[n % 3].format(b=300 + n % 400, r=n % 3000),
            "requested_datetime": (start + timedelta(seconds=n)).isoformat(),
            "updated_datetime": (start + timedelta(seconds=n)).isoformat(),
            "zipcode": str(300 + n % 400),
        }
        for n in range(count)
    ]


def transport(items: list[dict[str, Any]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        return httpx.Response(200, json=items[(page - 1) * size : page * size])

    return httpx.MockTransport(answer)


async def pull(url: str, items: list[dict[str, Any]]) -> float:
    settings = load_settings(database_url=url)
    runtime = await start_runtime(settings)
    runtime.accounts["open311"] = [
        {
            "account": "national",
            "endpoint": "http://ncs.bench/open311/v2",
            "page_size": 100,
            "max_pages": 1000,
        }
    ]
    runtime.connectors.http = httpx.AsyncClient(transport=transport(items))
    connector = runtime.connectors.get("open311", "national")
    assert connector is not None
    started = time.perf_counter()
    report = await connector.poll_once()
    elapsed = time.perf_counter() - started
    assert report is not None and report.saved == len(items), report
    await stop_runtime(runtime)
    return len(items) / elapsed


async def save_directly(url: str, items: list[dict[str, Any]]) -> float:
    runtime = await start_runtime(load_settings(database_url=url))
    now = datetime.now(UTC)
    inbounds = [request_inbound(i, account="national", fallback_time=now) for i in items]
    started = time.perf_counter()
    for inbound in inbounds:
        await runtime.intake.save(inbound)
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return len(items) / elapsed


async def sweep(url: str) -> tuple[float, float, float, int]:
    """Seconds: the sweep owing N updates, the sweep owing none, a plain count."""
    runtime = await start_runtime(load_settings(database_url=url))
    async with runtime.db.writing() as session:
        for ticket in (await session.execute(select(Ticket))).scalars():
            data = {"from": ticket.status, "to": "resolved"}
            apply_status(ticket, TicketStatus.resolved.value)
            await queries.add_event(
                session, actor="bench", type="status_changed", ticket_id=ticket.id, data=data
            )
    since = datetime.now(UTC) - timedelta(days=2)
    timings, made = [], []
    for _ in range(2):
        started = time.perf_counter()
        async with runtime.db.writing() as session:
            made.append(
                len(
                    await federation.owe_updates(
                        session, accounts=["national"], since=since, describe=describe
                    )
                )
            )
        timings.append(time.perf_counter() - started)
    assert made[1] == 0, made
    started = time.perf_counter()
    async with runtime.db.session() as session:
        await session.execute(
            select(func.count()).where(col(Event.type) == "status_changed", col(Event.at) >= since)
        )
    baseline = time.perf_counter() - started
    await stop_runtime(runtime)
    return timings[0], timings[1], baseline, made[0]


def main(count: int) -> None:
    items = upstream_requests(count)
    with tempfile.TemporaryDirectory() as folder:
        pulled_url = f"sqlite+aiosqlite:///{Path(folder) / 'pulled.db'}"
        direct_url = f"sqlite+aiosqlite:///{Path(folder) / 'direct.db'}"
        upgrade(pulled_url)  # Alembic runs its own event loop: before ours
        upgrade(direct_url)
        pulled = asyncio.run(pull(pulled_url, items))
        direct = asyncio.run(save_directly(direct_url, items))
        owing, quiet, counted, made = asyncio.run(sweep(pulled_url))
    print(f"requests pulled:            {count}")
    print(f"pull (page, parse, save, process): {pulled:8.1f} requests/s")
    print(f"baseline (save and process):       {direct:8.1f} requests/s")
    print(f"client overhead:                   {100 * (direct / pulled - 1):8.1f} %")
    print(f"sweep owing {made} updates:        {1000 * owing:8.1f} ms")
    print(f"sweep owing none:                  {1000 * quiet:8.1f} ms")
    print(f"baseline (count the changes):      {1000 * counted:8.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    main(parser.parse_args().requests)
