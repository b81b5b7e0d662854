"""Typed, immutable records of the read API: what the server answers.

One struct per answer of ``GET /api/v1/...`` and per feed event, the way
``schemas/models.py`` types what stations send. The server encodes them, the
dashboard and the sheet printer decode them strictly (``decode``), and
``python -m schemas`` writes their JSON Schemas beside the wire contract's; the
OpenAPI document refers to them. A field added on one side and not the other
fails a test, not a screen on election night.

The tally's result records (``ConstituencyResult`` and those inside it) live here:
the core computes them and they are sent as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from schemas.models import CountingMinutes, Envelope, Finding, PollingArea, Round

Status = Literal[
    "no_results",
    "partial",
    "elected",
    "revote",
    "supplementary_proposed",
    "seats_left_empty",
    "unresolved_tie",
]
STATUSES: tuple[Status, ...] = (
    "no_results",
    "partial",
    "elected",
    "revote",
    "supplementary_proposed",
    "seats_left_empty",
    "unresolved_tie",
)
AlertKind = Literal["conflict", "rejected", "correction", "warning", "rollback_detected"]
"""Kinds of stored alerts; a silent station is listed apart (``SilentStation``)."""
ALERT_KINDS: tuple[AlertKind | Literal["silent_station"], ...] = (
    "conflict",
    "rejected",
    "correction",
    "warning",
    "rollback_detected",
    "silent_station",
)
BatchStatus = Literal["accepted", "rejected"]
StationStatus = Literal["active", "revoked"]


OutcomeKind = Literal[
    "accepted",
    "invalid_request",
    "unauthenticated",
    "forbidden",
    "forbidden_context",
    "not_found",
    "not_allowed",
    "conflict",
    "stale",
    "bad_correction",
    "law_error",
    "foreign_receipt",
    "too_slow",
    "too_large",
    "throttled",
    "unavailable",
    "storage_full",
]
"""What became of a request or a batch, in the domain's terms (the
server's rejection table, tally_server/service/codes.py, gives each code one)."""


class _Answer(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration: immutable, keyword-only, strict about unknown fields."""


class LedgerPoint(_Answer, frozen=True, kw_only=True):
    """The ledger entry (index and hash) an answer was read at."""

    index: int
    head: str


# --- the tally's records -------------------------------------------------------------


class CandidateResult(_Answer, frozen=True, kw_only=True):
    id: str
    full_name: str
    birth_date: dt.date
    votes: int
    pct: str
    """Share of valid ballots, two decimals rounded half up ("60.60")."""
    eligible: bool
    """More than half of the valid ballots: 2 × votes > valid."""
    elected: bool
    rank: int
    """1 = most votes (the older first on equal votes); equal only for an unresolved
    tie; 0 while nothing is reported."""


class ConstituencyResult(_Answer, frozen=True, kw_only=True):
    race_id: str
    constituency_id: str
    constituency_name: str
    committee_id: str
    round: Round
    seats: int
    """Seats at stake in this round (a supplementary round: those left empty)."""
    areas_total: int
    areas_reported: int
    missing_area_ids: list[str]
    voters_on_list: int
    voters_voted: int
    ballots_issued: int
    ballots_received: int
    valid_ballots: int
    invalid_ballots: int
    turnout_pct: str
    valid_pct: str
    invalid_pct: str
    candidates: list[CandidateResult]
    winners: list[str]
    """The elected candidates' ids, in elected order (their names: ``candidates``)."""
    status: Status
    seats_filled: int
    unresolved_tie: list[str]
    complaints_received: int
    complaints_resolved: int
    complaints_forwarded: int
    notes_vi: str
    notes_en: str


class RoundSummary(_Answer, frozen=True, kw_only=True):
    """One round of a constituency in its final result: that round's own figures."""

    round: Round
    status: Status
    seats: int
    """Seats at stake in this round."""
    seats_filled: int
    winners: list[str]
    areas_reported: int
    areas_total: int
    voters_on_list: int
    voters_voted: int
    turnout_pct: str
    valid_ballots: int
    invalid_ballots: int


class ElectedIn(_Answer, frozen=True, kw_only=True):
    """A deputy of the constituency and the round that elected them."""

    id: str
    full_name: str
    round: Round
    votes: int
    pct: str
    """Share of that round's valid ballots."""


class FinalResult(_Answer, frozen=True, kw_only=True):
    """A constituency's result over its rounds: the main round (or the re-vote that
    took its place) and the supplementary round that filled seats it left open."""

    race_id: str
    constituency_id: str
    constituency_name: str
    seats: int
    status: Status
    """The latest round's status (the supplementary round's once it has minutes)."""
    seats_filled: int
    elected: list[ElectedIn]
    """In round order, each round's winners in its elected order."""
    rounds: list[RoundSummary]
    """Every round with minutes (the main round always)."""
    notes_vi: str
    notes_en: str


class Rollup(_Answer, frozen=True, kw_only=True):
    """Running totals of a scope: "election", "race:<id>" or "committee:<id>" (a
    committee's own constituencies and those of the committees under it).

    Areas count as reported once every race of the scope held there has its main
    round in. Voter and ballot figures are the main round's of ``voters_race_id``,
    the scope's widest race (National Assembly, else province, district,
    commune), so that one voter is counted once."""

    scope: str
    areas_total: int
    areas_reported: int
    constituencies_total: int
    constituencies_complete: int
    voters_on_list: int
    voters_voted: int
    valid_ballots: int
    invalid_ballots: int
    turnout_pct: str
    seats: int
    seats_filled: int
    by_status: dict[str, int]
    voters_race_id: str | None = None


# --- GET /api/v1/progress ----------------------------------------------------------------


class RaceRollup(Rollup, frozen=True, kw_only=True):
    race_id: str
    name: str


class CommitteeRollup(Rollup, frozen=True, kw_only=True):
    committee_id: str
    name: str


class BatchCounts(_Answer, frozen=True, kw_only=True):
    """Batches by outcome since the ledger opened (``throttled``: since the server started)."""

    accepted: int
    flagged: int
    rejected: int
    conflicts: int
    corrections: int
    throttled: int
    """Unsigned refusals answered 429 and not recorded."""


class StationCounts(_Answer, frozen=True, kw_only=True):
    enrolled: int
    reporting: int
    silent: int


class Progress(_Answer, frozen=True, kw_only=True, omit_defaults=True):
    """Where the count stands. The feed's ``progress`` event leaves out ``stations``
    and ``committees`` (they cost more than the running totals)."""

    election_id: str
    overall: Rollup
    races: list[RaceRollup]
    batches: BatchCounts
    last_batch_at: str | None
    ledger: LedgerPoint
    stations: StationCounts | None = None
    committees: list[CommitteeRollup] | None = None


# --- GET /api/v1/constituencies[/{race}/{id}] -----------------------------------------------


class Winner(_Answer, frozen=True, kw_only=True):
    id: str
    full_name: str
    votes: int
    pct: str


class FinalSeats(_Answer, frozen=True, kw_only=True):
    """A constituency's outcome over its rounds, in the list: ``FinalResult`` less
    who and the figures (the constituency's own answer has them)."""

    seats: int
    """The constituency's seats."""
    seats_filled: int
    """Over the rounds: the main round (or its re-vote) and the supplementary round."""
    status: Status
    """The latest round's status."""
    rounds: list[Round]
    """The rounds with minutes, the main round first."""


class ConstituencyRow(_Answer, frozen=True, kw_only=True, omit_defaults=True):
    """One constituency round in the list (what the dashboard's table shows)."""

    race_id: str
    constituency_id: str
    name: str
    committee_id: str
    round: Round
    seats: int
    areas_reported: int
    areas_total: int
    turnout_pct: str
    status: Status
    seats_filled: int
    winners: list[Winner]
    leading: list[Winner] = []
    """While the result is partial: the candidates ahead so far, as many as the seats
    (most votes first); left out otherwise."""
    final: FinalSeats | None = None
    """On each row of a constituency that has had a later round (a re-vote or a
    supplementary round); left out otherwise (the row's own figures are final)."""


ListSort = Literal["key", "name", "reported", "status", "turnout"]
LIST_SORTS: tuple[ListSort, ...] = ("key", "name", "reported", "status", "turnout")


class ConstituencyList(_Answer, frozen=True, kw_only=True):
    """One page of the list (every row when no ``limit`` was asked for)."""

    constituencies: list[ConstituencyRow]
    ledger: LedgerPoint
    total: int = 0
    """Rows that match the filters and search, over all pages."""
    offset: int = 0
    """The first row's place among them (0-based)."""


_CHANGED_AT = (
    "The last entry that changed this constituency; the entries after it up to the head "
    "leave this page as it is (the ledger's opening entry while none has)."
)


class ConstituencyDetail(ConstituencyResult, frozen=True, kw_only=True):
    """One constituency round's full result, with the areas reported and the result
    over all the constituency's rounds (``final``), whichever round was asked for.

    ``ledger`` is the last entry that changed this constituency; the entries after it
    up to the head leave this page as it is. It, not the head, is the page's ``ETag``:
    the same tag is always the same body."""

    reported_area_ids: list[str]
    final: FinalResult
    ledger: Annotated[LedgerPoint, Meta(description=_CHANGED_AT)]


# --- GET /api/v1/polling-areas/{id} ---------------------------------------------------------


class AreaRace(_Answer, frozen=True, kw_only=True):
    race_id: str
    constituency_id: str


class MinutesRecord(_Answer, frozen=True, kw_only=True):
    """One accepted minutes of the area, with the batch that brought it."""

    race_id: str
    round: Round
    constituency_id: str
    ledger_index: int
    at: str
    station_id: str
    sequence: int
    digest: str
    correction: bool
    reason: str | None
    minutes: CountingMinutes


class AreaWarning(Finding, frozen=True, kw_only=True):
    """A warning of a current minutes, with the team's explanation if it gave one."""

    ledger_index: int
    explained: bool
    explanation: str | None


class BatchRecord(_Answer, frozen=True, kw_only=True):
    """One batch from the area as the ledger recorded it, with the receipt sent."""

    ledger_index: int
    at: str
    kind: str
    station_id: str | None
    sequence: int | None
    digest: str | None
    status: BatchStatus
    outcome: OutcomeKind
    code: str | None
    correction: bool
    flagged: bool
    findings: list[Finding]
    unexplained: list[str]
    """Warnings without an explanation, as "race_id:code"."""
    receipt: Envelope | None


class PollingAreaView(_Answer, frozen=True, kw_only=True):
    polling_area: PollingArea
    races: list[AreaRace]
    current: list[MinutesRecord]
    """The minutes each race (and round) counts now."""
    history: list[MinutesRecord]
    corrections: list[MinutesRecord]
    warnings: list[AreaWarning]
    batches: list[BatchRecord]


# --- GET /api/v1/alerts ---------------------------------------------------------------------


class Alert(_Answer, frozen=True, kw_only=True):
    id: int
    kind: AlertKind
    at: str
    station_id: str | None
    polling_area_id: str | None
    ledger_index: int
    codes: list[str]
    data: dict[str, Any]
    """What the kind records (docs/api.md); ``AlertData`` reads the common part."""
    reviewed: bool
    reviewed_at: str | None
    review_note: str | None
    reviewed_by: str | None
    review_ledger_index: int | None
    count: int
    """Refusals of one sender and rule coalesced into this alert."""
    last_at: str
    last_ledger_index: int


class AlertData(Struct, frozen=True, kw_only=True):
    """The part of an alert's ``data`` every kind may carry: its own words, or the
    findings that raised it. The rest depends on the kind, so unknown fields pass."""

    message_vi: str | None = None
    message_en: str | None = None
    findings: list[Finding] = []


class SilentStation(_Answer, frozen=True, kw_only=True):
    """An enrolled station that has sent no accepted batch."""

    station_id: str
    polling_area_id: str
    fingerprint: str
    enrolled_at: str


class KindCount(_Answer, frozen=True, kw_only=True):
    """How many alerts of one kind the server holds, and how many await review."""

    kind: AlertKind | Literal["silent_station"]
    total: int
    open: int


class AlertsPage(_Answer, frozen=True, kw_only=True):
    alerts: list[Alert]
    silent_stations: list[SilentStation]
    total: int = 0
    """Alerts that match the filters, over all pages (silent stations apart)."""
    silent_total: int = 0
    """Silent stations, over all pages."""
    offset: int = 0
    counts: list[KindCount] = []
    """Every kind, whatever the filters: what the screen's tabs count."""


# --- GET /api/v1/missing ------------------------------------------------------------------------


class MissingArea(_Answer, frozen=True, kw_only=True):
    """A polling area that has still to report one of the scope's races."""

    polling_area_id: str
    name: str
    admin_unit: str
    races_missing: list[str]
    """The scope's races held there whose main round has no minutes yet."""
    station_id: str | None
    """The station enrolled for the area (None: none enrolled)."""
    silent: bool
    """A station is enrolled and has sent no accepted batch."""


class MissingAreas(_Answer, frozen=True, kw_only=True):
    """The areas still to report, across the election or under one committee."""

    scope: str
    """"election" or "committee:<id>"."""
    total: int
    silent_total: int
    """Of ``total``, the areas whose enrolled station is silent."""
    no_station_total: int
    """Of ``total``, the areas with no station enrolled."""
    offset: int
    areas: list[MissingArea]
    ledger: LedgerPoint


# --- GET /api/v1/stations, /results.json, /ledger/hashes, /server-key -----------------------


class StationRecord(_Answer, frozen=True, kw_only=True):
    station_id: str
    polling_area_id: str
    fingerprint: str
    public_key_b64: str
    status: StationStatus
    enrolled_at: str
    enrolled_ledger_index: int
    revoked_at: str | None
    last_sequence: int | None
    last_batch_at: str | None


class StationList(_Answer, frozen=True, kw_only=True):
    stations: list[StationRecord]


class ResultsDocument(_Answer, frozen=True, kw_only=True):
    """Every result at one ledger point; ``results_sha256`` is the SHA-256 of the
    deterministic JSON of ``results`` (what ``tally-server verify`` recomputes)."""

    election_id: str
    ledger_index: int
    ledger_head: str
    results_sha256: str
    results: list[ConstituencyResult]


class LedgerHash(_Answer, frozen=True, kw_only=True):
    index: int
    hash: str | None
    """None: the ledger has no entry at this index."""


class LedgerHashes(_Answer, frozen=True, kw_only=True):
    head_index: int
    head: str
    entries: list[LedgerHash]


class ServerKey(_Answer, frozen=True, kw_only=True):
    public_key_b64: str
    fingerprint: str
    pem: str


class ErrorDetail(_Answer, frozen=True, kw_only=True):
    code: str
    message_vi: str
    message_en: str
    fields: list[str] = []
    figures: dict[str, Any] = {}


class ErrorBody(_Answer, frozen=True, kw_only=True):
    """What every refusal answers (a 4xx, or a 5xx when the server cannot write)."""

    error: ErrorDetail


# --- the feed: GET /api/v1/feed (WebSocket) -------------------------------------------------


class RaceRound(_Answer, frozen=True, kw_only=True):
    race_id: str
    constituency_id: str
    round: Round


class BatchAccepted(_Answer, frozen=True, kw_only=True):
    ledger_index: int
    station_id: str
    polling_area_id: str
    sequence: int
    digest: str
    races: list[RaceRound]
    correction: bool
    flagged: bool


class CorrectionAccepted(BatchAccepted, frozen=True, kw_only=True):
    reason: str | None
    supersedes: str | None
    changed_races: list[str]


class AlertNews(_Answer, frozen=True, kw_only=True):
    """An alert raised (``count`` 1), joined by one more refusal (``count`` > 1), or
    reviewed (``reviewed`` true, with the note)."""

    alert_id: int
    ledger_index: int
    kind: AlertKind | None = None
    station_id: str | None = None
    polling_area_id: str | None = None
    codes: list[str] = []
    count: int = 0
    reviewed: bool = False
    note: str | None = None


class _Event(_Answer, frozen=True, kw_only=True, tag_field="type"):
    id: int
    at: str


class ProgressEvent(_Event, frozen=True, kw_only=True, tag="progress"):
    data: Progress


class BatchAcceptedEvent(_Event, frozen=True, kw_only=True, tag="batch_accepted"):
    data: BatchAccepted


class CorrectionEvent(_Event, frozen=True, kw_only=True, tag="correction"):
    data: CorrectionAccepted


class AlertEvent(_Event, frozen=True, kw_only=True, tag="alert"):
    data: AlertNews


FeedEvent = ProgressEvent | BatchAcceptedEvent | CorrectionEvent | AlertEvent
"""One text frame of the feed: ``{"id", "type", "at", "data"}``, ``type`` naming
which ``data`` it carries."""
EventType = Literal["progress", "batch_accepted", "correction", "alert"]
EventData = Progress | BatchAccepted | CorrectionAccepted | AlertNews


READ_TYPES: dict[str, object] = {
    "progress": Progress,
    "constituencies": ConstituencyList,
    "constituency": ConstituencyDetail,
    "polling-area": PollingAreaView,
    "alerts": AlertsPage,
    "missing": MissingAreas,
    "stations": StationList,
    "results": ResultsDocument,
    "ledger-hashes": LedgerHashes,
    "server-key": ServerKey,
    "feed-event": FeedEvent,
    "error": ErrorBody,
}
"""Each answer's JSON Schema file: ``schemas/json/<name>.v1.schema.json``."""
