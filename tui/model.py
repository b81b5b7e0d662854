"""What the dashboard shows, as typed records, and the pure logic behind its
tables: reading the server's JSON, diffing rows, filtering, sorting, searching.

Nothing here touches Textual or the network, so it is tested on its own.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from tally_server.core.numbers import percent


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower case without diacritics, for search: 'Nguyễn Đức' -> 'nguyen duc'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _int(doc: Mapping[str, Any], *names: str, default: int = 0) -> int:
    for name in names:
        value = doc.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


def _str(doc: Mapping[str, Any], *names: str, default: str = "") -> str:
    for name in names:
        value = doc.get(name)
        if isinstance(value, str):
            return nfc(value)
    return default


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
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


def _scope(doc: Mapping[str, Any], scope: str, names: Mapping[str, str]) -> ScopeProgress:
    batches = doc.get("batches") if isinstance(doc.get("batches"), dict) else {}
    assert isinstance(batches, dict)
    sid = _str(doc, "race_id", "committee_id", "id", default=scope)
    turnout = doc.get("turnout_pct")
    on_list = _int(doc, "voters_on_list", "voters")
    voted = _int(doc, "voters_voted", "voted")
    return ScopeProgress(
        scope=sid,
        name=_str(doc, "name", default=names.get(sid, sid)),
        areas_reported=_int(doc, "areas_reported", "polling_areas_reported"),
        areas_total=_int(doc, "areas_total", "polling_areas_total"),
        voters_on_list=on_list,
        voters_voted=voted,
        turnout_pct=turnout if isinstance(turnout, str) else str(percent(voted, on_list)),
        accepted=_int(batches, "accepted") or _int(doc, "batches_accepted", "accepted"),
        flagged=_int(batches, "flagged") or _int(doc, "batches_flagged", "flagged"),
        rejected=_int(batches, "rejected") or _int(doc, "batches_rejected", "rejected"),
        conflicts=_int(batches, "conflicts") or _int(doc, "batches_conflicts", "conflicts"),
        last_batch_at=_time(doc.get("last_batch_at")),
    )


def _scopes(value: Any, names: Mapping[str, str]) -> tuple[ScopeProgress, ...]:
    if isinstance(value, dict):
        items = [({**v, "id": v.get("id", k)}) for k, v in value.items() if isinstance(v, dict)]
    elif isinstance(value, list):
        items = [v for v in value if isinstance(v, dict)]
    else:
        items = []
    return tuple(_scope(v, "", names) for v in items)


def parse_progress(doc: Any, names: Mapping[str, str] | None = None) -> Progress:
    """Read ``GET /api/v1/progress`` (or a ``progress`` feed event's data): the
    batch counts and the last batch time are the election's, at the top level."""
    names = names or {}
    doc = doc if isinstance(doc, dict) else {}
    overall_doc = doc.get("overall") if isinstance(doc.get("overall"), dict) else doc
    assert isinstance(overall_doc, dict)
    merged = {"batches": doc.get("batches"), "last_batch_at": doc.get("last_batch_at")}
    merged.update({k: v for k, v in overall_doc.items() if v is not None})
    ledger = doc.get("ledger") if isinstance(doc.get("ledger"), dict) else {}
    assert isinstance(ledger, dict)
    head = _str(ledger, "head", "hash") or _str(doc, "ledger_head") or None
    index = ledger.get("index", doc.get("ledger_index"))
    return Progress(
        overall=_scope(merged, "election", names),
        races=_scopes(doc.get("races"), names),
        committees=_scopes(doc.get("committees"), names),
        ledger_index=index if isinstance(index, int) else None,
        ledger_head=head,
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


def parse_row(doc: Mapping[str, Any]) -> ConstituencyRow:
    winners_raw = doc.get("winners") or []
    winners: list[str] = []
    for w in winners_raw if isinstance(winners_raw, list) else []:
        if isinstance(w, str):
            winners.append(nfc(w))
        elif isinstance(w, dict):
            winners.append(_str(w, "full_name", "name", "id"))
    race_id = _str(doc, "race_id")
    cid = _str(doc, "constituency_id", "id")
    name = _str(doc, "constituency_name", "name", default=cid)
    turnout = doc.get("turnout_pct")
    return ConstituencyRow(
        race_id=race_id,
        constituency_id=cid,
        name=name,
        committee_id=_str(doc, "committee_id"),
        seats=_int(doc, "seats"),
        areas_reported=_int(doc, "areas_reported"),
        areas_total=_int(doc, "areas_total"),
        status=_str(doc, "status", default="no_results"),
        winners=tuple(winners),
        turnout_pct=turnout if isinstance(turnout, str) else None,
        round=_str(doc, "round", default="main"),
        search_key=fold(" ".join([race_id, cid, name, *winners])),
    )


def parse_rows(doc: Any) -> list[ConstituencyRow]:
    """Read ``GET /api/v1/constituencies`` (a list, or ``{"constituencies": [...]}``)."""
    items = doc.get("constituencies", doc.get("results", [])) if isinstance(doc, dict) else doc
    return [parse_row(d) for d in items or [] if isinstance(d, dict)]


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


def sort_value(row: ConstituencyRow, column: str) -> Any:
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


def _natural(text: str) -> tuple[Any, ...]:
    """'QH-10' after 'QH-9'."""
    parts: list[Any] = []
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


def _messages(data: Mapping[str, Any]) -> tuple[str, str]:
    """The alert's own words, else its findings' messages."""
    vi, en = _str(data, "message_vi"), _str(data, "message_en")
    if vi or en:
        return vi, en
    findings = [f for f in data.get("findings") or [] if isinstance(f, dict)]
    return (
        " · ".join(_str(f, "message_vi") for f in findings),
        " · ".join(_str(f, "message_en") for f in findings),
    )


def parse_alert(doc: Mapping[str, Any]) -> AlertRow:
    codes = [c for c in doc.get("codes") or [] if isinstance(c, str)]
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    assert isinstance(data, dict)
    for f in data.get("findings") or []:
        if isinstance(f, dict) and isinstance(f.get("code"), str) and f["code"] not in codes:
            codes.append(f["code"])
    vi, en = _messages(data)
    return AlertRow(
        id=str(doc.get("id", "")),
        kind=_str(doc, "kind"),
        at=_time(doc.get("at")),
        station_id=_str(doc, "station_id"),
        polling_area_id=_str(doc, "polling_area_id"),
        codes=tuple(codes),
        message_vi=vi,
        message_en=en,
        reviewed=bool(doc.get("reviewed")),
        note=_str(doc, "review_note"),
        count=max(1, _int(doc, "count", default=1)),
    )


SILENT_PREFIX = "silent:"


def parse_alerts(doc: Any) -> list[AlertRow]:
    """Read ``GET /api/v1/alerts``: the alerts, then each silent station as a
    row of its own (id ``silent:<station>``, nothing to review)."""
    if not isinstance(doc, dict):
        return []
    rows = [parse_alert(d) for d in doc.get("alerts") or [] if isinstance(d, dict)]
    for st in doc.get("silent_stations") or []:
        if isinstance(st, dict):
            station = _str(st, "station_id")
            rows.append(
                AlertRow(
                    id=SILENT_PREFIX + station,
                    kind="silent_station",
                    at=_time(st.get("enrolled_at")),
                    station_id=station,
                    polling_area_id=_str(st, "polling_area_id"),
                    codes=(),
                    message_vi="Trạm đã đăng ký nhưng chưa gửi kết quả.",
                    message_en="Station enrolled but has sent no result yet.",
                    reviewed=False,
                )
            )
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

    def __init__(self, election: Any) -> None:
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

    def apply(self, type_: str, at: str, data: Mapping[str, Any]) -> bool:
        """Count one event; True when it changed a count."""
        if type_ == "batch_accepted":
            races = [r for r in data.get("races") or [] if isinstance(r, dict)]
            scopes = self._scopes((_str(r, "race_id"), _str(r, "constituency_id")) for r in races)
            when = _time(at)
            for scope in scopes:
                c = self.by_scope.setdefault(scope, Counts())
                c.accepted += 1
                c.flagged += 1 if data.get("flagged") else 0
                if when is not None and (c.last_batch_at is None or when > c.last_batch_at):
                    c.last_batch_at = when
            return bool(scopes)
        if type_ == "alert" and data.get("kind") in ("rejected", "conflict"):
            area = data.get("polling_area_id")
            scopes = self._area(area) if isinstance(area, str) else ()
            for scope in scopes:
                c = self.by_scope.setdefault(scope, Counts())
                if data["kind"] == "rejected":
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
