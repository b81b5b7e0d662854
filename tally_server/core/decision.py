"""What the law decides for one constituency in one round, as data: the status, who
is elected, how a tie at the last seat went, what follows a shortfall, and the
reasons with their figures. No words here: ``glossary`` words every one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

# The statuses are the read API's (schemas/read.py): one list for the wire and the law.
from schemas.read import STATUSES as STATUSES
from schemas.read import Status as Status

ReasonCode = Literal[
    "no_minutes",
    "areas_missing",
    "turnout_not_over_half",
    "revote_turnout_stands",
    "all_seats_filled",
    "seats_short",
    "tie_older_elected",
    "elected",
    "majority_not_seated",
    "tie_same_birth_date",
    "no_second_supplementary",
    "council_decides",
    "under_two_thirds",
    "two_thirds_reached",
]
"""Each reason's figures (all whole numbers):

- ``no_minutes``: none
- ``areas_missing``: areas_reported, areas_total
- ``turnout_not_over_half``, ``revote_turnout_stands``: voters_voted, voters_on_list
- ``all_seats_filled``: seats_filled, seats
- ``seats_short``: seats_filled, seats, seats_empty
- ``tie_older_elected``, ``tie_same_birth_date``: votes, tied (who: ``Determination.tie``)
- ``elected``: elected (who: ``Determination.winners``)
- ``majority_not_seated``: candidates (over half of the valid ballots, not elected)
- ``no_second_supplementary``, ``council_decides``: seats_empty
- ``under_two_thirds``, ``two_thirds_reached``: seats_filled, seats
"""

REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)


@dataclass(frozen=True, slots=True)
class Reason:
    """One step of the determination, with the figures it rests on."""

    code: ReasonCode
    figures: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Tie:
    """Candidates over half of the valid ballots with equal votes across the last
    seat(s). The older win; with the same birth date too the law has no rule."""

    votes: int
    tied: tuple[str, ...]
    """Every candidate at the line, in rank order."""
    resolved_by: Literal["older", "unresolved"]
    elected: tuple[str, ...]
    """Those of ``tied`` elected by age (none when unresolved)."""


Follows = Literal["supplementary_proposed", "seats_left_empty"]
ShortfallRule = Literal[
    "council_decides", "under_two_thirds", "two_thirds_reached", "no_second_supplementary"
]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Fewer elected than seats, and what follows (DOMAIN.md: NA → the Council
    decides a supplementary election; a council race → one only below two thirds;
    a supplementary round is never repeated)."""

    seats: int
    filled: int
    empty: int
    follows: Follows
    rule: ShortfallRule


@dataclass(frozen=True, slots=True)
class Determination:
    status: Status
    seats: int
    winners: tuple[str, ...]
    unresolved_tie: tuple[str, ...]
    eligible: tuple[str, ...]
    """In the definition's order (a tuple: smaller than a set, and there is one per
    constituency and round)."""
    ranks: Mapping[str, int]
    reasons: tuple[Reason, ...]
    """In the order the notes give them."""
    tie: Tie | None = None
    shortfall: Shortfall | None = None

    def reason(self, code: ReasonCode) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)
