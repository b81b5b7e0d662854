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
from tally_server.core.listing import SORTS, fold
from tally_server.core.numbers import percent

__all__ = ["SORTS", "fold"]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _time(value: str | None) -> dt.datetime | None:
    """A server time ("2011-05-22T19:42:10Z"); None when there is none."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def time_text(value: str | None) -> str:
    """A server time as the reader's clock shows it ('22/05 19:42:10'), not ISO."""
    when = _time(value)
    return when.astimezone().strftime("%d/%m %H:%M:%S") if when else ""


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
    constituencies_total: int = 0
    constituencies_complete: int = 0
    seats: int = 0
    seats_filled: int = 0

    @property
    def missing(self) -> int:
        return self.areas_total - self.areas_reported

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
    stations: read.StationCounts | None = None


def _scope(r: read.Rollup, scope: str, name: str) -> ScopeProgress:
    return ScopeProgress(
        scope=scope,
        name=nfc(name),
        areas_reported=r.areas_reported,
        areas_total=r.areas_total,
        voters_on_list=r.voters_on_list,
        voters_voted=r.voters_voted,
        turnout_pct=r.turnout_pct,
        constituencies_total=r.constituencies_total,
        constituencies_complete=r.constituencies_complete,
        seats=r.seats,
        seats_filled=r.seats_filled,
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
        stations=doc.stations,
    )


# --- constituencies table ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FinalSeats:
    """A constituency's outcome over its rounds, on the rows of one that has had a
    later round (``read.FinalSeats``)."""

    seats: int
    seats_filled: int
    status: str
    rounds: tuple[str, ...]


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
    leading: tuple[str, ...] = ()
    """Who is ahead while the result is partial (as many as the seats)."""
    turnout_pct: str | None = None
    round: str = "main"
    final: FinalSeats | None = None
    """Set when the constituency has had a later round: the row's own figures are
    then one round's, and this is where the constituency stands."""
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


def row_from(r: read.ConstituencyRow) -> ConstituencyRow:
    """One row of ``GET /api/v1/constituencies``."""
    f = r.final
    final = None if f is None else FinalSeats(f.seats, f.seats_filled, f.status, tuple(f.rounds))
    return ConstituencyRow(
        race_id=r.race_id,
        constituency_id=r.constituency_id,
        name=nfc(r.name),
        committee_id=r.committee_id,
        seats=r.seats,
        areas_reported=r.areas_reported,
        areas_total=r.areas_total,
        status=r.status,
        winners=tuple(nfc(w.full_name) for w in r.winners),
        leading=tuple(nfc(w.full_name) for w in r.leading),
        turnout_pct=r.turnout_pct,
        round=r.round,
        final=final,
    )


def rows_from(doc: read.ConstituencyList) -> list[ConstituencyRow]:
    return [row_from(r) for r in doc.constituencies]


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
class ListQuery:
    """What the constituency list asks the server for: filters, search, order and
    the page (the server pages it; a national list is 35,697 rows)."""

    race_id: str | None = None
    status: str | None = None
    text: str = ""
    sort: str = "key"
    offset: int = 0

    def params(self, limit: int) -> dict[str, str | None]:
        return {
            "race": self.race_id,
            "status": self.status,
            "q": self.text.strip() or None,
            "sort": None if self.sort == "key" else self.sort,
            "offset": str(self.offset) if self.offset else None,
            "limit": str(limit),
        }


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


@dataclass(frozen=True, slots=True)
class MissingRow:
    """A polling area still to report (``read.MissingArea``)."""

    polling_area_id: str
    name: str
    admin_unit: str
    races_missing: tuple[str, ...]
    station_id: str | None
    silent: bool


def missing_from(doc: read.MissingAreas) -> list[MissingRow]:
    return [
        MissingRow(
            a.polling_area_id,
            nfc(a.name),
            nfc(a.admin_unit),
            tuple(a.races_missing),
            a.station_id,
            a.silent,
        )
        for a in doc.areas
    ]


PAGE = 50
"""Rows of a list read at a time: a screen shows one page, the server holds the
rest (a national list of 35,697 rows took 17-27 s to open whole)."""


@dataclass(frozen=True, slots=True)
class Page:
    """Where a paged list stands: its first row's place and how many rows match."""

    offset: int = 0
    total: int = 0


@dataclass(slots=True)
class Store:
    """Everything the screens show, updated from reads and feed events. The lists
    hold one page each (what the screen shows); the server holds the rest."""

    progress: Progress | None = None
    rows: dict[str, ConstituencyRow] = field(default_factory=dict)
    query: ListQuery = field(default_factory=ListQuery)
    rows_page: Page = field(default_factory=Page)
    alerts: dict[str, AlertRow] = field(default_factory=dict)
    alerts_page: Page = field(default_factory=Page)
    show_reviewed: bool = False
    alert_kind: str | None = None
    """The kind the alerts screen shows (None: every kind but silent stations)."""
    alert_counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Kind -> (held, awaiting review), whatever the screen shows."""
    alerts_allowed: bool = True
    missing: list[MissingRow] = field(default_factory=list)
    missing_page: Page = field(default_factory=Page)
    missing_committee: str | None = None
    missing_silent: int = 0
    missing_no_station: int = 0
    last_event_id: int | None = None
    events_seen: int = 0
    connection: str = "connecting"
    retry_in: float | None = None
    updated_at: dt.datetime | None = None
    """When the figures shown were last read from the server."""

    def apply_rows(self, rows: Iterable[ConstituencyRow], *, complete: bool = True) -> RowDiff:
        fresh = list(rows)
        diff = diff_rows(self.rows, fresh, complete=complete)
        if diff.added or diff.removed:
            # a new page, or rows that moved in or out of it: keep the server's order
            self.rows = {r.key: r for r in fresh}
        else:
            for row in diff.changed:
                self.rows[row.key] = row
        return diff

    def apply_alerts(self, alerts: Iterable[AlertRow]) -> bool:
        fresh = {a.id: a for a in alerts}
        if fresh == self.alerts:
            return False
        self.alerts = fresh
        return True

    def open_alerts(self) -> int:
        """Alerts awaiting review, all kinds (a silent station is not one: it ends by
        reporting)."""
        return sum(o for k, (_, o) in self.alert_counts.items() if k != "silent_station")

    def silent_stations(self) -> int:
        """The server's count (the progress), else the alerts' (the same figure)."""
        p = self.progress
        if p is not None and p.stations is not None:
            return p.stations.silent
        return self.alert_counts.get("silent_station", (0, 0))[0]

    def races(self) -> tuple[ScopeProgress, ...]:
        return () if self.progress is None else self.progress.races

    def committees(self) -> tuple[ScopeProgress, ...]:
        return () if self.progress is None else self.progress.committees
