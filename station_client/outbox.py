"""The durable outbox: signed envelopes, their receipts, and the drafts being typed.

One SQLite file (WAL, ``synchronous=FULL``): a batch is committed here before
the first byte is sent, so a crash can lose nothing that was signed, and a
restart resends exactly the stored bytes. Sequence numbers are allocated in
the same transaction that stores the envelope, from a counter that only grows.
Every table has a station column, so the simulator can keep many stations in
one file.

The file's schema version is SQLite's ``PRAGMA user_version`` (``OUTBOX_VERSION``),
checked on every open before anything is written. Writes use plain ``sqlite3``
(one explicit transaction each, measured on the send path); looking at an
older file's tables goes through sqlite-utils.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from schemas.models import Receipt
from station_client.errors import OutboxVersionError

State = Literal["pending", "delivered", "rejected", "conflict", "refused"]
"""pending: not yet answered; delivered: accepted receipt; rejected: a receipt
with findings; conflict: the server holds other bytes for this sequence;
refused: the server answered an error without a receipt (key, station, size)."""

FINAL_STATES: frozenset[str] = frozenset({"delivered", "rejected", "conflict"})

OUTBOX_VERSION = 1
"""``PRAGMA user_version`` of an outbox. 1: the tables below. 0: a new file, or one
made before the version was kept (upgraded: ``lost_receipts`` and ``lineage``
are created where missing)."""
_OURS = frozenset({"sequences", "batches", "drafts"})
"""Tables every outbox has had: a file at version 0 with other tables is not one."""
_NOT_OURS = (
    "Signed batches live in the station's own outbox: give its folder (--dir), or restore "
    "its outbox.sqlite from a backup; do not delete or replace that file.",
    "Các gói đã ký nằm trong hộp thư đi của chính trạm: hãy chỉ đúng thư mục của trạm "
    "(--dir), hoặc khôi phục tệp outbox.sqlite của trạm từ bản sao lưu; đừng xoá hay thay tệp đó.",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sequences (
    station_id TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    station_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    envelope BLOB NOT NULL,
    created_at TEXT NOT NULL,
    races TEXT NOT NULL,
    supersedes TEXT,
    reason TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_error TEXT,
    receipt BLOB,
    ledger_index INTEGER,
    ledger_head TEXT,
    received_at TEXT,
    findings TEXT,
    PRIMARY KEY (station_id, sequence),
    UNIQUE (station_id, digest)
);
CREATE INDEX IF NOT EXISTS batches_state ON batches (state, station_id, sequence);
CREATE TABLE IF NOT EXISTS lost_receipts (
    station_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    receipt BLOB NOT NULL,
    ledger_index INTEGER NOT NULL,
    ledger_head TEXT NOT NULL,
    received_at TEXT,
    state TEXT NOT NULL,
    held_hash TEXT,
    detected_at TEXT NOT NULL,
    reported_at TEXT,
    report TEXT,
    PRIMARY KEY (station_id, ledger_index, ledger_head)
);
CREATE TABLE IF NOT EXISTS lineage (
    station_id TEXT PRIMARY KEY,
    ledger_index INTEGER NOT NULL,
    ledger_head TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    station_id TEXT NOT NULL,
    race_id TEXT NOT NULL,
    round TEXT NOT NULL,
    copy TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (station_id, race_id, round, copy, field)
);
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Sealed:
    """What a signer hands the outbox: the exact payload and its envelope."""

    payload: bytes
    envelope: bytes
    digest: str
    created_at: str
    races: tuple[str, ...]
    supersedes: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    station_id: str
    sequence: int
    digest: str
    envelope: bytes
    created_at: str
    races: tuple[str, ...]
    supersedes: str | None
    reason: str | None
    state: State
    attempts: int
    last_attempt_at: str | None
    last_error: str | None
    receipt: bytes | None
    ledger_index: int | None
    ledger_head: str | None
    received_at: str | None
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LostReceipt:
    """A receipt whose entry the server's ledger no longer held (a restored backup):
    kept as evidence beside the receipt of the batch's re-delivery."""

    station_id: str
    sequence: int
    receipt: bytes
    ledger_index: int
    ledger_head: str
    received_at: str | None
    state: str
    """The batch's state under that receipt (delivered, rejected, conflict)."""
    held_hash: str | None
    """What the server held at that index when it was noticed (None: nothing)."""
    detected_at: str
    reported_at: str | None
    report: dict[str, Any] | None
    """The server's answer to being shown the receipt."""


_LOST_COLUMNS = (
    "station_id, sequence, receipt, ledger_index, ledger_head, received_at, state, held_hash, "
    "detected_at, reported_at, report"
)


def _lost(row: tuple[Any, ...]) -> LostReceipt:
    return LostReceipt(
        row[0], row[1], bytes(row[2]), row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        json.loads(row[10]) if row[10] else None,
    )  # fmt: skip


_COLUMNS = (
    "station_id, sequence, digest, envelope, created_at, races, supersedes, reason, state, "
    "attempts, last_attempt_at, last_error, receipt, ledger_index, ledger_head, received_at, "
    "findings"
)


def _row(row: tuple[Any, ...]) -> StoredBatch:
    return StoredBatch(
        station_id=row[0],
        sequence=row[1],
        digest=row[2],
        envelope=bytes(row[3]),
        created_at=row[4],
        races=tuple(json.loads(row[5])),
        supersedes=row[6],
        reason=row[7],
        state=row[8],
        attempts=row[9],
        last_attempt_at=row[10],
        last_error=row[11],
        receipt=bytes(row[12]) if row[12] is not None else None,
        ledger_index=row[13],
        ledger_head=row[14],
        received_at=row[15],
        findings=json.loads(row[16]) if row[16] else [],
    )


class Outbox:
    """The outbox file. Not thread-safe; one per process (or per event loop)."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        # Autocommit mode: every write below opens its own explicit transaction.
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        try:
            self._db.execute("PRAGMA busy_timeout=10000")
            if self._check_version() != OUTBOX_VERSION:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._create()
            # FULL: a committed batch survives power loss. The simulator may trade
            # that for speed (NORMAL keeps the file consistent, may lose the tail).
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        except BaseException:
            self._db.close()
            raise

    def _check_version(self) -> int:
        """The version found (``OUTBOX_VERSION``, or 0 to create or upgrade), or a
        refusal naming the file, the version found and the one expected. Reads only."""
        try:
            (found,) = self._db.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname != "SQLITE_NOTADB":
                raise
            raise self._refusal(
                "P112", None, ("is not a SQLite database", "không phải tệp SQLite"), _NOT_OURS
            ) from None
        if found == OUTBOX_VERSION:
            return OUTBOX_VERSION
        if found > OUTBOX_VERSION:
            raise self._refusal(
                "P113",
                found,
                (
                    "was made by a newer station-client than this one",
                    "do phiên bản station-client mới hơn phiên bản này tạo",
                ),
                (
                    "Open it with that version or a later one; nothing was changed.",
                    "Hãy mở bằng phiên bản đó hoặc mới hơn; chưa có gì bị thay đổi.",
                ),
            )
        tables = set(
            sqlite_utils.Database(
                self._db, recursive_triggers=False, execute_plugins=False
            ).table_names()
        )
        if found != 0 or (tables and not _OURS <= tables):
            raise self._refusal(
                "P114",
                found,
                (
                    "is not a station outbox of a version station-client knows",
                    "không phải hộp thư đi của trạm ở phiên bản mà station-client biết",
                ),
                _NOT_OURS,
            )
        return 0

    def _refusal(
        self, code: str, found: int | None, why: tuple[str, str], todo: tuple[str, str]
    ) -> OutboxVersionError:
        shown = "-" if found is None else found
        return OutboxVersionError(
            en=f"{self.path}: {why[0]} (schema version found {shown}, expected "
            f"{OUTBOX_VERSION}). {todo[0]}",
            vi=f"{self.path}: {why[1]} (phiên bản lược đồ tìm thấy {shown}, cần "
            f"{OUTBOX_VERSION}). {todo[1]}",
            code=code,
            fields=("schema_version",),
            figures={"file": str(self.path), "found": found, "expected": OUTBOX_VERSION},
        )

    def _create(self) -> None:
        """Make the tables a new or pre-version outbox lacks, and mark the version."""
        with self._write() as db:
            (found,) = db.execute("PRAGMA user_version").fetchone()
            if found == OUTBOX_VERSION:  # another process did it meanwhile
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {OUTBOX_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock first, so the sequence read and the
        # insert cannot interleave with another process's.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- sequences and batches ---------------------------------------------------

    def last_sequence(self, station_id: str) -> int:
        row = self._db.execute(
            "SELECT last_sequence FROM sequences WHERE station_id = ?", (station_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def add(self, station_id: str, seal: Callable[[int], Sealed]) -> StoredBatch:
        """Allocate the next sequence, let ``seal`` sign the batch with it, and
        commit the envelope, all in one transaction."""
        with self._write() as db:
            row = db.execute(
                "SELECT last_sequence FROM sequences WHERE station_id = ?", (station_id,)
            ).fetchone()
            sequence = (int(row[0]) if row else 0) + 1
            sealed = seal(sequence)
            db.execute(
                "INSERT INTO sequences (station_id, last_sequence) VALUES (?, ?) "
                "ON CONFLICT (station_id) DO UPDATE SET last_sequence = excluded.last_sequence",
                (station_id, sequence),
            )
            db.execute(
                "INSERT INTO batches (station_id, sequence, digest, envelope, created_at, races, "
                "supersedes, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    station_id,
                    sequence,
                    sealed.digest,
                    sealed.envelope,
                    sealed.created_at,
                    json.dumps(list(sealed.races)),
                    sealed.supersedes,
                    sealed.reason,
                ),
            )
        stored = self.get(station_id, sequence)
        assert stored is not None
        return stored

    def get(self, station_id: str, sequence: int) -> StoredBatch | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM batches WHERE station_id = ? AND sequence = ?",
            (station_id, sequence),
        ).fetchone()
        return _row(row) if row else None

    def batches(self, station_id: str | None = None) -> list[StoredBatch]:
        if station_id is None:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM batches ORDER BY station_id, sequence"
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE station_id = ? ORDER BY sequence",
                (station_id,),
            ).fetchall()
        return [_row(r) for r in rows]

    def pending(self, station_id: str | None = None) -> list[StoredBatch]:
        """Batches still to deliver, oldest first (per station)."""
        if station_id is None:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE state = 'pending' "
                "ORDER BY station_id, sequence"
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE state = 'pending' AND station_id = ? "
                "ORDER BY sequence",
                (station_id,),
            ).fetchall()
        return [_row(r) for r in rows]

    def record_attempt(self, station_id: str, sequence: int, error: str | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE batches SET attempts = attempts + 1, last_attempt_at = ?, last_error = ? "
                "WHERE station_id = ? AND sequence = ?",
                (_now_text(), error, station_id, sequence),
            )

    def record_receipt(
        self, station_id: str, sequence: int, state: State, receipt_bytes: bytes, receipt: Receipt
    ) -> None:
        findings = json.dumps(
            [
                {
                    "code": f.code,
                    "severity": f.severity,
                    "race_id": f.race_id,
                    "fields": f.fields,
                    "figures": f.figures,
                    "message_vi": f.message_vi,
                    "message_en": f.message_en,
                }
                for f in receipt.findings
            ],
            ensure_ascii=False,
        )
        with self._write() as db:
            db.execute(
                "UPDATE batches SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = NULL, receipt = ?, ledger_index = ?, ledger_head = ?, "
                "received_at = ?, findings = ? WHERE station_id = ? AND sequence = ?",
                (
                    state,
                    _now_text(),
                    receipt_bytes,
                    receipt.ledger_index,
                    receipt.ledger_head,
                    receipt.received_at.isoformat(),
                    findings,
                    station_id,
                    sequence,
                ),
            )

    def record_refusal(self, station_id: str, sequence: int, error: dict[str, Any]) -> None:
        """The server answered an error without a receipt: stop retrying, keep why."""
        with self._write() as db:
            db.execute(
                "UPDATE batches SET state = 'refused', attempts = attempts + 1, "
                "last_attempt_at = ?, last_error = ?, findings = ? "
                "WHERE station_id = ? AND sequence = ?",
                (
                    _now_text(),
                    f"[{error.get('code', '?')}] {error.get('message_en', '')}",
                    json.dumps([error], ensure_ascii=False),
                    station_id,
                    sequence,
                ),
            )

    def requeue_refused(self, station_id: str) -> int:
        """Refused batches back to pending (for example once the key is enrolled)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE batches SET state = 'pending' WHERE station_id = ? AND state = 'refused'",
                (station_id,),
            )
            return cursor.rowcount

    # --- receipts whose entry the server lost ------------------------------------

    def receipted(self, station_id: str) -> list[StoredBatch]:
        """Batches holding a receipt (their entries should be in the server's ledger)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM batches WHERE station_id = ? AND receipt IS NOT NULL "
            "ORDER BY ledger_index",
            (station_id,),
        ).fetchall()
        return [_row(r) for r in rows]

    def mark_lost(self, station_id: str, sequence: int, held_hash: str | None) -> None:
        """The server no longer holds this batch's entry: keep the receipt as evidence
        and queue the same signed bytes again, in one transaction."""
        with self._write() as db:
            db.execute(
                f"INSERT OR IGNORE INTO lost_receipts ({_LOST_COLUMNS}) "
                "SELECT station_id, sequence, receipt, ledger_index, ledger_head, received_at, "
                "state, ?, ?, NULL, NULL FROM batches WHERE station_id = ? AND sequence = ? "
                "AND receipt IS NOT NULL",
                (held_hash, _now_text(), station_id, sequence),
            )
            db.execute(
                "UPDATE batches SET state = 'pending', receipt = NULL, ledger_index = NULL, "
                "ledger_head = NULL, received_at = NULL, findings = NULL, last_error = ? "
                "WHERE station_id = ? AND sequence = ?",
                (
                    "[P210] the server no longer holds the entry of this batch's receipt; "
                    "delivering it again",
                    station_id,
                    sequence,
                ),
            )

    def checked_up_to(self, station_id: str) -> int | None:
        """The ledger index of the latest receipt last found held together with all
        the earlier ones (station_client.lineage), or None."""
        row = self._db.execute(
            "SELECT ledger_index FROM lineage WHERE station_id = ?", (station_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_checked_up_to(self, station_id: str, batch: StoredBatch | None) -> None:
        with self._write() as db:
            if batch is None or batch.ledger_index is None or batch.ledger_head is None:
                db.execute("DELETE FROM lineage WHERE station_id = ?", (station_id,))
                return
            db.execute(
                "INSERT INTO lineage (station_id, ledger_index, ledger_head, checked_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (station_id) DO UPDATE SET "
                "ledger_index = excluded.ledger_index, ledger_head = excluded.ledger_head, "
                "checked_at = excluded.checked_at",
                (station_id, batch.ledger_index, batch.ledger_head, _now_text()),
            )

    def lost_receipts(self, station_id: str) -> list[LostReceipt]:
        rows = self._db.execute(
            f"SELECT {_LOST_COLUMNS} FROM lost_receipts WHERE station_id = ? "
            "ORDER BY detected_at, ledger_index",
            (station_id,),
        ).fetchall()
        return [_lost(r) for r in rows]

    def record_report(
        self, station_id: str, ledger_index: int, ledger_head: str, answer: dict[str, Any]
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE lost_receipts SET reported_at = ?, report = ? WHERE station_id = ? "
                "AND ledger_index = ? AND ledger_head = ?",
                (
                    _now_text(),
                    json.dumps(answer, ensure_ascii=False),
                    station_id,
                    ledger_index,
                    ledger_head,
                ),
            )

    # --- drafts ------------------------------------------------------------------

    def save_field(
        self, station_id: str, race_id: str, round_: str, copy: str, name: str, value: str
    ) -> None:
        """Store one typed field at once: a crash loses at most the field being typed."""
        with self._write() as db:
            db.execute(
                "INSERT INTO drafts (station_id, race_id, round, copy, field, value, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (station_id, race_id, round, copy, "
                "field) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (station_id, race_id, round_, copy, name, value, _now_text()),
            )

    def draft(self, station_id: str, race_id: str, round_: str, copy: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT field, value FROM drafts WHERE station_id = ? AND race_id = ? AND round = ? "
            "AND copy = ?",
            (station_id, race_id, round_, copy),
        ).fetchall()
        return {name: value for name, value in rows}

    def drafted_races(self, station_id: str) -> set[tuple[str, str]]:
        rows = self._db.execute(
            "SELECT DISTINCT race_id, round FROM drafts WHERE station_id = ?", (station_id,)
        ).fetchall()
        return {(r, n) for r, n in rows}

    def clear_drafts(self, station_id: str, keys: list[tuple[str, str]]) -> None:
        with self._write() as db:
            for race_id, round_ in keys:
                db.execute(
                    "DELETE FROM drafts WHERE station_id = ? AND race_id = ? AND round = ?",
                    (station_id, race_id, round_),
                )
