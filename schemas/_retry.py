"""The one retry pause of our clients: a station delivering, the dashboard reconnecting."""

from __future__ import annotations

import random
from dataclasses import dataclass

_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: the pause after failure n is uniform in
    [0, min(cap, base·2^n)], so thousands of clients that lost the server at the same
    moment come back spread out, not in step."""

    base: float = 0.5
    cap: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        return (rng or _RNG).uniform(0.0, min(self.cap, self.base * (2 ** min(attempt, 30))))
