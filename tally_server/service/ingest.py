"""The ingest pipeline with group commit, free of any web framework.

A batch is decided on the event loop (one decision at a time, so each sees the
state the previous one left), its ledger entry and derived rows prepared,
and queued. One writer takes everything queued, writes it in ONE transaction
(WAL, synchronous=FULL: one fsync) in a worker thread, and only then releases
the answers of the whole group. While one group is being written the next
one gathers, so the fsync cost is shared by everyone who arrived meanwhile.

If a write fails (disk full), the group and everything queued behind it fail
(nothing of theirs is on disk, and their decisions may depend on each other);
the state is rebuilt from the database and the senders are told to retry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import KiemphieuError
from schemas.models import CountingMinutes
from schemas.read import Progress
from schemas.signing import VerifyKey
from tally_server.core.fasttally import Tally
from tally_server.service import integrity, rollback
from tally_server.service.checkers import Checked, Checkers
from tally_server.service.codes import OutcomeKind, ServerError, outcome_of
from tally_server.service.decide import Decision, decide, decide_opened, utc_now
from tally_server.service.folder import Folder
from tally_server.service.journal import Event, Journal, Prepared, load_journal
from tally_server.service.limits import RefusalLimiter
from tally_server.store import db, ledger

log = logging.getLogger("kiemphieu.server")


@dataclass(slots=True)
class Answer:
    """What a station is told: the outcome (the web layer words it as an HTTP status)
    and the body bytes."""

    outcome: OutcomeKind
    body: bytes
    receipt: bool
    decision: Decision | None = None
    retry_after: int = 0
    """Seconds, when throttled."""


@dataclass(slots=True)
class Counters:
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    conflicts: int = 0
    corrections: int = 0
    last_batch_at: str | None = None
    reporting: set[str] = field(default_factory=set)
    """Stations with at least one accepted batch."""


@dataclass(slots=True)
class _Job:
    prepared: Prepared
    done: asyncio.Future[None]


def error_body(error: KiemphieuError) -> bytes:
    return json.dumps({"error": error.to_dict()}, ensure_ascii=False).encode("utf-8")


class StorageError(ServerError):
    pass


def throttled(decision: Decision, wait: int) -> ServerError:
    """The answer to an unsigned refusal past its bucket: nothing of it is recorded."""
    assert decision.outcome is not None and decision.outcome.code is not None
    code = decision.outcome.code
    return ServerError(
        en=f"Too many refused envelopes from this address or under this key id ({code}); "
        f"this one was not recorded. Try again in {wait} s.",
        vi=f"Quá nhiều phong bì bị từ chối từ địa chỉ này hoặc với mã khoá này ({code}); "
        f"phong bì này không được ghi. Hãy thử lại sau {wait} giây.",
        code="H429",
        figures={"retry_after": wait, "refused_code": code},
    )


class Ingest:
    """The server's state and its one way of changing it."""

    def __init__(
        self,
        folder: Folder,
        *,
        clock: Callable[[], Any] = utc_now,
        max_db_bytes: int | None = None,
        limiter: RefusalLimiter | None = None,
        wal_autocheckpoint: int | None = None,
    ) -> None:
        self.folder = folder
        self.wal_autocheckpoint = wal_autocheckpoint
        """Pages before the writer checkpoints the WAL itself (None: SQLite's 1,000);
        raised while Litestream checkpoints (service/replica.py)."""
        self.limiter = limiter if limiter is not None else RefusalLimiter()
        """Unsigned refusals recorded per source and per key id (service/limits.py)."""
        self.election = folder.election
        self.clock = clock
        self.max_db_bytes = max_db_bytes
        """Refuse to grow the database past this (room kept for backups, the WAL)."""
        self.journal: Journal
        self.tally: Tally
        self.counters = Counters()
        self.head_index = -1
        self.head_hash = ledger.GENESIS_PREV
        """The last durable entry."""
        self.published_index = -1
        self.published_hash = ledger.GENESIS_PREV
        """The last entry the published tally and counters include (durable once
        ``settled()`` returns)."""
        self.changed: dict[tuple[str, str], tuple[int, str]] = {}
        """(race, constituency) -> (index, hash) of the last published entry that changed
        what its page shows (minutes of any of its rounds counted or replaced); the
        ledger's opening entry for one that none has. The page's validator: the entries
        after it leave the page as it is."""
        self._tally_job: _Job | None = None
        self._queue: list[_Job] = []
        self._inflight: dict[int, _Job] = {}
        self._wake = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._checkpointed = -1
        """The entry of the last checkpoint written."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        self._conn: sqlite3.Connection
        self.reader: sqlite3.Connection
        self._reader_executor = ThreadPoolExecutor(1, thread_name_prefix="ledger-reader")
        self.auth_conn: sqlite3.Connection
        self.subscribers: set[Callable[[list[Event]], None]] = set()
        self.last_event_id = 0
        """The last event on disk (the feed's live point)."""
        self.write_groups = 0
        self.write_entries = 0
        self.checkers: Checkers | None = None
        """Worker processes that check batches beforehand (``serve --workers``)."""
        self.rollbacks: dict[tuple[int, str], int] = {}
        """Receipts shown that this ledger had lost: (their index, head) -> the
        ``rollback_detected`` entry recording them."""

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._conn = self.folder.connect()
        if self.wal_autocheckpoint is not None:
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(self.wal_autocheckpoint)}")
        if self.max_db_bytes is not None:
            (page_size,) = self._conn.execute("PRAGMA page_size").fetchone()
            pages = max(1, self.max_db_bytes // page_size)
            self._conn.execute(f"PRAGMA max_page_count = {pages}")
        self.reader = self.folder.connect(readonly=True)
        self.auth_conn = self.folder.connect(readonly=True)
        self._check()
        self._rebuild()
        self._writer_task = asyncio.create_task(self._writer(), name="ledger-writer")
        self._checkpoint_task = asyncio.create_task(self._checkpoints(), name="checkpoints")
        log.info(
            "ledger opened",
            extra={"entries": self.head_index + 1, "head": self.head_hash},
        )

    def _check(self) -> None:
        """Refuse to serve from derived tables that disagree with the ledger."""
        try:
            found = integrity.start_check(self._conn, self.folder)
        except BaseException:
            self._close_connections()
            raise
        if not found.ok:
            self._close_connections()
            log.error(
                "derived tables disagree with the ledger",
                extra={"problems": found.lines(integrity.SHOWN)},
            )
            raise found.error(self.folder.path)
        log.info(
            "derived tables checked",
            extra={
                "checkpoint": found.checkpoint,
                "replayed": found.replayed,
                "seconds": round(found.seconds, 3),
            },
        )
        head = found.head
        if found.checkpoint != head:
            try:
                integrity.checkpoint_now(self._conn, self.folder)  # next time, start from here
            except (sqlite3.Error, OSError) as exc:  # a full disk: serve what is checked
                log.warning("checkpoint not written", extra={"error": str(exc)})
                return
        self._checkpointed = head

    async def _checkpoints(self) -> None:
        """Every ``integrity.CHECKPOINT_SECONDS``, a checkpoint at the durable head (the
        digests taken by a child process in one snapshot, while the writer goes on)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(integrity.CHECKPOINT_SECONDS)
            if self.head_index == self._checkpointed:
                continue
            try:
                at, payload = await integrity.checkpoint_payload_apart(self.folder.db_path)
                _, value = integrity.seal_checkpoint(self.folder, at, payload)
                await loop.run_in_executor(
                    self._executor, integrity.store_checkpoint, self._conn, value
                )
            except (sqlite3.Error, OSError, ValueError) as exc:
                log.warning("checkpoint not written", extra={"error": str(exc)})
                continue
            self._checkpointed = at

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            try:
                await self._checkpoint_task
            except asyncio.CancelledError:
                pass
        if self._writer_task is not None:
            # Let what is queued reach the disk before stopping.
            while self._queue or self._inflight:
                await asyncio.sleep(0.005)
            self._writer_task.cancel()
            try:
                await self._writer_task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)
        self._reader_executor.shutdown(wait=True)
        if self.head_index != self._checkpointed:
            # A clean stop: the next start replays nothing.
            try:
                integrity.checkpoint_now(self._conn, self.folder)
            except (sqlite3.Error, OSError) as exc:
                log.warning("checkpoint not written", extra={"error": str(exc)})
        self._close_connections()

    def _close_connections(self) -> None:
        for conn in (self._conn, self.reader, self.auth_conn):
            conn.close()

    def _rebuild(self) -> None:
        """The state as the database holds it (at start, and after a failed write)."""
        conn = self._conn
        inflight, reader = self._inflight, self.auth_conn

        def envelope_at(index: int) -> bytes:
            # An entry of a write group not yet on disk is still in its job (the job
            # leaves ``_inflight`` only once the group is committed).
            job = inflight.get(index)
            if job is not None:
                return job.prepared.entry.envelope
            row = reader.execute("SELECT envelope FROM ledger WHERE idx = ?", (index,)).fetchone()
            if row is None:
                raise LookupError(f"the database has no ledger entry {index}")
            return bytes(row[0])

        # load_journal hands it the minutes; corrections bring what they replace
        tally = Tally(self.election, sheets=False)
        latest: dict[tuple[str, str], int] = {}

        def counted(index: int, m: CountingMinutes) -> None:
            tally.apply(m)
            latest[(m.race_id, m.constituency_id)] = index  # in ledger order: the last

        self.journal = load_journal(
            conn, self.election, self.folder.server_key, fetch=envelope_at, counted=counted
        )
        self.tally = tally
        self.head_index = self.journal.next_index - 1
        self.head_hash = self.journal.head
        self.published_index, self.published_hash = self.head_index, self.head_hash
        # The live path (_publish) moves a page's point with each minutes it applies;
        # the minutes now counted are the last of each, so the same points follow.
        hashes = db.hashes_at(conn, [0, *latest.values()])
        opened = (0, hashes[0]) if 0 in hashes else (self.head_index, self.head_hash)
        self.changed = dict.fromkeys(self.election.constituencies, opened)
        for key, index in latest.items():
            self.changed[key] = (index, hashes[index])
        self.last_event_id = self.journal.next_event_id - 1
        c = Counters()
        for kind, status, flagged, n, last in conn.execute(
            "SELECT kind, status, flagged, COUNT(*), MAX(at) FROM batch_log "
            "GROUP BY kind, status, flagged"
        ):
            if status == "accepted":
                c.accepted += n
                c.flagged += n if flagged else 0
                c.corrections += n if kind == ledger.CORRECTION else 0
            elif kind == ledger.CONFLICT:
                c.conflicts += n
            else:
                c.rejected += n
            if c.last_batch_at is None or (last is not None and last > c.last_batch_at):
                c.last_batch_at = last
        # Stations with an accepted batch, as the accepted index's strings (not new ones).
        c.reporting = {ref.station_id for ref in self.journal.state.accepted.values()}
        self.counters = c
        self.rollbacks = {}
        for index, data in conn.execute(
            "SELECT ledger_index, data FROM alerts WHERE kind = 'rollback_detected'"
        ):
            shown = json.loads(data)
            self.rollbacks[(shown["receipt_ledger_index"], shown["receipt_ledger_head"])] = index

    # -- batches ------------------------------------------------------------------------

    def now(self) -> str:
        return ledger.format_time(self.clock())

    async def submit(self, body: bytes, source: str = "") -> Answer:
        """Decide one envelope, record it durably, and answer. ``source``: the
        sender's address, whose unsigned refusals are rate-limited."""
        checked = await self.checkers.check(body) if self.checkers is not None else None
        decision = self._decide(body, checked)
        if decision.kind == "invalid":
            assert decision.error is not None
            return Answer(decision.answer, error_body(decision.error), False, decision)
        if decision.unsigned:
            assert decision.outcome is not None
            wait = self.limiter.admit(source, decision.outcome.keyid)
            if wait:
                error = throttled(decision, wait)
                return Answer(outcome_of(error.code), error_body(error), False, None, wait)
        if decision.kind == "duplicate":
            ref = decision.duplicate_of
            assert ref is not None
            return Answer("accepted", await self.receipt_at(ref.ledger_index), True, decision)
        moment = self.clock().astimezone(dt.UTC).replace(tzinfo=dt.UTC)
        prepared = self.journal.batch(decision, body, moment)
        await self._commit(prepared)
        if prepared.response:
            return Answer(decision.answer, prepared.response, True, decision)
        assert decision.error is not None
        return Answer(decision.answer, error_body(decision.error), False, decision)

    def _decide(self, body: bytes, checked: Checked | None) -> Decision:
        state = self.journal.state
        if checked is not None:
            key = state.keys.get(checked.keyid)
            # The worker's work stands only for the very key enrolled under that id.
            if key is not None and key.key.raw == checked.key:
                return decide_opened(
                    state,
                    checked.opened(),
                    signature_ok=True,
                    findings=checked.findings,
                    batch=checked.batch,
                )
        return decide(state, body)

    async def receipt_at(self, index: int) -> bytes:
        job = self._inflight.get(index)
        if job is not None:
            await asyncio.shield(job.done)
            return job.prepared.response
        row = self.auth_conn.execute(
            "SELECT receipt FROM ledger WHERE idx = ?", (index,)
        ).fetchone()
        return bytes(row[0])

    # -- receipts shown back (service/rollback.py) ----------------------------------------

    def _hash_at(self, index: int) -> str | None:
        """This ledger's hash at ``index``, written or still in a write group."""
        job = self._inflight.get(index)
        if job is not None:
            return job.prepared.entry.hash
        row = self.auth_conn.execute("SELECT hash FROM ledger WHERE idx = ?", (index,)).fetchone()
        return None if row is None else str(row[0])

    async def present_receipt(self, body: bytes) -> tuple[bool, dict[str, Any]]:
        """A station shows a receipt this server signed: (recorded now, the answer). When
        the ledger does not hold its entry the evidence is recorded, once."""
        receipt = rollback.open_receipt(body, self.folder.server_key.public, self.election.id)
        index, head = receipt.ledger_index, receipt.ledger_head
        # No await from here to the journal entry: the answer and the index it takes
        # are decided against the same chain.
        held = self._hash_at(index) if index < self.journal.next_index else None
        if held == head:
            return False, {"held": True, "ledger_index": index, "ledger_head": head}
        recorded, evidence = False, self.rollbacks.get((index, head))
        if evidence is None:
            key = self.journal.state.active_key(receipt.station_id)
            prepared = self.journal.rollback(
                body, receipt, held, key.polling_area_id if key else None, self.now()
            )
            evidence = prepared.entry.index
            self.rollbacks[(index, head)] = evidence
            log.warning(
                "rollback detected",
                extra={"station": receipt.station_id, "receipt_index": index, "held": held},
            )
            await self._commit(prepared)
            recorded = True
        row = self.auth_conn.execute(
            "SELECT id FROM alerts WHERE kind = 'rollback_detected' AND ledger_index = ?",
            (evidence,),
        ).fetchone()
        return recorded, {
            "held": False,
            "ledger_index": index,
            "ledger_head": head,
            "held_hash": held,
            "evidence_index": evidence,
            "alert_id": None if row is None else int(row[0]),
            "message_vi": rollback.MESSAGE_VI,
            "message_en": rollback.MESSAGE_EN,
        }

    # -- administration -----------------------------------------------------------------

    async def enroll(self, station_id: str, polling_area_id: str, key: VerifyKey, by: str) -> bool:
        """Enrol a key; False when exactly this enrolment already stood."""
        prepared = self.journal.enroll(station_id, polling_area_id, key, self.now(), by=by)
        if prepared is None:
            return False
        await self._commit(prepared)
        return True

    async def revoke(self, station_id: str, by: str) -> str:
        prepared = self.journal.revoke(station_id, self.now(), by=by)
        await self._commit(prepared)
        return json.loads(prepared.entry.outcome)["fingerprint"]  # type: ignore[no-any-return]

    async def review(self, alert_id: int, note: str, by: str) -> int:
        row = self.auth_conn.execute(
            "SELECT reviewed_at FROM alerts WHERE id = ?", (alert_id,)
        ).fetchone()
        if row is None:
            raise ServerError(
                en=f"There is no alert {alert_id}.",
                vi=f"Không có cảnh báo {alert_id}.",
                code="A404",
                fields=("alert_id",),
                figures={"alert_id": alert_id},
            )
        if row[0] is not None:
            raise ServerError(
                en=f"Alert {alert_id} was already reviewed at {row[0]}.",
                vi=f"Cảnh báo {alert_id} đã được xem xét lúc {row[0]}.",
                code="A409",
                fields=("alert_id",),
                figures={"alert_id": alert_id, "reviewed_at": row[0]},
            )
        prepared = self.journal.review(alert_id, note, by, self.now())
        await self._commit(prepared)
        return prepared.entry.index

    # -- group commit -------------------------------------------------------------------

    async def _commit(self, prepared: Prepared) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        job = _Job(prepared, done)
        self._queue.append(job)
        self._inflight[prepared.entry.index] = job
        self._wake.set()
        await asyncio.shield(done)

    async def settled(self) -> None:
        """Wait until everything the published tally includes is on disk."""
        job = self._tally_job
        if job is not None and not job.done.done():
            await asyncio.shield(job.done)

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group, self._queue = self._queue, []
                writes = db.Writes()
                events: list[Event] = []
                for job in group:
                    writes.extend(job.prepared.writes)
                    events.extend(job.prepared.events)
                if self._publish(group):
                    summary = self.progress(full=False)
                    events.append(self.journal.event("progress", self.now(), summary))
                for ev in events:
                    writes.add(db.INSERT_EVENT, (ev.id, ev.type, ev.at, ev.data))
                try:
                    await loop.run_in_executor(self._executor, db.write, self._conn, writes)
                except (sqlite3.Error, OSError) as exc:
                    self._fail(group, exc)
                    continue
                last = group[-1].prepared.entry
                self.head_index, self.head_hash = last.index, last.hash
                self.write_groups += 1
                self.write_entries += len(group)
                for job in group:
                    del self._inflight[job.prepared.entry.index]
                    job.done.set_result(None)
                if events:
                    self.last_event_id = events[-1].id
                    for deliver in list(self.subscribers):
                        deliver(events)

    def _publish(self, group: list[_Job]) -> bool:
        """Apply a group to the published tally and counters; True if any batch was accepted."""
        c = self.counters
        any_accepted = False
        last = group[-1].prepared.entry if group else None
        if last is not None:
            self.published_index, self.published_hash = last.index, last.hash
        for job in group:
            d = job.prepared.decision
            if d is None or d.outcome is None:
                continue
            o = d.outcome
            c.last_batch_at = job.prepared.entry.time
            if o.status == "accepted" and d.batch is not None:
                any_accepted = True
                c.accepted += 1
                c.corrections += o.correction
                c.flagged += any(f.severity == "warning" for f in o.findings)
                c.reporting.add(d.batch.station_id)
                entry = job.prepared.entry
                for m, old in zip(d.batch.minutes, d.replaced, strict=True):
                    self.tally.apply(m, old)
                    self.changed[(m.race_id, m.constituency_id)] = (entry.index, entry.hash)
            elif d.kind == ledger.CONFLICT:
                c.conflicts += 1
            else:
                c.rejected += 1
        if group:
            self._tally_job = group[-1]
        return any_accepted

    def _fail(self, group: list[_Job], exc: BaseException) -> None:
        full = getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL"
        full = full or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
        error = StorageError(
            en="The server could not store the batch (disk full); nothing was recorded. "
            "Send it again later."
            if full
            else f"The server could not store the batch ({exc}); nothing was recorded. "
            "Send it again later.",
            vi="Máy chủ không lưu được lô (đĩa đầy); chưa có gì được ghi. Hãy gửi lại sau."
            if full
            else f"Máy chủ không lưu được lô ({exc}); chưa có gì được ghi. Hãy gửi lại sau.",
            code="H507" if full else "H503",
        )
        log.error("ledger write failed", extra={"error": str(exc), "entries": len(group)})
        failed = group + self._queue
        self._queue = []
        for job in failed:
            self._inflight.pop(job.prepared.entry.index, None)
            if not job.done.done():
                job.done.set_exception(error)
        self._tally_job = None
        self._rebuild()

    # -- what is published --------------------------------------------------------------

    def progress(self, *, full: bool = True) -> Progress:
        from tally_server.service.views import progress

        return progress(self, full=full)

    async def read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a read query in the reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_executor, fn, self.reader)
