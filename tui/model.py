"""What the dashboard shows, as typed records, and the pure logic behind its
tables: turning the server's answers (``schemas/read.py``, decoded strictly by
``tui.client``) into rows, diffing them, filtering, sorting, searching.

Nothing here touches Textual or the network, so it is tested on its own.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

import msgspec

from schemas import read
from tally_server.core.definition import Election
from tally_server.core.numbers import percent


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower case without diacritics, for search: 'Nguyễn Đức' -> 'nguyen duc'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _time(value: str | None) -> dt.datetime | None:
    """A server time ("2011-05-22T19:42:10Z"); None when there is none."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def pct_text(value: str | None) -> str:
    """'75.08' -> '75,08%' (Vietnamese form, as the minutes print it)."""
    if not value:
        return "—"
    try:
        d = Decimal(value)
    except InvalidOperation:
        return value
    return f"{d:.2f}".replace(".", ",") + "%"


def since_text(when: dt.datetime | None, now: dt.datetime, never: str) -> str:
    """'12 s', '3 min', '2 h 05' — how long ago the last batch arrived."""
    if when is None:
        return never
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"


# --- progress -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeProgress:
    """Progress of the whole election, one race, or one committee."""

    scope: str
    name: str
    areas_reported: int = 0
    areas_total: int = 0
    voters_on_list: int = 0
    voters_voted: int = 0
    turnout_pct: str = "0.00"
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    conflicts: int = 0
    last_batch_at: dt.datetime | None = None

    @property
    def reported_pct(self) -> Decimal:
        return percent(self.areas_reported, self.areas_total)


@dataclass(frozen=True, slots=True)
class Progress:
    overall: ScopeProgress
    races: tuple[ScopeProgress, ...] = ()
    committees: tuple[ScopeProgress, ...] = ()
    ledger_index: int | None = None
    ledger_head: str | None = None


def _scope(r: read.Rollup, scope: str, name: str) -> ScopeProgress:
    return ScopeProgress(
        scope=scope,
        name=nfc(name),
        areas_reported=r.areas_reported,
        areas_total=r.areas_total,
        voters_on_list=r.voters_on_list,
        voters_voted=r.voters_voted,
        turnout_pct=r.turnout_pct,
    )


def progress_from(doc: read.Progress) -> Progress:
    """``GET /api/v1/progress`` (or a ``progress`` feed event's data, which has no
    committees): the batch counts and the last batch time are the election's."""
    b = doc.batches
    overall = replace(
        _scope(doc.overall, "election", doc.election_id),
        accepted=b.accepted,
        flagged=b.flagged,
        rejected=b.rejected,
        conflicts=b.conflicts,
        last_batch_at=_time(doc.last_batch_at),
    )
    return Progress(
        overall=overall,
        races=tuple(_scope(r, r.race_id, r.name) for r in doc.races),
        committees=tuple(_scope(c, c.committee_id, c.name) for c in doc.committees or ()),
        ledger_index=doc.ledger.index,
        ledger_head=doc.ledger.head,
    )


# --- constituencies table ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConstituencyRow:
    race_id: str
    constituency_id: str
    name: str
    committee_id: str
    seats: int
    areas_reported: int
    areas_total: int
    status: str
    winners: tuple[str, ...] = ()
    turnout_pct: str | None = None
    round: str = "main"
    search_key: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return row_key(self.race_id, self.constituency_id, self.round)


def row_key(race_id: str, constituency_id: str, round_: str = "main") -> str:
    """'QH/QH-10' for the main round, 'QH/QH-10/revote' for a later one."""
    base = f"{race_id}/{constituency_id}"
    return base if round_ == "main" else f"{base}/{round_}"


def split_key(key: str) -> tuple[str, str, str]:
    race_id, constituency_id, *rest = key.split("/")
    return race_id, constituency_id, rest[0] if rest else "main"


def _row(
    r: read.ConstituencyRow | read.ConstituencyResult, name: str, winners: Sequence[str]
) -> ConstituencyRow:
    names = tuple(nfc(w) for w in winners)
    return ConstituencyRow(
        race_id=r.race_id,
        constituency_id=r.constituency_id,
        name=nfc(name),
        committee_id=r.committee_id,
        seats=r.seats,
        areas_reported=r.areas_reported,
        areas_total=r.areas_total,
        status=r.status,
        winners=names,
        turnout_pct=r.turnout_pct,
        round=r.round,
        search_key=fold(" ".join([r.race_id, r.constituency_id, name, *names])),
    )


def row_from(r: read.ConstituencyRow) -> ConstituencyRow:
    """One row of ``GET /api/v1/constituencies``."""
    return _row(r, r.name, [w.full_name for w in r.winners])


def rows_from(doc: read.ConstituencyList) -> list[ConstituencyRow]:
    return [row_from(r) for r in doc.constituencies]


def row_from_result(r: read.ConstituencyResult) -> ConstituencyRow:
    """The row of one constituency's full result (``GET /api/v1/constituencies/{race}/
    {id}``), read again after a live change: its winners are ids, named from its
    candidates, so the row reads as the list's does."""
    names = {c.id: c.full_name for c in r.candidates}
    return _row(r, r.constituency_name, [names[w] for w in r.winners if w in names])


@dataclass(frozen=True, slots=True)
class RowDiff:
    added: tuple[ConstituencyRow, ...]
    changed: tuple[ConstituencyRow, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def diff_rows(
    old: Mapping[str, ConstituencyRow], new: Iterable[ConstituencyRow], *, complete: bool = True
) -> RowDiff:
    """What changed between the rows shown and a fresh read. With ``complete``
    False the fresh read is a subset (rows not in it are kept, not removed)."""
    added, changed = [], []
    seen = set()
    for row in new:
        seen.add(row.key)
        before = old.get(row.key)
        if before is None:
            added.append(row)
        elif before != row:
            changed.append(row)
    removed = tuple(k for k in old if k not in seen) if complete else ()
    return RowDiff(tuple(added), tuple(changed), removed)


@dataclass(frozen=True, slots=True)
class RowFilter:
    race_id: str | None = None
    status: str | None = None
    text: str = ""

    def matches(self, row: ConstituencyRow) -> bool:
        if self.race_id is not None and row.race_id != self.race_id:
            return False
        if self.status is not None and row.status != self.status:
            return False
        if self.text:
            return all(word in row.search_key for word in fold(self.text).split())
        return True


SORT_KEYS = ("key", "name", "reported", "status", "turnout")


def sort_value(row: ConstituencyRow, column: str) -> tuple[object, ...]:
    if column == "name":
        return (fold(row.name), row.key)
    if column == "reported":
        # fewest reported (share) first: where the night is slowest
        done = row.areas_reported * 10_000 // row.areas_total if row.areas_total else 0
        return (done, row.key)
    if column == "status":
        return (row.status, row.key)
    if column == "turnout":
        return (Decimal(row.turnout_pct or "0"), row.key)
    return (row.race_id, _natural(row.constituency_id))


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """'QH-10' after 'QH-9'."""
    parts: list[tuple[int, int | str]] = []
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
            continue
        if digits:
            parts.append((0, int(digits)))
            digits = ""
        parts.append((1, ch))
    if digits:
        parts.append((0, int(digits)))
    return tuple(parts)


# --- alerts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    kind: str
    at: dt.datetime | None
    station_id: str
    polling_area_id: str
    codes: tuple[str, ...]
    message_vi: str
    message_en: str
    reviewed: bool
    note: str = ""
    count: int = 1
    """Refusals of one sender and rule coalesced into this alert."""


def alert_from(a: read.Alert) -> AlertRow:
    """One alert of ``GET /api/v1/alerts``: its own words, else its findings'."""
    data = msgspec.convert(a.data, read.AlertData)
    codes = list(a.codes)
    codes += [f.code for f in data.findings if f.code not in codes]
    if data.message_vi or data.message_en:
        vi, en = data.message_vi or "", data.message_en or ""
    else:
        vi = " · ".join(f.message_vi for f in data.findings)
        en = " · ".join(f.message_en for f in data.findings)
    return AlertRow(
        id=str(a.id),
        kind=a.kind,
        at=_time(a.at),
        station_id=a.station_id or "",
        polling_area_id=a.polling_area_id or "",
        codes=tuple(codes),
        message_vi=nfc(vi),
        message_en=nfc(en),
        reviewed=a.reviewed,
        note=nfc(a.review_note or ""),
        count=a.count,
    )


SILENT_PREFIX = "silent:"


def alerts_from(doc: read.AlertsPage) -> list[AlertRow]:
    """``GET /api/v1/alerts``: the alerts, then each silent station as a row of its
    own (id ``silent:<station>``, nothing to review)."""
    rows = [alert_from(a) for a in doc.alerts]
    rows += [
        AlertRow(
            id=SILENT_PREFIX + st.station_id,
            kind="silent_station",
            at=_time(st.enrolled_at),
            station_id=st.station_id,
            polling_area_id=st.polling_area_id,
            codes=(),
            message_vi="Trạm đã đăng ký nhưng chưa gửi kết quả.",
            message_en="Station enrolled but has sent no result yet.",
            reviewed=False,
        )
        for st in doc.silent_stations
    ]
    return rows


# --- batches per race and committee, from the feed ------------------------------------------


@dataclass(slots=True)
class Counts:
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    conflicts: int = 0
    last_batch_at: dt.datetime | None = None


class BatchCounters:
    """Batches by outcome for each race ('race:QH') and committee ('committee:X',
    counted for the committee and every committee above it), from feed events
    replayed from the first one: the server's progress gives them only overall."""

    def __init__(self, election: Election) -> None:
        self.election = election
        self.by_scope: dict[str, Counts] = {}
        self._area_scopes: dict[str, tuple[str, ...]] = {}

    def _committee_chain(self, committee_id: str) -> list[str]:
        out: list[str] = []
        cur: str | None = committee_id
        while cur is not None and cur not in out:
            out.append(cur)
            committee = self.election.committees.get(cur)
            cur = committee.parent_id if committee is not None else None
        return out

    def _scopes(self, pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
        scopes: dict[str, None] = {}
        for race_id, constituency_id in pairs:
            scopes[f"race:{race_id}"] = None
            con = self.election.constituencies.get((race_id, constituency_id))
            if con is not None:
                for c in self._committee_chain(con.committee_id):
                    scopes[f"committee:{c}"] = None
        return tuple(scopes)

    def _area(self, area_id: str) -> tuple[str, ...]:
        if area_id not in self._area_scopes:
            pairs = [(s.race.id, s.constituency.id) for s in self.election.races_at(area_id)]
            self._area_scopes[area_id] = self._scopes(pairs)
        return self._area_scopes[area_id]

    def apply(self, event: read.FeedEvent) -> bool:
        """Count one event; True when it changed a count."""
        if isinstance(event, read.BatchAcceptedEvent):
            data = event.data
            scopes = self._scopes((r.race_id, r.constituency_id) for r in data.races)
            when = _time(event.at)
            for scope in scopes:
                c = self.by_scope.setdefault(scope, Counts())
                c.accepted += 1
                c.flagged += 1 if data.flagged else 0
                if when is not None and (c.last_batch_at is None or when > c.last_batch_at):
                    c.last_batch_at = when
            return bool(scopes)
        if isinstance(event, read.AlertEvent) and event.data.kind in ("rejected", "conflict"):
            # Counted when raised and when joined by a refusal, not when reviewed.
            area = event.data.polling_area_id
            scopes = self._area(area) if area is not None else ()
            for scope in scopes:
                c = self.by_scope.setdefault(scope, Counts())
                if event.data.kind == "rejected":
                    c.rejected += 1
                else:
                    c.conflicts += 1
            return bool(scopes)
        return False

    def fill(self, p: ScopeProgress, kind: str) -> ScopeProgress:
        """``p`` (a race's or a committee's progress) with its batch counts."""
        c = self.by_scope.get(f"{kind}:{p.scope}")
        if c is None:
            return p
        return replace(
            p,
            accepted=c.accepted,
            flagged=c.flagged,
            rejected=c.rejected,
            conflicts=c.conflicts,
            last_batch_at=c.last_batch_at,
        )


# --- majority bar ----------------------------------------------------------------------------


def majority_bar(pct: str, width: int = 30) -> tuple[int, int]:
    """(cells filled, column of the 50% line) for a share of valid ballots."""
    try:
        share = Decimal(pct)
    except InvalidOperation:
        share = Decimal(0)
    share = min(max(share, Decimal(0)), Decimal(100))
    filled = int((share * width / 100).to_integral_value())
    return filled, width // 2


def unique(seq: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(seq))


# --- the dashboard's store -------------------------------------------------------------------


@dataclass(slots=True)
class Store:
    """Everything the screens show, updated from reads and feed events."""

    progress: Progress | None = None
    counters: BatchCounters | None = None
    rows: dict[str, ConstituencyRow] = field(default_factory=dict)
    alerts: dict[str, AlertRow] = field(default_factory=dict)
    alerts_allowed: bool = True
    last_event_id: int | None = None
    events_seen: int = 0
    connection: str = "connecting"
    retry_in: float | None = None

    def apply_rows(self, rows: Iterable[ConstituencyRow], *, complete: bool = True) -> RowDiff:
        diff = diff_rows(self.rows, rows, complete=complete)
        for row in diff.added + diff.changed:
            self.rows[row.key] = row
        for key in diff.removed:
            del self.rows[key]
        return diff

    def apply_alerts(self, alerts: Iterable[AlertRow]) -> bool:
        fresh = {a.id: a for a in alerts}
        if fresh == self.alerts:
            return False
        self.alerts = fresh
        return True

    def open_alerts(self) -> int:
        """Alerts awaiting review (a silent station is not one: it ends by reporting)."""
        return sum(1 for a in self.alerts.values() if not a.reviewed and a.kind != "silent_station")

    def silent_stations(self) -> int:
        return sum(1 for a in self.alerts.values() if a.kind == "silent_station")

    def races(self) -> tuple[ScopeProgress, ...]:
        """Each race's progress with its batch counts from the feed."""
        if self.progress is None:
            return ()
        c = self.counters
        return tuple(c.fill(p, "race") if c else p for p in self.progress.races)

    def committees(self) -> tuple[ScopeProgress, ...]:
        if self.progress is None:
            return ()
        c = self.counters
        return tuple(c.fill(p, "committee") if c else p for p in self.progress.committees)
