"""Social channels on the embedded default: Telegram webhook updates/s, X mentions/s.

- Telegram: updates posted to ``/webhooks/telegram/{account}`` through the real app
  (secret check, python-telegram-bot parsing, save, inline processing into tickets).
- X: one poll of ``--mentions`` mentions from a fake X API on 127.0.0.1, through tweepy's
  request code and the httpx bridge, saved and processed (100 per page).
- And the pure helpers on long inputs: ``split_for_telegram``, ``weighted_length``.

    PYTHONPATH=. python bench/social.py [--updates 500] [--mentions 500]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from qanat.config import load_settings
from qanat.ingest.base import ConnectorContext, WebhookRequest
from qanat.ingest.telegram.connector import SECRET_HEADER, TelegramAccount, TelegramConnector
from qanat.ingest.telegram.connector import SPEC as TELEGRAM
from qanat.ingest.telegram.updates import split_for_telegram
from qanat.ingest.x.connector import SPEC as X
from qanat.ingest.x.connector import XAccount, poll_x
from qanat.ingest.x.posts import weighted_length
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.migrate import upgrade
from qanat.testing import MemoryCursors, MemoryHealth, MemoryIntake
from qanat.web.app import create_app
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures"
TEXTS = [
    "طفح مجاري في مجمع {b} طريق {r} من يومين 🤢",
    "حفرة كبيرة في الشارع 🚧 طريق {r} مجمع {b}",
    "Street light broken عمود الإنارة طايح at Road {r}, Block {b} 🙏",
]


def database(folder: str, name: str) -> str:
    """A migrated SQLite file (migrations run their own event loop: call outside one)."""
    url = f"sqlite:///{Path(folder) / name}.db"
    upgrade(url)
    return url


async def started(folder: str, name: str) -> Runtime:
    url = f"sqlite:///{Path(folder) / name}.db"
    return await start_runtime(
        load_settings(database_url=url, attachments_dir=Path(folder) / "files")
    )


def telegram_updates(count: int) -> list[bytes]:
    template = json.loads((FIXTURES / "telegram" / "text_arabic.json").read_text())
    bodies = []
    for n in range(count):
        update = copy.deepcopy(template)
        update["update_id"] += n
        update["message"]["message_id"] = 1000 + n
        update["message"]["from"]["id"] = update["message"]["chat"]["id"] = 5100000000 + n
        update["message"]["text"] = TEXTS[n % 3].format(b=300 + n % 400, r=n % 3000)
        bodies.append(json.dumps(update, ensure_ascii=False).encode())
    return bodies


async def telegram_rate(folder: str, count: int) -> float:
    runtime = await started(folder, "telegram")
    runtime.connectors.specs["telegram"] = TELEGRAM
    runtime.accounts["telegram"] = [{"account": "bot", "token": "1:x", "secret_token": "s"}]
    bodies = telegram_updates(count)
    headers = {"content-type": "application/json", SECRET_HEADER: "s"}
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://q") as app:
        began = time.perf_counter()
        for body in bodies:
            answer = await app.post("/webhooks/telegram/bot", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
        elapsed = time.perf_counter() - began
    await stop_runtime(runtime)
    return count / elapsed


async def telegram_connector_rate(count: int) -> float:
    """The connector alone: secret, JSON, python-telegram-bot parsing, into memory."""
    headers = {"content-type": "application/json", SECRET_HEADER.lower(): "s"}
    async with httpx.AsyncClient() as http:
        context = ConnectorContext(
            channel="telegram",
            account="bot",
            config=TelegramAccount(account="bot", token="1:x", secret_token="s"),
            intake=MemoryIntake(),
            cursors=MemoryCursors(),
            health=MemoryHealth(),
            http=http,
            clock=lambda: datetime.now(UTC),
        )
        connector = TelegramConnector(context)
        requests = [
            WebhookRequest("POST", "u", "", headers, {}, b) for b in telegram_updates(count)
        ]
        began = time.perf_counter()
        for request in requests:
            await connector.receive(request)
        return count / (time.perf_counter() - began)


def mentions(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(1985123456789100000 + n),
            "text": "@MoWorksBH " + TEXTS[n % 3].format(b=300 + n % 400, r=n % 3000),
            "author_id": str(1400000000000000000 + n),
            "conversation_id": str(1985123456789100000 + n),
            "created_at": "2026-11-02T05:00:00.000Z",
            "edit_history_tweet_ids": [str(1985123456789100000 + n)],
        }
        for n in range(count)
    ]


async def x_rate(folder: str, url: str, fake: FakeXApi, count: int) -> float:
    runtime = await started(folder, "x")
    fake.tweets |= {tweet["id"]: tweet for tweet in mentions(count)}
    entry = {"account": "moworks", "user_id": OUR_ID, "bearer_token": "b"}
    account = XAccount.model_validate(entry | {"direct_messages": False})
    runtime.connectors.specs["x"] = X
    await runtime.connectors.http.aclose()
    runtime.connectors.http = client_for(url)
    await runtime.cursors.put("x", "moworks", {"mentions_since_id": "1"})
    began = time.perf_counter()
    report = await poll_x(runtime, account)
    elapsed = time.perf_counter() - began
    assert report.saved == count, report
    await stop_runtime(runtime)
    return count / elapsed


def helpers_ms() -> tuple[float, float]:
    text = "نعتذر عن التأخير في معالجة البلاغ 😔 " * 3000  # about 110 000 characters
    began = time.perf_counter()
    parts = split_for_telegram(text)
    split_ms = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    for part in parts:
        weighted_length(part)
    return split_ms, (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--mentions", type=int, default=500)
    args = parser.parse_args()
    fake = FakeXApi()
    with tempfile.TemporaryDirectory() as folder, serve(fake.app()) as url:
        database(folder, "telegram")
        database(folder, "x")
        telegram = asyncio.run(telegram_rate(folder, args.updates))
        connector_only = asyncio.run(telegram_connector_rate(args.updates))
        x = asyncio.run(x_rate(folder, url, fake, args.mentions))
    split_ms, weigh_ms = helpers_ms()
    print("SQLite, inline processing, one process")
    print(f"telegram webhook: {args.updates} updates, {telegram:.0f} updates/s end to end")
    print(f"telegram connector alone (memory intake): {connector_only:.0f} updates/s")
    print(f"x poll: {args.mentions} mentions, {x:.0f} mentions/s end to end")
    print(f"split_for_telegram, 110k characters: {split_ms:.1f} ms")
    print(f"weighted_length over the same text: {weigh_ms:.1f} ms")


if __name__ == "__main__":
    main()
