"""Operations pages of the API: channel health and the reconciliation ledger (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime

from qanat.jobs.reconcile import reconcile
from qanat.runtime import Runtime
from tests.web.conftest import Login


async def test_channel_health_counts_failures_until_a_success(
    seeded: Runtime, login: Login
) -> None:
    await seeded.health.failure("email", "complaints", "IMAP login failed: [AUTHENTICATIONFAILED]")
    await seeded.health.failure("email", "complaints", "timed out")
    await seeded.cursors.put("email", "complaints", {"uidvalidity": 3, "last_uid": 41})
    admin, agent = await login("admin"), await login("agent_sewage")
    failing = next(c for c in (await admin.get("/api/channels")).json() if c["channel"] == "email")
    await seeded.health.success("email", "complaints")
    healthy = next(c for c in (await admin.get("/api/channels")).json() if c["channel"] == "email")
    assert failing["error_count"] == 2 and failing["consecutive_errors"] == 2
    assert failing["last_error"] == "timed out" and failing["last_success_at"] is None
    assert failing["watermark"] == {"uidvalidity": 3, "last_uid": 41}
    assert healthy["consecutive_errors"] == 0 and healthy["last_success_at"] is not None
    assert (await agent.get("/api/channels")).status_code in (403, 404)


async def test_the_ledger_is_shown_to_admins(seeded: Runtime, login: Login) -> None:
    await reconcile(seeded, since=datetime(2026, 1, 1, tzinfo=UTC))
    admin = await login("admin")
    runs = (await admin.get("/api/reconcile-runs")).json()
    assert runs and {r["status"] for r in runs} == {"ok"}
    assert all(r["stored_count"] >= 1 for r in runs)


async def test_a_shared_identity_suggests_a_merge_until_staff_merge(
    seeded: Runtime, login: Login
) -> None:
    from qanat.model import Identity
    from qanat.store import queries

    phone, telegram = (
        Identity(kind="phone", value="+97336665544"),
        Identity(kind="telegram", value="5550001"),
    )
    async with seeded.db.writing() as session:
        other = await queries.contact_for_identities(
            session, identities=[telegram], display_name="tg user"
        )
        same = await queries.contact_for_identities(
            session, identities=[telegram, phone], display_name=None
        )
    admin = await login("admin")
    [suggestion] = (await admin.get("/api/contact-suggestions")).json()
    assert other in suggestion["contacts"] and len(suggestion["contacts"]) == 2
    assert "phone:+97336665544" in suggestion["identities"] and same in suggestion["contacts"]


async def test_the_ledger_page_lists_runs_newest_first_and_marks_mismatches(
    seeded: Runtime, login: Login
) -> None:
    from sqlalchemy import update

    from qanat.store.tables import Message

    await reconcile(seeded, since=datetime(2026, 1, 1, tzinfo=UTC))
    async with seeded.db.writing() as session:  # the next night finds a lost ticket link
        await session.execute(
            update(Message).where(Message.channel == "sms").values(ticket_id=None)  # type: ignore[arg-type]
        )
    report = await reconcile(seeded, since=datetime(2026, 1, 1, tzinfo=UTC))
    admin, supervisor = await login("admin"), await login("sup_sewage")
    arabic = (await admin.get("/admin/ledger")).text
    ids = [int(part.split('"', 1)[0]) for part in arabic.split('id="run-')[1:]]
    assert ids == sorted(ids, reverse=True) and ids[0] == max(report.run_ids)
    sms_run = report.run_ids[sorted(report.ledgers).index(("sms", "default"))]
    row = arabic.split(f'id="run-{sms_run}"')[1].split("</tr>")[0]
    assert row.startswith(' class="run-mismatch"') and "عدم تطابق" in row
    assert "1 processed without a ticket" in row
    assert arabic.count('class="run-mismatch"') == 1  # the other lines and nights were ok
    assert "سجل التسوية" in arabic and 'id="ledger-warning"' in arabic and "مسترجعة" in arabic
    await admin.post("/account/language", data={"language": "en", "next": "/admin/ledger"})
    english = (await admin.get("/admin/ledger?channel=sms")).text
    assert "Reconciliation ledger" in english and "Duplicates found late" in english
    assert "Mismatch" in english and english.count('id="run-') == 2
    assert (await supervisor.get("/admin/ledger")).status_code == 403


async def test_the_channels_page_shows_health_and_watermarks(seeded: Runtime, login: Login) -> None:
    await seeded.health.failure("email", "complaints", "IMAP login failed: [AUTHENTICATIONFAILED]")
    await seeded.cursors.put("email", "complaints", {"uidvalidity": 3, "last_uid": 41})
    await seeded.health.success("sms", "default")
    admin = await login("admin")
    page = (await admin.get("/admin/channels")).text
    assert "حالة القنوات" in page
    failing = page.split('id="channel-email-complaints"')[1].split("</tr>")[0]
    assert 'class="failing"' in page.split('id="channel-email-complaints"')[1][:20]
    assert "AUTHENTICATIONFAILED" in failing and '{"last_uid": 41, "uidvalidity": 3}' in failing
    healthy = page.split('id="channel-sms-default"')[1].split("</tr>")[0]
    assert "failing" not in page.split('id="channel-sms-default"')[1][:20]
    assert healthy.count('class="when"') == 2  # last message and last success, no error
    assert 'class="reason"></td>' in healthy
