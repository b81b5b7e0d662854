"""What the read API shows: progress, results, polling areas, alerts, stations.

Plain functions over the ingest service's published state and the database,
returning JSON-able builtins; the web layer only encodes them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from schemas import codec
from tally_server.core.tally import ConstituencyResult, Rollup
from tally_server.service.codes import ServerError
from tally_server.service.journal import minutes_at

if TYPE_CHECKING:
    from tally_server.service.ingest import Ingest


def _rollup(r: Rollup, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = codec.to_builtins(r)
    out.update(extra)
    return out


def _rollup_raw(r: Rollup, **extra: Any) -> msgspec.Raw:
    """``_rollup`` already encoded: the record's fields, then the extra ones."""
    body = _plain_json.encode(r)
    if extra:
        body = body[:-1] + b"," + _plain_json.encode(extra)[1:]
    return msgspec.Raw(body)


def progress(ingest: Ingest, *, full: bool = True) -> dict[str, Any]:
    """Where the count stands; ``full=False`` (the feed's progress event, once per
    write group) leaves out what costs more than the running totals."""
    return _progress(ingest, full, _rollup)


def progress_json(ingest: Ingest) -> bytes:
    """``progress(ingest)`` as compact UTF-8 JSON, each rollup encoded straight from
    its record (11,078 committees at national size: their dicts and ``json.dumps``
    were ~30 MB at the peak of every dashboard refresh)."""
    return _plain_json.encode(_progress(ingest, True, _rollup_raw))


def _progress(ingest: Ingest, full: bool, rollup: Callable[..., Any]) -> dict[str, Any]:
    t = ingest.tally
    d = ingest.election.definition
    c = ingest.counters
    out: dict[str, Any] = {
        "election_id": d.id,
        "overall": rollup(t.rollup()),
        "races": [rollup(t.rollup(race_id=r.id), race_id=r.id, name=r.name) for r in d.races],
        "batches": {
            "accepted": c.accepted,
            "flagged": c.flagged,
            "rejected": c.rejected,
            "conflicts": c.conflicts,
            "corrections": c.corrections,
            # Unsigned refusals answered 429 and not recorded, since the server started.
            "throttled": ingest.limiter.throttled,
        },
        "last_batch_at": c.last_batch_at,
        "ledger": {"index": ingest.published_index, "head": ingest.published_hash},
    }
    if full:
        # A station has at most one key not revoked (enrolment refuses a second).
        enrolled = reporting = 0
        for k in ingest.journal.state.keys.values():
            if not k.revoked:
                enrolled += 1
                reporting += k.station_id in c.reporting
        out["stations"] = {
            "enrolled": enrolled,
            "reporting": reporting,
            "silent": enrolled - reporting,
        }
        out["committees"] = [
            rollup(t.rollup(committee_id=cm.id), committee_id=cm.id, name=cm.name)
            for cm in d.committees
        ]
    return out


def _under(ingest: Ingest, committee_id: str, wanted: str) -> bool:
    """Whether ``committee_id`` is ``wanted`` or sits below it."""
    committees = ingest.election.committees
    seen: set[str] = set()
    cur: str | None = committee_id
    while cur is not None and cur not in seen:
        if cur == wanted:
            return True
        seen.add(cur)
        cm = committees.get(cur)
        cur = cm.parent_id if cm is not None else None
    return False


class _Winner(msgspec.Struct):
    id: str
    full_name: str
    votes: int
    pct: str


class _Row(msgspec.Struct):
    """One constituency round in the list (what the dashboard's table shows)."""

    race_id: str
    constituency_id: str
    name: str
    committee_id: str
    round: str
    seats: int
    areas_reported: int
    areas_total: int
    turnout_pct: str
    status: str
    seats_filled: int
    winners: list[_Winner]


class _LedgerPoint(msgspec.Struct):
    index: int
    head: str


def _compact(r: ConstituencyResult) -> _Row:
    names = {c.id: c for c in r.candidates}
    return _Row(
        r.race_id,
        r.constituency_id,
        r.constituency_name,
        r.committee_id,
        r.round,
        r.seats,
        r.areas_reported,
        r.areas_total,
        r.turnout_pct,
        r.status,
        r.seats_filled,
        [
            _Winner(w, names[w].full_name, names[w].votes, names[w].pct)
            for w in r.winners
            if w in names
        ],
    )


def constituencies(
    ingest: Ingest,
    race: str | None = None,
    committee: str | None = None,
    status: str | None = None,
    *,
    size: int = 1000,
) -> Iterator[bytes]:
    """The constituency list as compact UTF-8 JSON, in pieces: encoded from small
    records a slice at a time (35,697 rows at national size: dicts and ``json.dumps``
    cost ~140 MB at the peak, the whole text is ~20 MB). What is listed is decided
    now, so the pieces describe one tally state however slowly they are sent."""
    chosen = [
        r
        for r in ingest.tally.results()
        if (not race or r.race_id == race)
        and (not committee or _under(ingest, r.committee_id, committee))
        and (not status or r.status == status)
    ]
    point = _LedgerPoint(ingest.published_index, ingest.published_hash)
    return _constituency_pieces(chosen, point, size)


def _constituency_pieces(
    chosen: list[ConstituencyResult], point: _LedgerPoint, size: int
) -> Iterator[bytes]:
    yield b'{"constituencies":['
    for start in range(0, len(chosen), size):
        part = _plain_json.encode([_compact(r) for r in chosen[start : start + size]])[1:-1]
        yield part if start == 0 else b"," + part
    yield b'],"ledger":' + _plain_json.encode(point) + b"}"


def constituency(
    ingest: Ingest, race_id: str, constituency_id: str, round_: str = "main"
) -> dict[str, Any]:
    con = ingest.election.constituencies.get((race_id, constituency_id))
    if con is None or round_ not in ("main", "revote", "supplementary"):
        raise ServerError(
            f"No constituency {constituency_id} in race {race_id} (round {round_}).",
            f"Không có đơn vị bầu cử {constituency_id} trong cuộc bầu cử {race_id} "
            f"(vòng {round_}).",
            code="A404",
            fields=("race_id", "constituency_id"),
            figures={"race_id": race_id, "constituency_id": constituency_id},
        )
    r = ingest.tally.result(race_id, constituency_id, round_)  # type: ignore[arg-type]
    out: dict[str, Any] = codec.to_builtins(r)
    missing = set(r.missing_area_ids)
    out["reported_area_ids"] = [a for a in con.polling_area_ids if a not in missing]
    # Whichever round is asked for, the result over all the constituency's rounds.
    out["final"] = codec.to_builtins(ingest.tally.final(race_id, constituency_id))
    out["ledger"] = {"index": ingest.published_index, "head": ingest.published_hash}
    return out


_plain_json = msgspec.json.Encoder()


def results_sha256(results: list[ConstituencyResult]) -> str:
    """``results_digest(results)``, hashed a result at a time (the same bytes: the
    canonical JSON of a list is its items' joined by commas between brackets), so
    the ~70 MB text never exists at once."""
    h = hashlib.sha256(b"[")
    for i, r in enumerate(results):
        if i:
            h.update(b",")
        h.update(codec.encode(r))
    h.update(b"]")
    return h.hexdigest()


class ResultsCache:
    """The results document of one tally state.

    ``doc["results"]`` holds the tally's own (cached) result records, and the body
    is encoded a slice at a time as it is sent: at national size a plain-Python copy
    of the document was ~400 MB at the peak of the request, and the encoded body
    alone is ~70 MB."""

    def __init__(self) -> None:
        self.key: tuple[int, int] | None = None
        self.doc: dict[str, Any] = {}

    def get(self, ingest: Ingest) -> dict[str, Any]:
        key = (ingest.published_index, id(ingest.tally))
        if key != self.key:
            results = ingest.tally.results()
            self.doc = {
                "election_id": ingest.election.id,
                "ledger_index": ingest.published_index,
                "ledger_head": ingest.published_hash,
                "results_sha256": results_sha256(results),
                "results": results,
            }
            self.key = key
        return self.doc

    @staticmethod
    def chunks(doc: dict[str, Any], size: int = 1000) -> Iterator[bytes]:
        """``doc`` as compact UTF-8 JSON in field order, in pieces that join to the
        bytes of encoding it whole."""
        head = {k: v for k, v in doc.items() if k != "results"}
        results: list[ConstituencyResult] = doc["results"]
        yield _plain_json.encode(head)[:-1] + b',"results":['
        for start in range(0, len(results), size):
            part = _plain_json.encode(results[start : start + size])[1:-1]
            yield part if start == 0 else b"," + part
        yield b"]}"

    def body(self, ingest: Ingest) -> bytes:
        """The whole document (tests and small elections; the route streams it)."""
        return b"".join(self.chunks(self.get(ingest)))


CSV_COLUMNS = (
    "race_id",
    "constituency_id",
    "constituency_name",
    "round",
    "status",
    "seats",
    "areas_reported",
    "areas_total",
    "voters_on_list",
    "voters_voted",
    "turnout_pct",
    "valid_ballots",
    "invalid_ballots",
    "candidate_id",
    "candidate_name",
    "votes",
    "pct",
    "eligible",
    "elected",
    "rank",
)


def results_csv(doc: dict[str, Any]) -> str:
    """One row per candidate per constituency round (UTF-8, with a header)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for result in doc["results"]:
        r = codec.to_builtins(result)
        for c in r["candidates"]:
            w.writerow(
                [
                    r["race_id"],
                    r["constituency_id"],
                    r["constituency_name"],
                    r["round"],
                    r["status"],
                    r["seats"],
                    r["areas_reported"],
                    r["areas_total"],
                    r["voters_on_list"],
                    r["voters_voted"],
                    r["turnout_pct"],
                    r["valid_ballots"],
                    r["invalid_ballots"],
                    c["id"],
                    c["full_name"],
                    c["votes"],
                    c["pct"],
                    "1" if c["eligible"] else "0",
                    "1" if c["elected"] else "0",
                    c["rank"],
                ]
            )
    return out.getvalue()


# -- from the database (run in the reader thread) -----------------------------------------


def _envelope_json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def polling_area(conn: sqlite3.Connection, ingest: Ingest, area_id: str) -> dict[str, Any]:
    area = ingest.election.polling_areas.get(area_id)
    if area is None:
        raise ServerError(
            f"No polling area {area_id} in the election.",
            f"Không có khu vực bỏ phiếu {area_id} trong cuộc bầu cử.",
            code="A404",
            fields=("polling_area_id",),
            figures={"polling_area_id": area_id},
        )
    rows = conn.execute(
        "SELECT race_id, round, ledger_index, constituency_id, station_id, sequence, digest, "
        "at, correction, reason, item FROM minutes WHERE polling_area_id = ? "
        "ORDER BY ledger_index, item",
        (area_id,),
    ).fetchall()
    sheets = minutes_at(conn, (r[2] for r in rows))
    history = []
    for race_id, round_, index, con_id, station, seq, digest, at, correction, reason, item in rows:
        history.append(
            {
                "race_id": race_id,
                "round": round_,
                "constituency_id": con_id,
                "ledger_index": index,
                "at": at,
                "station_id": station,
                "sequence": seq,
                "digest": digest,
                "correction": bool(correction),
                "reason": reason,
                "minutes": codec.to_builtins(sheets[index][item]),
            }
        )
    current_index = {
        (r, rnd): i
        for r, rnd, i in conn.execute(
            "SELECT race_id, round, ledger_index FROM current WHERE polling_area_id = ?",
            (area_id,),
        )
    }
    batches = []
    findings_at: dict[int, dict[str, Any]] = {}
    for (
        index,
        at,
        kind,
        station,
        seq,
        digest,
        status,
        answered,
        code,
        corr,
        flagged,
        outcome,
        rec,
    ) in conn.execute(
        "SELECT b.ledger_index, b.at, b.kind, b.station_id, b.sequence, b.digest, b.status, "
        "b.outcome, b.code, b.correction, b.flagged, l.outcome, l.receipt FROM batch_log b "
        "JOIN ledger l ON l.idx = b.ledger_index WHERE b.polling_area_id = ? "
        "ORDER BY b.ledger_index",
        (area_id,),
    ):
        o = json.loads(outcome)
        findings_at[index] = o
        batches.append(
            {
                "ledger_index": index,
                "at": at,
                "kind": kind,
                "station_id": station,
                "sequence": seq,
                "digest": digest,
                "status": status,
                "outcome": answered,
                "code": code,
                "correction": bool(corr),
                "flagged": bool(flagged),
                "findings": o.get("findings", []),
                "unexplained": o.get("unexplained", []),
                "receipt": _envelope_json(bytes(rec)),
            }
        )
    current = []
    warnings = []
    for h in history:
        if current_index.get((h["race_id"], h["round"])) != h["ledger_index"]:
            continue
        current.append(h)
        outcome = findings_at.get(h["ledger_index"], {})
        explanations = h["minutes"].get("explanations", {})
        for f in outcome.get("findings", []):
            if f.get("severity") == "warning" and f.get("race_id") == h["race_id"]:
                text = explanations.get(f["code"])
                warnings.append(
                    {
                        **f,
                        "ledger_index": h["ledger_index"],
                        "explained": bool(text and text.strip()),
                        "explanation": text,
                    }
                )
    return {
        "polling_area": codec.to_builtins(area),
        "races": [
            {"race_id": s.race.id, "constituency_id": s.constituency.id}
            for s in ingest.election.races_at(area_id)
        ],
        "current": current,
        "history": history,
        "corrections": [h for h in history if h["correction"]],
        "warnings": warnings,
        "batches": batches,
    }


ALERT_KINDS = (
    "conflict",
    "rejected",
    "correction",
    "warning",
    "rollback_detected",
    "silent_station",
)


def alerts(
    conn: sqlite3.Connection,
    ingest: Ingest,
    kind: str | None = None,
    reviewed: bool | None = None,
    limit: int = 1000,
    after: int = 0,
) -> dict[str, Any]:
    if kind is not None and kind not in ALERT_KINDS:
        raise ServerError(
            f"kind must be one of {', '.join(ALERT_KINDS)}, not {kind!r}.",
            f"kind phải là một trong {', '.join(ALERT_KINDS)}, không phải {kind!r}.",
            code="A400",
            fields=("kind",),
            figures={"kind": kind},
        )
    sql = (
        "SELECT id, kind, at, station_id, polling_area_id, ledger_index, codes, data, "
        "reviewed_at, review_note, reviewed_by, review_index, count, COALESCE(last_at, at), "
        "COALESCE(last_index, ledger_index) FROM alerts WHERE id > ?"
    )
    params: list[Any] = [after]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if reviewed is not None:
        sql += " AND reviewed_at IS NOT NULL" if reviewed else " AND reviewed_at IS NULL"
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    rows = []
    if kind != "silent_station":
        for r in conn.execute(sql, params):
            rows.append(
                {
                    "id": r[0],
                    "kind": r[1],
                    "at": r[2],
                    "station_id": r[3],
                    "polling_area_id": r[4],
                    "ledger_index": r[5],
                    "codes": [c for c in r[6].split(",") if c],
                    "data": json.loads(r[7]),
                    "reviewed": r[8] is not None,
                    "reviewed_at": r[8],
                    "review_note": r[9],
                    "reviewed_by": r[10],
                    "review_ledger_index": r[11],
                    "count": r[12],
                    "last_at": r[13],
                    "last_ledger_index": r[14],
                }
            )
    silent = []
    if (kind is None or kind == "silent_station") and not reviewed:
        reporting = ingest.counters.reporting
        for st in conn.execute(
            "SELECT station_id, polling_area_id, fingerprint, enrolled_at FROM keys "
            "WHERE revoked_at IS NULL ORDER BY station_id"
        ):
            if st[0] not in reporting:
                silent.append(
                    {
                        "station_id": st[0],
                        "polling_area_id": st[1],
                        "fingerprint": st[2],
                        "enrolled_at": st[3],
                    }
                )
    return {"alerts": rows, "silent_stations": silent}


def stations(conn: sqlite3.Connection) -> dict[str, Any]:
    last = {
        s: (seq, at)
        for s, seq, at in conn.execute(
            "SELECT station_id, MAX(sequence), MAX(at) FROM batch_log "
            "WHERE status = 'accepted' GROUP BY station_id"
        )
    }
    out = []
    for fp, station, area, raw, enrolled_at, enrolled_index, revoked_at in conn.execute(
        "SELECT fingerprint, station_id, polling_area_id, public_key, enrolled_at, "
        "enrolled_index, revoked_at FROM keys ORDER BY station_id, enrolled_index"
    ):
        seq, at = last.get(station, (None, None))
        out.append(
            {
                "station_id": station,
                "polling_area_id": area,
                "fingerprint": fp,
                "public_key_b64": base64.b64encode(bytes(raw)).decode("ascii"),
                "status": "revoked" if revoked_at else "active",
                "enrolled_at": enrolled_at,
                "enrolled_ledger_index": enrolled_index,
                "revoked_at": revoked_at,
                "last_sequence": seq,
                "last_batch_at": at,
            }
        )
    return {"stations": out}
