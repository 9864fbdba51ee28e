"""X (Twitter) posts and DMs read into qanat's records, and public replies checked.

Pure functions over the X API v2 JSON (``data`` / ``includes`` / ``meta`` / ``errors``);
each item is parsed with tweepy's own models (``Tweet``, ``DirectMessageEvent``).

- external ids: a post's id; a DM's ``dm:<event id>`` (the two id spaces are distinct).
- threading: a post names the post it replies to and its conversation (the root post),
  so a reply in a conversation qanat holds — to the citizen's first post or to our
  public answer — joins that ticket. A DM names the previous DM of its conversation
  (``dm_conversation_id``, ours included) when it came within the DM window, so a citizen
  writing again soon continues their ticket and a DM weeks later opens a new one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import tweepy

from qanat.model import Inbound, Location, Sender

CHANNEL = "x"
DM_PREFIX = "dm:"

MENTION_EXPANSIONS = ["author_id", "geo.place_id", "referenced_tweets.id"]
TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "geo",
    "in_reply_to_user_id",
    "lang",
    "referenced_tweets",
]
USER_FIELDS = ["name", "username"]
PLACE_FIELDS = ["country_code", "full_name", "geo", "name", "place_type"]
DM_EVENT_FIELDS = [
    "created_at",
    "dm_conversation_id",
    "event_type",
    "id",
    "participant_ids",
    "referenced_tweets",
    "sender_id",
    "text",
]
DM_EXPANSIONS = ["sender_id"]

#: Items asked for per page (the API's maximum).
PAGE_SIZE = 100

#: The most a post may weigh (twitter-text's weighted length).
POST_LIMIT = 280
#: What any link weighs once X shortens it.
URL_WEIGHT = 23


@dataclass(frozen=True)
class Page:
    """One page of an X API v2 answer, with its expansions indexed by id."""

    data: list[dict[str, Any]]
    users: dict[str, dict[str, Any]]
    places: dict[str, dict[str, Any]]
    errors: list[dict[str, Any]]
    next_token: str | None

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> Page:
        """Read an answer such as ``GET /2/users/:id/mentions`` returns."""
        data = answer.get("data") or []
        includes = answer.get("includes") or {}
        return cls(
            data=list(data) if isinstance(data, list) else [data],
            users={str(u["id"]): u for u in includes.get("users", []) if "id" in u},
            places={str(p["id"]): p for p in includes.get("places", []) if "id" in p},
            errors=list(answer.get("errors") or []),
            next_token=(answer.get("meta") or {}).get("next_token"),
        )


def item_bytes(item: Mapping[str, Any], page: Page, *, user_id: str | None) -> bytes:
    """One post or DM with the expansions it uses, as UTF-8 JSON to keep raw."""
    includes: dict[str, Any] = {}
    if user_id and user_id in page.users:
        includes["users"] = [page.users[user_id]]
    place_id = (item.get("geo") or {}).get("place_id")
    if place_id and place_id in page.places:
        includes["places"] = [page.places[place_id]]
    document = {"data": item, "includes": includes} if includes else {"data": item}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def location_of(
    item: Mapping[str, Any], places: Mapping[str, Mapping[str, Any]]
) -> Location | None:
    """Exact coordinates when the post has them; the tagged place's name otherwise."""
    geo = item.get("geo") or {}
    point = geo.get("coordinates") or {}
    if point.get("type") == "Point" and len(point.get("coordinates") or []) == 2:
        lon, lat = point["coordinates"]
        return Location(lat=lat, lon=lon)
    place = places.get(str(geo.get("place_id")))
    if place:
        return Location(area=place.get("name"), address=place.get("full_name"))
    return None


def thread_ids(tweet: tweepy.Tweet, *, own_id: str) -> list[str]:
    """The post this one replies to, then its conversation's root post."""
    ids = [str(ref.id) for ref in tweet.referenced_tweets or [] if ref.type == "replied_to"]
    if tweet.conversation_id is not None and tweet.conversation_id != tweet.id:
        ids.append(str(tweet.conversation_id))
    return [i for i in dict.fromkeys(ids) if i != own_id]


def sender_of(user_id: str, users: Mapping[str, Mapping[str, Any]]) -> Sender:
    """The X user id as handle, with their display name."""
    return Sender(handle=user_id, name=(users.get(user_id) or {}).get("name"))


def mention_inbound(
    item: dict[str, Any], page: Page, *, account: str, own_id: str, fallback_time: datetime
) -> Inbound:
    """A post mentioning the account; raises (KeyError, ValueError) when malformed."""
    tweet = tweepy.Tweet(item)
    author = str(tweet.author_id or "")
    if not author:
        raise ValueError(f"post {tweet.id} has no author_id")
    metadata: dict[str, Any] = {
        "kind": "mention",
        "visibility": "public",
        "username": (page.users.get(author) or {}).get("username"),
        "conversation_id": item.get("conversation_id"),
        "in_reply_to_user_id": item.get("in_reply_to_user_id"),
        "lang": tweet.lang,
    }
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=str(tweet.id),
        received_at=tweet.created_at or fallback_time,
        sender=sender_of(author, page.users),
        text=tweet.text,
        in_reply_to=thread_ids(tweet, own_id=own_id),
        location=location_of(item, page.places),
        metadata={key: value for key, value in metadata.items() if value is not None},
        raw=item_bytes(item, page, user_id=author),
    )


def dead_inbound(
    item: dict[str, Any], page: Page, *, account: str, key: str, now: datetime
) -> Inbound:
    """A best-effort :class:`Inbound` for a post or DM that would not read, kept raw."""
    sender = str(item.get("author_id") or item.get("sender_id") or "unknown")
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=key,
        received_at=now,
        sender=Sender(handle=sender),
        text=item.get("text") if isinstance(item.get("text"), str) else "",
        raw=item_bytes(item, page, user_id=None),
    )


def dm_external_id(event_id: str | int) -> str:
    """The external id of a DM event."""
    return f"{DM_PREFIX}{event_id}"


def dm_inbound(
    item: dict[str, Any],
    page: Page,
    *,
    account: str,
    previous: str | None,
    fallback_time: datetime,
) -> Inbound:
    """A DM a citizen sent the account; ``previous`` is the event it continues, if any."""
    event = tweepy.DirectMessageEvent(item)
    sender = str(event.sender_id or "")
    if event.event_type != "MessageCreate" or not sender:
        raise ValueError(f"DM event {event.id} is not a message with a sender")
    metadata = {
        "kind": "dm",
        "visibility": "private",
        "username": (page.users.get(sender) or {}).get("username"),
        "dm_conversation_id": event.dm_conversation_id,
    }
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=dm_external_id(event.id),
        received_at=event.created_at or fallback_time,
        sender=sender_of(sender, page.users),
        text=event.text or "",
        in_reply_to=[dm_external_id(previous)] if previous else [],
        metadata={key: value for key, value in metadata.items() if value is not None},
        raw=item_bytes(item, page, user_id=sender),
    )


def numeric_id(item: Mapping[str, Any]) -> int:
    """An item's id as a number (X ids grow with time), 0 when unreadable."""
    try:
        return int(item.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def created_at(item: Mapping[str, Any]) -> datetime | None:
    """An item's ``created_at`` as an aware datetime, if it has a readable one."""
    return _time(item.get("created_at"))


def dm_predecessors(events: Iterable[Mapping[str, Any]], *, window: timedelta) -> dict[str, str]:
    """Event id → the previous message event of the same conversation, within ``window``."""
    last: dict[str, tuple[str, datetime | None]] = {}
    found: dict[str, str] = {}
    unique = {str(event["id"]): event for event in events}  # pages may overlap
    for event in sorted(unique.values(), key=lambda e: int(e["id"])):
        if event.get("event_type") != "MessageCreate" or not event.get("dm_conversation_id"):
            continue
        when = _time(event.get("created_at"))
        conversation = str(event["dm_conversation_id"])
        if conversation in last:
            earlier_id, earlier_when = last[conversation]
            if when is None or earlier_when is None or when - earlier_when <= window:
                found[str(event["id"])] = earlier_id
        last[conversation] = (str(event["id"]), when)
    return found


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s]+")
_ZWJ = 0x200D
#: Code points that change the emoji before them: variation selectors, skin tones.
_EMOJI_MODIFIERS = {0xFE0E, 0xFE0F} | set(range(0x1F3FB, 0x1F400))
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def _weight(code_point: int) -> int:
    # twitter-text v3: Latin, Arabic, Hebrew, Cyrillic, … and general punctuation
    # weigh 1; everything else (CJK, emoji, …) weighs 2.
    light = (
        code_point <= 0x10FF
        or 0x2000 <= code_point <= 0x200D
        or 0x2010 <= code_point <= 0x201F
        or 0x2032 <= code_point <= 0x2037
    )
    return 1 if light else 2


def _is_emoji(code_point: int) -> bool:
    return code_point >= 0x1F000 or 0x2600 <= code_point <= 0x27BF


def weighted_length(text: str) -> int:
    """A post's length as X counts it (twitter-text v3, simply).

    Text is NFC-normalized; a link weighs 23; Arabic and Latin letters 1 each; CJK and
    emoji 2 each, an emoji sequence (skin tone, ZWJ family, flag) 2 in all.
    """
    text = unicodedata.normalize("NFC", text)
    total = URL_WEIGHT * len(_URL.findall(text))
    after_emoji = joined = half_flag = False
    for character in _URL.sub("", text):
        code_point = ord(character)
        if after_emoji and code_point in _EMOJI_MODIFIERS:
            continue
        if after_emoji and code_point == _ZWJ:
            joined = True  # the next emoji belongs to this one
            continue
        if code_point in _REGIONAL_INDICATORS:
            half_flag = not half_flag
            total += 2 if half_flag else 0  # two letters make one flag
            after_emoji = True
            continue
        half_flag = False
        if _is_emoji(code_point):
            total += 0 if joined else 2
            after_emoji, joined = True, False
            continue
        total += _weight(code_point)
        after_emoji = joined = False
    return total


_NUMBER = re.compile(r"\d(?:[\d\s\-.()]*\d)?")


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in text if c.isdigit())


def public_reply_problems(text: str, private_values: Sequence[str | None]) -> list[str]:
    """Why ``text`` must not go out as a public post; empty when it may.

    Checks the length (280, weighted) and that none of the citizen's private details
    appear — phones compared on their digits (any digit script, any spacing, with or
    without the country code), emails case-insensitively.
    """
    problems = []
    length = weighted_length(text)
    if not text.strip():
        problems.append("a public reply needs some text")
    if length > POST_LIMIT:
        problems.append(f"{length} characters (weighted) is over X's {POST_LIMIT}")
    numbers = [_digits(number) for number in _NUMBER.findall(text)]
    lowered = text.lower()
    for value in filter(None, private_values):
        assert value is not None
        if "@" in value and value.strip().lower() in lowered:
            problems.append("it contains the citizen's email address")
        elif "@" not in value and len(_digits(value)) >= 7:
            national = _digits(value)[-8:]  # Bahraini numbers are 8 digits after +973
            if any(national in number for number in numbers):
                problems.append("it contains the citizen's phone number")
    return list(dict.fromkeys(problems))
