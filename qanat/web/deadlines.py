"""A ticket's running deadlines as the list and the ticket page show them: first response
and resolution, each due at a time, late or with time left. Pure: a ticket and a clock in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

#: Statuses whose clocks run (pending waits on the citizen; resolved and closed are done).
RUNNING = frozenset({"new", "open"})


@dataclass(frozen=True)
class Deadline:
    """One running clock: which, when it is due, and how far from now."""

    clock: str  # "first_response" or "resolution"
    due_at: datetime
    left: timedelta  # negative once late

    @property
    def late(self) -> bool:
        """True once the due time has passed."""
        return self.left < timedelta(0)


def deadlines(ticket: Any, now: datetime) -> list[Deadline]:
    """The clocks still running on ``ticket`` (first response before resolution)."""
    if ticket.status not in RUNNING or ticket.sla_paused_at is not None:
        return []
    found = []
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        due = ticket.first_response_due_at
        found.append(Deadline("first_response", due, due - now))
    if ticket.sla_due_at is not None:
        found.append(Deadline("resolution", ticket.sla_due_at, ticket.sla_due_at - now))
    return found
