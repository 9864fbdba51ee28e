"""A real qanat server (uvicorn, on a free port, SQLite seeded through the real intake) and
Debian's chromium driven by Playwright. Screenshots of failing tests go to test-output/.

Skips with the reason when /usr/bin/chromium is absent, unless QANAT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qanat.config import Settings, load_settings
from qanat.ingest.interchange import import_file
from qanat.model import Inbound, Reply, SentReply
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import staff
from qanat.store.migrate import upgrade
from qanat.store.users import add_user
from qanat.web import work
from tests.conftest import service_missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SEED = Path(__file__).parent.parent / "web" / "fixtures" / "inbox_seed.jsonl"
SCREENSHOTS = Path(__file__).parent.parent.parent / "test-output"
PASSWORD = "browser-test-password"
#: username → (role, department, block)
STAFF = {
    "admin": ("admin", None, None),
    "sup_sewage": ("supervisor", "sewage", None),
    "agent_sewage": ("agent", "sewage", None),
    "agent_roads": ("agent", "roads", None),
}


class RecordingSender:
    """Stands in for the SMS connector: accepts every reply."""

    def __init__(self) -> None:
        self.sent: list[Reply] = []

    async def send(self, reply: Reply) -> SentReply:
        self.sent.append(reply)
        return SentReply(external_id=f"sms-out-{len(self.sent)}")


@dataclass
class Server:
    """The running server: its address and settings, and a way to add messages."""

    url: str
    settings: Settings
    sms: RecordingSender

    def save(self, inbound: Inbound) -> None:
        """Save a message through the real intake, from another thread (as a connector)."""
        run_elsewhere(lambda: _save(self.settings, inbound))

    def act_as(self, username: str, action: Callable[[Runtime, Any], Awaitable[Any]]) -> None:
        """Do ``action(runtime, work.Request)`` as ``username``, from another process's view."""
        run_elsewhere(lambda: _act(self.settings, username, action))

    def save_all(self, inbounds: list[Inbound]) -> None:
        """Save many messages through the real intake, with one runtime."""
        run_elsewhere(lambda: _save_all(self.settings, inbounds))

    def in_store(self, body: Callable[[Runtime], Awaitable[Any]]) -> Any:
        """What ``body(runtime)`` returns, run against the server's store from another
        thread (Playwright owns this one)."""
        found: list[Any] = []

        async def go() -> None:
            runtime = await start_runtime(self.settings)
            try:
                found.append(await body(runtime))
            finally:
                await stop_runtime(runtime)

        run_elsewhere(go)
        return found[0]


def run_elsewhere(coroutine: Callable[[], Any]) -> None:
    """Run a coroutine to completion on its own loop and thread (Playwright owns this one)."""
    problems: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine())
        except BaseException as exc:  # surfaced below, in the test's thread
            problems.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if problems:
        raise problems[0]


async def _save(settings: Settings, inbound: Inbound) -> None:
    runtime = await start_runtime(settings)
    try:
        await runtime.intake.save(inbound)
    finally:
        await stop_runtime(runtime)


async def _save_all(settings: Settings, inbounds: list[Inbound]) -> None:
    runtime = await start_runtime(settings)
    try:
        for inbound in inbounds:
            await runtime.intake.save(inbound)
    finally:
        await stop_runtime(runtime)


async def _act(
    settings: Settings, username: str, action: Callable[[Runtime, Any], Awaitable[Any]]
) -> None:
    runtime = await start_runtime(settings)
    try:
        async with runtime.db.session() as session:
            user = await staff.user_named(session, username=username)
        assert user is not None
        await action(runtime, work.Request(viewer=staff.viewer_of(user)))
    finally:
        await stop_runtime(runtime)


async def _seed(settings: Settings) -> None:
    runtime: Runtime = await start_runtime(settings)
    try:
        await import_file(runtime.intake, SEED)
        for username, (role, department, block) in STAFF.items():
            await add_user(
                runtime.db,
                username=username,
                role=role,
                display_name=username.replace("_", " "),
                password=PASSWORD,
                department=department,
                block=block,
            )
    finally:
        await stop_runtime(runtime)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """qanat served by uvicorn on 127.0.0.1, on a SQLite store seeded through the intake."""
    if not CHROMIUM.exists():
        service_missing(f"chromium is not installed at {CHROMIUM}")
    import uvicorn

    from qanat.web.app import create_app

    folder = tmp_path_factory.mktemp("browser")
    database = f"sqlite+aiosqlite:///{folder / 'qanat.db'}"
    upgrade(database)
    # The tests run at any hour: no quiet hours, or the SMS notices a page leads to would
    # wait for the morning whenever the suite runs in the evening.
    settings = load_settings(
        database_url=database, attachments_dir=folder / "files", notice_quiet_hours=""
    )
    run_elsewhere(lambda: _seed(settings))
    app = create_app(settings)
    app.state.sse_poll_seconds = 0.2
    app.state.sse_stream_seconds = 30
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the qanat server did not start")
        time.sleep(0.05)
    sms = RecordingSender()
    app.state.runtime.senders["sms"] = sms
    yield Server(url=f"http://127.0.0.1:{port}", settings=settings, sms=sms)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    """Debian's chromium under Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def log_in(page: Any, server: Server, username: str, password: str = PASSWORD) -> None:
    """Log in through the form and land on the inbox."""
    page.goto(f"{server.url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r".*/inbox(\?.*)?$"))


def switch_to_english(page: Any) -> None:
    """Switch the signed-in person's pages to English (the header's language button)."""
    page.click('header.top form[action="/account/language"] button')
    page.wait_for_function("document.documentElement.lang === 'en'")


def wider_than_the_window(page: Any) -> bool:
    """True when the page scrolls sideways (something overflows)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test, so the page fixture knows if it failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page; a screenshot is saved if the test fails."""
    context = browser.new_context(locale="ar-BH", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        for n, each in enumerate(context.pages):
            each.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{n}.png"), full_page=True)
    context.close()
