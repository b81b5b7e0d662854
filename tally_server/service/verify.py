"""``tally-server verify``: re-check a ledger export with nothing but the ledger and the election.

1. the chain: every index in order, every ``prev`` the hash before it, every
   hash recomputed from the entry's bytes;
2. the first entry opens the ledger for this very election definition and
   names the server key; enrolments in the ledger name the station keys;
3. every batch envelope is decided again (signature, enrolment, sequence,
   correction, the law's checks) and the recorded outcome must be the same
   bytes; every receipt must be the server's signature over exactly the
   receipt that entry implies. A refusal before a valid signature keeps a
   digest of what came, not the bytes: its signature cannot be re-checked, so
   its claim (S201, S202, S203) is taken as recorded and everything else about
   it (the key id against the keys enrolled, the outcome's bytes) is rebuilt;
4. the accepted minutes are tallied from scratch and the results digest
   printed, to compare with what the server published at that head.

Signatures and hashes (two Ed25519 verifications per batch entry: the
station's and the server's receipt) do not depend on the entries before them,
so worker processes work them out in parallel while the main process replays
the decisions in order; the replay decodes each batch once and runs the law's
checks on it, and sums the tally as it goes. The main process takes a chunk of
the parallel work itself whenever it catches up with the workers.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import gc
import hashlib
import json
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas import codec
from schemas.errors import DecodeError, KiemphieuError, SignatureError
from schemas.models import Finding, ResultBatch
from schemas.signing import (
    BATCH_TYPE,
    RECEIPT_TYPE,
    WEAK_KEY_REASONS,
    Opened,
    VerifyKey,
    WeakKeyError,
    open_envelope,
    pae,
)
from tally_server.core import rules
from tally_server.core.definition import Election
from tally_server.core.tally import (
    ConstituencyResult,
    Tally,
    results_digest,
    sheet_of,
)
from tally_server.service import rollback
from tally_server.service.decide import (
    UNSIGNED_CODES,
    LedgerState,
    StationKey,
    build_receipt,
    decide,
    decide_opened,
    decode_batch,
    decode_outcome,
    decode_unsigned,
    outcome_has_receipt,
    refuse_unsigned,
    unsigned_outcome,
)
from tally_server.store import ledger
from tally_server.store.ledger import Entry, LedgerFormatError

CHUNK = 256
SETTLE_EVERY = 1024


@dataclass(frozen=True, slots=True)
class BadEntry:
    index: int
    """Position in the file (0-based): the entry that should be there."""
    line: int
    code: str
    reason_en: str
    reason_vi: str


@dataclass(slots=True)
class Report:
    entries: int = 0
    head_index: int = -1
    head_hash: str = ledger.GENESIS_PREV
    bad: BadEntry | None = None
    kinds: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    signatures: int = 0
    """Stations' batch signatures verified."""
    receipt_signatures: int = 0
    """The server's receipt signatures verified (one more per batch entry that has
    a receipt: the work of verify is both)."""
    unsigned: int = 0
    """Refusals before a valid signature, recorded as a digest: their signature
    could not be re-checked (there are no bytes), their outcome was rebuilt."""
    results: list[ConstituencyResult] = field(default_factory=list)
    results_sha256: str | None = None
    fingerprint: str | None = None
    fingerprint_index: int | None = None
    fingerprint_results_sha256: str | None = None
    seconds: float = 0.0
    workers: int = 1

    @property
    def ok(self) -> bool:
        fingerprint_ok = self.fingerprint is None or self.fingerprint_index is not None
        return self.bad is None and fingerprint_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_index": self.head_index,
            "head_hash": self.head_hash,
            "first_bad_entry": None
            if self.bad is None
            else {
                "index": self.bad.index,
                "line": self.bad.line,
                "code": self.bad.code,
                "reason_en": self.bad.reason_en,
                "reason_vi": self.bad.reason_vi,
            },
            "kinds": self.kinds,
            "batches_accepted": self.accepted,
            "signatures_checked": self.signatures,
            "receipt_signatures_checked": self.receipt_signatures,
            "unsigned_refusals_as_recorded": self.unsigned,
            "results_sha256": self.results_sha256,
            "fingerprint": self.fingerprint,
            "fingerprint_index": self.fingerprint_index,
            "fingerprint_results_sha256": self.fingerprint_results_sha256,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            # The records themselves: msgspec encodes them as ``to_builtins`` would.
            "results": self.results if self.bad is None else [],
        }

    def json_bytes(self) -> bytes:
        """``to_json()`` as indented UTF-8 JSON; ~10 times faster than ``json.dumps``
        at national size (12 million values)."""
        return msgspec.json.format(codec.encode(self.to_json()), indent=2)


class _Bad(Exception):
    def __init__(self, code: str, en: str, vi: str) -> None:
        super().__init__(en)
        self.code, self.en, self.vi = code, en, vi


# -- the per-entry work that does not depend on order (runs in workers) --------------------


@dataclass(frozen=True, slots=True)
class Precheck:
    """What a worker found about one line, without knowing the entries before it."""

    line: int
    entry: Entry | None
    """None when the line is not a ledger entry (``error`` says why)."""
    error: tuple[str, str, str] | None = None
    hash: str = ""
    opened: Opened | None = None
    signature_ok: bool | None = None
    """None: not a batch, or no key of that id is enrolled anywhere in the ledger."""
    findings: list[Finding] | None = None
    """The law's findings without ``previous``, when the payload decoded."""
    decoded: bool = False
    receipt_ok: bool = False
    """The stored receipt is the server's signature over exactly the receipt the
    entry's *recorded* outcome implies (or there is none, and none is due)."""
    batch: ResultBatch | None = None
    """The decoded batch, when worked out in the main process."""
    receipt_checked: bool = False
    """The receipt's signature was verified (whatever the answer)."""


_W: dict[str, Any] = {}


def _setup(election: Election, keys: dict[str, bytes], server_key: bytes) -> None:
    _W["election"] = election
    _W["keys"] = {fp: Ed25519PublicKey.from_public_bytes(raw) for fp, raw in keys.items()}
    _W["server"] = Ed25519PublicKey.from_public_bytes(server_key)
    _W["server_fingerprint"] = VerifyKey(server_key).fingerprint
    _W["names"] = {}


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _receipt_ok(entry: Entry) -> tuple[bool, bool]:
    """(the receipt is right, its signature was verified)."""
    if entry.kind not in ledger.BATCH_KINDS or _unsigned_entry(entry):
        return not entry.receipt, False
    try:
        outcome = decode_outcome(entry.outcome)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False, False  # the re-check will not give these bytes either
    if not outcome_has_receipt(outcome):
        return not entry.receipt, False
    try:
        r = open_envelope(entry.receipt, RECEIPT_TYPE)
        expected = build_receipt(_W["election"].id, outcome, entry.index, entry.hash, entry.time)
    except (DecodeError, SignatureError, ValueError):
        return False, False
    if r.keyid != _W["server_fingerprint"] or r.payload != codec.encode(expected):
        return False, False
    return _verifies(_W["server"], r.signature, pae(r.payload_type, r.payload)), True


def _unsigned_entry(entry: Entry) -> bool:
    """A refusal before a valid signature: recorded without the envelope."""
    return entry.kind == ledger.BATCH_REJECTED and not entry.envelope


class _Line(msgspec.Struct):
    """An export line as ``Entry.from_export_line`` reads it (other keys ignored)."""

    index: int
    prev: str
    hash: str
    time: str
    kind: str
    station: str
    envelope: str
    outcome: str
    receipt: str


_read_line = msgspec.json.Decoder(_Line).decode


def _entry(line: bytes, line_no: int) -> Entry:
    """``Entry.from_export_line``, ~3 times faster on a well-formed line; anything
    else goes the slow way, to be read or refused exactly as there."""
    try:
        r = _read_line(line)
        return Entry(
            r.index,
            r.prev,
            r.hash,
            r.time,
            r.kind,
            r.station,
            base64.b64decode(r.envelope, validate=True),
            r.outcome.encode("utf-8"),
            base64.b64decode(r.receipt, validate=True),
        )
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        return Entry.from_export_line(line, line_no)


def _precheck(line_no: int, line: bytes, *, decode: bool = False) -> Precheck:
    """``decode``: also decode the batch and run the law's checks on it, for the
    replay in this same process. A worker does not: decoding costs about what
    replaying does, and the replay would decode the batch again anyway."""
    try:
        entry = _entry(line, line_no)
    except LedgerFormatError as exc:
        return Precheck(line_no, None, (exc.code, exc.message_en, exc.message_vi))
    digest = entry.recomputed_hash()
    receipt_ok, receipt_checked = _receipt_ok(entry)
    if entry.kind not in ledger.BATCH_KINDS:
        return Precheck(line_no, entry, None, digest, receipt_ok=receipt_ok)
    try:
        opened = open_envelope(entry.envelope, BATCH_TYPE)
    except (DecodeError, SignatureError):
        return Precheck(
            line_no, entry, None, digest, receipt_ok=receipt_ok, receipt_checked=receipt_checked
        )
    sig_ok: bool | None = None
    found: list[Finding] | None = None
    decoded = False
    kept: ResultBatch | None = None
    key = _W["keys"].get(opened.keyid)
    if key is not None:
        sig_ok = _verifies(key, opened.signature, pae(opened.payload_type, opened.payload))
        if sig_ok and decode:
            try:
                batch = decode_batch(opened.payload)
            except DecodeError:
                pass
            else:
                decoded, kept = True, batch
                found = rules.check_batch(_W["election"], batch)
    # The main process needs neither the envelope (it has ``opened``) nor the receipt
    # (checked here): leave them out of what travels back.
    light = dataclasses.replace(entry, envelope=b"", receipt=b"")
    return Precheck(
        line_no,
        light,
        None,
        digest,
        opened,
        sig_ok,
        found,
        decoded,
        receipt_ok,
        kept,
        receipt_checked,
    )


def _pack(pre: Precheck) -> tuple[Any, ...]:
    """Plain tuples cross the process boundary several times faster than dataclasses."""
    e, o = pre.entry, pre.opened
    return (
        pre.line,
        None if e is None else (e.index, e.prev, e.hash, e.time, e.kind, e.station, e.envelope,
                                e.outcome, e.receipt),
        pre.error,
        pre.hash,
        None if o is None else (o.payload_type, o.payload, o.keyid, o.signature),
        pre.signature_ok,
        pre.findings,
        pre.decoded,
        pre.receipt_ok,
        pre.receipt_checked,
    )  # fmt: skip


def _unpack(t: tuple[Any, ...]) -> Precheck:
    line, e, error, digest, o, sig_ok, found, decoded, receipt_ok, receipt_checked = t
    return Precheck(
        line,
        None if e is None else Entry(*e),
        error,
        digest,
        None if o is None else Opened(*o),
        sig_ok,
        found,
        decoded,
        receipt_ok,
        None,
        receipt_checked,
    )


def _precheck_chunk(lines: Sequence[tuple[int, bytes]]) -> list[tuple[Any, ...]]:
    return [_pack(_precheck(n, line)) for n, line in lines]


# -- reading ------------------------------------------------------------------------------


def read_lines(path: Path) -> list[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line."""
    with open(path, "rb") as fh:
        return [(n, line) for n, line in enumerate(fh, start=1) if line.strip()]


def _chunks(lines: Sequence[tuple[int, bytes]], size: int) -> Iterator[Sequence[tuple[int, bytes]]]:
    for i in range(0, len(lines), size):
        yield lines[i : i + size]


class _Workers:
    """Forked processes that take the chunks in order, each the next one nobody has
    taken, precheck it and send the results back through a pipe each. They inherit
    the lines, the election and the keys, so nothing but results crosses a process
    boundary. The main process takes a chunk itself only when it has caught up
    with them (``take``), so however busy the machine, nobody waits for long."""

    def __init__(self, chunks: list[Sequence[tuple[int, bytes]]], n: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.count = len(chunks)
        self.next = ctx.RawValue("q", 0)
        """The first chunk nobody has taken (under ``lock``)."""
        self.lock = ctx.Lock()
        self.pipes: list[Any] = []
        self.procs: list[Any] = []
        for _ in range(n):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_serve_chunks, args=(chunks, self.next, self.lock, send), daemon=True
            )
            proc.start()
            send.close()
            self.pipes.append(receive)
            self.procs.append(proc)
        # Drain the pipes as results come, so a worker never waits for the main
        # process to be ready (reading releases the GIL; unpickling is done later).
        self.inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.readers = [
            threading.Thread(target=_drain, args=(pipe, self.inbox), daemon=True)
            for pipe in self.pipes
        ]
        for reader in self.readers:
            reader.start()
        self.arrived: dict[int, bytes] = {}
        self.running = n

    def take(self, i: int) -> bool:
        """Take chunk ``i`` for the main process if no worker has."""
        with self.lock:
            if self.next.value != i:
                return False
            self.next.value = i + 1
            return True

    def results(self, i: int) -> list[tuple[Any, ...]]:
        while i not in self.arrived:
            if self.running == 0:
                raise RuntimeError("a verify worker stopped early")
            data = self.inbox.get()
            if data is None:
                self.running -= 1
                continue
            self.arrived[int.from_bytes(data[:8], "little")] = data
        packed: list[tuple[Any, ...]] = pickle.loads(memoryview(self.arrived.pop(i))[8:])
        return packed

    def close(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for reader in self.readers:
            reader.join()
        for pipe in self.pipes:
            pipe.close()


def _drain(receive: Any, inbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            inbox.put(receive.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


def _serve_chunks(
    chunks: list[Sequence[tuple[int, bytes]]], next_: Any, lock: Any, send: Any
) -> None:
    while True:
        with lock:
            i = next_.value
            if i >= len(chunks):
                break
            next_.value = i + 1
        data = pickle.dumps(_precheck_chunk(chunks[i]), protocol=pickle.HIGHEST_PROTOCOL)
        send.send_bytes(i.to_bytes(8, "little") + data)
    send.close()


def _prechecks(
    lines: Sequence[tuple[int, bytes]], workers: int, chunk: int = CHUNK
) -> Generator[Precheck, None, None]:
    """Every line's precheck, in order, worked out by ``workers`` other processes
    while this one replays the decisions (and helps when it catches up)."""
    chunks = list(_chunks(lines, chunk))
    parallel = workers > 1 and len(chunks) > 1 and "fork" in multiprocessing.get_all_start_methods()
    if not parallel:
        for n, line in lines:
            yield _precheck(n, line, decode=True)
        return
    others = _Workers(chunks, workers)
    try:
        for i, part in enumerate(chunks):
            if others.take(i):
                for n, line in part:
                    yield _precheck(n, line, decode=True)
            else:
                for packed in others.results(i):
                    yield _unpack(packed)
    finally:
        others.close()


def _genesis(entry: Entry, election: Election, election_sha: str) -> VerifyKey:
    if entry.kind != ledger.LEDGER_OPENED or entry.index != 0:
        raise _Bad(
            "V101",
            "the first entry must open the ledger (kind ledger_opened)",
            "mục đầu tiên phải là mục mở sổ cái (ledger_opened)",
        )
    try:
        opened = _outcome_json(entry)
    except (ValueError, KiemphieuError) as exc:
        raise _Bad(
            "V102",
            f"the opening entry is unreadable: {exc}",
            f"mục mở sổ cái không đọc được: {exc}",
        ) from exc
    problem = ledger.format_error(opened)
    if problem is not None:  # before anything else: its hashes are of another framing
        raise _Bad("V105", problem.message_en, problem.message_vi)
    try:
        key = VerifyKey.from_text(opened["server_public_key"])
    except (ValueError, KeyError, KiemphieuError) as exc:
        raise _Bad(
            "V102",
            f"the opening entry does not name the server key: {exc}",
            f"mục mở sổ cái không ghi khoá của máy chủ: {exc}",
        ) from exc
    if opened.get("election_id") != election.id:
        raise _Bad(
            "V103",
            f"the ledger is for election {opened.get('election_id')}, not {election.id}",
            f"sổ cái của cuộc bầu cử {opened.get('election_id')}, không phải {election.id}",
        )
    if opened.get("election_sha256") != election_sha:
        raise _Bad(
            "V104",
            f"the ledger was opened for another definition of election {election.id} "
            f"(sha256 {opened.get('election_sha256')}, this file {election_sha})",
            f"sổ cái được mở cho một định nghĩa khác của cuộc bầu cử {election.id} "
            f"(sha256 {opened.get('election_sha256')}, tệp này {election_sha})",
        )
    return key


def _keys_in(lines: Iterable[tuple[int, bytes]]) -> dict[str, bytes]:
    """Every station key the ledger enrolls (fingerprint -> raw), for the workers."""
    keys: dict[str, bytes] = {}
    for n, line in lines:
        if b'"kind":"station_enrolled"' not in line:
            continue
        try:
            o = json.loads(_entry(line, n).outcome)
            key = VerifyKey.from_text(o["public_key"])
        except (ValueError, KeyError, TypeError, KiemphieuError):
            continue
        keys[key.fingerprint] = key.raw
    return keys


class KeysAhead:
    """The station keys a ledger export enrolls (fingerprint -> raw), read by a
    forked process while this one does something else: at national size ~1 s of
    reading, taken off the time before the workers can start."""

    def __init__(self, path: Path) -> None:
        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_send_keys, args=(path, send), daemon=True)
        self._proc.start()
        send.close()

    @classmethod
    def start(cls, path: Path) -> KeysAhead | None:
        """None where processes cannot be forked."""
        return cls(path) if "fork" in multiprocessing.get_all_start_methods() else None

    def result(self) -> dict[str, bytes] | None:
        """The keys, or None if they could not be read (``verify_ledger`` then does)."""
        try:
            keys: dict[str, bytes] = pickle.loads(self._receive.recv_bytes())
        except (EOFError, OSError):
            return None
        finally:
            self._proc.join()
            self._receive.close()
        return keys


def _send_keys(path: Path, send: Any) -> None:
    try:
        with open(path, "rb") as fh:
            keys = _keys_in(enumerate(fh, start=1))
    except OSError:
        send.close()  # the reader sees EOF
        return
    send.send_bytes(pickle.dumps(keys, protocol=pickle.HIGHEST_PROTOCOL))
    send.close()


# -- the check ----------------------------------------------------------------------------


def verify_ledger(
    path: Path,
    election: Election,
    *,
    fingerprint: str | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    keys: dict[str, bytes] | None = None,
) -> Report:
    """``keys``: what ``_keys_in`` gives for this file (``KeysAhead``), if known."""
    started = time.perf_counter()
    report = Report(fingerprint=fingerprint.strip().lower() if fingerprint else None)
    report.workers = workers or len(os.sched_getaffinity(0)) or 1
    lines = read_lines(path)
    election_bytes = codec.encode(election.definition)
    election_sha = hashlib.sha256(election_bytes).hexdigest()
    # A correction's previous minutes are read back from the line of their entry.
    positions = _Positions()

    def line_at(index: int) -> Entry | None:
        at = positions.of(index)
        if not 0 <= at < len(lines):
            return None
        found = _entry(lines[at][1], lines[at][0])
        return found if found.index == index else None  # None: an index passed over

    def envelope_at(index: int) -> bytes:
        found = line_at(index)
        if found is None:
            raise LookupError(f"the ledger has no entry {index}")
        return found.envelope

    state = LedgerState(election, envelope_at)
    # Summed as the replay goes; each constituency is determined once, at the end.
    tally = Tally(election, rollups=False)
    touched: list[tuple[str, str]] = []
    """Constituencies given minutes since the last ``settle_reported``."""
    prev = ledger.GENESIS_PREV
    expected = 0
    """The index the next entry must have."""
    try:
        if not lines:
            raise _Bad("V100", "the ledger is empty", "sổ cái trống")
        first = Entry.from_export_line(lines[0][1], lines[0][0])
        server_key = _genesis(first, election, election_sha)
    except (_Bad, LedgerFormatError) as exc:
        bad = exc if isinstance(exc, _Bad) else _Bad(exc.code, exc.message_en, exc.message_vi)
        report.bad = BadEntry(0, lines[0][0] if lines else 0, bad.code, bad.en, bad.vi)
        report.seconds = time.perf_counter() - started
        return report
    if keys is None:
        keys = _keys_in(lines)
    _setup(election, keys, server_key.raw)
    fingerprints = {raw: fp for fp, raw in keys.items()}  # worked out once, not twice
    checks = _prechecks(lines, report.workers, chunk)
    # The replay keeps millions of objects and makes no cycles: the collector would
    # walk them again and again (~2 s at national size). Off here and in the
    # workers, which fork from here.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for position, pre in enumerate(checks):
            try:
                if pre.entry is None:
                    assert pre.error is not None
                    raise _Bad(*pre.error)
                entry = pre.entry
                if entry.kind == ledger.ROLLBACK_DETECTED:
                    _check_rollback(entry, position, server_key, election, expected, line_at)
                    if entry.index > expected:  # checked: the index its receipt implies
                        positions.jump(entry.index, position)
                        expected = entry.index
                _check_entry(
                    position,
                    expected,
                    entry,
                    pre,
                    prev,
                    state,
                    tally,
                    election,
                    report,
                    fingerprints,
                    touched,
                )
            except _Bad as bad:
                report.bad = BadEntry(position, pre.line, bad.code, bad.en, bad.vi)
                break
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


def _check_rollback(
    entry: Entry,
    position: int,
    server_key: VerifyKey,
    election: Election,
    expected: int,
    line_at: Callable[[int], Entry | None],
) -> None:
    """A ``rollback_detected`` entry: the receipt it records is the server's, this chain
    did not hold its entry, and the entry sits past that index (service/rollback.py)."""

    def hash_at(index: int) -> str | None:
        found = line_at(index)
        return None if found is None else found.hash

    if entry.index < expected:
        return  # the index check in _check_entry names it (V110)
    try:
        rollback.check_entry(entry, server_key, election.id, expected, hash_at)
    except rollback.Mismatch as exc:
        raise _Bad(
            "V140",
            f"rollback entry {position}: {exc.message_en}",
            f"mục phát hiện khôi phục {position}: {exc.message_vi}",
        ) from exc


def _check_entry(
    position: int,
    expected_index: int,
    entry: Entry,
    pre: Precheck,
    prev: str,
    state: LedgerState,
    tally: Tally,
    election: Election,
    report: Report,
    fingerprints: dict[bytes, str],
    touched: list[tuple[str, str]],
) -> None:
    if entry.index != expected_index:
        raise _Bad(
            "V110",
            f"entry index {entry.index} where {expected_index} belongs: an entry was removed, "
            f"inserted or moved",
            f"mục số {entry.index} ở vị trí của mục {expected_index}: có mục bị xoá, chèn "
            "hoặc đổi chỗ",
        )
    if entry.prev != prev:
        raise _Bad(
            "V111",
            f"entry {position} does not follow the entry before it (prev {entry.prev[:16]}…, "
            f"the hash before is {prev[:16]}…)",
            f"mục {position} không nối tiếp mục trước (prev {entry.prev[:16]}…, "
            f"hash của mục trước là {prev[:16]}…)",
        )
    if pre.hash != entry.hash:
        raise _Bad(
            "V112",
            f"entry {position} was altered: its contents hash to {pre.hash[:16]}…, "
            f"it records {entry.hash[:16]}…",
            f"mục {position} đã bị sửa: nội dung có hash {pre.hash[:16]}…, "
            f"mục ghi {entry.hash[:16]}…",
        )
    kind = entry.kind
    if kind == ledger.LEDGER_OPENED:
        if position != 0:
            raise _Bad(
                "V101",
                f"entry {position} opens a second ledger",
                f"mục {position} mở sổ cái lần thứ hai",
            )
        _no_receipt(entry)
        return
    if kind == ledger.STATION_ENROLLED:
        _no_receipt(entry)
        try:
            o = _outcome_json(entry)
            key = VerifyKey.from_text(o["public_key"])
            station_id, area_id, fp = o["station_id"], o["polling_area_id"], o["fingerprint"]
            _check_actor(o)
        except WeakKeyError as exc:
            en, vi = WEAK_KEY_REASONS[exc.figures["reason"]]
            raise _Bad(
                "V126",
                f"enrolment entry {position} enrolls a weak public key (S320): {en}",
                f"mục đăng ký {position} đăng ký một khoá công khai yếu (S320): {vi}",
            ) from exc
        except (ValueError, KeyError, TypeError, KiemphieuError) as exc:
            raise _Bad(
                "V120",
                f"enrolment entry {position} is unreadable: {exc}",
                f"mục đăng ký {position} không đọc được: {exc}",
            ) from exc
        real = fingerprints.get(key.raw) or key.fingerprint
        if fp != real or entry.station != station_id:
            raise _Bad(
                "V121",
                f"enrolment entry {position} names fingerprint {fp} for key {real}",
                f"mục đăng ký {position} ghi dấu vân tay {fp} cho khoá {real}",
            )
        if fp in state.keys or state.active_key(station_id) is not None:
            raise _Bad(
                "V122",
                f"enrolment entry {position} enrolls a key or station already enrolled",
                f"mục đăng ký {position} đăng ký khoá hoặc điểm gửi đã đăng ký",
            )
        if area_id not in election.polling_areas:
            raise _Bad(
                "V123",
                f"enrolment entry {position} names unknown polling area {area_id}",
                f"mục đăng ký {position} ghi khu vực bỏ phiếu không có {area_id}",
            )
        state.enroll(StationKey(fp, station_id, area_id, key, entry.index))
        return
    if kind == ledger.STATION_REVOKED:
        _no_receipt(entry)
        try:
            o = _outcome_json(entry)
            fp = o["fingerprint"]
            _check_actor(o)
        except (ValueError, KeyError, TypeError, KiemphieuError) as exc:
            raise _Bad(
                "V124",
                f"revocation entry {position} is unreadable: {exc}",
                f"mục thu hồi {position} không đọc được: {exc}",
            ) from exc
        if fp not in state.keys or state.keys[fp].revoked:
            raise _Bad(
                "V124",
                f"revocation entry {position} revokes key {fp}, which is not active",
                f"mục thu hồi {position} thu hồi khoá {fp} không còn hiệu lực",
            )
        state.revoke(fp)
        return
    if kind == ledger.ALERT_REVIEWED:
        _no_receipt(entry)
        try:
            o = json.loads(entry.outcome)
            if not isinstance(o["alert_id"], int) or not isinstance(o["note"], str):
                raise TypeError("alert_id is a number and note a string")
            _check_actor(o, required=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise _Bad(
                "V125",
                f"review entry {position} is unreadable: {exc}",
                f"mục xem xét cảnh báo {position} không đọc được: {exc}",
            ) from exc
        return
    if kind == ledger.ROLLBACK_DETECTED:
        return  # replayed by _check_rollback
    if kind not in ledger.BATCH_KINDS:
        raise _Bad(
            "V102",
            f"entry {position} has unknown kind {kind!r}",
            f"mục {position} loại lạ {kind!r}",
        )
    if pre.opened is None and _unsigned_entry(entry):
        _check_unsigned(position, entry, pre, state)
        report.unsigned += 1
        return
    if pre.opened is not None:
        decision = decide_opened(
            state,
            pre.opened,
            signature_ok=pre.signature_ok,
            findings=pre.findings,
            decoded=pre.decoded,
            batch=pre.batch,
        )
    else:
        decision = decide(state, entry.envelope)
    if pre.signature_ok is not None:
        report.signatures += 1
    if pre.receipt_checked:
        report.receipt_signatures += 1
    if decision.outcome is None:
        raise _Bad(
            "V130",
            f"entry {position} records an envelope the server would not have recorded "
            f"({decision.kind})",
            f"mục {position} ghi một phong bì mà máy chủ không ghi ({decision.kind})",
        )
    expected = decision.outcome.encode()
    if (
        expected != entry.outcome
        or decision.kind != kind
        or decision.station != entry.station
        or decision.unsigned  # such a refusal is recorded without the envelope
    ):
        raise _Bad(
            "V131",
            f"entry {position}: re-checking the batch gives {decision.kind} "
            f"{expected.decode()[:300]}; the ledger records {kind} "
            f"{entry.outcome.decode(errors='replace')[:300]}",
            f"mục {position}: kiểm tra lại lô cho kết quả {decision.kind}; sổ cái ghi {kind}",
        )
    # The outcome is the recorded one, so the worker's receipt check applies to it.
    if not pre.receipt_ok:
        raise _Bad(
            "V132",
            f"entry {position}: the receipt is not the server's signature over this "
            f"entry's receipt",
            f"mục {position}: biên nhận không phải chữ ký của máy chủ trên biên nhận của mục này",
        )
    state.record(decision, entry.index)
    if decision.outcome.status == "accepted" and decision.batch is not None:
        report.accepted += 1
        names = _W["names"]
        for m in decision.batch.minutes:
            where, sheet = sheet_of(m, names)
            tally.add_sheet(where, sheet)
            touched.append(where[:2])
        if len(touched) >= SETTLE_EVERY:
            # While the workers are ahead: less to do once the last entry is read.
            tally.settle_reported(touched)
            touched.clear()


def _check_actor(outcome: dict[str, Any], *, required: bool = False) -> None:
    """``by``, who did it: a name, never empty. Enrolments and revocations written
    before it was recorded have none."""
    if "by" not in outcome and not required:
        return
    by = outcome["by"]
    if not isinstance(by, str) or not by.strip():
        raise TypeError(f"'by' must name who did it, not {by!r}")


def _check_unsigned(position: int, entry: Entry, pre: Precheck, state: LedgerState) -> None:
    """An entry recorded as a digest: rebuild its outcome from its key id and the keys
    enrolled so far; only the claim that the signature failed (S201) or the envelope
    was wrong (S202, S203) cannot be re-checked, having no bytes."""
    try:
        o = decode_unsigned(entry.outcome)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _Bad(
            "V134",
            f"entry {position} records no envelope and no readable refusal: {exc}",
            f"mục {position} không ghi phong bì và không ghi lời từ chối đọc được: {exc}",
        ) from exc
    if o.code not in UNSIGNED_CODES:
        raise _Bad(
            "V134",
            f"entry {position} records no envelope, but {o.code} is decided only after a "
            f"valid signature, whose bytes the ledger must keep",
            f"mục {position} không ghi phong bì, nhưng {o.code} chỉ được quyết định sau khi "
            f"chữ ký hợp lệ, nên sổ cái phải giữ phong bì",
        )
    flaw = o.code if o.code in ("S202", "S203") else None
    decision = refuse_unsigned(state, o.keyid, flaw)
    assert decision.outcome is not None
    expected = unsigned_outcome(decision.outcome, o.received_sha256, o.received_bytes).encode()
    if expected != entry.outcome or decision.station != entry.station:
        raise _Bad(
            "V131",
            f"entry {position}: re-checking the refusal gives {expected.decode()[:300]}; the "
            f"ledger records {entry.outcome.decode(errors='replace')[:300]}",
            f"mục {position}: kiểm tra lại lời từ chối cho kết quả khác với sổ cái",
        )
    if not pre.receipt_ok:
        raise _Bad(
            "V132",
            f"entry {position}: a refusal without a valid signature has no receipt",
            f"mục {position}: lời từ chối khi chưa có chữ ký hợp lệ không có biên nhận",
        )


def _outcome_json(entry: Entry) -> Any:
    """An entry's outcome, refused if it is not I-JSON (a key twice: two readings)."""
    value = json.loads(entry.outcome)
    codec.check_ijson(entry.outcome, value)
    return value


def _no_receipt(entry: Entry) -> None:
    if entry.receipt:  # a receipt only ever answers a batch
        raise _Bad(
            "V133",
            f"entry {entry.index} carries a receipt it should not have",
            f"mục {entry.index} có biên nhận không đúng chỗ",
        )


def load_election_source(path: Path) -> Election:
    from tally_server.service.folder import load_election_source as load

    return load(path)
