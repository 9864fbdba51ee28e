"""Shared fixtures: the store on SQLite and PostgreSQL, Redis, and a running runtime.

Tests that need a service skip with the reason when it is absent, unless
``QANAT_REQUIRE_SERVICES=1`` (as in CI), where an absent service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine.url import make_url

from qanat.config import Settings, load_settings
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.migrate import upgrade
from tests.support.dovecot import Dovecot, DovecotMissing, start_dovecot

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/qanat_test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session", autouse=True)
def _scratch_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests run with a scratch data folder (QANAT_HOME), never the checkout's own
    ./qanat-data, whose rules or model would change what the tests see."""
    before = os.environ.get("QANAT_HOME")
    os.environ["QANAT_HOME"] = str(tmp_path_factory.mktemp("qanat-home"))
    yield
    if before is None:
        os.environ.pop("QANAT_HOME", None)
    else:
        os.environ["QANAT_HOME"] = before


def for_this_worker(url: str) -> str:
    """The test service URL this pytest-xdist worker owns (``pytest -n``), so parallel
    workers never share a store or a queue: PostgreSQL database ``NAME_gwN``, Redis
    database number minus N. Without workers, the URL as given."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, …
    if worker is None:
        return url
    number = int(worker.removeprefix("gw"))
    if url.startswith("redis"):
        base, _, db = url.rpartition("/")
        return f"{base}/{int(db or 0) - number}"
    target = make_url(url)
    return target.set(database=f"{target.database}_{worker}").render_as_string(hide_password=False)


def services_required() -> bool:
    """True when an absent service must fail the run instead of skipping."""
    return os.environ.get("QANAT_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip (or, when services are required, fail) with ``reason``."""
    if services_required():
        pytest.fail(f"{reason} (QANAT_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


async def _postgres_ready(url: str) -> str | None:
    import asyncpg

    target = make_url(url)
    dsn = target.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except asyncpg.InvalidCatalogNameError:
        admin = target.set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=5)
        await connection.execute(f'CREATE DATABASE "{target.database}"')
        await connection.close()
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {target.host}:{target.port} is not reachable: {exc}"
    # A clean schema per test session, then the real migrations.
    await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await connection.close()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A migrated PostgreSQL test database (QANAT_TEST_DATABASE_URL)."""
    url = for_this_worker(os.environ.get("QANAT_TEST_DATABASE_URL", DEFAULT_POSTGRES))
    problem = asyncio.run(_postgres_ready(url))
    if problem:
        service_missing(problem)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    """Empty every qanat table (whatever migrations added), keeping the schema."""
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    tables = [
        row["tablename"]
        for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
    ]
    await connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated store: every store test runs once on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "qanat.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    yield url


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The PostgreSQL test database, emptied (for tests that need PostgreSQL itself)."""
    asyncio.run(_truncate(postgres_url))
    return postgres_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own store and attachment folder, jobs inline, no notices."""
    return load_settings(
        database_url=database_url,
        redis_url=None,
        attachments_dir=tmp_path / "files",
        # Citizens' notices are off unless a test is about them (tests/outbound/test_notices):
        # other tests count exactly the messages staff send.
        notices=False,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime (store + inline queue + intake) for one test."""
    started = await start_runtime(settings)
    try:
        yield started
    finally:
        await stop_runtime(started)


async def _redis_ready(url: str) -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.ping()
        await client.flushdb()
    except OSError as exc:
        return f"Redis at {url} is not reachable: {exc}"
    except Exception as exc:  # redis' ConnectionError is not an OSError
        return f"Redis at {url} is not reachable: {exc}"
    finally:
        await client.aclose()
    return None


@pytest.fixture
def redis_url() -> str:
    """An empty Redis database (QANAT_TEST_REDIS_URL), flushed before the test."""
    url = for_this_worker(os.environ.get("QANAT_TEST_REDIS_URL", DEFAULT_REDIS))
    problem = asyncio.run(_redis_ready(url))
    if problem:
        service_missing(problem)
    return url


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """A real Dovecot IMAP server on 127.0.0.1, unprivileged, in a temporary folder."""
    try:
        server = start_dovecot(tmp_path_factory.mktemp("dovecot"))
    except DovecotMissing as exc:
        service_missing(str(exc))
    try:
        yield server
    finally:
        server.stop()
