"""The parallel runner: every line's precheck, in order, worked out by a pool of
forked processes while the main process replays the decisions.

The lines are cut into chunks, handed to the pool in order, as soon as the lines
and the keys are read: the workers need no more of the election than its id, so
they work while the main process loads the definition. They inherit the lines
and the keys when they fork, so only a chunk's position goes out and its results
come back. When the replay reaches a chunk no worker has taken yet, the main
process cancels it in the pool and does it itself, so however busy the machine,
nobody waits for long.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from tally_server.core.definition import Election
from tally_server.service.verify.precheck import (
    Keys,
    Packed,
    Precheck,
    pack,
    precheck,
    setup,
    unpack,
    use,
)

CHUNK = 256

_lines: Sequence[tuple[int, bytes]] = ()
"""A worker's copy of the export's lines (set by its initializer)."""


def _start_worker(lines: Sequence[tuple[int, bytes]], keys: Keys) -> None:
    global _lines
    # A worker makes no cycles; the collector would only walk the lines again and again.
    gc.disable()
    _lines = lines
    use(keys)


def _precheck_chunk(start: int, size: int) -> bytes:
    """Pickled here, unpickled by the replay when it needs them: the pool's result
    thread then only moves bytes and keeps off the replay's interpreter lock."""
    packed = [pack(precheck(n, line)) for n, line in _lines[start : start + size]]
    return pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)


class Prechecks:
    """Every line's precheck, in order: by ``workers`` other processes, started at
    once (before the election is loaded: they need only its id), while this one
    loads the definition and then replays the decisions, helping when it catches
    up; or all here. ``close`` stops the workers, however far the replay got."""

    def __init__(
        self,
        lines: Sequence[tuple[int, bytes]],
        election_id: str,
        keys: dict[str, bytes],
        server_key: bytes,
        *,
        workers: int,
        chunk: int = CHUNK,
    ) -> None:
        self._lines, self._chunk = lines, chunk
        parsed = setup(election_id, keys, server_key)
        self._starts = range(0, len(lines), chunk)
        self._parts: list[Future[bytes]] = []
        self._pool: ProcessPoolExecutor | None = None
        forks = "fork" in multiprocessing.get_all_start_methods()
        if workers <= 1 or len(lines) <= chunk or not forks:
            return
        # Under fork the initializer's arguments are not pickled: the workers share the
        # pages of the lines and of the keys parsed here.
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(lines, parsed),
        )
        self._parts = [self._pool.submit(_precheck_chunk, s, chunk) for s in self._starts]

    def run(self, election: Election) -> Generator[Precheck, None, None]:
        """The prechecks in order; those of chunks no worker has taken are worked out
        here (with the law's checks, which need the whole ``election``)."""
        if self._pool is None:
            for n, line in self._lines:
                yield precheck(n, line, election)
            return
        for start, part in zip(self._starts, self._parts, strict=True):
            if part.cancel():  # no worker has taken it: do it here
                for n, line in self._lines[start : start + self._chunk]:
                    yield precheck(n, line, election)
            else:
                done: list[Packed] = pickle.loads(part.result())
                for packed in done:
                    yield unpack(packed)

    def close(self) -> None:
        # A bad entry ends the replay early: drop the chunks not started.
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
