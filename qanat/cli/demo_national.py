"""``qanat demo``'s national complaints system: a second qanat, on its own database in the
demo folder (``national.db``), that the demo's qanat pulls requests from over Open311 and
posts its status changes back to.

:func:`prepare` makes the national database and its keys (a portal's, and the ministry's
with ``--updates``) and writes the demo's connectors file naming it as the ``national``
upstream. :func:`exchange` files a few national requests, pulls them into the demo,
resolves one and shows that the national system heard back. :func:`serve_in_background`
serves the national system beside the demo, so status changes staff make in the demo's
inbox flow back while you watch its Open311 answer.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from qanat import demo
from qanat.config import Settings, load_settings
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import open311, staff
from qanat.store.migrate import upgrade
from qanat.store.tables import Message, Ticket
from qanat.web import work
from qanat.web.app import create_app

#: What citizens filed on the national portal: (service code, text, block).
NATIONAL_REQUESTS = (
    ("NCS-SWR-01", "طفح مجاري في الشارع الخلفي لمجمع 332 منذ الصباح", "332"),
    ("NCS-ROAD-01", "حفرة كبيرة عند دوار مجمع 338 تسببت في تلف إطار سيارتي", "338"),
    ("NCS-LGT-01", "أعمدة الإنارة مطفأة على طريق 35 مجمع 321 منذ أسبوع", "321"),
    ("NCS-SWR-02", "Water pooling outside the school gate in block 324 after the rain", "324"),
)


@dataclass(frozen=True)
class NationalDemo:
    """The national system's settings, keys and port, and the demo's connectors file."""

    settings: Settings
    portal_key: str
    port: int
    connectors: Path


async def _keys(settings: Settings) -> dict[str, str]:
    runtime = await start_runtime(settings)
    try:
        async with runtime.db.writing() as session:
            _portal, portal = await open311.create_key(
                session, name="national_portal", created_by_id=None
            )
            _ministry, ministry = await open311.create_key(
                session, name="works_ministry", created_by_id=None, updates=True
            )
    finally:
        await stop_runtime(runtime)
    return {"portal": portal, "ministry": ministry}


def prepare(folder: Path, port: int) -> NationalDemo:
    """The national system's database, keys and the demo's connectors file (made once)."""
    url = f"sqlite+aiosqlite:///{(folder / 'national.db').resolve()}"
    upgrade(url)
    settings = load_settings(
        database_url=url,
        attachments_dir=folder / "national-files",
        rules_file=Path(demo.__file__).parent / "national_rules.yaml",
    )
    held = folder / "national-keys.json"
    if not held.exists():
        held.write_text(json.dumps(asyncio.run(_keys(settings))), encoding="utf-8")
        held.chmod(0o600)
    keys = json.loads(held.read_text(encoding="utf-8"))
    key_file = folder / "national.key"
    key_file.write_text(keys["ministry"], encoding="utf-8")
    key_file.chmod(0o600)
    # Not connectors.yaml: the data folder's other commands would poll a national system
    # that only `qanat demo` serves. The demo hands this file to itself.
    connectors = folder / "demo-connectors.yaml"
    connectors.write_text(
        "# The demo's upstream: the national complaints system (qanat demo serves it).\n"
        "open311:\n"
        "  - account: national\n"
        f"    endpoint: http://127.0.0.1:{port}/open311/v2\n"
        f"    api_key_file: {key_file.resolve()}\n"
        "    first_days: 30\n",
        encoding="utf-8",
    )
    return NationalDemo(settings, keys["portal"], port, connectors)


async def _file_requests(client: httpx.AsyncClient, key: str) -> None:
    listed = (await client.get("/open311/v2/requests.json")).json()
    if listed:
        return
    for code, text, block in NATIONAL_REQUESTS:
        form = {
            "api_key": key,
            "service_code": code,
            "description": text,
            "address_string": f"Block {block}",
        }
        (await client.post("/open311/v2/requests.json", data=form)).raise_for_status()


async def _pairs(ministry: Runtime) -> list[tuple[str, str, str]]:
    """(national reference, the demo's reference, the demo's status) of each pulled request."""
    from sqlmodel import col, select

    async with ministry.db.session() as session:
        rows = await session.execute(
            select(Message.external_id, Ticket.reference, Ticket.status)
            .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
            .where(col(Message.channel) == "open311", col(Message.account) == "national")
            .order_by(col(Message.id))
        )
        return [(a, b, c) for a, b, c in rows.all()]


async def exchange(ministry: Runtime, national: NationalDemo, console: Console) -> None:
    """File national requests, pull them into the demo, resolve the first, show both sides."""
    runtime = await start_runtime(national.settings)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    base = f"http://127.0.0.1:{national.port}"
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            await _file_requests(client, national.portal_key)
            ministry.connectors.http = httpx.AsyncClient(transport=transport)
            upstream = ministry.connectors.get("open311", "national")
            report = await upstream.poll_once() if upstream is not None else None
            pairs = await _pairs(ministry)
            if pairs and pairs[0][2] not in ("resolved", "closed"):
                async with ministry.db.session() as session:
                    admin = await staff.user_named(session, username="admin")
                if admin is not None:
                    who = work.Request(viewer=staff.viewer_of(admin))
                    await work.update(ministry, who, pairs[0][1], status="resolved")
            console.print(_table(pairs, await _national_statuses(client), report))
    finally:
        await stop_runtime(runtime)


async def _national_statuses(client: httpx.AsyncClient) -> dict[str, str]:
    listed = (await client.get("/open311/v2/requests.json")).json()
    return {str(r["service_request_id"]): str(r["status"]) for r in listed}


def _table(pairs: list[tuple[str, str, str]], national: dict[str, str], report: Any) -> Table:
    saved = getattr(report, "saved", 0)
    table = Table(title=f"Federated upstream: the national system ({saved} new requests pulled)")
    for heading in ("National request", "Demo ticket", "National status"):
        table.add_column(heading)
    for national_reference, reference, _status in pairs:
        table.add_row(national_reference, reference, national.get(national_reference, "?"))
    return table


def serve_in_background(national: NationalDemo) -> threading.Thread:
    """Serve the national system on its port in a thread of this process (a daemon: it
    ends with the demo)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(national.settings), host="127.0.0.1", port=national.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="national-system", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return thread
