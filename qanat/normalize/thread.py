"""Thread hints: what in a message says which conversation it continues."""

from __future__ import annotations

import re

from qanat.model import Inbound, ThreadHints
from qanat.normalize.text import fold

_REFERENCE = re.compile(r"(?<![a-z0-9])qn[\s\-_/.#]*(\d{4})[\s\-_/.]*(\d{1,6})(?!\d)")


def ticket_references(text: str) -> list[str]:
    """Our ticket references in ``text``, canonical (``QN-2026-000123``), in order.

    Accepts what citizens type: lower case, spaces or no separator, Arabic-Indic digits.
    """
    found = [f"QN-{year}-{int(number):06d}" for year, number in _REFERENCE.findall(fold(text))]
    return list(dict.fromkeys(found))


def thread_hints(inbound: Inbound) -> ThreadHints:
    """Replies named by the channel, and references quoted in the subject or text."""
    quoted = ticket_references(f"{inbound.subject or ''} {inbound.text}")
    return ThreadHints(in_reply_to=list(inbound.in_reply_to), ticket_references=quoted)
