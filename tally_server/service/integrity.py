"""The derived tables checked against the ledger, and rebuilt from it.

Every table of ``tally.db`` but ``ledger`` (and the tokens and the feed's
events, which the ledger does not hold) is derived from the ledger: keys,
batch_log, minutes, current, alerts. The server trusts them to decide, so
before it serves it checks them:

* a **checkpoint** in the meta table, signed with the server key, names an
  entry (index and hash), the ledger's count of entries per kind up to it, a
  digest of each derived table as it stood then (taken in one read snapshot, so
  while the server appends), and the count, last time and last entry of each
  alert still open to coalescing (``Journal.open_alerts``): a count moved on
  later cannot be read back as it was. The server writes one when it stops
  cleanly, every ``CHECKPOINT_SECONDS`` while it runs, and after an offline
  change (``station enroll``, ``revoke``, ``rebuild``);
* at start the ledger must still hold that entry with that hash and those
  counts, the tables as they stood just after it (a row written later is left
  out, a column changed later is read as it was) must give the same digests,
  and every entry after it is replayed (decided again, as ``verify`` does) from
  the state at the checkpoint: it must chain, give the very entry stored, and
  the rows it writes must be the rows stored. Indexes may skip (a
  ``rollback_detected`` entry passes over those its receipt names): the chain is
  followed by its prev-hashes, never by counting.

``tally-server check`` replays the whole ledger and compares every row;
``tally-server rebuild`` writes the tables from that replay into a new file and
keeps the old one beside it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from schemas.errors import KiemphieuError
from schemas.signing import WEAK_KEY_REASONS, VerifyKey, WeakKeyError, pae
from tally_server.service import rollback, takeover
from tally_server.service.decide import UNSIGNED_CODES, decide, decode_unsigned, refuse_unsigned
from tally_server.service.folder import Folder
from tally_server.service.journal import COALESCED, Journal, OpenAlert, Prepared, load_journal
from tally_server.store import db, ledger
from tally_server.store.ledger import Entry

CHECKPOINT_TYPE = "application/vnd.kiemphieu.checkpoint.v1+json"
CHECKPOINT_KEY = "checkpoint"
CHECKPOINT_SECONDS = 60.0
"""How often a running server writes a checkpoint (if the ledger grew). After a
kill -9 the start replays the entries since the last one."""
SHOWN = 20
"""Disagreements named in a refusal to start (``check`` prints them all)."""

TABLES = ("keys", "batch_log", "minutes", "current", "alerts")
"""The derived tables, in the order they are checked."""

_PRIMARY: dict[str, tuple[int, ...]] = {
    "keys": (0,),
    "batch_log": (0,),
    "minutes": (0, 1, 2, 3),
    "current": (0, 1, 2),
    "alerts": (0,),
}
"""Positions of each table's primary key in its rows (``SELECT *``)."""

_AS_OF: dict[str, str] = {
    "keys": "SELECT fingerprint, station_id, polling_area_id, public_key, enrolled_at, "
    "enrolled_index, CASE WHEN revoked_index <= ?1 THEN revoked_at END, "
    "CASE WHEN revoked_index <= ?1 THEN revoked_index END FROM keys "
    "WHERE enrolled_index <= ?1 ORDER BY enrolled_index, fingerprint",
    "batch_log": "SELECT * FROM batch_log WHERE ledger_index <= ?1 ORDER BY ledger_index",
    "minutes": "SELECT * FROM minutes WHERE ledger_index <= ?1",  # a WITHOUT ROWID table: key order
    "current": "SELECT * FROM (SELECT * FROM current WHERE ledger_index <= ?1 UNION ALL "
    "SELECT m.polling_area_id, m.race_id, m.round, MAX(m.ledger_index) FROM current c "
    "JOIN minutes m USING (polling_area_id, race_id, round) "
    "WHERE c.ledger_index > ?1 AND m.ledger_index <= ?1 GROUP BY 1, 2, 3) ORDER BY 1, 2, 3",
    "alerts": "SELECT id, kind, at, station_id, polling_area_id, ledger_index, codes, data, "
    "CASE WHEN review_index <= ?1 THEN reviewed_at END, "
    "CASE WHEN review_index <= ?1 THEN review_note END, "
    "CASE WHEN review_index <= ?1 THEN reviewed_by END, "
    "CASE WHEN review_index <= ?1 THEN review_index END, count, last_at, last_index "
    "FROM alerts WHERE ledger_index <= ?1 ORDER BY id",
}
"""Each table as it stood just after entry ?1 (the same rows a replay up to there writes);
an alert coalesced with a later entry is put back as it was by ``_Open.as_of``."""

_SINCE: dict[str, str] = {
    "keys": "SELECT * FROM keys WHERE enrolled_index > ?1 OR revoked_index > ?1",
    "batch_log": "SELECT * FROM batch_log WHERE ledger_index > ?1",
    "minutes": "SELECT * FROM minutes WHERE ledger_index > ?1",
    "current": "SELECT * FROM current WHERE ledger_index > ?1",
    "alerts": "SELECT * FROM alerts WHERE ledger_index > ?1 OR review_index > ?1 "
    "OR last_index > ?1",
}
"""The rows that entries after ?1 wrote or changed."""

_ONE: dict[str, str] = {
    "keys": "SELECT * FROM keys WHERE fingerprint = ?",
    "batch_log": "SELECT * FROM batch_log WHERE ledger_index = ?",
    "minutes": "SELECT * FROM minutes WHERE polling_area_id = ? AND race_id = ? AND round = ? "
    "AND ledger_index = ?",
    "current": "SELECT * FROM current WHERE polling_area_id = ? AND race_id = ? AND round = ?",
    "alerts": "SELECT * FROM alerts WHERE id = ?",
}

_MAX_NAMED = (
    "SELECT MAX(m) FROM (SELECT MAX(ledger_index) AS m FROM batch_log "
    "UNION ALL SELECT MAX(enrolled_index) FROM keys "
    "UNION ALL SELECT MAX(revoked_index) FROM keys "
    "UNION ALL SELECT MAX(ledger_index) FROM minutes "
    "UNION ALL SELECT MAX(ledger_index) FROM current "
    "UNION ALL SELECT MAX(ledger_index) FROM alerts "
    "UNION ALL SELECT MAX(review_index) FROM alerts "
    "UNION ALL SELECT MAX(last_index) FROM alerts)"
)
"""The last ledger entry the derived tables name."""

_encode = msgspec.json.Encoder()

Row = tuple[Any, ...]

Volatile = tuple[Any, Any, Any]
"""An alert's (count, last_at, last_index): what coalescing changes."""
_VOLATILE = 12
"""Their first position in an alerts row."""
_UNKNOWN: Volatile = ("?", "?", "?")
"""For an alert coalesced after the checkpoint that was not open then: matches nothing."""


def open_alerts(conn: sqlite3.Connection) -> dict[int, Volatile]:
    """id -> (count, last_at, last_index) of each alert open to coalescing, as
    ``load_journal`` reads them (unreviewed, of a coalescing kind)."""
    kinds = ",".join("?" * len(COALESCED))
    return {
        int(r[0]): (r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT id, count, last_at, last_index FROM alerts "
            f"WHERE reviewed_at IS NULL AND kind IN ({kinds}) ORDER BY id",
            sorted(COALESCED),
        )
    }


def _as_of(row: Row, upto: int, opened: dict[int, Volatile]) -> Row:
    """An alerts row (``_AS_OF``) with the count it had just after entry ``upto``: a
    later coalescing moved it on, the checkpoint kept what it was."""
    last_index = row[_VOLATILE + 2]
    if last_index is None or last_index <= upto:
        return row
    return (*row[:_VOLATILE], *opened.get(row[0], _UNKNOWN))


class IntegrityError(KiemphieuError):
    """The derived tables disagree with the ledger, or the ledger itself is broken."""

    code = "F500"


@dataclass(frozen=True, slots=True)
class Disagreement:
    table: str
    key: str
    stored: str
    expected: str

    def line(self) -> str:
        return (
            f"{self.table} {self.key}: lưu / stored {self.stored}; "
            f"sổ cái cho / the ledger gives {self.expected}"
        )


@dataclass(slots=True)
class Findings:
    """What a check found: the ledger's own problems first, then the tables'."""

    entries: int = 0
    """Entries in the ledger (indexes may skip: not ``head + 1``)."""
    head: int = -1
    """The ledger's last index (-1: none)."""
    replayed: int = 0
    """Entries decided again (all of them for ``check``, those since the checkpoint at start)."""
    checkpoint: int | None = None
    ledger: list[tuple[str, str]] = field(default_factory=list)
    """(English, Vietnamese) of each problem with the ledger itself."""
    tables: list[str] = field(default_factory=list)
    """(table) whose digest differs from the checkpoint's."""
    table_notes: list[tuple[str, str]] = field(default_factory=list)
    rows: list[Disagreement] = field(default_factory=list)
    rows_total: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.ledger or self.tables or self.rows_total)

    def lines(self, limit: int | None = None) -> list[str]:
        out = [f"sổ cái / ledger: {vi} / {en}" for en, vi in self.ledger]
        out += [f"{vi} / {en}" for en, vi in self.table_notes]
        shown = self.rows if limit is None else self.rows[:limit]
        out += [d.line() for d in shown]
        if self.rows_total > len(shown):
            more = self.rows_total - len(shown)
            out.append(f"… và {more} chỗ khác / and {more} more")
        return out

    def error(
        self,
        folder: Path,
        refused_en: str = "the server will not start",
        refused_vi: str = "máy chủ không khởi động",
    ) -> IntegrityError:
        broken = bool(self.ledger)
        what_en = (
            "The ledger in tally.db is broken"
            if broken
            else "The derived tables in tally.db disagree with the ledger"
        )
        what_vi = (
            "Sổ cái trong tally.db bị hỏng"
            if broken
            else "Các bảng suy ra trong tally.db không khớp với sổ cái"
        )
        details = "\n  ".join(self.lines(SHOWN))
        how_en = (
            f"See every disagreement with `tally-server check --dir {folder}`; rebuild the "
            f"tables from the ledger (the old file is kept) with "
            f"`tally-server rebuild --dir {folder}`."
        )
        how_vi = (
            f"Xem mọi chỗ sai bằng `tally-server check --dir {folder}`; dựng lại các bảng từ "
            f"sổ cái (tệp cũ được giữ lại) bằng `tally-server rebuild --dir {folder}`."
        )
        if broken:
            how_en = (
                f"Check the export with `tally-server verify`; `tally-server rebuild --dir "
                f"{folder}` rebuilds the tables from the entries that remain (entries lost from "
                f"the ledger stay lost: restore it from a backup, or let stations send again)."
            )
            how_vi = (
                f"Kiểm tra bản xuất bằng `tally-server verify`; `tally-server rebuild --dir "
                f"{folder}` dựng lại các bảng từ các mục còn lại (mục đã mất khỏi sổ cái vẫn "
                f"mất: khôi phục từ bản sao lưu, hoặc để các điểm gửi gửi lại)."
            )
        return IntegrityError(
            en=f"{what_en}; {refused_en}.\n  {details}\n{how_en}",
            vi=f"{what_vi}; {refused_vi}.\n  {details}\n{how_vi}",
            code="F502" if broken else "F501",
            fields=("dir",),
            figures={
                "dir": str(folder),
                "ledger_problems": len(self.ledger),
                "tables": ",".join(self.tables),
                "rows": self.rows_total,
            },
        )


# -- digests and checkpoints ---------------------------------------------------------------


def table_digests(
    conn: sqlite3.Connection, upto: int, opened: dict[int, Volatile] | None = None
) -> dict[str, list[Any]]:
    """table -> [rows, sha256 of its rows] as the table stood just after entry ``upto``
    (``opened``: the checkpoint's open alerts, for those coalesced since)."""
    out: dict[str, list[Any]] = {}
    opened = {} if opened is None else opened
    # Usually no counted minutes moved on after ``upto``: the table in key order as it is.
    moved = conn.execute("SELECT 1 FROM current WHERE ledger_index > ? LIMIT 1", (upto,))
    plain = moved.fetchone() is None
    for table in TABLES:
        h = hashlib.sha256()
        n = 0
        sql = "SELECT * FROM current" if table == "current" and plain else _AS_OF[table]
        cursor = conn.execute(sql, () if sql.startswith("SELECT * FROM current") else (upto,))
        while rows := cursor.fetchmany(5000):
            if table == "alerts":
                rows = [_as_of(tuple(r), upto, opened) for r in rows]
            h.update(_encode.encode(rows))
            n += len(rows)
        out[table] = [n, h.hexdigest()]
    return out


def kind_counts(conn: sqlite3.Connection, upto: int) -> dict[str, int]:
    return {
        str(kind): int(n)
        for kind, n in conn.execute(
            "SELECT kind, COUNT(*) FROM ledger WHERE idx <= ? GROUP BY kind ORDER BY kind",
            (upto,),
        )
    }


def checkpoint_payload(conn: sqlite3.Connection) -> tuple[int, bytes]:
    """(its entry, the checkpoint's payload) at the ledger's last entry, read in one
    snapshot: the rows written with later entries are not seen, and the open alerts'
    counts are the ones at that entry."""
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")
    try:
        upto, head = db.head(conn)
        upto -= 1
        payload = _encode.encode(
            {
                "index": upto,
                "hash": head,
                "kinds": kind_counts(conn, upto),
                "tables": table_digests(conn, upto),
                "open": [[i, *v] for i, v in open_alerts(conn).items()],
            }
        )
    finally:
        if began:
            conn.execute("COMMIT")
    return upto, payload


def seal_checkpoint(folder: Folder, upto: int, payload: bytes) -> tuple[int, str]:
    """(its entry, the checkpoint signed by the server, as stored in meta)."""
    signature = folder.server_key.sign(pae(CHECKPOINT_TYPE, payload))
    return upto, json.dumps(
        {"payload": payload.decode(), "signature": base64.b64encode(signature).decode()}
    )


def make_checkpoint(conn: sqlite3.Connection, folder: Folder) -> tuple[int, str]:
    return seal_checkpoint(folder, *checkpoint_payload(conn))


async def checkpoint_payload_apart(db_path: Path) -> tuple[int, bytes]:
    """``checkpoint_payload`` in a child process on its own read-only connection: at
    national size the digests are seconds of Python that would hold the serving
    process's GIL (bench/RESULTS.md)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tally_server.service.checkpointer",
        str(db_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise OSError(f"the checkpoint process ended with {proc.returncode}: {err[-500:]!r}")
    upto, _, payload = out.partition(b"\n")
    return int(upto), payload


def store_checkpoint(conn: sqlite3.Connection, value: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        db.set_meta(conn, CHECKPOINT_KEY, value)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def checkpoint_now(conn: sqlite3.Connection, folder: Folder) -> int:
    """A checkpoint at the last entry, stored; its entry."""
    upto, value = make_checkpoint(conn, folder)
    store_checkpoint(conn, value)
    return upto


def read_checkpoint(
    conn: sqlite3.Connection, key: VerifyKey
) -> tuple[dict[str, Any] | None, str | None]:
    """(the checkpoint, or None; what is wrong with a stored one)."""
    text = db.meta(conn, CHECKPOINT_KEY)
    if text is None:
        return None, None
    try:
        stored = json.loads(text)
        payload = stored["payload"].encode()
        signature = base64.b64decode(stored["signature"], validate=True)
        good = key.verify(signature, pae(CHECKPOINT_TYPE, payload))
        cp: dict[str, Any] = json.loads(payload)
        int(cp["index"]), str(cp["hash"]), dict(cp["kinds"]), dict(cp["tables"])
        cp["open"] = {int(i): (n, at, last) for i, n, at, last in cp["open"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, "unreadable"
    if not good:
        return None, "signature"
    return cp, None


# -- replaying the ledger --------------------------------------------------------------------


class _Broken(Exception):
    def __init__(self, *, en: str, vi: str) -> None:
        super().__init__(en)
        self.en, self.vi = en, vi


class Replay:
    """The ledger's entries after ``after`` decided again, from the state just after
    ``after``; the rows they write, by table and primary key. ``opened``: the alerts
    open to coalescing then, as the checkpoint at ``after`` names them."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        folder: Folder,
        after: int,
        opened: dict[int, Volatile] | None = None,
    ) -> None:
        self.conn = conn
        self.folder = folder
        self.after = after
        self.opened = {} if opened is None else opened
        self.journal: Journal = load_journal(conn, folder.election, folder.server_key, upto=after)
        for alert_id, (count, last_at, _) in sorted(self.opened.items()):
            row = conn.execute(
                "SELECT kind, station_id, codes, at FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
            if row is not None:  # (the digests checked before said the row is there)
                kind, station_id, codes, at = row
                self.journal.open_alerts[(kind, station_id or "", codes)] = OpenAlert(
                    alert_id, count, last_at or at
                )
        self.rows: dict[str, dict[Row, Row]] = {t: {} for t in TABLES}
        self.replayed = 0

    def base(self, table: str, key: Row) -> Row | None:
        """The row ``key`` as it stood just after ``after`` (None: there was none)."""
        if self.after < 0:
            return None
        if table == "keys":
            row = self.conn.execute(
                _AS_OF["keys"].replace("WHERE ", "WHERE fingerprint = ?2 AND "),
                (self.after, key[0]),
            ).fetchone()
        elif table == "alerts":
            row = self.conn.execute(
                _AS_OF["alerts"].replace("WHERE ", "WHERE id = ?2 AND "), (self.after, key[0])
            ).fetchone()
            if row is not None:
                row = _as_of(tuple(row), self.after, self.opened)
        elif table == "current":
            row = self.conn.execute(
                "SELECT polling_area_id, race_id, round, MAX(ledger_index) FROM minutes "
                "WHERE polling_area_id = ? AND race_id = ? AND round = ? AND ledger_index <= ? "
                "GROUP BY 1, 2, 3",
                (*key, self.after),
            ).fetchone()
        else:
            return None  # appended once, never changed
        return None if row is None else tuple(row)

    def run(self, entries: Iterator[Entry]) -> None:
        j = self.journal
        for entry in entries:
            self._chained(entry)
            if entry.kind == ledger.LEDGER_OPENED and entry.index == 0:
                j.next_index, j.head = 1, entry.hash
            else:
                self._apply(self._again(entry))
            self.replayed += 1

    def _chained(self, e: Entry) -> None:
        j = self.journal
        # A rollback_detected entry may pass over indexes: _again checks its own.
        if e.index != j.next_index and not (
            e.kind == ledger.ROLLBACK_DETECTED and e.index > j.next_index
        ):
            raise _Broken(
                en=f"entry {j.next_index} is missing (the next entry stored is {e.index})",
                vi=f"thiếu mục {j.next_index} (mục tiếp theo được lưu là {e.index})",
            )
        if e.prev != j.head:
            raise _Broken(
                en=f"entry {e.index} does not follow the entry before it (prev {e.prev[:16]}…, "
                f"the hash before is {j.head[:16]}…)",
                vi=f"mục {e.index} không nối tiếp mục trước (prev {e.prev[:16]}…, hash của mục "
                f"trước là {j.head[:16]}…)",
            )
        if e.recomputed_hash() != e.hash:
            raise _Broken(
                en=f"entry {e.index} was altered: its contents do not hash to {e.hash[:16]}…",
                vi=f"mục {e.index} đã bị sửa: nội dung không cho hash {e.hash[:16]}…",
            )

    def _again(self, e: Entry) -> Prepared:
        """The entry as the server makes it from what ``e`` records; it must be ``e``."""
        j = self.journal
        try:
            p: Prepared | None
            if e.kind == ledger.BATCH_REJECTED and not e.envelope:
                p = self._unsigned(e)
            elif e.kind in ledger.BATCH_KINDS:
                decision = decide(j.state, e.envelope)
                if decision.outcome is None:
                    raise _Broken(
                        en=f"entry {e.index} records an envelope the server does not record",
                        vi=f"mục {e.index} ghi một phong bì mà máy chủ không ghi",
                    )
                p = j.batch(decision, e.envelope, ledger.parse_time(e.time))
            elif e.kind == ledger.ROLLBACK_DETECTED:
                p = self._rollback(e)
            elif e.kind == ledger.SERVER_TAKEOVER:
                try:
                    o = takeover.check_entry(e, self.folder.server_key.public)
                except takeover.Mismatch as exc:
                    raise _Broken(
                        en=f"takeover entry {e.index}: {exc.message_en}",
                        vi=f"mục tiếp quản {e.index}: {exc.message_vi}",
                    ) from exc
                p = j.takeover(e.time, o["replica"], o["restored_to"], o["reason"], o["by"])
            else:
                o = json.loads(e.outcome)
                by = o.get("by")  # who did it, as recorded (none before it was)
                if e.kind == ledger.STATION_ENROLLED:
                    key = VerifyKey.from_text(o["public_key"])
                    p = j.enroll(o["station_id"], o["polling_area_id"], key, e.time, by=by)
                elif e.kind == ledger.STATION_REVOKED:
                    p = j.revoke(o["station_id"], e.time, by=by)
                elif e.kind == ledger.ALERT_REVIEWED:
                    p = j.review(o["alert_id"], o["note"], o["by"], e.time)
                else:
                    raise _Broken(
                        en=f"entry {e.index} has kind {e.kind!r} here",
                        vi=f"mục {e.index} có loại {e.kind!r} ở đây",
                    )
        except WeakKeyError as exc:
            en, vi = WEAK_KEY_REASONS[exc.figures["reason"]]
            raise _Broken(
                en=f"entry {e.index} enrolls a weak public key (S320; verify says V126): {en}; "
                f"no batch signed with it can be trusted",
                vi=f"mục {e.index} đăng ký một khoá công khai yếu (S320; verify báo V126): {vi}; "
                f"không lô nào ký bằng khoá đó đáng tin",
            ) from exc
        except (KiemphieuError, ValueError, KeyError, TypeError, LookupError) as exc:
            raise _Broken(
                en=f"entry {e.index} ({e.kind}) cannot be replayed: {exc}",
                vi=f"không thể ghi lại mục {e.index} ({e.kind}): {exc}",
            ) from exc
        if p is not None and p.entry.index != e.index:
            raise _Broken(
                en=f"entry {e.index} ({e.kind}) is at index "
                f"{e.index}, where {p.entry.index} belongs",
                vi=f"mục {e.index} ({e.kind}) ở số {e.index}, đúng ra ở số {p.entry.index}",
            )
        if p is None or p.entry.hash != e.hash or p.entry.receipt != e.receipt:
            raise _Broken(
                en=f"entry {e.index} ({e.kind}) is not what the server records for it (run "
                f"`tally-server verify` on an export)",
                vi=f"mục {e.index} ({e.kind}) không phải điều máy chủ ghi cho nó (chạy "
                f"`tally-server verify` trên bản xuất)",
            )
        return p

    def _unsigned(self, e: Entry) -> Prepared:
        """A refusal before a valid signature: the ledger kept a digest, not the bytes,
        so the decision is rebuilt from its key id, as ``verify`` does."""
        o = decode_unsigned(e.outcome)
        if o.code not in UNSIGNED_CODES:
            raise _Broken(
                en=f"entry {e.index} records no envelope, but {o.code} is decided only after a "
                f"valid signature, whose bytes the ledger must keep",
                vi=f"mục {e.index} không ghi phong bì, nhưng {o.code} chỉ được quyết định sau khi "
                f"chữ ký hợp lệ, nên sổ cái phải giữ phong bì",
            )
        flaw = o.code if o.code in ("S202", "S203") else None
        decision = refuse_unsigned(self.journal.state, o.keyid, flaw)
        decision.received = (o.received_sha256, o.received_bytes)
        return self.journal.batch(decision, b"", ledger.parse_time(e.time))

    def _rollback(self, e: Entry) -> Prepared:
        """A receipt shown that this ledger had lost: still not held, at the index it
        implies, the same evidence and alert (service/rollback.py)."""
        j = self.journal
        server_key = self.folder.server_key.public
        election_id = self.folder.election.id

        def hash_at(index: int) -> str | None:
            row = self.conn.execute("SELECT hash FROM ledger WHERE idx = ?", (index,)).fetchone()
            return None if row is None else str(row[0])

        try:
            rollback.check_entry(e, server_key, election_id, j.next_index, hash_at)
        except rollback.Mismatch as exc:
            raise _Broken(
                en=f"rollback entry {e.index}: {exc.message_en}",
                vi=f"mục phát hiện khôi phục {e.index}: {exc.message_vi}",
            ) from exc
        receipt = rollback.open_receipt(e.envelope, server_key, election_id)
        held = hash_at(receipt.ledger_index) if receipt.ledger_index < j.next_index else None
        key = j.state.active_key(receipt.station_id)
        area = key.polling_area_id if key is not None else None
        return j.rollback(e.envelope, receipt, held, area, e.time)

    def _apply(self, p: Prepared) -> None:
        rows = self.rows
        for sql, params in p.writes.rows.items():
            for r in params:
                if sql == db.INSERT_LEDGER:
                    continue
                if sql == db.INSERT_KEY:
                    rows["keys"][(r[0],)] = (*r, None, None)
                elif sql == db.REVOKE_KEY:
                    k = (r[2],)
                    old = rows["keys"].get(k) or self.base("keys", k)
                    assert old is not None
                    rows["keys"][k] = (*old[:6], r[0], r[1])
                elif sql == db.INSERT_BATCH:
                    rows["batch_log"][(r[0],)] = tuple(r)
                elif sql == db.INSERT_MINUTES:
                    rows["minutes"][tuple(r[:4])] = tuple(r)
                elif sql == db.UPSERT_CURRENT:
                    rows["current"][tuple(r[:3])] = tuple(r)
                elif sql == db.INSERT_ALERT:
                    rows["alerts"][(r[0],)] = (*r, None, None, None, None, 1, None, None)
                elif sql == db.BUMP_ALERT:
                    k = (r[2],)
                    old = self._alert(p, k)
                    rows["alerts"][k] = (*old[:_VOLATILE], old[_VOLATILE] + 1, r[0], r[1])
                elif sql == db.REVIEW_ALERT:
                    k = (r[4],)
                    old = self._alert(p, k)
                    if old[11] is not None:
                        raise _Broken(
                            en=f"entry {p.entry.index} reviews alert {r[4]}, already reviewed by "
                            f"entry {old[11]}",
                            vi=f"mục {p.entry.index} xem xét cảnh báo {r[4]}, đã được xem xét ở "
                            f"mục {old[11]}",
                        )
                    rows["alerts"][k] = (*old[:8], r[0], r[1], r[2], r[3], *old[_VOLATILE:])
                else:
                    raise RuntimeError(f"the replay does not know this write: {sql}")

    def _alert(self, p: Prepared, key: Row) -> Row:
        old = self.rows["alerts"].get(key) or self.base("alerts", key)
        if old is None:
            raise _Broken(
                en=f"entry {p.entry.index} names alert {key[0]}, which no entry raised",
                vi=f"mục {p.entry.index} ghi cảnh báo {key[0]} mà không mục nào tạo",
            )
        return old


def _show(row: Row | None) -> str:
    if row is None:
        return "—"
    return "(" + ", ".join(_value(v) for v in row) + ")"


def _value(v: Any) -> str:
    if isinstance(v, bytes):
        return f"<{len(v)} bytes {hashlib.sha256(v).hexdigest()[:12]}>"
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "…"


def compare(replay: Replay, findings: Findings) -> None:
    """Every row written by the replayed entries against the stored rows they wrote, and
    every stored row written after ``replay.after`` against what the ledger gives."""
    conn = replay.conn
    for table in TABLES:
        pk = _PRIMARY[table]
        expected = replay.rows[table]
        stored: dict[Row, Row] = {}
        for r in conn.execute(_SINCE[table], (replay.after,)):
            stored[tuple(r[i] for i in pk)] = tuple(r)
        for key, row in stored.items():
            want = expected.pop(key, None)
            if want is None:
                want = replay.base(table, key)
            if want != row:
                _disagree(findings, table, key, row, want)
        for key, want in expected.items():
            got = conn.execute(_ONE[table], key).fetchone()
            _disagree(findings, table, key, None if got is None else tuple(got), want)
        expected.clear()


def _disagree(f: Findings, table: str, key: Row, stored: Row | None, expected: Row | None) -> None:
    f.rows_total += 1
    if len(f.rows) < 1000:
        name = "/".join(str(k) for k in key)
        f.rows.append(Disagreement(table, name, _show(stored), _show(expected)))


# -- the checks ----------------------------------------------------------------------------------


def _ledger_end(conn: sqlite3.Connection) -> int:
    """The last entry's index (-1: none)."""
    return db.head(conn)[0] - 1


def _named_beyond(conn: sqlite3.Connection, end: int, f: Findings) -> None:
    (named,) = conn.execute(_MAX_NAMED).fetchone()
    if named is not None and named > end:
        f.ledger.append(
            (
                f"the derived tables name entries up to {named}, but the ledger ends at {end}: "
                f"entries {end + 1}–{named} were removed from it",
                f"các bảng suy ra ghi đến mục {named}, nhưng sổ cái dừng ở mục {end}: các mục "
                f"{end + 1}–{named} đã bị xoá khỏi sổ cái",
            )
        )


def full_check(conn: sqlite3.Connection, folder: Folder) -> Findings:
    """Replay every entry; compare every derived row (``tally-server check``)."""
    started = time.perf_counter()
    f = Findings()
    end = f.head = _ledger_end(conn)
    (f.entries,) = conn.execute("SELECT COUNT(*) FROM ledger").fetchone()
    _named_beyond(conn, end, f)
    replay = Replay(conn, folder, -1)
    try:
        replay.run(db.ledger_entries(conn))
    except _Broken as exc:
        f.ledger.append((exc.en, exc.vi))
    f.replayed = replay.replayed
    if not f.ledger:
        compare(replay, f)
    f.seconds = time.perf_counter() - started
    return f


def start_check(conn: sqlite3.Connection, folder: Folder) -> Findings:
    """The check before serving: the checkpoint, the tables' digests at it, and a replay of
    the entries after it. Without a checkpoint (a folder from before them), the full check."""
    started = time.perf_counter()
    cp, wrong = read_checkpoint(conn, folder.server_key.public)
    if cp is None and wrong is None:
        return full_check(conn, folder)
    f = Findings()
    end = f.head = _ledger_end(conn)
    _named_beyond(conn, end, f)
    if cp is None:
        f.ledger.append(
            (
                "the checkpoint in the meta table is not signed by this server's key "
                f"({wrong}): the database was edited",
                f"điểm kiểm tra trong bảng meta không có chữ ký của khoá máy chủ này ({wrong}): "
                "cơ sở dữ liệu đã bị sửa",
            )
        )
        f.seconds = time.perf_counter() - started
        return f
    at = int(cp["index"])
    f.checkpoint = at
    row = conn.execute("SELECT hash FROM ledger WHERE idx = ?", (at,)).fetchone()
    if at > end:
        f.ledger.append(
            (
                f"the checkpoint says the ledger held entries up to {at}, but it ends at {end}: "
                f"entries {end + 1}–{at} were removed from it",
                f"điểm kiểm tra ghi sổ cái có đến mục {at}, nhưng sổ cái dừng ở mục {end}: các mục "
                f"{end + 1}–{at} đã bị xoá",
            )
        )
    elif row is None or row[0] != cp["hash"]:
        f.ledger.append(
            (
                f"entry {at} is not the one checkpointed (hash {str(cp['hash'])[:16]}…): the "
                f"ledger was changed at or before it",
                f"mục {at} không phải mục đã ghi ở điểm kiểm tra (hash {str(cp['hash'])[:16]}…): "
                f"sổ cái đã bị sửa ở mục đó hoặc trước đó",
            )
        )
    else:
        counts = kind_counts(conn, at)
        f.entries = sum(counts.values())
        if counts != cp["kinds"]:
            diff = ", ".join(
                f"{k} {counts.get(k, 0)}≠{cp['kinds'].get(k, 0)}"
                for k in sorted(set(counts) | set(cp["kinds"]))
                if counts.get(k, 0) != cp["kinds"].get(k, 0)
            )
            f.ledger.append(
                (
                    f"entries up to {at} by kind differ from the checkpoint's (stored≠"
                    f"checkpoint: {diff}): entries were removed or added",
                    f"số mục theo loại đến mục {at} khác điểm kiểm tra (lưu≠điểm kiểm tra: "
                    f"{diff}): có mục bị xoá hoặc thêm",
                )
            )
    if f.ledger:
        f.seconds = time.perf_counter() - started
        return f
    digests = table_digests(conn, at, cp["open"])
    for table in TABLES:
        now, then = digests[table], cp["tables"].get(table)
        if then is None or list(then) != now:
            f.tables.append(table)
            then_rows = "?" if then is None else then[0]
            f.table_notes.append(
                (
                    f"table {table} as of checkpoint entry {at} is not what it was then "
                    f"({now[0]} rows now, {then_rows} then; rows were deleted, added or "
                    f"changed)",
                    f"bảng {table} tính đến mục {at} của điểm kiểm tra không còn như lúc đó "
                    f"({now[0]} dòng nay, {then_rows} dòng lúc đó; có dòng bị xoá, thêm hoặc sửa)",
                )
            )
    if not f.tables and at < end:
        # The tables up to the checkpoint hold: decide the entries after it again from there.
        # (With none after it, no row may name a later entry: ``_named_beyond``.)
        replay = Replay(conn, folder, at, cp["open"])
        try:
            replay.run(db.ledger_entries(conn, at + 1))
        except _Broken as exc:
            f.ledger.append((exc.en, exc.vi))
        f.replayed = replay.replayed
        f.entries += replay.replayed
        if not f.ledger:
            compare(replay, f)
    f.seconds = time.perf_counter() - started
    return f


# -- rebuilding ------------------------------------------------------------------------------


_INSERT = {
    "keys": "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "batch_log": "INSERT INTO batch_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "minutes": "INSERT INTO minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "current": "INSERT INTO current VALUES (?, ?, ?, ?)",
    "alerts": "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
}
_KEPT = ("meta", "ledger", "events", "tokens")
"""Copied as they are: the ledger, and what it does not hold."""


@dataclass(slots=True)
class Rebuilt:
    entries: int
    rows: dict[str, int]
    backup: Path
    lost: tuple[int, int] | None
    """Entries the old tables named that the ledger no longer holds (first, last)."""
    seconds: float


def rebuild(folder: Folder) -> Rebuilt:
    """Write every derived table from the ledger into a new tally.db; the old file is
    renamed beside it (``tally.db.before-rebuild-<time>``). Refused if the ledger itself
    is broken (a rebuild would keep what is wrong)."""
    started = time.perf_counter()
    path = folder.db_path
    old = folder.connect()
    try:
        # Everything in the old file's WAL into the file itself, before it is copied.
        old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        end = _ledger_end(old)
        (named,) = old.execute(_MAX_NAMED).fetchone()
        lost = (end + 1, int(named)) if named is not None and named > end else None
        replay = Replay(old, folder, -1)
        try:
            replay.run(db.ledger_entries(old))
        except _Broken as exc:
            raise IntegrityError(
                en=f"The ledger itself is broken: {exc.en}. Rebuilding the tables from it would "
                f"keep that; nothing was changed. Restore the folder from a backup.",
                vi=f"Chính sổ cái bị hỏng: {exc.vi}. Dựng lại các bảng từ nó sẽ giữ nguyên lỗi; "
                f"chưa thay đổi gì. Hãy khôi phục thư mục từ bản sao lưu.",
                code="F502",
                fields=("dir",),
                figures={"dir": str(folder.path)},
            ) from exc
    finally:
        old.close()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    tmp = path.with_name(f"{path.name}.rebuild-{os.getpid()}.tmp")
    backup = path.with_name(f"{path.name}.before-rebuild-{stamp}")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    new = db.create(tmp)
    try:
        new.execute("ATTACH DATABASE ? AS old", (f"file:{path}?mode=ro",))
        new.execute("BEGIN IMMEDIATE")
        for table in _KEPT:
            new.execute(f"DELETE FROM main.{table}")
            new.execute(f"INSERT INTO main.{table} SELECT * FROM old.{table}")
        new.execute("DELETE FROM main.meta WHERE key = ?", (CHECKPOINT_KEY,))
        counts: dict[str, int] = {}
        for table in TABLES:
            rows = replay.rows[table]
            keys = sorted(rows) if table in ("minutes", "current") else list(rows)
            new.executemany(_INSERT[table], (rows[k] for k in keys))
            counts[table] = len(rows)
        new.execute("COMMIT")
        new.execute("DETACH DATABASE old")
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint_now(new, folder)
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        new.close()
    # The old file (its WAL already in it) kept under another name, then the new one in place.
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(path, backup)
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return Rebuilt(replay.replayed, counts, backup, lost, time.perf_counter() - started)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
