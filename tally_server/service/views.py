"""What the read API shows: progress, results, polling areas, alerts, stations.

Plain functions over the ingest service's published state and the database,
returning the read API's records (``schemas/read.py``); the web layer only
encodes them. The large answers are encoded a slice at a time, in the same
field order as their record, so what is sent decodes as that record.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

import msgspec

from schemas import codec, read
from schemas.models import Envelope, Finding
from schemas.read import ConstituencyResult, Rollup
from tally_server.core import listing
from tally_server.core.definition import Election
from tally_server.service.codes import ServerError
from tally_server.service.journal import minutes_at

if TYPE_CHECKING:
    from tally_server.service.decide import LedgerState
    from tally_server.service.ingest import Ingest


def _rollup_raw(r: Rollup, **extra: str) -> msgspec.Raw:
    """A ``RaceRollup`` or ``CommitteeRollup`` already encoded: the record's fields,
    then the extra ones (what the subclass adds, in its order)."""
    body = _plain_json.encode(r)
    if extra:
        body = body[:-1] + b"," + _plain_json.encode(extra)[1:]
    return msgspec.Raw(body)


def progress(ingest: Ingest, *, full: bool = True) -> read.Progress:
    """Where the count stands; ``full=False`` (the feed's progress event, once per
    write group) leaves out what costs more than the running totals."""
    t = ingest.tally
    d = ingest.election.definition
    out = _progress_head(ingest)
    if not full:
        return out
    return msgspec.structs.replace(
        out,
        stations=_stations(ingest),
        committees=[
            read.CommitteeRollup(
                **msgspec.structs.asdict(t.rollup(committee_id=cm.id)),
                committee_id=cm.id,
                name=cm.name,
            )
            for cm in d.committees
        ],
    )


def progress_json(ingest: Ingest, levels: Collection[str] | None = None) -> bytes:
    """``progress(ingest)`` as compact UTF-8 JSON, each committee's rollup encoded
    straight from the tally's record (at national size, building dicts for
    ``json.dumps`` raised the peak memory of every dashboard refresh). ``levels``:
    only the committees of these levels (a national night has some 11,000
    committees, 5.5 MB of progress; its national and provincial ones are 64)."""
    t = ingest.tally
    head = msgspec.structs.replace(_progress_head(ingest), stations=_stations(ingest))
    committees = [
        _rollup_raw(t.rollup(committee_id=cm.id), committee_id=cm.id, name=cm.name)
        for cm in ingest.election.definition.committees
        if levels is None or cm.level in levels
    ]
    # ``committees``, the record's last field, is left out of ``head`` (None is its
    # default, and defaults are omitted): its list goes at the end.
    return _plain_json.encode(head)[:-1] + b',"committees":' + _plain_json.encode(committees) + b"}"


def _progress_head(ingest: Ingest) -> read.Progress:
    t = ingest.tally
    d = ingest.election.definition
    c = ingest.counters
    return read.Progress(
        election_id=d.id,
        overall=t.rollup(),
        races=[
            read.RaceRollup(
                **msgspec.structs.asdict(t.rollup(race_id=r.id)), race_id=r.id, name=r.name
            )
            for r in d.races
        ],
        batches=read.BatchCounts(
            accepted=c.accepted,
            flagged=c.flagged,
            rejected=c.rejected,
            conflicts=c.conflicts,
            corrections=c.corrections,
            throttled=ingest.limiter.throttled,
        ),
        last_batch_at=c.last_batch_at,
        ledger=read.LedgerPoint(index=ingest.published_index, head=ingest.published_hash),
    )


class _Enrolled:
    """The stations with a key not revoked, read from the keys once per enrolment or
    revocation: progress, the missing areas and the alerts need them on every build,
    and a national night has 90,000 keys to walk."""

    def __init__(self, state: LedgerState) -> None:
        self.state = state
        self.version = state.keys_changed
        active = [k for k in state.keys.values() if not k.revoked]
        self.count = len(active)
        self.station_of = {k.polling_area_id: k.station_id for k in active}
        """polling area -> its station"""
        self.ids = sorted(k.station_id for k in active)
        self._reporting: set[str] | None = None
        self._seen = 0
        self._reporting_count = 0
        self._lock = threading.Lock()  # the alerts are built in the reader thread

    def reporting(self, reporting: set[str]) -> int:
        """How many of these stations are in ``reporting``. That set only grows, and
        only by the station of an accepted batch, whose key was not revoked: with the
        keys unchanged since this was made, each station it gains is one of these."""
        with self._lock:
            seen = len(reporting)
            if reporting is not self._reporting:
                self._reporting_count = len(reporting.intersection(self.ids))
            else:
                self._reporting_count += seen - self._seen
            self._reporting, self._seen = reporting, seen
            return self._reporting_count

    def silent(self, reporting: set[str], skip: int, limit: int) -> list[str]:
        """Stations not in ``reporting``, in id order, ``limit`` after the first ``skip``."""
        out: list[str] = []
        for station_id in self.ids:
            if station_id not in reporting:
                if skip:
                    skip -= 1
                    continue
                if len(out) == limit:
                    break
                out.append(station_id)
        return out


_enrolled: list[_Enrolled] = []


def _enrolled_of(ingest: Ingest) -> _Enrolled:
    state = ingest.journal.state
    found = _enrolled[0] if _enrolled else None
    if found is None or found.state is not state or found.version != state.keys_changed:
        found = _Enrolled(state)
        _enrolled[:] = [found]
    return found


def _stations(ingest: Ingest) -> read.StationCounts:
    # A station has at most one key not revoked (enrolment refuses a second).
    enrolled = _enrolled_of(ingest)
    reporting = enrolled.reporting(ingest.counters.reporting)
    return read.StationCounts(
        enrolled=enrolled.count, reporting=reporting, silent=enrolled.count - reporting
    )


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


def _winner(c: read.CandidateResult) -> read.Winner:
    return read.Winner(id=c.id, full_name=c.full_name, votes=c.votes, pct=c.pct)


def _compact(r: ConstituencyResult, final: read.FinalSeats | None) -> read.ConstituencyRow:
    names = {c.id: c for c in r.candidates}
    leading: list[read.Winner] = []
    if r.status == "partial":
        # Who is ahead so far: as many as the seats, most votes first (rank 1 first).
        ahead = sorted((c for c in r.candidates if c.votes > 0), key=lambda c: c.rank)
        leading = [_winner(c) for c in ahead[: r.seats]]
    return read.ConstituencyRow(
        race_id=r.race_id,
        constituency_id=r.constituency_id,
        name=r.constituency_name,
        committee_id=r.committee_id,
        round=r.round,
        seats=r.seats,
        areas_reported=r.areas_reported,
        areas_total=r.areas_total,
        turnout_pct=r.turnout_pct,
        status=r.status,
        seats_filled=r.seats_filled,
        winners=[_winner(names[w]) for w in r.winners if w in names],
        leading=leading,
        final=final,
    )


def _final_seats(ingest: Ingest, race_id: str, constituency_id: str) -> read.FinalSeats | None:
    """The outcome over the rounds of a constituency that has had a later round."""
    t = ingest.tally
    if len(t.rounds(race_id, constituency_id)) == 1:
        return None
    f = t.final(race_id, constituency_id)
    return read.FinalSeats(
        seats=f.seats,
        seats_filled=f.seats_filled,
        status=f.status,
        rounds=[r.round for r in f.rounds],
    )


class _ListIndex:
    """What the list's search and orders read of one election, made once: each
    constituency's committee, folded name and search text (the text on the first
    search), and its place in the definition."""

    def __init__(self, election: Election) -> None:
        self.election = election
        self.position: dict[tuple[str, str], int] = {}
        self.name: dict[tuple[str, str], str] = {}
        self.committee: dict[tuple[str, str], str] = {}
        for race in election.definition.races:
            for con in race.constituencies:
                key = (race.id, con.id)
                self.position[key] = len(self.position)
                self.committee[key] = con.committee_id
        self._text: dict[tuple[str, str], str] | None = None

    @property
    def text(self) -> dict[tuple[str, str], str]:
        if self._text is None:
            self._text = {
                (race.id, con.id): listing.search_text(race.id, con)
                for race in self.election.definition.races
                for con in race.constituencies
            }
        return self._text

    def folded_name(self, key: tuple[str, str]) -> str:
        found = self.name.get(key)
        if found is None:
            con = self.election.constituencies[key]
            found = self.name[key] = listing.fold(con.name)
        return found


_indexes: dict[int, _ListIndex] = {}


def _index(election: Election) -> _ListIndex:
    found = _indexes.get(id(election))
    if found is None or found.election is not election:
        found = _indexes[id(election)] = _ListIndex(election)
    return found


NEEDS_RESULTS = ("reported", "status", "turnout")
"""Orders that read the figures: every matching row's result is built to sort."""


def constituencies(
    ingest: Ingest,
    race: str | None = None,
    committee: str | None = None,
    status: str | None = None,
    *,
    q: str | None = None,
    sort: str = "key",
    offset: int = 0,
    limit: int | None = None,
    size: int = 1000,
) -> Iterator[bytes]:
    """The constituency list (or one page of it) as compact UTF-8 JSON, in pieces:
    encoded from small records a slice at a time (at national size, dicts and
    ``json.dumps`` cost several times the text's own size at the peak). What is
    listed is decided now, so the pieces describe one tally state however slowly
    they are sent. ``q``: every word, without diacritics, in an id, the name or a
    candidate's name.

    Race, committee, search and the name order are the definition's, so a page in
    those builds only its own rows' results; a status filter or an order by the
    figures builds every matching row's (each is cached until its minutes change)."""
    t = ingest.tally
    index = _index(t.election)
    words = listing.fold(q or "").split()
    keys = list(t.round_keys())
    if race or committee or words:
        keys = [
            k
            for k in keys
            if (not race or k[0] == race)
            and (not committee or _under(ingest, index.committee[k[:2]], committee))
            and (not words or listing.matches(index.text[k[:2]], words))
        ]
    if sort == "name":
        keys.sort(key=lambda k: (index.folded_name(k[:2]), index.position[k[:2]]))
    if status or sort in NEEDS_RESULTS:
        chosen = list(itertools.starmap(t.result, keys))
        if status:
            chosen = [r for r in chosen if r.status == status]
        if sort in NEEDS_RESULTS:
            position = index.position
            chosen.sort(key=lambda r: listing.sort_value(r, sort, position))  # type: ignore[arg-type,return-value]
        total = len(chosen)
        page = chosen[offset:] if limit is None else chosen[offset : offset + limit]
    else:
        total = len(keys)
        wanted = keys[offset:] if limit is None else keys[offset : offset + limit]
        page = [t.result(*k) for k in wanted]
    point = read.LedgerPoint(index=ingest.published_index, head=ingest.published_hash)
    # Decided now too, with the rows: the pieces describe one tally state.
    finals = {
        key: _final_seats(ingest, *key)
        for key in dict.fromkeys((r.race_id, r.constituency_id) for r in page)
    }
    return _constituency_pieces(page, finals, point, size, total=total, offset=offset)


def _constituency_pieces(
    chosen: list[ConstituencyResult],
    finals: dict[tuple[str, str], read.FinalSeats | None],
    point: read.LedgerPoint,
    size: int,
    *,
    total: int | None = None,
    offset: int = 0,
) -> Iterator[bytes]:
    """A ``read.ConstituencyList``, in pieces."""
    yield b'{"constituencies":['
    for start in range(0, len(chosen), size):
        part = _plain_json.encode(
            [
                _compact(r, finals[(r.race_id, r.constituency_id)])
                for r in chosen[start : start + size]
            ]
        )[1:-1]
        yield part if start == 0 else b"," + part
    count = len(chosen) if total is None else total
    yield (
        b'],"ledger":' + _plain_json.encode(point) + b',"total":%d,"offset":%d}' % (count, offset)
    )


def constituency(
    ingest: Ingest, race_id: str, constituency_id: str, round_: str = "main"
) -> read.ConstituencyDetail:
    con = ingest.election.constituencies.get((race_id, constituency_id))
    if con is None or round_ not in ("main", "revote", "supplementary"):
        raise ServerError(
            en=f"No constituency {constituency_id} in race {race_id} (round {round_}).",
            vi=f"Không có đơn vị bầu cử {constituency_id} trong cuộc bầu cử {race_id} "
            f"(vòng {round_}).",
            code="A404",
            fields=("race_id", "constituency_id"),
            figures={"race_id": race_id, "constituency_id": constituency_id},
        )
    r = ingest.tally.result(race_id, constituency_id, round_)  # type: ignore[arg-type]
    missing = set(r.missing_area_ids)
    index, head = ingest.changed[(race_id, constituency_id)]
    return read.ConstituencyDetail(
        **msgspec.structs.asdict(r),
        reported_area_ids=[a for a in con.polling_area_ids if a not in missing],
        # Whichever round is asked for, the result over all the constituency's rounds.
        final=ingest.tally.final(race_id, constituency_id),
        # Not the head: the same point for the same page, so one tag names one body.
        ledger=read.LedgerPoint(index=index, head=head),
    )


_plain_json = msgspec.json.Encoder()


def results_sha256(results: list[ConstituencyResult]) -> str:
    """``results_digest(results)``, hashed a result at a time (the same bytes: the
    canonical JSON of a list is its items' joined by commas between brackets), so
    the national text never exists at once."""
    h = hashlib.sha256(b"[")
    for i, r in enumerate(results):
        if i:
            h.update(b",")
        h.update(codec.encode(r))
    h.update(b"]")
    return h.hexdigest()


class ResultsCache:
    """The results document of one tally state.

    ``doc.results`` holds the tally's own (cached) result records, and the body is
    encoded a slice at a time as it is sent: at national size a plain-Python copy
    of the document took several times the encoded body at the peak of the
    request."""

    def __init__(self) -> None:
        self.key: tuple[int, int] | None = None
        self.doc = read.ResultsDocument(
            election_id="", ledger_index=0, ledger_head="", results_sha256="", results=[]
        )

    def get(self, ingest: Ingest) -> read.ResultsDocument:
        key = (ingest.published_index, id(ingest.tally))
        if key != self.key:
            results = ingest.tally.results()
            self.doc = read.ResultsDocument(
                election_id=ingest.election.id,
                ledger_index=ingest.published_index,
                ledger_head=ingest.published_hash,
                results_sha256=results_sha256(results),
                results=results,
            )
            self.key = key
        return self.doc

    @staticmethod
    def chunks(doc: read.ResultsDocument, size: int = 1000) -> Iterator[bytes]:
        """``doc`` as compact UTF-8 JSON in field order, in pieces that join to the
        bytes of encoding it whole."""
        results = doc.results
        # ``results`` is the record's last field: ``..."results":[]}`` less ``]}``.
        yield _plain_json.encode(msgspec.structs.replace(doc, results=[]))[:-2]
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


def results_csv(doc: read.ResultsDocument) -> str:
    """One row per candidate per constituency round (UTF-8, with a header)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in doc.results:
        for c in r.candidates:
            w.writerow(
                [
                    r.race_id,
                    r.constituency_id,
                    r.constituency_name,
                    r.round,
                    r.status,
                    r.seats,
                    r.areas_reported,
                    r.areas_total,
                    r.voters_on_list,
                    r.voters_voted,
                    r.turnout_pct,
                    r.valid_ballots,
                    r.invalid_ballots,
                    c.id,
                    c.full_name,
                    c.votes,
                    c.pct,
                    "1" if c.eligible else "0",
                    "1" if c.elected else "0",
                    c.rank,
                ]
            )
    return out.getvalue()


# -- from the database (run in the reader thread) -----------------------------------------


class _Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What the area's view reads of a batch's ledger outcome (the rest is ignored)."""

    findings: list[Finding] = []
    unexplained: list[str] = []


_outcome = msgspec.json.Decoder(_Outcome)
_envelope = msgspec.json.Decoder(Envelope)


def polling_area(conn: sqlite3.Connection, ingest: Ingest, area_id: str) -> read.PollingAreaView:
    area = ingest.election.polling_areas.get(area_id)
    if area is None:
        raise ServerError(
            en=f"No polling area {area_id} in the election.",
            vi=f"Không có khu vực bỏ phiếu {area_id} trong cuộc bầu cử.",
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
    history = [
        read.MinutesRecord(
            race_id=race_id,
            round=round_,
            constituency_id=con_id,
            ledger_index=index,
            at=at,
            station_id=station,
            sequence=seq,
            digest=digest,
            correction=bool(correction),
            reason=reason,
            minutes=sheets[index][item],
        )
        for race_id, round_, index, con_id, station, seq, digest, at, correction, reason, item in (
            rows
        )
    ]
    current_index = {
        (r, rnd): i
        for r, rnd, i in conn.execute(
            "SELECT race_id, round, ledger_index FROM current WHERE polling_area_id = ?",
            (area_id,),
        )
    }
    batches = []
    findings_at: dict[int, list[Finding]] = {}
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
        o = _outcome.decode(outcome)
        findings_at[index] = o.findings
        receipt = bytes(rec)
        batches.append(
            read.BatchRecord(
                ledger_index=index,
                at=at,
                kind=kind,
                station_id=station,
                sequence=seq,
                digest=digest,
                status=status,
                outcome=answered,
                code=code,
                correction=bool(corr),
                flagged=bool(flagged),
                findings=o.findings,
                unexplained=o.unexplained,
                receipt=_envelope.decode(receipt) if receipt else None,
            )
        )
    current = []
    warnings = []
    for h in history:
        if current_index.get((h.race_id, h.round)) != h.ledger_index:
            continue
        current.append(h)
        explanations = h.minutes.explanations
        for f in findings_at.get(h.ledger_index, []):
            if f.severity == "warning" and f.race_id == h.race_id:
                text = explanations.get(f.code)
                warnings.append(
                    read.AreaWarning(
                        **msgspec.structs.asdict(f),
                        ledger_index=h.ledger_index,
                        explained=bool(text and text.strip()),
                        explanation=text,
                    )
                )
    return read.PollingAreaView(
        polling_area=area,
        races=[
            read.AreaRace(race_id=s.race.id, constituency_id=s.constituency.id)
            for s in ingest.election.races_at(area_id)
        ],
        current=current,
        history=history,
        corrections=[h for h in history if h.correction],
        warnings=warnings,
        batches=batches,
    )


ALERT_KINDS = read.ALERT_KINDS


def alerts(
    conn: sqlite3.Connection,
    ingest: Ingest,
    kind: str | None = None,
    reviewed: bool | None = None,
    limit: int = 1000,
    after: int = 0,
    *,
    offset: int = 0,
    newest_first: bool = False,
) -> read.AlertsPage:
    """One page of the alerts (and of the silent stations), with how many match
    over all pages and how many of each kind the server holds: nothing beyond a
    page is dropped unseen."""
    if kind is not None and kind not in ALERT_KINDS:
        raise ServerError(
            en=f"kind must be one of {', '.join(ALERT_KINDS)}, not {kind!r}.",
            vi=f"kind phải là một trong {', '.join(ALERT_KINDS)}, không phải {kind!r}.",
            code="A400",
            fields=("kind",),
            figures={"kind": kind},
        )
    where = " WHERE id > ?"
    params: list[int | str] = [after]
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    if reviewed is not None:
        where += " AND reviewed_at IS NOT NULL" if reviewed else " AND reviewed_at IS NULL"
    sql = (
        "SELECT id, kind, at, station_id, polling_area_id, ledger_index, codes, data, "
        "reviewed_at, review_note, reviewed_by, review_index, count, COALESCE(last_at, at), "
        "COALESCE(last_index, ledger_index) FROM alerts"
        + where
        + (" ORDER BY id DESC" if newest_first else " ORDER BY id")
        + " LIMIT ? OFFSET ?"
    )
    rows = []
    total = 0
    if kind != "silent_station":
        (total,) = conn.execute("SELECT COUNT(*) FROM alerts" + where, params).fetchone()
        for r in conn.execute(sql, [*params, limit, offset]):
            rows.append(
                read.Alert(
                    id=r[0],
                    kind=r[1],
                    at=r[2],
                    station_id=r[3],
                    polling_area_id=r[4],
                    ledger_index=r[5],
                    codes=[c for c in r[6].split(",") if c],
                    data=json.loads(r[7]),
                    reviewed=r[8] is not None,
                    reviewed_at=r[8],
                    review_note=r[9],
                    reviewed_by=r[10],
                    review_ledger_index=r[11],
                    count=r[12],
                    last_at=r[13],
                    last_ledger_index=r[14],
                )
            )
    reporting = ingest.counters.reporting
    enrolled = _enrolled_of(ingest)
    silent_total = enrolled.count - enrolled.reporting(reporting)
    silent = []
    if (kind is None or kind == "silent_station") and not reviewed:
        # Paged like the alerts when they are asked for alone, else their first page.
        skip = offset if kind == "silent_station" else 0
        wanted = enrolled.silent(reporting, skip, limit)
        marks = ",".join("?" * len(wanted))
        found = conn.execute(
            "SELECT station_id, polling_area_id, fingerprint, enrolled_at FROM keys "
            f"WHERE revoked_at IS NULL AND station_id IN ({marks}) ORDER BY station_id",
            wanted,
        )
        silent = [
            read.SilentStation(
                station_id=st[0], polling_area_id=st[1], fingerprint=st[2], enrolled_at=st[3]
            )
            for st in found
        ]
    by_kind = {
        k: (n, o)
        for k, n, o in conn.execute(
            "SELECT kind, COUNT(*), SUM(reviewed_at IS NULL) FROM alerts GROUP BY kind"
        )
    }
    counts = [
        read.KindCount(kind=k, total=by_kind.get(k, (0, 0))[0], open=by_kind.get(k, (0, 0))[1])
        for k in ALERT_KINDS
        if k != "silent_station"
    ]
    counts.append(read.KindCount(kind="silent_station", total=silent_total, open=silent_total))
    return read.AlertsPage(
        alerts=rows,
        silent_stations=silent,
        total=total,
        silent_total=silent_total,
        offset=offset,
        counts=counts,
    )


def missing(
    ingest: Ingest, committee: str | None = None, offset: int = 0, limit: int = 100
) -> read.MissingAreas:
    """The polling areas still to report, across the election or under one committee,
    each with the races it owes and whether its station is silent or not enrolled."""
    election = ingest.election
    if committee is not None and committee not in election.committees:
        raise ServerError(
            en=f"No committee {committee} in the election.",
            vi=f"Không có ủy ban bầu cử {committee} trong cuộc bầu cử.",
            code="A404",
            fields=("committee",),
            figures={"committee": committee},
        )
    area_ids = ingest.tally.missing(committee)
    reporting = ingest.counters.reporting
    station_of = _enrolled_of(ingest).station_of
    silent_total = no_station = 0
    for a in area_ids:
        st = station_of.get(a)
        if st is None:
            no_station += 1
        elif st not in reporting:
            silent_total += 1
    t = ingest.tally
    areas = []
    for a in area_ids[offset : offset + limit]:
        owed = [
            s.race.id
            for s in election.races_at(a)
            if (committee is None or _under(ingest, s.constituency.committee_id, committee))
            and a in t.result(s.race.id, s.constituency.id).missing_area_ids
        ]
        area = election.polling_areas[a]
        st = station_of.get(a)
        areas.append(
            read.MissingArea(
                polling_area_id=a,
                name=area.name,
                admin_unit=area.admin_unit,
                races_missing=owed,
                station_id=st,
                silent=st is not None and st not in reporting,
            )
        )
    return read.MissingAreas(
        scope="election" if committee is None else f"committee:{committee}",
        total=len(area_ids),
        silent_total=silent_total,
        no_station_total=no_station,
        offset=offset,
        areas=areas,
        ledger=read.LedgerPoint(index=ingest.published_index, head=ingest.published_hash),
    )


def stations(conn: sqlite3.Connection) -> read.StationList:
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
            read.StationRecord(
                station_id=station,
                polling_area_id=area,
                fingerprint=fp,
                public_key_b64=base64.b64encode(bytes(raw)).decode("ascii"),
                status="revoked" if revoked_at else "active",
                enrolled_at=enrolled_at,
                enrolled_ledger_index=enrolled_index,
                revoked_at=revoked_at,
                last_sequence=seq,
                last_batch_at=at,
            )
        )
    return read.StationList(stations=out)
