"""The server's SQLite file: schema, version, connections, and one transaction per
write group.

The ledger table is the record; every other table is derived from it and
kept in the same transaction so the two never disagree. The hot path uses
plain ``sqlite3`` (executemany in one transaction, one fsync per group);
looking at a file's tables and adding columns to an older one goes through
sqlite-utils.

The schema's version is the ``meta`` row ``schema_version`` (there since the
first version; ``PRAGMA user_version`` is left at 0). Every open checks it
(``check_version``): a file that is not ours, newer or of an unknown version is
refused; an older one is upgraded when opened to write, refused when opened to
read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from schemas.errors import KiemphieuError
from tally_server.store.ledger import GENESIS_PREV, Entry

SCHEMA_VERSION = "2"
"""2: tokens expire (``expires_at``); ``meta`` holds the election's date. (``batch_log``
has held ``outcome`` for ``http`` since the ledger's format v2: a database from before
holds a v1 ledger, which ``open_folder`` refuses before reading any table.)"""
UPGRADES = frozenset({"1"})
"""Older versions ``upgrade`` brings to ``SCHEMA_VERSION`` (1: the first)."""


class DatabaseVersionError(KiemphieuError):
    """A server database this code must not open: not ours, newer, of an unknown
    version, or older and opened only to read."""

    code = "F110"


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    idx INTEGER PRIMARY KEY,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    station TEXT NOT NULL,
    envelope BLOB NOT NULL,
    outcome BLOB NOT NULL,
    receipt BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    fingerprint TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    polling_area_id TEXT NOT NULL,
    public_key BLOB NOT NULL,
    enrolled_at TEXT NOT NULL,
    enrolled_index INTEGER NOT NULL,
    revoked_at TEXT,
    revoked_index INTEGER
);
CREATE INDEX IF NOT EXISTS keys_station ON keys (station_id);
CREATE TABLE IF NOT EXISTS batch_log (
    ledger_index INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    station_id TEXT,
    polling_area_id TEXT,
    sequence INTEGER,
    digest TEXT,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    correction INTEGER NOT NULL,
    flagged INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS batch_accepted
    ON batch_log (station_id, sequence) WHERE status = 'accepted';
CREATE INDEX IF NOT EXISTS batch_area ON batch_log (polling_area_id);
CREATE TABLE IF NOT EXISTS minutes (
    polling_area_id TEXT NOT NULL,
    race_id TEXT NOT NULL,
    round TEXT NOT NULL,
    ledger_index INTEGER NOT NULL,
    constituency_id TEXT NOT NULL,
    station_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    at TEXT NOT NULL,
    correction INTEGER NOT NULL,
    reason TEXT,
    item INTEGER NOT NULL,
    PRIMARY KEY (polling_area_id, race_id, round, ledger_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
    polling_area_id TEXT NOT NULL,
    race_id TEXT NOT NULL,
    round TEXT NOT NULL,
    ledger_index INTEGER NOT NULL,
    PRIMARY KEY (polling_area_id, race_id, round)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    station_id TEXT,
    polling_area_id TEXT,
    ledger_index INTEGER,
    codes TEXT NOT NULL,
    data BLOB NOT NULL,
    reviewed_at TEXT,
    review_note TEXT,
    reviewed_by TEXT,
    review_index INTEGER,
    count INTEGER NOT NULL DEFAULT 1,
    last_at TEXT,
    last_index INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_kind ON alerts (kind, reviewed_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    expires_at TEXT NOT NULL
);
"""

INSERT_LEDGER = (
    "INSERT INTO ledger (idx, prev, hash, at, kind, station, envelope, outcome, receipt) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_KEY = (
    "INSERT INTO keys (fingerprint, station_id, polling_area_id, public_key, enrolled_at, "
    "enrolled_index) VALUES (?, ?, ?, ?, ?, ?)"
)
REVOKE_KEY = "UPDATE keys SET revoked_at = ?, revoked_index = ? WHERE fingerprint = ?"
INSERT_BATCH = (
    "INSERT INTO batch_log (ledger_index, at, kind, station_id, polling_area_id, sequence, "
    "digest, status, outcome, code, correction, flagged) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MINUTES = (
    "INSERT INTO minutes (polling_area_id, race_id, round, ledger_index, constituency_id, "
    "station_id, sequence, digest, at, correction, reason, item) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_CURRENT = (
    "INSERT INTO current (polling_area_id, race_id, round, ledger_index) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (polling_area_id, race_id, round) "
    "DO UPDATE SET ledger_index = excluded.ledger_index"
)
INSERT_ALERT = (
    "INSERT INTO alerts (id, kind, at, station_id, polling_area_id, ledger_index, codes, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
BUMP_ALERT = "UPDATE alerts SET count = count + 1, last_at = ?, last_index = ? WHERE id = ?"
REVIEW_ALERT = (
    "UPDATE alerts SET reviewed_at = ?, review_note = ?, reviewed_by = ?, review_index = ? "
    "WHERE id = ?"
)
INSERT_EVENT = "INSERT INTO events (id, type, at, data) VALUES (?, ?, ?, ?)"


def connect(path: Path, *, readonly: bool = False, older: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL: a commit is on disk when it returns.

    The file's version is checked first (``check_version``), before anything is
    written to it. ``older``: accept a version ``upgrade`` knows (the caller upgrades
    it, or reads only ``meta``); else only ``SCHEMA_VERSION``."""
    conn = _open(path, readonly=readonly)
    try:
        check_version(conn, path, older=older)
        _settings(conn, readonly=readonly)
    except BaseException:
        conn.close()
        raise
    return conn


def utils(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over ``conn``, leaving the connection's settings as they are."""
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def _open(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _settings(conn: sqlite3.Connection, *, readonly: bool) -> None:
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def _refusal(
    path: Path, code: str, found: str | None, why: tuple[str, str], todo: tuple[str, str]
) -> DatabaseVersionError:
    shown = "-" if found is None else found
    return DatabaseVersionError(
        en=f"{path}: {why[0]} (schema version found {shown}, expected {SCHEMA_VERSION}). {todo[0]}",
        vi=f"{path}: {why[1]} (phiên bản lược đồ tìm thấy "
        f"{shown}, cần {SCHEMA_VERSION}). {todo[1]}",
        code=code,
        fields=("schema_version",),
        figures={"file": str(path), "found": found, "expected": SCHEMA_VERSION},
    )


_NOT_OURS = (
    "Give the folder `tally-server init` made (--dir), or make a new one with it.",
    "Hãy chỉ đúng thư mục do `tally-server init` tạo (--dir), hoặc tạo thư mục mới bằng lệnh đó.",
)


def check_version(conn: sqlite3.Connection, path: Path, *, older: bool = False) -> str:
    """The schema version of the server database open on ``conn``, or a refusal
    (``DatabaseVersionError``) naming the file, the version found and the one
    expected, and what to do. Reads only."""
    try:
        tables = set(utils(conn).table_names())
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorname != "SQLITE_NOTADB":
            raise
        raise _refusal(
            path,
            "F110",
            None,
            ("is not a SQLite database", "không phải tệp cơ sở dữ liệu SQLite"),
            _NOT_OURS,
        ) from None
    found = meta(conn, "schema_version") if "meta" in tables else None
    if found is None or "ledger" not in tables:
        raise _refusal(
            path,
            "F110",
            found,
            (
                "is not a tally-server database (no ledger, or no schema version)",
                "không phải cơ sở dữ liệu của tally-server (không có sổ cái hoặc "
                "phiên bản lược đồ)",
            ),
            _NOT_OURS,
        )
    if found == SCHEMA_VERSION or (older and found in UPGRADES):
        return found
    if found in UPGRADES:
        raise _refusal(
            path,
            "F113",
            found,
            (
                "was made by an older tally-server; it is upgraded when opened to write, "
                "and this command only reads",
                "do phiên bản tally-server cũ hơn tạo; nó được nâng cấp khi mở để ghi, "
                "còn lệnh này chỉ đọc",
            ),
            (
                f"Open it once with a command that writes: `tally-server serve --dir "
                f"{path.parent}`, or `tally-server token list --dir {path.parent}` which "
                "returns at once (the upgrade is one transaction and keeps every entry); "
                "then run this again.",
                f"Hãy mở nó một lần bằng một lệnh có ghi: `tally-server serve --dir "
                f"{path.parent}`, hoặc `tally-server token list --dir {path.parent}` (xong "
                "ngay; việc nâng cấp là một giao dịch và giữ nguyên mọi mục); rồi chạy lại "
                "lệnh này.",
            ),
        )
    if found.isdigit() and int(found) > int(SCHEMA_VERSION):
        raise _refusal(
            path,
            "F111",
            found,
            (
                "was made by a newer tally-server than this one",
                "do phiên bản tally-server mới hơn phiên bản này tạo",
            ),
            (
                "Open it with that version or a later one; nothing was changed.",
                "Hãy mở bằng phiên bản đó hoặc mới hơn; chưa có gì bị thay đổi.",
            ),
        )
    raise _refusal(
        path,
        "F112",
        found,
        (
            "has a schema version no tally-server made",
            "có phiên bản lược đồ mà không phiên bản tally-server nào tạo ra",
        ),
        (
            "Its meta table was changed by hand or by another program: do not count from it; "
            "restore the folder from a backup.",
            "Bảng meta đã bị sửa tay hoặc bởi chương trình khác: đừng kiểm phiếu từ nó; "
            "hãy khôi phục thư mục từ bản sao lưu.",
        ),
    )


def create(path: Path) -> sqlite3.Connection:
    """A new database at ``path`` (which does not exist yet), at ``SCHEMA_VERSION``."""
    conn = _open(path, readonly=False)
    _settings(conn, readonly=False)
    conn.executescript(SCHEMA)
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
    )
    return conn


def upgrade(conn: sqlite3.Connection, election_date: str, token_expiry: str) -> None:
    """Bring a database made by an older version up to ``SCHEMA_VERSION``, in one
    transaction. From 1: the election's date goes into ``meta``, every token gets an
    expiry (``token_expiry``: the default as of now), and alerts a count (if made
    before they were coalesced)."""
    if meta(conn, "schema_version") == SCHEMA_VERSION:
        return
    db = utils(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if meta(conn, "schema_version") == "1":  # looked again: another process may have done it
            db.table("tokens").add_column("expires_at", str)
            conn.execute("UPDATE tokens SET expires_at = ?", (token_expiry,))
            if "count" not in db.table("alerts").columns_dict:
                db.table("alerts").add_column("count", int, not_null_default=1)
                db.table("alerts").add_column("last_at", str)
                db.table("alerts").add_column("last_index", int)
            set_meta(conn, "election_date", election_date)
            set_meta(conn, "schema_version", SCHEMA_VERSION)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def ledger_row(entry: Entry) -> tuple[Any, ...]:
    return (
        entry.index,
        entry.prev,
        entry.hash,
        entry.time,
        entry.kind,
        entry.station,
        entry.envelope,
        entry.outcome,
        entry.receipt,
    )


# Statements run in this order within a transaction: a row is always written
# before a statement that changes it (a key revoked, an alert reviewed, a
# current-minutes row replaced, in the group that created it).
_ORDER = {
    sql: i
    for i, sql in enumerate(
        (
            INSERT_LEDGER,
            INSERT_KEY,
            REVOKE_KEY,
            INSERT_BATCH,
            INSERT_MINUTES,
            UPSERT_CURRENT,
            INSERT_ALERT,
            BUMP_ALERT,
            REVIEW_ALERT,
            INSERT_EVENT,
        )
    )
}


class Writes:
    """Rows to write in one transaction, grouped by statement (order kept within each)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[Any]]] = {}

    def add(self, sql: str, params: Sequence[Any]) -> None:
        rows = self.rows.get(sql)
        if rows is None:
            self.rows[sql] = [params]
        else:
            rows.append(params)

    def extend(self, other: Writes) -> None:
        for sql, rows in other.rows.items():
            mine = self.rows.get(sql)
            if mine is None:
                self.rows[sql] = list(rows)
            else:
                mine.extend(rows)


def write(conn: sqlite3.Connection, writes: Writes) -> None:
    """One transaction: every row or none; durable when this returns."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in sorted(writes.rows, key=lambda q: _ORDER.get(q, len(_ORDER))):
            conn.executemany(sql, writes.rows[sql])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (a full disk)
            conn.execute("ROLLBACK")
        raise


def ledger_entries(
    conn: sqlite3.Connection, start: int = 0, stop: int | None = None, chunk: int = 2000
) -> Iterator[Entry]:
    """Entries with ``start <= index < stop`` in index order, read in chunks. Indexes
    may skip (the ones a ``rollback_detected`` entry passes over)."""
    at = start
    end = 2**63 - 1 if stop is None else stop
    while at < end:
        rows = conn.execute(
            "SELECT idx, prev, hash, at, kind, station, envelope, outcome, receipt FROM ledger "
            "WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?",
            (at, end, chunk),
        ).fetchall()
        if not rows:
            return
        for r in rows:
            yield Entry(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), bytes(r[7]), bytes(r[8]))
        at = rows[-1][0] + 1


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(next index, hash of the last entry)."""
    row = conn.execute("SELECT idx, hash FROM ledger ORDER BY idx DESC LIMIT 1").fetchone()
    if row is None:
        return 0, GENESIS_PREV
    return int(row[0]) + 1, str(row[1])


def hashes_at(conn: sqlite3.Connection, indexes: Iterable[int]) -> dict[int, str]:
    """Index -> hash of those of ``indexes`` the ledger holds, read 500 at a time."""
    wanted = sorted(set(indexes))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        marks = ",".join("?" * len(part))
        found.update(conn.execute(f"SELECT idx, hash FROM ledger WHERE idx IN ({marks})", part))
    return found


def head_at(conn: sqlite3.Connection, index: int) -> tuple[int, str]:
    """(next index, hash) as the ledger stood just after entry ``index``."""
    if index < 0:
        return 0, GENESIS_PREV
    row = conn.execute("SELECT hash FROM ledger WHERE idx = ?", (index,)).fetchone()
    if row is None:
        raise LookupError(f"the database has no ledger entry {index}")
    return index + 1, str(row[0])
