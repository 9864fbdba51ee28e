"""Saving what citizens and staff enter in qanat itself, and reading a status back.

The web form, the app, Open311, staff entries and representatives' reports all save
through the intake (raw first, then processing, as any channel) and answer with the
ticket's reference: at once when jobs run inline, after a short wait for a worker
otherwise, or with a receipt the citizen can look up later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from qanat.ingest.webform import APP_ACCOUNT, WEB_ACCOUNT
from qanat.model import Identity, Inbound
from qanat.normalize.identity import normalize_email, normalize_phone
from qanat.normalize.text import fold
from qanat.normalize.thread import ticket_references
from qanat.runtime import Runtime
from qanat.store.public import PublicStatus, public_status, reference_of_message
from qanat.web.limits import Limit

#: How often a waiting answer looks for the reference a worker hands out.
POLL_SECONDS = 0.2
#: Status lookups of one reference per hour, whoever asks and however: a reference
#: cannot be tried against many phone numbers.
STATUS_BY_REFERENCE = Limit("status-reference", 10)
#: Where a receipt (the external id of a citizen's own message) may be looked for.
RECEIPT_SOURCES = (("web", WEB_ACCOUNT), ("app", APP_ACCOUNT))


@dataclass(frozen=True)
class Saved:
    """A saved report: its message, whether this call created it, and its reference."""

    message_id: int
    created: bool
    receipt: str
    reference: str | None


async def wait_for_reference(runtime: Runtime, message_id: int, *, wait_s: float) -> str | None:
    """The reference of the message's ticket, waiting up to ``wait_s`` for a worker."""
    deadline = time.monotonic() + wait_s
    while True:
        async with runtime.db.session() as session:
            reference = await reference_of_message(session, message_id=message_id)
        if reference is not None or time.monotonic() >= deadline:
            return reference
        await asyncio.sleep(POLL_SECONDS)


async def save_report(runtime: Runtime, inbound: Inbound, *, wait: bool = True) -> Saved:
    """Save through the intake, then find the reference (waiting briefly if queued)."""
    saved = await runtime.intake.save(inbound)
    wait_s = runtime.settings.public_wait_seconds if wait else 0.0
    reference = await wait_for_reference(runtime, saved.message_id, wait_s=wait_s)
    return Saved(saved.message_id, saved.created, inbound.external_id, reference)


def identity_typed(typed: str, *, region: str) -> Identity | None:
    """The phone (E.164) or email a citizen typed to prove a ticket is theirs."""
    text = typed.strip()
    if "@" in text:
        email = normalize_email(text)
        return Identity(kind="email", value=email) if email else None
    phone = normalize_phone(text, region)
    return Identity(kind="phone", value=phone) if phone else None


async def lookup_status(
    runtime: Runtime, *, typed_reference: str, typed_contact: str
) -> PublicStatus | None:
    """The status of the citizen's own ticket, by reference or receipt and phone or email.

    None when any part is wrong, the same answer whichever it is.
    """
    identity = identity_typed(typed_contact, region=runtime.settings.default_region)
    if identity is None:
        return None
    references = ticket_references(typed_reference)
    receipt = fold(typed_reference).strip()
    async with runtime.db.session() as session:
        if references:
            return await public_status(session, identity=identity, reference=references[0])
        for channel, account in RECEIPT_SOURCES:
            found = await public_status(
                session, identity=identity, receipt=(channel, account, receipt)
            )
            if found is not None:
                return found
    return None
