"""Replying as staff do from the inbox: through the same flow the ticket page uses."""

from __future__ import annotations

from qanat.model import Visibility
from qanat.outbound.replies import ReplyResult
from qanat.runtime import Runtime
from qanat.store.staff import user_named, viewer_of
from qanat.store.users import add_user
from qanat.web import work


async def reply_from_inbox(
    runtime: Runtime, reference: str, text: str, visibility: Visibility | None = None
) -> ReplyResult:
    """Reply to ticket ``reference`` as an admin from the inbox: the reply is stored, then
    sent by the channel's connector, and kept under the id the channel gave it."""
    async with runtime.db.session() as session:
        user = await user_named(session, username="replier")
    if user is None:
        await add_user(
            runtime.db, username="replier", role="admin", display_name="Replier", password="x" * 12
        )
        async with runtime.db.session() as session:
            user = await user_named(session, username="replier")
    assert user is not None
    who = work.Request(viewer=viewer_of(user))
    return await work.reply(runtime, who, reference, text, visibility)
