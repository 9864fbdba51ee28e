"""Canned replies in the store: the defaults a new store starts with, edits, checks."""

from __future__ import annotations

import pytest

from qanat.errors import BadPayload, NotFound
from qanat.runtime import Runtime
from qanat.store import canned
from qanat.store.canned import CannedDraft, check_draft


async def test_a_new_store_starts_with_the_defaults_once(runtime: Runtime) -> None:
    async with runtime.db.writing() as session:
        await canned.ensure_defaults(session)  # again, after start_runtime did it
        replies = await canned.canned_replies(session)
    assert [r.key for r in replies] == ["received", "need_location", "in_progress", "resolved"]
    assert replies[0].name("ar") == "تأكيد الاستلام" and replies[0].name("en") == "Received"


async def test_an_edited_reply_is_what_resolving_sends(runtime: Runtime) -> None:
    async with runtime.db.writing() as session:
        resolved = await canned.canned(session, "resolved")
        draft = CannedDraft(
            key="resolved",
            name_ar="أُغلق",
            name_en="Closed",
            text_ar="أنجزنا بلاغكم {reference}.",
            text_en="We fixed {reference}.",
        )
        await canned.save_canned(session, draft=draft, reply_id=resolved.id, by="staff:admin")
    async with runtime.db.session() as session:
        assert await canned.resolved_text(session, "ar") == "أنجزنا بلاغكم {reference}."
        assert await canned.resolved_text(session, "en") == "We fixed {reference}."
        with pytest.raises(NotFound):
            await canned.canned(session, "nope")


async def test_a_new_reply_goes_last_and_a_key_is_taken_once(runtime: Runtime) -> None:
    draft = CannedDraft("visit", "زيارة", "Visit", "سنزوركم {name}", "We will visit {name}")
    async with runtime.db.writing() as session:
        added = await canned.save_canned(session, draft=draft, reply_id=None, by="staff:admin")
        assert added.position == 4
        with pytest.raises(BadPayload, match="canned_key_taken"):
            await canned.save_canned(session, draft=draft, reply_id=None, by="staff:admin")


def test_a_draft_names_each_field_at_fault() -> None:
    draft = CannedDraft("Bad Key", "", "Name", "مرحبا {nmae}", "Hello {name}")
    assert check_draft(draft) == {
        "key": "canned_key_invalid",
        "name_ar": "field_required",
        "text_ar": "placeholder_unknown",
    }
