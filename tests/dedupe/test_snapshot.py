"""A worker's index kept between runs: read back when the store agrees, never otherwise."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from qanat.config import Settings
from qanat.dedupe import live as live_module
from qanat.dedupe import snapshot
from qanat.dedupe.index import CandidateIndex
from qanat.dedupe.live import LiveIndex
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import queries
from qanat.store.tables import Ticket
from qanat.worker import keep_dedupe_index
from tests.dedupe.test_live import AGAIN, OVERFLOW, add_ticket


def kept(path: Path) -> LiveIndex:
    """A worker's index kept in ``path`` whatever its size."""
    return LiveIndex(snapshot=path, snapshot_from=1)


def files_in(folder: Path) -> list[str]:
    return sorted(found.name for found in folder.iterdir())


def postings(index: CandidateIndex) -> dict[object, object]:
    return {key: list(filed) for key, filed in index.postings.items()}


def refuse_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading every open ticket from the store fails: what is ready came from the file."""

    async def refused(*_args: object) -> CandidateIndex:
        raise AssertionError("the index was loaded from the store")

    monkeypatch.setattr(live_module, "load_index", refused)


async def two_tickets(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.writing() as session:
        first = await add_ticket(session, "QN-2026-000001", OVERFLOW)
        second = await add_ticket(session, "QN-2026-000002", "Street light out", block="306")
    assert first.id is not None and second.id is not None
    return first.id, second.id


async def test_a_restart_reads_the_index_back_and_applies_what_changed_since(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dedupe-index.jsonl"
    first, second = await two_tickets(runtime)
    before = kept(path)
    async with runtime.db.session() as session:
        await before.ready(session)  # loaded from the store, then kept
    assert path.is_file() and set(before.index.entries) == {first, second}
    # While the worker is away: one ticket resolved, one opened.
    async with runtime.db.writing() as session:
        await session.execute(update(Ticket).where(Ticket.id == first).values(status="resolved"))  # type: ignore[arg-type]
        await queries.add_event(
            session, actor="staff:mariam", type="status_changed", ticket_id=first
        )
        third = await add_ticket(session, "QN-2026-000003", AGAIN, road="77")
    refuse_the_store(monkeypatch)
    after = kept(path)
    async with runtime.db.session() as session:
        await after.ready(session)
    assert set(after.index.entries) == {second, third.id}
    assert after.index.entries[second] == before.index.entries[second]
    assert after.last_event_id is not None and after.last_event_id > (before.last_event_id or 0)


async def test_a_snapshot_of_another_store_or_other_code_or_cut_short_is_not_used(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "dedupe-index.jsonl"
    first, second = await two_tickets(runtime)
    async with runtime.db.session() as session:
        await kept(path).ready(session)
    whole = path.read_text(encoding="utf-8")
    header, *lines = whole.splitlines(keepends=True)
    fields = json.loads(header)
    foreign = {**fields, "last_event": [fields["last_event"][0], "2020-01-01T00:00:00+00:00"]}
    older = {**fields, "code": "0" * 32}
    for written in (
        json.dumps(foreign) + "\n" + "".join(lines),  # another database: its event differs
        json.dumps(older) + "\n" + "".join(lines),  # written by other code
        header + lines[0],  # cut short: one of its two tickets
        header + lines[0] + "[1, 2\n",  # a line cut in half
        "not json\n",
    ):
        path.write_text(written, encoding="utf-8")
        loaded = kept(path)
        async with runtime.db.session() as session:
            await loaded.ready(session)  # from the store, and kept again
        assert set(loaded.index.entries) == {first, second}
        assert path.read_text(encoding="utf-8").splitlines()[1:] == whole.splitlines()[1:]


async def test_a_stopping_worker_keeps_its_index_once_it_is_large_enough(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "kept.jsonl"
    first, second = await two_tickets(runtime)
    worker = await start_runtime(settings.model_copy(update={"dedupe_snapshot_file": path}))
    try:
        worker.dedupe.snapshot_from = 3
        async with worker.db.session() as session:
            await worker.dedupe.ready(session)
        assert not path.exists()  # two tickets: loaded from the store, not kept
        worker.dedupe.snapshot_from = 2
    finally:
        await stop_runtime(worker)
    header = snapshot.read_header(path)
    assert header is not None and header.count == 2
    assert header.last_event_id == worker.dedupe.last_event_id
    assert header.code == snapshot.code_mark()
    read = snapshot.read_entries(path, header.count)
    assert read is not None and dict(read) == worker.dedupe.index.entries
    rebuilt = CandidateIndex.of(read)
    assert postings(rebuilt) == postings(worker.dedupe.index)
    assert set(rebuilt.entries) == {first, second}


async def test_saves_at_once_keep_one_whole_file_and_an_unchanged_index_is_not_written_again(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "kept" / "dedupe-index.jsonl"
    await two_tickets(runtime)
    worker = LiveIndex(snapshot=path, snapshot_from=3)  # loaded, not kept yet
    async with runtime.db.session() as session:
        await worker.ready(session)
    worker.snapshot_from = 1
    async with runtime.db.session() as first, runtime.db.session() as second:
        assert await asyncio.gather(worker.save(first), worker.save(second)) == [True, True]
    written = path.stat().st_mtime_ns
    header = snapshot.read_header(path)
    assert header is not None and snapshot.read_entries(path, header.count) is not None
    assert files_in(path.parent) == [path.name]  # no partial file left
    async with runtime.db.session() as session:
        assert await worker.save(session)  # nothing read since: kept as it is
    assert path.stat().st_mtime_ns == written


async def test_the_nightly_job_keeps_the_worker_s_index(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "dedupe-index.jsonl"
    await two_tickets(runtime)
    runtime.dedupe.snapshot, runtime.dedupe.snapshot_from = path, 1
    async with runtime.db.session() as session:
        await runtime.dedupe.load(session)  # loaded, as a long-running worker's is
    assert await keep_dedupe_index({"runtime": runtime})
    header = snapshot.read_header(path)
    assert header is not None and header.count == 2


async def test_where_the_code_cannot_be_read_no_snapshot_is_written_or_used(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A frozen build: the modules that make an entry have no file to digest.
    path = tmp_path / "dedupe-index.jsonl"
    first, second = await two_tickets(runtime)
    async with runtime.db.session() as session:
        await kept(path).ready(session)  # kept while the code can be read
    monkeypatch.setattr(snapshot.text_module, "__file__", None)
    assert snapshot.code_mark() is None

    def unread(*_args: object) -> None:
        raise AssertionError("the snapshot was read")

    monkeypatch.setattr(live_module, "read_entries", unread)
    loaded = kept(path)
    written = path.stat().st_mtime_ns
    async with runtime.db.session() as session:
        await loaded.ready(session)  # from the store, not from the file
        assert not await loaded.save(session)
    assert set(loaded.index.entries) == {first, second}
    assert path.stat().st_mtime_ns == written
