"""Assignment inside a department: fair, on shift, and in the citizen's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class AgentLoad:
    """An agent as assignment sees them."""

    user_id: int
    open_tickets: int
    languages: frozenset[str] = frozenset({"ar", "en"})
    on_shift: bool = True
    away: bool = False


def pick_assignee(
    agents: Sequence[AgentLoad],
    *,
    language: str,
    strategy: Literal["round_robin", "least_loaded"] = "least_loaded",
    last_assigned: int | None = None,
) -> int | None:
    """The agent to give the next ticket to, or None when nobody can take it.

    Only agents on shift and not away; those who speak the ticket's language first
    (mixed and Arabizi texts need Arabic). Round robin goes to the next agent after the
    last one assigned; least loaded to the one with fewest open tickets (ties by id).
    """
    needed = "ar" if language in ("ar", "mixed", "ar-Latn") else language
    available = [a for a in agents if a.on_shift and not a.away]
    speaking = [a for a in available if needed in a.languages] or available
    if not speaking:
        return None
    if strategy == "least_loaded":
        return min(speaking, key=lambda a: (a.open_tickets, a.user_id)).user_id
    ordered = sorted(a.user_id for a in speaking)
    after = [user for user in ordered if last_assigned is None or user > last_assigned]
    return (after or ordered)[0]
