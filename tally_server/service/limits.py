"""Token buckets for refusals anyone can cause, per source address and per key id.

A refusal before a valid signature costs the sender nothing; each one the
server records costs a ledger entry. Past a bucket's rate the server answers
429 and records nothing. Only such refusals draw on the buckets: a batch whose
signature holds is never throttled, whoever else shares its address.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PER_SOURCE = 60
"""Refusals recorded per source address per minute (and at once, in a burst)."""
DEFAULT_PER_KEYID = 30
"""Refusals recorded per key id as sent per minute."""
MAX_BUCKETS = 10_000
"""Buckets kept per kind; the least recently used goes first."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """``rate`` tokens a minute, at most ``rate`` held, one map bounded in size."""

    def __init__(self, rate: int, *, limit: int = MAX_BUCKETS) -> None:
        self.rate = rate
        self.per_second = rate / 60.0
        self.limit = limit
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, name: str, now: float) -> _Bucket:
        b = self._buckets.get(name)
        if b is None:
            b = _Bucket(float(self.rate), now)
            self._buckets[name] = b
            while len(self._buckets) > self.limit:
                self._buckets.popitem(last=False)
        else:
            b.tokens = min(float(self.rate), b.tokens + (now - b.at) * self.per_second)
            b.at = now
            self._buckets.move_to_end(name)
        return b

    def wait(self, name: str, now: float) -> float:
        """Seconds until ``name`` has a token (0: it has one now)."""
        b = self._refilled(name, now)
        return 0.0 if b.tokens >= 1 else (1 - b.tokens) / self.per_second

    def take(self, name: str) -> None:
        self._buckets[name].tokens -= 1

    def __len__(self) -> int:
        return len(self._buckets)


class RefusalLimiter:
    """Whether one more unsigned refusal from ``source`` naming ``keyid`` is recorded."""

    def __init__(
        self,
        per_source: int = DEFAULT_PER_SOURCE,
        per_keyid: int = DEFAULT_PER_KEYID,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = Buckets(per_source)
        self.keyids = Buckets(per_keyid)
        self.clock = clock
        self.throttled = 0
        """Refusals answered 429 and not recorded (the only trace they leave)."""

    def admit(self, source: str, keyid: str | None) -> int:
        """0 when recorded (a token taken from each bucket), else the whole seconds
        to wait before one would be (Retry-After)."""
        now = self.clock()
        wait = self.sources.wait(source, now)
        if keyid is not None:
            wait = max(wait, self.keyids.wait(keyid, now))
        if wait > 0:
            self.throttled += 1
            return max(1, math.ceil(wait))
        self.sources.take(source)
        if keyid is not None:
            self.keyids.take(keyid)
        return 0
