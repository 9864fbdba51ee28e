"""The IMAP poller against a real Dovecot: watermarks, restarts, UIDVALIDITY, IDLE."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from imapclient import IMAPClient

from qanat.ingest.email.imap import ImapMailbox, ImapPoller, backoff_delay, batches

if TYPE_CHECKING:
    from qanat.testing import MemoryCursors, MemoryIntake
    from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
NOW = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
MESSAGES = [
    "arabic_windows1256_quoted_printable.eml",
    "arabic_utf8_base64.eml",
    "attachment_rfc2231_arabic_filename.eml",
    "no_message_id.eml",
    "gmail_reply_arabic_ui.eml",
]
_folders = itertools.count(1)


def mail(name: str) -> bytes:
    """A fixture with CRLF line endings, as a server stores it."""
    return re.sub(rb"\r?\n", b"\r\n", (FIXTURES / name).read_bytes())


@pytest.fixture
def admin(dovecot: Dovecot) -> Iterator[IMAPClient]:
    """A second client, playing the citizens' mail arriving and staff looking."""
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(dovecot.username, dovecot.password)
    yield client
    client.logout()


@pytest.fixture
def folder(admin: IMAPClient) -> str:
    """A fresh folder for this test."""
    name = f"Complaints{next(_folders)}"
    admin.create_folder(name)
    return name


def mailbox(dovecot: Dovecot, folder: str, **options: object) -> ImapMailbox:
    """The poller's settings for ``folder`` on the test Dovecot."""
    settings: dict[str, object] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "ssl": False,
        "username": dovecot.username,
        "password": dovecot.password,
        "folder": folder,
        "account": f"ministry-{folder}",
    }
    return ImapMailbox.model_validate(settings | options)


def poller(box: ImapMailbox, intake: MemoryIntake, cursors: MemoryCursors) -> ImapPoller:
    """A poller with a fixed clock, fetching two messages at a time."""
    return ImapPoller(
        box, intake, cursors, lambda: NOW, batch_size=2, backoff_initial=0.01, backoff_cap=0.05
    )


def append(admin: IMAPClient, folder: str, *names: str, when: datetime | None = None) -> None:
    """Deliver fixture messages into ``folder``."""
    for name in names:
        admin.append(folder, mail(name), msg_time=when)


def flags(admin: IMAPClient, folder: str) -> list[set[bytes]]:
    """Each message's flags, in UID order."""
    admin.select_folder(folder, readonly=True)
    found = admin.get_flags(admin.search("ALL"))
    return [set(found[uid]) - {b"\\Recent"} for uid in sorted(found)]  # \Recent: per session


async def test_poll_saves_new_mail_without_marking_it_read_first(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    append(admin, folder, *MESSAGES[:2])
    imap = poller(mailbox(dovecot, folder, flag_after=None), intake, cursors)
    report = await imap.poll_once()
    await imap.close()
    assert (report.fetched, report.saved, report.duplicates, report.errors) == (2, 2, 0, 0)
    assert [m.subject for m in intake.inbounds()] == ["طفح مجاري في مجمع 305", "إنارة الشارع مطفأة"]
    assert {m.account for m in intake.inbounds()} == {f"ministry-{folder}"}
    assert intake.inbounds()[0].metadata["imap"]["uid"] == 1
    assert intake.inbounds()[1].raw == mail(MESSAGES[1])
    assert flags(admin, folder) == [set(), set()]  # BODY.PEEK: nothing marked \Seen
    uidvalidity = admin.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert cursors.values[("email", f"ministry-{folder}")] == {
        "uidvalidity": uidvalidity,
        "last_uid": 2,
    }
    assert imap.health["last_success"] == NOW and imap.health["error_count"] == 0


async def test_restarted_poller_loses_and_repeats_nothing(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    box = mailbox(dovecot, folder)
    append(admin, folder, *MESSAGES[:3])
    first = poller(box, intake, cursors)
    assert (await first.poll_once()).saved == 3
    await first.close()
    append(admin, folder, *MESSAGES[3:])
    second = poller(box, intake, cursors)  # a new process: only the cursor store survives
    report = await second.poll_once()
    again = await second.poll_once()
    await second.close()
    assert (report.fetched, report.saved, report.duplicates) == (2, 2, 0)
    assert (again.fetched, again.saved) == (0, 0)
    assert len(intake.inbounds()) == 5 and intake.attempts == 5
    assert cursors.values[("email", box.account_name)]["last_uid"] == 5
    assert flags(admin, folder) == [{b"\\Seen"}] * 5


async def test_changed_uidvalidity_rescans_without_storing_twice(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    box = mailbox(dovecot, folder)
    append(admin, folder, *MESSAGES[:3])
    imap = poller(box, intake, cursors)
    assert (await imap.poll_once()).saved == 3
    await imap.close()
    before = cursors.values[("email", box.account_name)]["uidvalidity"]
    admin.delete_folder(folder)  # the server renumbers: same folder, new UIDVALIDITY
    admin.create_folder(folder)
    append(admin, folder, *MESSAGES[:3], MESSAGES[3])
    report = await imap.poll_once()
    await imap.close()
    assert report.rescanned
    assert (report.fetched, report.saved, report.duplicates) == (4, 1, 3)
    assert len(intake.inbounds()) == 4
    cursor = cursors.values[("email", box.account_name)]
    assert cursor["uidvalidity"] != before and cursor["last_uid"] == 4


async def test_committed_mail_is_flagged_and_moved(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    done = f"{folder}-done"
    box = mailbox(dovecot, folder, flag_after="$QanatSaved", processed_folder=done)
    append(admin, folder, *MESSAGES[:2])
    imap = poller(box, intake, cursors)
    report = await imap.poll_once()
    await imap.close()
    assert report.saved == 2
    assert flags(admin, folder) == []
    assert flags(admin, done) == [{b"$QanatSaved"}, {b"$QanatSaved"}]
    assert (await imap.poll_once()).fetched == 0
    await imap.close()


async def test_store_outage_leaves_watermark_and_flags_where_they_were(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    box = mailbox(dovecot, folder)
    append(admin, folder, *MESSAGES[:3])
    intake.failing = {"<CAJx8Rt2o+5=Vd0pQ1hWn3sG_2kKq9zE7yXb4mFh0s=ZP6vT_4Q@mail.gmail.com>"}
    imap = poller(box, intake, cursors)
    report = await imap.poll_once()
    assert (report.saved, report.errors) == (1, 1)
    assert report.error is not None and "store" in report.error
    assert cursors.values[("email", box.account_name)]["last_uid"] == 1
    assert flags(admin, folder) == [{b"\\Seen"}, set(), set()]
    assert imap.health["error_count"] == 1 and imap.health["last_error_at"] == NOW
    intake.failing = set()
    report = await imap.poll_once()
    await imap.close()
    assert (report.fetched, report.saved, report.errors) == (2, 2, 0)
    assert cursors.values[("email", box.account_name)]["last_uid"] == 3
    assert flags(admin, folder) == [{b"\\Seen"}] * 3
    assert imap.health["error_count"] == 0


async def test_list_since_names_messages_as_they_were_stored(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    append(admin, folder, MESSAGES[0], when=NOW - timedelta(days=10))
    append(admin, folder, MESSAGES[1], MESSAGES[3], when=NOW - timedelta(hours=2))
    imap = poller(mailbox(dovecot, folder), intake, cursors)
    await imap.poll_once()
    recent = await imap.list_since(NOW - timedelta(days=1))
    everything = await imap.list_since(NOW - timedelta(days=30))
    await imap.close()
    stored = [m.external_id for m in intake.inbounds()]
    assert recent == stored[1:]
    assert recent[1].startswith("sha256:")  # no Message-ID: the same hash the poll stored
    assert everything == stored


async def test_unreachable_server_is_reported_and_backed_off(
    intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    box = ImapMailbox(host="127.0.0.1", port=closed_port, ssl=False, username="u", password="p")
    imap = poller(box, intake, cursors)
    report = await imap.poll_once()
    assert report.errors == 1 and report.error is not None
    assert "ConnectionRefusedError" in report.error
    stop = asyncio.Event()
    task = asyncio.create_task(imap.run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert imap.health["error_count"] >= 3
    assert imap.health["last_success"] is None


async def test_wrong_password_is_a_reported_error(
    dovecot: Dovecot, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    imap = poller(mailbox(dovecot, folder, password="not-it"), intake, cursors)
    report = await imap.poll_once()
    assert report.error is not None and "LoginError" in report.error
    assert imap.health["last_error"] == report.error


async def test_idle_picks_up_new_mail_promptly(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    imap = poller(mailbox(dovecot, folder), intake, cursors)
    imap.poll_interval = 60.0  # were IDLE not used, the test would time out
    stop = asyncio.Event()
    task = asyncio.create_task(imap.run(stop))
    try:
        await asyncio.sleep(0.3)  # first poll done, now in IDLE
        await asyncio.to_thread(append, admin, folder, MESSAGES[2])
        for _ in range(100):
            if intake.inbounds():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert [m.subject for m in intake.inbounds()] == ["حفرة خطيرة - صورة وتقرير"]


async def test_without_idle_the_poller_polls_at_its_interval(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    imap = ImapPoller(
        mailbox(dovecot, folder), intake, cursors, lambda: NOW, poll_interval=0.1, use_idle=False
    )
    stop = asyncio.Event()
    task = asyncio.create_task(imap.run(stop))
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(append, admin, folder, MESSAGES[4])
        for _ in range(60):
            if intake.inbounds():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert [m.subject for m in intake.inbounds()] == ["Re: [QN-2025-000131] إنارة الشارع"]
    assert cursors.puts == 1


def test_fetches_are_bounded_by_count_and_bytes() -> None:
    sizes = {1: 10, 2: 10, 3: 90, 4: 500, 5: 5, 6: 5, 7: 5}
    assert batches(sizes, 3, 100) == [[1, 2], [3], [4], [5, 6, 7]]
    assert batches({}, 3, 100) == []


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


async def test_mail_that_is_not_email_goes_to_dead_letters_and_is_passed(
    dovecot: Dovecot, admin: IMAPClient, folder: str, intake: MemoryIntake, cursors: MemoryCursors
) -> None:
    admin.append(folder, b"\r\n")
    append(admin, folder, MESSAGES[0])
    imap = poller(mailbox(dovecot, folder), intake, cursors)
    report = await imap.poll_once()
    await imap.close()
    assert (report.dead_lettered, report.saved, report.errors) == (1, 1, 0)
    [(key, reason)] = intake.dead_letters().items()
    assert key[2].startswith("uid:") and key[2].endswith(":1")
    assert "empty" in reason
    assert cursors.values[("email", f"ministry-{folder}")]["last_uid"] == 2


async def test_an_unexpected_store_error_is_reported_not_raised(
    dovecot: Dovecot,
    admin: IMAPClient,
    folder: str,
    intake: MemoryIntake,
    cursors: MemoryCursors,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(inbound: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(intake, "save", broken)
    append(admin, folder, MESSAGES[0])
    imap = poller(mailbox(dovecot, folder), intake, cursors)
    report = await imap.poll_once()
    await imap.close()
    assert report.error == "RuntimeError: disk full"
    assert cursors.values == {}
    assert flags(admin, folder) == [set()]
