"""The errors qanat raises on purpose. Only the web layer maps them to HTTP codes."""

from __future__ import annotations


class QanatError(Exception):
    """Base of every error qanat raises deliberately."""


class BadPayload(QanatError):
    """Input that does not look like what the source sends: reject it, with the reason."""


class TooLarge(BadPayload):
    """An upload over its size limit: refused whole, with the limit named."""


class WrongContent(BadPayload):
    """An upload whose bytes are not what it claims to be (a "photo" that is a program)."""


class TooManyRequests(QanatError):
    """Over a rate limit; ``retry_after`` is how many seconds until the next try may pass."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedEvent(QanatError):
    """A well-formed event qanat does not handle: acknowledge it and log it."""


class ForgedRequest(QanatError):
    """A webhook whose signature or secret does not check out."""


class ChannelUnavailable(QanatError):
    """The source or the store cannot be reached now: try again later."""


class ConfigError(QanatError):
    """A setting or a configuration file is wrong; the message names what and where."""


class NotFound(QanatError):
    """The thing asked for does not exist (or the asker may not know it exists)."""


class StoreUnavailable(ChannelUnavailable):
    """The database cannot be used as configured (absent, unreachable, refused); the
    message is one line saying what to do about it."""
