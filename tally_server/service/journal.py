"""Turning decisions into ledger entries and the rows derived from them.

The journal owns the chain's head, the decision state and the id counters;
it prepares everything a write group commits (no I/O here). The server
commits prepared entries in groups; the command line commits them one by one.
"""

from __future__ import annotations

import base64
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas import codec, read
from schemas.models import CountingMinutes, Envelope, EnvelopeSignature, Finding, Receipt
from schemas.signing import (
    RECEIPT_TYPE,
    SigningKey,
    VerifyKey,
    key_problem,
    pae,
    weak_key_error,
)
from tally_server.core.definition import Election
from tally_server.service import rollback, takeover
from tally_server.service.codes import ServerError, severity_of
from tally_server.service.decide import (
    AcceptedRef,
    Decision,
    FetchEnvelope,
    LedgerState,
    StationKey,
    build_receipt,
    read_accepted,
)
from tally_server.store import db, ledger
from tally_server.store.ledger import Entry

_json = msgspec.json.Encoder(order="deterministic")
_plain = msgspec.json.Encoder()


class Sealer:
    """``schemas.signing.seal`` with the server's key id worked out once (the same bytes)."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.keyid = key.public.fingerprint

    def seal(self, payload_type: str, payload: bytes) -> bytes:
        signature = self.key.sign(pae(payload_type, payload))
        envelope = Envelope(
            payloadType=payload_type,
            payload=base64.b64encode(payload).decode("ascii"),
            signatures=[
                EnvelopeSignature(keyid=self.keyid, sig=base64.b64encode(signature).decode("ascii"))
            ],
        )
        return _plain.encode(envelope)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    at: str
    data: bytes
    """JSON of the event's data."""

    def message(self) -> str:
        """The feed's text frame: {"id", "type", "at", "data"}."""
        return (
            f'{{"id":{self.id},"type":"{self.type}","at":"{self.at}","data":'
            f"{self.data.decode('utf-8')}}}"
        )


@dataclass(slots=True)
class Prepared:
    """One ledger entry and everything written with it."""

    entry: Entry
    writes: db.Writes
    events: list[Event] = field(default_factory=list)
    decision: Decision | None = None
    response: bytes = b""
    """The receipt envelope, when the answer is one."""
    noop: bool = False


COALESCED = frozenset({"rejected"})
"""Alert kinds that coalesce: anyone can cause a refusal, and a flood of them must
not bury the alerts that matter."""
COALESCE_WINDOW = dt.timedelta(minutes=10)
OPEN_ALERTS_KEPT = 4096


@dataclass(slots=True)
class OpenAlert:
    """An unreviewed alert further refusals of the same sender and codes join."""

    id: int
    count: int
    last_at: str


def canonical(obj: Any) -> bytes:
    return _json.encode(obj)


class Journal:
    def __init__(
        self,
        election: Election,
        server_key: SigningKey,
        state: LedgerState,
        *,
        next_index: int,
        head: str,
        next_alert_id: int = 1,
        next_event_id: int = 1,
    ) -> None:
        self.election = election
        self.server_key = server_key
        self.sealer = Sealer(server_key)
        self.state = state
        self.next_index = next_index
        self.head = head
        self.next_alert_id = next_alert_id
        self.next_event_id = next_event_id
        self.open_alerts: dict[tuple[str, str, str], OpenAlert] = {}
        """(kind, station id or "", codes) -> the unreviewed alert that joins them."""

    # -- building blocks ------------------------------------------------------------------

    def _entry(self, time: str, kind: str, station: str, envelope: bytes, outcome: bytes) -> Entry:
        entry = Entry.make(self.next_index, self.head, time, kind, station, envelope, outcome)
        self.next_index += 1
        self.head = entry.hash
        return entry

    def event(self, type_: read.EventType, time: str, data: read.EventData) -> Event:
        ev = Event(self.next_event_id, type_, time, _plain.encode(data))
        self.next_event_id += 1
        return ev

    def _alert(
        self,
        p: Prepared,
        kind: read.AlertKind,
        time: str,
        station_id: str | None,
        polling_area_id: str | None,
        codes: list[str],
        data: dict[str, Any],
    ) -> None:
        open_ = self._coalesce(kind, station_id, codes, time)
        if open_ is not None:
            open_.count += 1
            open_.last_at = time
            p.writes.add(db.BUMP_ALERT, (time, p.entry.index, open_.id))
            p.events.append(
                self.event(
                    "alert",
                    time,
                    read.AlertNews(
                        alert_id=open_.id,
                        kind=kind,
                        station_id=station_id,
                        polling_area_id=polling_area_id,
                        ledger_index=p.entry.index,
                        codes=codes,
                        count=open_.count,
                    ),
                )
            )
            return
        alert_id = self.next_alert_id
        self.next_alert_id += 1
        if kind in COALESCED:
            self._open_alerts(kind, station_id, codes, OpenAlert(alert_id, 1, time))
        body = canonical(data)
        p.writes.add(
            db.INSERT_ALERT,
            (
                alert_id,
                kind,
                time,
                station_id,
                polling_area_id,
                p.entry.index,
                ",".join(codes),
                body,
            ),
        )
        p.events.append(
            self.event(
                "alert",
                time,
                read.AlertNews(
                    alert_id=alert_id,
                    kind=kind,
                    station_id=station_id,
                    polling_area_id=polling_area_id,
                    ledger_index=p.entry.index,
                    codes=codes,
                    count=1,
                ),
            )
        )

    def _coalesce(
        self, kind: str, station_id: str | None, codes: list[str], time: str
    ) -> OpenAlert | None:
        """The unreviewed alert this one joins: same kind, sender and codes, the last
        of them at most ``COALESCE_WINDOW`` before (ledger times, so a rebuild from
        the ledger coalesces the same)."""
        if kind not in COALESCED:
            return None
        found = self.open_alerts.get((kind, station_id or "", ",".join(codes)))
        if found is None:
            return None
        last = ledger.parse_time(found.last_at)
        return found if ledger.parse_time(time) - last <= COALESCE_WINDOW else None

    def _open_alerts(
        self, kind: str, station_id: str | None, codes: list[str], alert: OpenAlert
    ) -> None:
        if len(self.open_alerts) >= OPEN_ALERTS_KEPT:
            # Those past the window can join nothing more: forgetting them changes nothing.
            horizon = ledger.format_time(ledger.parse_time(alert.last_at) - COALESCE_WINDOW)
            for k in [k for k, a in self.open_alerts.items() if a.last_at < horizon]:
                del self.open_alerts[k]
        self.open_alerts[(kind, station_id or "", ",".join(codes))] = alert

    def _commit_entry(self, entry: Entry) -> Prepared:
        writes = db.Writes()
        writes.add(db.INSERT_LEDGER, db.ledger_row(entry))
        return Prepared(entry, writes)

    # -- the ledger's first entry -------------------------------------------------------

    def open_ledger(self, time: str, election_sha256: str) -> Prepared:
        outcome = canonical(
            {
                "format": ledger.FORMAT,
                "election_id": self.election.id,
                "election_sha256": election_sha256,
                "server_public_key": self.server_key.public.b64,
                "server_fingerprint": self.server_key.public.fingerprint,
            }
        )
        return self._commit_entry(self._entry(time, ledger.LEDGER_OPENED, "", b"", outcome))

    # -- batches ------------------------------------------------------------------------

    def batch(self, decision: Decision, body: bytes, moment: dt.datetime) -> Prepared:
        """The entry for a batch envelope (the caller has checked it is recorded)."""
        o = decision.outcome
        assert o is not None
        time = ledger.format_time(moment)
        envelope, recorded = decision.recorded(body)
        entry = self._entry(time, decision.kind, decision.station, envelope, recorded)
        receipt = b""
        if decision.has_receipt:
            built = build_receipt(self.election.id, o, entry.index, entry.hash, time, moment)
            payload = codec.encode(built)
            receipt = self.sealer.seal(RECEIPT_TYPE, payload)
            entry = Entry(
                entry.index,
                entry.prev,
                entry.hash,
                entry.time,
                entry.kind,
                entry.station,
                entry.envelope,
                entry.outcome,
                receipt,
            )
        p = self._commit_entry(entry)
        p.decision = decision
        p.response = receipt
        flagged = o.status == "accepted" and any(f.severity == "warning" for f in o.findings)
        p.writes.add(
            db.INSERT_BATCH,
            (
                entry.index,
                time,
                decision.kind,
                o.station_id,
                o.polling_area_id,
                o.sequence,
                o.batch_digest,
                o.status,
                o.outcome,
                o.code,
                int(o.correction),
                int(flagged),
            ),
        )
        self.state.record(decision, entry.index)
        batch = decision.batch
        if o.status == "accepted" and batch is not None:
            assert o.batch_digest is not None
            for item, m in enumerate(batch.minutes):
                p.writes.add(
                    db.INSERT_MINUTES,
                    (
                        m.polling_area_id,
                        m.race_id,
                        m.round,
                        entry.index,
                        m.constituency_id,
                        batch.station_id,
                        batch.sequence,
                        o.batch_digest,
                        time,
                        int(m in decision.changed),
                        batch.reason,
                        item,
                    ),
                )
                p.writes.add(
                    db.UPSERT_CURRENT, (m.polling_area_id, m.race_id, m.round, entry.index)
                )
            summary = read.BatchAccepted(
                ledger_index=entry.index,
                station_id=batch.station_id,
                polling_area_id=batch.polling_area_id,
                sequence=batch.sequence,
                digest=o.batch_digest,
                races=[
                    read.RaceRound(
                        race_id=m.race_id, constituency_id=m.constituency_id, round=m.round
                    )
                    for m in batch.minutes
                ],
                correction=o.correction,
                flagged=flagged,
            )
            p.events.append(self.event("batch_accepted", time, summary))
            if o.correction:
                p.events.append(
                    self.event(
                        "correction",
                        time,
                        read.CorrectionAccepted(
                            **msgspec.structs.asdict(summary),
                            reason=batch.reason,
                            supersedes=batch.supersedes,
                            changed_races=[m.race_id for m in decision.changed],
                        ),
                    )
                )
                self._alert(
                    p,
                    "correction",
                    time,
                    batch.station_id,
                    batch.polling_area_id,
                    ["W208"] if any(f.code == "W208" for f in o.findings) else [],
                    {
                        **_alert_base(entry.index, o.sequence, o.batch_digest),
                        "reason": batch.reason,
                        "supersedes": batch.supersedes,
                        "changed_races": [m.race_id for m in decision.changed],
                        "message_vi": "Đính chính đang chờ xem xét: lô thay đổi số liệu đã nhận.",
                        "message_en": "Correction awaiting review: the batch changes "
                        "figures already accepted.",
                    },
                )
            warnings = [f for f in o.findings if f.severity == "warning"]
            if warnings:
                self._alert(
                    p,
                    "warning",
                    time,
                    batch.station_id,
                    batch.polling_area_id,
                    sorted({f.code for f in warnings}),
                    {
                        **_alert_base(entry.index, o.sequence, o.batch_digest),
                        "findings": _findings(warnings),
                        "unexplained": o.unexplained,
                    },
                )
        else:
            kind: read.AlertKind = "conflict" if decision.kind == ledger.CONFLICT else "rejected"
            codes = sorted({f.code for f in o.findings if f.severity == "error"})
            data = {
                **_alert_base(entry.index, o.sequence, o.batch_digest),
                "outcome": o.outcome,
                "severity": severity_of(o.code),
                "code": o.code,
                "keyid": o.keyid,
                "findings": _findings(o.findings),
            }
            if kind == "conflict":
                data["message_vi"] = (
                    "Cảnh báo an ninh: cùng số thứ tự nhưng nội dung khác với lô đã nhận."
                )
                data["message_en"] = (
                    "Security alert: the same sequence number with other bytes than the "
                    "accepted batch."
                )
            self._alert(p, kind, time, o.station_id, o.polling_area_id, codes, data)
        return p

    # -- enrolment ----------------------------------------------------------------------

    def enroll(
        self, station_id: str, polling_area_id: str, key: VerifyKey, time: str, *, by: str | None
    ) -> Prepared | None:
        """Enrol a station's key; None when exactly this enrolment already stands.
        ``by``: who did it (``Token.actor``, or ``cli:USER``), recorded in the ledger
        (None only to replay an entry written before it was recorded)."""
        _check_id(station_id, "station_id")
        # The full check (a square root mod p) at the one door every enrolment goes
        # through: the API, the CLI, a CSV.
        reason = key_problem(key.raw)
        if reason is not None:
            raise weak_key_error(key.raw, reason)
        if polling_area_id not in self.election.polling_areas:
            raise ServerError(
                en=f"Polling area {polling_area_id} is not in election {self.election.id}.",
                vi=f"Khu vực bỏ phiếu {polling_area_id} không có trong cuộc bầu cử "
                f"{self.election.id}.",
                code="A404",
                fields=("polling_area_id",),
                figures={"polling_area_id": polling_area_id},
            )
        fp = key.fingerprint
        known = self.state.keys.get(fp)
        if known is not None:
            if known.revoked:
                raise ServerError(
                    en=f"Key {fp} was revoked; make a new key for station {station_id}.",
                    vi=f"Khoá {fp} đã bị thu hồi; hãy tạo khoá mới cho điểm gửi {station_id}.",
                    code="A409",
                    fields=("public_key",),
                    figures={"fingerprint": fp},
                )
            if known.station_id == station_id and known.polling_area_id == polling_area_id:
                return None
            raise ServerError(
                en=f"Key {fp} is already enrolled for station {known.station_id} "
                f"(polling area {known.polling_area_id}).",
                vi=f"Khoá {fp} đã được đăng ký cho điểm gửi {known.station_id} "
                f"(khu vực {known.polling_area_id}).",
                code="A409",
                fields=("public_key",),
                figures={"fingerprint": fp, "station_id": known.station_id},
            )
        active = self.state.active_key(station_id)
        if active is not None:
            raise ServerError(
                en=f"Station {station_id} already has key {active.fingerprint}; revoke it "
                f"before enrolling another.",
                vi=f"Điểm gửi {station_id} đã có khoá {active.fingerprint}; hãy thu hồi khoá đó "
                f"trước khi đăng ký khoá khác.",
                code="A409",
                fields=("station_id",),
                figures={"station_id": station_id, "fingerprint": active.fingerprint},
            )
        outcome = canonical(
            _by(
                {
                    "station_id": station_id,
                    "polling_area_id": polling_area_id,
                    "public_key": key.b64,
                    "fingerprint": fp,
                },
                by,
            )
        )
        entry = self._entry(time, ledger.STATION_ENROLLED, station_id, b"", outcome)
        p = self._commit_entry(entry)
        p.writes.add(db.INSERT_KEY, (fp, station_id, polling_area_id, key.raw, time, entry.index))
        self.state.enroll(StationKey(fp, station_id, polling_area_id, key, entry.index))
        return p

    def revoke(self, station_id: str, time: str, *, by: str | None) -> Prepared:
        """``by`` as for ``enroll``."""
        active = self.state.active_key(station_id)
        if active is None:
            raise ServerError(
                en=f"Station {station_id} has no key to revoke.",
                vi=f"Điểm gửi {station_id} không có khoá nào để thu hồi.",
                code="A404",
                fields=("station_id",),
                figures={"station_id": station_id},
            )
        outcome = canonical(_by({"station_id": station_id, "fingerprint": active.fingerprint}, by))
        entry = self._entry(time, ledger.STATION_REVOKED, station_id, b"", outcome)
        p = self._commit_entry(entry)
        p.writes.add(db.REVOKE_KEY, (time, entry.index, active.fingerprint))
        self.state.revoke(active.fingerprint)
        return p

    # -- receipts shown back ------------------------------------------------------------

    def rollback(
        self,
        body: bytes,
        receipt: Receipt,
        held_hash: str | None,
        polling_area_id: str | None,
        time: str,
    ) -> Prepared:
        """Evidence that this ledger lost an entry it acknowledged (service/rollback.py).
        The entry takes an index past the receipt's, so that index is never reused."""
        head_index = self.next_index - 1
        outcome = rollback.outcome(receipt, held_hash, head_index)
        self.next_index = rollback.evidence_index(self.next_index, receipt)
        entry = self._entry(time, ledger.ROLLBACK_DETECTED, receipt.station_id, body, outcome)
        p = self._commit_entry(entry)
        self._alert(
            p,
            "rollback_detected",
            time,
            receipt.station_id,
            polling_area_id,
            ["L409"],
            {"ledger_index": entry.index, **rollback.alert_data(receipt, held_hash, head_index)},
        )
        return p

    # -- a standby taking over ----------------------------------------------------------

    def takeover(
        self, time: str, replica: str, restored_to: str | None, reason: str, by: str
    ) -> Prepared:
        """The standby continues from this head (service/takeover.py): the outcome, and
        the server key's signature over it as the envelope."""
        outcome = takeover.outcome(self.next_index - 1, self.head, replica, restored_to, reason, by)
        signed = self.sealer.seal(takeover.TAKEOVER_TYPE, outcome)
        return self._commit_entry(self._entry(time, ledger.SERVER_TAKEOVER, "", signed, outcome))

    # -- reviews ------------------------------------------------------------------------

    def review(self, alert_id: int, note: str, by: str, time: str) -> Prepared:
        outcome = canonical({"alert_id": alert_id, "note": note, "by": by})
        entry = self._entry(time, ledger.ALERT_REVIEWED, "", b"", outcome)
        p = self._commit_entry(entry)
        p.writes.add(db.REVIEW_ALERT, (time, note, by, entry.index, alert_id))
        # Reviewed: what comes after opens a new alert.
        for k in [k for k, a in self.open_alerts.items() if a.id == alert_id]:
            del self.open_alerts[k]
        p.events.append(
            self.event(
                "alert",
                time,
                read.AlertNews(
                    alert_id=alert_id, reviewed=True, note=note, ledger_index=entry.index
                ),
            )
        )
        return p


def _by(outcome: dict[str, Any], by: str | None) -> dict[str, Any]:
    if by is not None:
        outcome["by"] = by
    return outcome


def _alert_base(index: int, sequence: int | None, digest: str | None) -> dict[str, Any]:
    return {"ledger_index": index, "sequence": sequence, "digest": digest}


def _findings(findings: list[Finding]) -> list[Any]:
    return [codec.to_builtins(f) for f in findings]


def _check_id(value: str, name: str) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise ServerError(
            en=f"{name} {value!r} is not an identifier "
            "(letters, digits, '.', '_', '-', at most 64).",
            vi=f"{name} {value!r} không phải mã hợp lệ (chữ, số, '.', '_', '-', tối đa 64 ký tự).",
            code="A400",
            fields=(name,),
            figures={name: value},
        )


# -- rebuilding from the database ---------------------------------------------------------


def envelope_fetcher(conn: sqlite3.Connection) -> FetchEnvelope:
    """Read an entry's envelope from the database (what was committed)."""

    def fetch(index: int) -> bytes:
        row = conn.execute("SELECT envelope FROM ledger WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise LookupError(f"the database has no ledger entry {index}")
        return bytes(row[0])

    return fetch


CURRENT_UPTO = (
    "SELECT polling_area_id, race_id, round, ledger_index FROM current WHERE ledger_index <= ?1 "
    "UNION ALL "
    "SELECT m.polling_area_id, m.race_id, m.round, MAX(m.ledger_index) FROM current c "
    "JOIN minutes m USING (polling_area_id, race_id, round) "
    "WHERE c.ledger_index > ?1 AND m.ledger_index <= ?1 GROUP BY 1, 2, 3"
)
"""The current table as it stood just after entry ?1: each (area, race, round)'s
last minutes up to there (a row is only ever moved on to a later entry)."""


def load_journal(
    conn: sqlite3.Connection,
    election: Election,
    server_key: SigningKey,
    *,
    fetch: FetchEnvelope | None = None,
    counted: Callable[[int, CountingMinutes], object] | None = None,
    upto: int | None = None,
) -> Journal:
    """The decision state as the database holds it (what was committed).

    ``fetch`` (default: read from ``conn``) is what the state reads envelopes with
    later; ``counted`` is given every minutes now counted with its ledger index, in
    ledger order (the server rebuilds its tally from them without keeping them all
    at once).
    ``upto``: the state as it was just after that ledger entry (the start-up check
    replays the entries after a checkpoint from there; not with ``counted``). Its
    open alerts are then the caller's to set: a coalesced alert's count as it was
    then is not in the table, the checkpoint has it."""
    assert upto is None or counted is None
    last = (1 << 62) if upto is None else upto
    state = LedgerState(election, fetch if fetch is not None else envelope_fetcher(conn))
    # One string object per station / area id across the keys, the accepted index and
    # the definition (~90,000 of each at national size), not one per row read.
    texts: dict[str, str] = {a: a for a in election.polling_areas}
    one = texts.setdefault
    for fp, station_id, area_id, raw, index, revoked in conn.execute(
        "SELECT fingerprint, station_id, polling_area_id, public_key, enrolled_index, "
        "revoked_index FROM keys WHERE enrolled_index <= ? ORDER BY enrolled_index",
        (last,),
    ):
        state.enroll(
            StationKey(
                fp,
                one(station_id, station_id),
                one(area_id, area_id),
                VerifyKey(bytes(raw)),
                index,
                revoked is not None and revoked <= last,
            )
        )
    for station_id, area_id, seq, digest, index in conn.execute(
        "SELECT station_id, polling_area_id, sequence, digest, ledger_index FROM batch_log "
        "WHERE status = 'accepted' AND ledger_index <= ?",
        (last,),
    ):
        station_id, area_id = one(station_id, station_id), one(area_id, area_id)
        ref = AcceptedRef(station_id, area_id, seq, digest, index)
        state.accepted[(station_id, seq)] = ref
        state.by_digest[digest] = ref
        if seq > state.last_sequence.get(station_id, 0):
            state.last_sequence[station_id] = seq
    del texts
    if counted is None:
        for area_id, race_id, round_, index in conn.execute(CURRENT_UPTO, (last,)):
            state.count(area_id, race_id, round_, index)
    else:
        for index, m in current_minutes(conn):
            state.count(m.polling_area_id, m.race_id, m.round, index)
            counted(index, m)
    next_index, head = db.head(conn) if upto is None else db.head_at(conn, upto)
    (max_alert,) = conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM alerts"
        + ("" if upto is None else " WHERE ledger_index <= ?"),
        () if upto is None else (upto,),
    ).fetchone()
    (max_event,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
    journal = Journal(
        election,
        server_key,
        state,
        next_index=next_index,
        head=head,
        next_alert_id=max_alert + 1,
        next_event_id=max_event + 1,
    )
    if upto is not None:
        return journal
    kinds = ",".join("?" * len(COALESCED))
    for alert_id, kind, station_id, codes, count, last_at in conn.execute(
        "SELECT id, kind, station_id, codes, count, COALESCE(last_at, at) FROM alerts "
        f"WHERE reviewed_at IS NULL AND kind IN ({kinds}) ORDER BY id",
        sorted(COALESCED),
    ):
        journal.open_alerts[(kind, station_id or "", codes)] = OpenAlert(alert_id, count, last_at)
    return journal


def minutes_at(
    conn: sqlite3.Connection, indexes: Iterable[int]
) -> dict[int, list[CountingMinutes]]:
    """The minutes of the batch recorded at each ledger index, read back from the
    envelope bytes the ledger keeps (the minutes are stored once, as signed)."""
    out: dict[int, list[CountingMinutes]] = {}
    wanted = sorted(set(indexes))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for index, envelope in conn.execute(
            f"SELECT idx, envelope FROM ledger WHERE idx IN ({marks})", chunk
        ):
            out[index] = read_accepted(bytes(envelope))[1].minutes
    return out


def current_minutes(conn: sqlite3.Connection) -> Iterator[tuple[int, CountingMinutes]]:
    """(ledger index, minutes) of every (area, race, round)'s counted minutes, in ledger
    order, decoded a slice at a time."""
    rows = conn.cursor()
    rows.execute(
        "SELECT c.ledger_index, m.item FROM current c JOIN minutes m "
        "USING (polling_area_id, race_id, round, ledger_index) ORDER BY c.ledger_index, m.item"
    )
    while part := rows.fetchmany(2000):
        batches = minutes_at(conn, (index for index, _ in part))
        for index, item in part:
            yield index, batches[index][item]
