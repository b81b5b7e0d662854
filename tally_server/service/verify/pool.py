"""The parallel runner: every line's precheck, in order, worked out by a pool of
forked processes while the main process replays the decisions.

The lines are cut into chunks, handed to the pool in order. The workers inherit
the lines, the election and the keys when they fork, so only a chunk's position
goes out and its results come back. When the replay reaches a chunk no worker
has taken yet, the main process cancels it in the pool and does it itself, so
however busy the machine, nobody waits for long.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor

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
    _lines = lines
    use(keys)


def _precheck_chunk(start: int, size: int) -> bytes:
    """Pickled here, unpickled by the replay when it needs them: the pool's result
    thread then only moves bytes and keeps off the replay's interpreter lock."""
    packed = [pack(precheck(n, line)) for n, line in _lines[start : start + size]]
    return pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)


def prechecks(
    lines: Sequence[tuple[int, bytes]],
    election: Election,
    keys: dict[str, bytes],
    server_key: bytes,
    *,
    workers: int,
    chunk: int = CHUNK,
) -> Generator[Precheck, None, None]:
    """Every line's precheck, in order: by ``workers`` other processes while this
    one replays the decisions (and helps when it catches up), or all here."""
    parsed = setup(election, keys, server_key)
    forks = "fork" in multiprocessing.get_all_start_methods()
    if workers <= 1 or len(lines) <= chunk or not forks:
        for n, line in lines:
            yield precheck(n, line, decode=True)
        return
    # Under fork the initializer's arguments are not pickled: the workers share the
    # pages of the lines and of the keys parsed here.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(lines, parsed),
    )
    try:
        starts = range(0, len(lines), chunk)
        parts = [pool.submit(_precheck_chunk, start, chunk) for start in starts]
        for start, part in zip(starts, parts, strict=True):
            if part.cancel():  # no worker has taken it: do it here
                for n, line in lines[start : start + chunk]:
                    yield precheck(n, line, decode=True)
            else:
                done: list[Packed] = pickle.loads(part.result())
                for packed in done:
                    yield unpack(packed)
    finally:
        # A bad entry ends the replay early: drop the chunks not started.
        pool.shutdown(wait=True, cancel_futures=True)
