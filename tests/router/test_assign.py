"""Fair assignment among agents on shift, language respected."""

from __future__ import annotations

from collections import Counter

from qanat.router.assign import AgentLoad, pick_assignee

TEAM = [
    AgentLoad(1, open_tickets=5, languages=frozenset({"ar"})),
    AgentLoad(2, open_tickets=2, languages=frozenset({"ar", "en"})),
    AgentLoad(3, open_tickets=0, languages=frozenset({"ar"}), away=True),
    AgentLoad(4, open_tickets=1, languages=frozenset({"en"})),
    AgentLoad(5, open_tickets=0, languages=frozenset({"ar"}), on_shift=False),
]


def test_least_loaded_skips_the_away_and_off_shift_and_respects_language() -> None:
    assert pick_assignee(TEAM, language="ar") == 2
    assert pick_assignee(TEAM, language="en") == 4
    assert pick_assignee(TEAM, language="mixed") == 2


def test_round_robin_cycles_fairly_through_the_speakers() -> None:
    last, picks = None, []
    for _ in range(6):
        last = pick_assignee(TEAM, language="ar", strategy="round_robin", last_assigned=last)
        picks.append(last)
    assert picks == [1, 2, 1, 2, 1, 2]
    assert set(Counter(picks).values()) == {3}


def test_nobody_available_means_the_queue() -> None:
    assert pick_assignee([AgentLoad(9, 0, away=True)], language="ar") is None
    # Nobody speaks English today: any available agent rather than nobody.
    assert pick_assignee([AgentLoad(7, 3, languages=frozenset({"ar"}))], language="en") == 7
