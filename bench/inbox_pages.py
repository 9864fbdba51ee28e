"""Page load times of the shared inbox with the demo data, through a real uvicorn server.

Loads the demo messages (and, with ``--extra N``, N more made from varied problems
spread over 30 days, so the lists are not trivially short) into a scratch SQLite store
through the real intake, logs in as the demo admin, and times GETs of the inbox, a
search, a ticket page and the dashboard: median (p50) and p90 over ``--requests``.

    python bench/inbox_pages.py [--extra 2000] [--requests 20] [--demo FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from qanat.config import Settings, load_settings
from qanat.demo import demo_messages_path
from qanat.demo.run import DEMO_PASSWORD, create_demo_staff
from qanat.ingest.interchange import import_file
from qanat.model import Inbound, Sender
from qanat.runtime import start_runtime, stop_runtime
from qanat.store.migrate import upgrade
from qanat.web.app import create_app

PROBLEMS = [
    ("sms", "طفح مجاري في مجمع {b} طريق {r} منذ يومين"),
    ("x", "حفرة كبيرة في شارع {r} مجمع {b} خطيرة على السيارات"),
    ("telegram", "عمود انارة طايح في طريق {r} بلوك {b}"),
    ("email", "Garbage not collected on Road {r}, Block {b} for a week"),
    ("web", "اقتراح: حديقة للأطفال في مجمع {b}"),
    ("call_centre", "المواطن يشتكي من تسرب مياه في طريق {r} مجمع {b}"),
]


def extra_messages(count: int) -> list[Inbound]:
    """``count`` varied messages over the last 30 days, some repeating places."""
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / max(1, count)
    made = []
    for n in range(count):
        channel, text = PROBLEMS[n % len(PROBLEMS)]
        made.append(
            Inbound(
                channel=channel,
                external_id=f"bench-{n:06d}",
                received_at=start + n * step,
                sender=Sender(handle=f"+9733{n % 900000:06d}1", phone=f"+9733{n % 900000:06d}1"),
                text=text.format(b=300 + n % 120, r=n % 2500) + f" #{n}",
            )
        )
    return made


async def load(settings: Settings, demo: Path, extra: int) -> str:
    """Fill the store; returns a ticket reference to open."""
    runtime = await start_runtime(settings)
    try:
        await import_file(runtime.intake, demo)
        for inbound in extra_messages(extra):
            await runtime.intake.save(inbound)
        await create_demo_staff(runtime)
    finally:
        await stop_runtime(runtime)
    return "QN-2026-000001"


def serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, int]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, int(port)


def log_in(client: httpx.Client) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    assert done.status_code == 303, done.text


def timings(client: httpx.Client, path: str, requests: int) -> list[float]:
    client.get(path)  # warm caches and templates
    spent = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=0, help="messages added to the demo")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--demo", type=Path, default=demo_messages_path())
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'qanat.db'}"
        upgrade(url)
        settings = load_settings(database_url=url, attachments_dir=Path(folder) / "files")
        started = time.perf_counter()
        reference = asyncio.run(load(settings, arguments.demo, arguments.extra))
        print(f"loaded in {time.perf_counter() - started:.1f}s")
        server, thread, port = serve(settings)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            log_in(client)
            tickets = client.get("/api/summary").json()["tickets"]
            print(f"{tickets} tickets; {arguments.requests} GETs each")
            for label, path in (
                ("inbox (open)", "/inbox"),
                ("inbox search", "/inbox?queue=all&q=مجارى"),
                ("ticket page", f"/tickets/{reference}"),
                ("dashboard 30 days", "/dashboard"),
            ):
                spent = sorted(timings(client, path, arguments.requests))
                p90 = spent[min(len(spent) - 1, int(len(spent) * 0.9))]
                print(f"{label:<20} p50 {statistics.median(spent):7.1f} ms   p90 {p90:7.1f} ms")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
