"""``verify_ledger``: the export read, every entry prechecked (in parallel) and
replayed in order, the accepted minutes tallied as the replay goes."""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from schemas import codec
from tally_server.core.definition import Election
from tally_server.core.fasttally import Tally, sheet_of
from tally_server.core.tally import results_digest
from tally_server.service.decide import LedgerState
from tally_server.service.verify.entries import (
    Bad,
    check_entry,
    check_rollback,
    check_takeover,
    opening,
    same_election,
)
from tally_server.service.verify.pool import CHUNK, Prechecks
from tally_server.service.verify.reading import KeysAhead, entry_of, keys_in, read_lines
from tally_server.service.verify.report import BadEntry, Report, Takeover
from tally_server.store import ledger
from tally_server.store.ledger import Entry, LedgerFormatError

SETTLE_EVERY = 1024
"""Constituencies given minutes before those complete are settled (``settle_reported``)."""


def verify_ledger(
    path: Path,
    election: Election | Callable[[], Election],
    *,
    fingerprint: str | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    keys: dict[str, bytes] | KeysAhead | None = None,
) -> Report:
    """``election``: the definition, or what loads it; given the loader, the workers
    start on the signatures while it loads. ``keys``: what ``keys_in`` gives for this
    file, if known, or a ``KeysAhead`` reading them."""
    started = time.perf_counter()
    report = Report(fingerprint=fingerprint.strip().lower() if fingerprint else None)
    report.workers = workers or len(os.sched_getaffinity(0)) or 1
    lines = read_lines(path)
    # A correction's previous minutes are read back from the line of their entry.
    positions = _Positions()

    def line_at(index: int) -> Entry | None:
        at = positions.of(index)
        if not 0 <= at < len(lines):
            return None
        found = entry_of(lines[at][1], lines[at][0])
        return found if found.index == index else None  # None: an index passed over

    def envelope_at(index: int) -> bytes:
        found = line_at(index)
        if found is None:
            raise LookupError(f"the ledger has no entry {index}")
        return found.envelope

    def refused(exc: Bad | LedgerFormatError) -> Report:
        bad = exc if isinstance(exc, Bad) else Bad(exc.code, en=exc.message_en, vi=exc.message_vi)
        report.bad = BadEntry(0, lines[0][0] if lines else 0, bad.code, bad.en, bad.vi)
        report.seconds = time.perf_counter() - started
        return report

    try:
        if not lines:
            raise Bad("V100", en="the ledger is empty", vi="sổ cái trống")
        first = Entry.from_export_line(lines[0][1], lines[0][0])
        server_key, opened = opening(first)
    except (Bad, LedgerFormatError) as exc:
        if isinstance(keys, KeysAhead):
            keys.close()
        return refused(exc)
    if isinstance(keys, KeysAhead):
        keys = keys.result()
    if keys is None:
        keys = keys_in(lines)
    fingerprints = {raw: fp for fp, raw in keys.items()}  # worked out once, not twice
    claimed = opened.get("election_id")
    checks = Prechecks(
        lines,
        claimed if isinstance(claimed, str) else "",
        keys,
        server_key.raw,
        workers=report.workers,
        chunk=chunk,
    )
    try:
        if callable(election):
            election = election()
        election_sha = hashlib.sha256(codec.encode(election.definition)).hexdigest()
        same_election(opened, election, election_sha)
    except Bad as exc:
        checks.close()
        return refused(exc)
    except BaseException:
        checks.close()
        raise
    state = LedgerState(election, envelope_at)
    # Summed as the replay goes; each constituency is determined once, at the end.
    tally = Tally(election, rollups=False)
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    """One tuple of candidate ids for the sheets that name the same ones."""
    touched: list[tuple[str, str]] = []
    """Constituencies given minutes since the last ``settle_reported``."""
    awaited: dict[str, list[Takeover]] = {}
    """Batch digest -> the takeovers whose shown-back receipts name it, until a later
    entry holds that batch again."""
    prev = ledger.GENESIS_PREV
    expected = 0
    """The index the next entry must have."""
    # The replay keeps millions of objects and makes no cycles: the collector would
    # walk them again and again (the workers turn it off for themselves).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for position, pre in enumerate(checks.run(election)):
            try:
                if pre.entry is None:
                    assert pre.error is not None
                    code, en, vi = pre.error
                    raise Bad(code, en=en, vi=vi)
                entry = pre.entry
                if entry.kind == ledger.ROLLBACK_DETECTED:
                    check_rollback(entry, position, server_key, election, expected, line_at)
                    if entry.index > expected:  # checked: the index its receipt implies
                        positions.jump(entry.index, position)
                        expected = entry.index
                accepted = check_entry(
                    position, expected, entry, pre, prev, state, election, report, fingerprints
                )
                if entry.kind == ledger.SERVER_TAKEOVER:
                    report.takeovers.append(check_takeover(entry, position, server_key))
                elif entry.kind == ledger.ROLLBACK_DETECTED:
                    _count_rollback(entry, report, awaited)
                elif awaited and entry.kind in ledger.BATCH_KINDS:
                    _count_redelivery(entry, awaited)
            except Bad as bad:
                report.bad = BadEntry(position, pre.line, bad.code, bad.en, bad.vi)
                break
            if accepted is not None:
                report.accepted += 1
                for m in accepted.minutes:
                    where, sheet = sheet_of(m, names)
                    tally.add_sheet(where, sheet)
                    touched.append(where[:2])
                if len(touched) >= SETTLE_EVERY:
                    # While the workers are ahead: less to do once the last entry is read.
                    tally.settle_reported(touched)
                    touched.clear()
            prev = entry.hash
            expected = entry.index + 1
            report.entries += 1
            report.head_index, report.head_hash = entry.index, entry.hash
            report.kinds[entry.kind] = report.kinds.get(entry.kind, 0) + 1
            if report.fingerprint and report.fingerprint_index is None:
                if len(report.fingerprint) >= 16 and entry.hash.startswith(report.fingerprint):
                    report.fingerprint_index = entry.index
                    tally.settle()
                    report.fingerprint_results_sha256 = results_digest(tally.results())
        if report.bad is None:
            tally.settle()
            report.results = tally.results()
            report.results_sha256 = results_digest(report.results)
    finally:
        checks.close()  # stops the workers when a bad entry ended the loop early
        if collecting:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


def _count_rollback(entry: Entry, report: Report, awaited: dict[str, list[Takeover]]) -> None:
    """A receipt shown back (checked by check_rollback): explained by the last takeover
    whose head is below the receipt's index, its batch then awaited again."""
    o = json.loads(entry.outcome)
    for t in reversed(report.takeovers):
        if o["ledger_index"] > t.head_index:
            t.shown += 1
            awaited.setdefault(o["batch_digest"], []).append(t)
            return
    report.rollbacks_without_takeover += 1


def _count_redelivery(entry: Entry, awaited: dict[str, list[Takeover]]) -> None:
    digest = json.loads(entry.outcome).get("batch_digest")
    for t in awaited.pop(digest, []) if isinstance(digest, str) else []:
        t.redelivered += 1


class _Positions:
    """Ledger index -> position in the export. They are equal until a
    ``rollback_detected`` entry passes over indexes; each such jump starts a run."""

    def __init__(self) -> None:
        self.indexes = [0]
        self.starts = [0]

    def jump(self, index: int, position: int) -> None:
        self.indexes.append(index)
        self.starts.append(position)

    def of(self, index: int) -> int:
        run = bisect.bisect_right(self.indexes, index) - 1
        return self.starts[run] + index - self.indexes[run] if run >= 0 else -1
