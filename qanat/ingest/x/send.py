"""Replies to citizens on X: a public reply under their post, or a DM.

Staff choose with ``reply.metadata["visibility"]`` (``public`` or ``private``); without
a choice, a reply answers the way the citizen wrote (a DM gets a DM, a post a public
reply). A public reply is checked first (:func:`public_reply_problems`): over 280
(weighted) or carrying the citizen's phone or email, it is refused, never posted.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import tweepy

from qanat.errors import BadPayload
from qanat.ingest.x.posts import DM_PREFIX, dm_external_id, public_reply_problems
from qanat.model import Reply, SentReply

#: The longest DM X accepts.
DM_LIMIT = 10_000

Call = Callable[..., Awaitable[dict[str, Any]]]


def visibility_of(reply: Reply) -> str:
    """``public`` or ``private``: staff's choice, else the way the citizen wrote."""
    chosen = reply.metadata.get("visibility")
    if chosen in ("public", "private"):
        return str(chosen)
    if any(answered.startswith(DM_PREFIX) for answered in reply.in_reply_to):
        return "private"
    return "public"


class XSender:
    """Sends replies with a tweepy client; ``call`` runs one of its methods (the
    connector's :meth:`~qanat.ingest.x.connector.XConnector.call`, which maps X's errors)."""

    def __init__(self, client: tweepy.Client, call: Call) -> None:
        self._client = client
        self._call = call

    async def send(self, reply: Reply) -> SentReply:
        """Post or DM ``reply``; the id is the post's, or ``dm:<event id>``."""
        if not reply.text.strip():
            raise BadPayload("a reply needs some text")
        if visibility_of(reply) == "private":
            return await self._direct_message(reply)
        return await self._public_reply(reply)

    async def _direct_message(self, reply: Reply) -> SentReply:
        if len(reply.text) > DM_LIMIT:
            raise BadPayload(f"a DM holds at most {DM_LIMIT} characters")
        answer = await self._call(
            self._client.create_direct_message, participant_id=reply.to.handle, text=reply.text
        )
        data = answer.get("data") or {}
        return SentReply(
            external_id=dm_external_id(data["dm_event_id"]),
            raw=json.dumps(answer).encode(),
            metadata={
                "visibility": "private",
                "dm_conversation_id": data.get("dm_conversation_id"),
            },
        )

    async def _public_reply(self, reply: Reply) -> SentReply:
        private = [reply.to.phone, reply.to.email, *reply.metadata.get("private_values", [])]
        problems = public_reply_problems(reply.text, private)
        if problems:
            raise BadPayload("not posted publicly: " + "; ".join(problems))
        answered = next((i for i in reply.in_reply_to if i.isdigit()), None)
        if answered is None:
            raise BadPayload("a public reply needs the citizen's post to answer; send a DM")
        answer = await self._call(
            self._client.create_tweet, text=reply.text, in_reply_to_tweet_id=answered
        )
        data = answer.get("data") or {}
        return SentReply(
            external_id=str(data["id"]),
            raw=json.dumps(answer, ensure_ascii=False).encode(),
            metadata={"visibility": "public", "in_reply_to_tweet_id": answered},
        )
