"""What the inbox's reply flow keeps after a connector sent a reply: our own message."""

from __future__ import annotations

from qanat.model import Reply
from qanat.runtime import Runtime
from qanat.store.tables import Message, utcnow


async def store_sent_reply(
    runtime: Runtime, *, reply: Reply, external_id: str, ticket_id: int | None
) -> None:
    """Keep ``reply`` as an outbound message under the id the channel gave it, so the
    citizen's answer to it (which names that id) joins the ticket."""
    async with runtime.db.writing() as session:
        session.add(
            Message(
                channel=reply.channel,
                account=reply.account,
                external_id=external_id,
                direction="out",
                received_at=utcnow(),
                sender_handle="staff:agent",
                text=reply.text,
                in_reply_to=list(reply.in_reply_to),
                raw=reply.model_dump_json().encode(),
                state="sent",
                ticket_id=ticket_id,
            )
        )
