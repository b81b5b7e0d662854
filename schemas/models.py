"""Typed, immutable records of the wire contract.

These structs are the single source of the JSON Schemas in ``schemas/json``:
``python -m schemas`` writes them and a test fails when the committed
files drift from the structs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

ELECTION_SCHEMA = "kiemphieu/election/v1"
MINUTES_SCHEMA = "kiemphieu/minutes/v1"
BATCH_SCHEMA = "kiemphieu/batch/v1"
RECEIPT_SCHEMA = "kiemphieu/receipt/v1"

Id = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Identifier: ASCII letters, digits, '.', '_' or '-', at most 64 characters.",
    ),
]
Name = Annotated[str, Meta(min_length=1, max_length=200, description="Text in Unicode NFC.")]
Text = Annotated[str, Meta(max_length=2000, description="Free text in Unicode NFC.")]
Count = Annotated[
    int, Meta(ge=0, le=1_000_000_000, description="A whole number of voters, ballots or votes.")
]
Sha256Hex = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lowercase hex.")]
Timestamp = Annotated[dt.datetime, Meta(tz=True, description="RFC 3339 time with zone.")]
Seats = Annotated[int, Meta(ge=1, le=5, description="Deputies the constituency elects.")]

RaceLevel = Literal["national_assembly", "province", "district", "commune"]
CommitteeLevel = Literal["national", "province", "district", "commune"]
Round = Literal["main", "revote", "supplementary"]
SignatoryRole = Literal["head", "secretary", "witness"]
Severity = Literal["error", "warning"]


class _Record(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration: immutable, keyword-only, strict about unknown fields."""


# --- Election definition -------------------------------------------------------------


class Candidate(_Record, frozen=True, kw_only=True):
    id: Id
    full_name: Name
    birth_date: dt.date


class Constituency(_Record, frozen=True, kw_only=True):
    """One constituency (đơn vị bầu cử) of one race."""

    id: Id
    name: Name
    committee_id: Id
    seats: Seats
    candidates: list[Candidate]
    polling_area_ids: list[Id]


class Race(_Record, frozen=True, kw_only=True):
    """One race (cuộc bầu cử): one ballot, one set of constituencies."""

    id: Id
    level: RaceLevel
    name: Name
    constituencies: list[Constituency]


class Committee(_Record, frozen=True, kw_only=True):
    """An election committee (Ủy ban bầu cử) or the National Election Council."""

    id: Id
    name: Name
    level: CommitteeLevel
    parent_id: Id | None = None


class PollingArea(_Record, frozen=True, kw_only=True):
    """One polling area (khu vực bỏ phiếu), counted by one polling team."""

    id: Id
    name: Name
    admin_unit: Name
    voters: dict[Id, Count]
    """Voters on the list, per race held here (race id -> voters)."""


class RaceTerm(_Record, frozen=True, kw_only=True):
    """What the sheets print of a race that its name does not say plainly."""

    race_id: Id
    term: Name | None = None
    """Khóa: "XVI" for the National Assembly; a council's when the race has one council."""
    period: Name | None = None
    """Nhiệm kỳ, "2026-2031"."""
    seats_basis: Text | None = None
    """The act that fixed the seats, e.g. "Nghị quyết số 1020/NQ-UBTVQH12"."""


class CouncilTerm(_Record, frozen=True, kw_only=True):
    """The council a committee elects: its place as the forms write it, and its khóa."""

    committee_id: Id
    place: Name | None = None
    """The forms' "(1)": "thành phố Hồ Chí Minh", "xã Tân Thông Hội"."""
    term: Name | None = None


class SheetMember(_Record, frozen=True, kw_only=True):
    role: Name
    """As the minutes write it: "Chủ tịch", "Phó Trưởng ban", "Ủy viên"."""
    full_name: Name


class BodyMeeting(_Record, frozen=True, kw_only=True):
    """Where a body meets to make its minutes, and who sits on it."""

    body: Annotated[str, Meta(min_length=1, max_length=130)]
    """A committee id, or "RACE/CONSTITUENCY" for an election board (Ban bầu cử)."""
    place: Text | None = None
    members: list[SheetMember] = []


class SheetFacts(_Record, frozen=True, kw_only=True):
    """What the legal forms name that the rest of the definition does not (optional:
    a sheet leaves a blank to fill by hand for anything missing)."""

    races: list[RaceTerm] = []
    councils: list[CouncilTerm] = []
    bodies: list[BodyMeeting] = []


# omit_defaults: a definition without ``sheets`` encodes to the same bytes as before.
class ElectionDefinition(_Record, frozen=True, kw_only=True, omit_defaults=True):
    schema: Literal["kiemphieu/election/v1"]
    id: Id
    name: Name
    date: dt.date
    place: Name
    committees: list[Committee]
    races: list[Race]
    polling_areas: list[PollingArea]
    sheets: SheetFacts | None = None


# --- Counting minutes (Biên bản kết quả kiểm phiếu) ---------------------------------


class Complaints(_Record, frozen=True, kw_only=True):
    received: Count = 0
    resolved: Count = 0
    forwarded: Count = 0


class Signatory(_Record, frozen=True, kw_only=True):
    role: SignatoryRole
    full_name: Name


class CountingMinutes(_Record, frozen=True, kw_only=True):
    """One polling team's counting minutes for one race (Art. 75.2)."""

    schema: Literal["kiemphieu/minutes/v1"] = "kiemphieu/minutes/v1"
    race_id: Id
    constituency_id: Id
    polling_area_id: Id
    round: Round = "main"
    voters_on_list: Count
    voters_voted: Count
    ballots_issued: Count
    ballots_received: Count
    valid_ballots: Count
    invalid_ballots: Count
    candidate_votes: dict[Id, Count]
    ballots_by_names_kept: list[Count] | None = None
    """Valid ballots by names kept: element k-1 counts the ballots keeping k names."""
    complaints: Complaints = msgspec.field(default_factory=Complaints)
    signatories: list[Signatory] = []
    explanations: dict[str, Text] = {}
    """Explanation recorded for each warning the minutes trip (rule code -> text)."""


# --- Signed result batch -------------------------------------------------------------


class ResultBatch(_Record, frozen=True, kw_only=True):
    """One polling area's minutes for one or more races, bound to their context."""

    schema: Literal["kiemphieu/batch/v1"]
    election_id: Id
    station_id: Id
    polling_area_id: Id
    sequence: Annotated[int, Meta(ge=1, le=2**53 - 1)]
    created_at: Timestamp
    minutes: Annotated[list[CountingMinutes], Meta(min_length=1, max_length=8)]
    supersedes: Sha256Hex | None = None
    """For a correction: the digest of the batch whose minutes it replaces."""
    reason: Text | None = None
    """For a correction: why the figures changed."""


# --- DSSE envelope -------------------------------------------------------------------


class EnvelopeSignature(_Record, frozen=True, kw_only=True):
    keyid: Annotated[str, Meta(max_length=64)]
    sig: Annotated[str, Meta(max_length=128)]


class Envelope(Struct, frozen=True, forbid_unknown_fields=True):
    """A DSSE envelope: the exact payload bytes (base64) and their signature."""

    payloadType: Annotated[str, Meta(max_length=100)]
    payload: str
    signatures: Annotated[list[EnvelopeSignature], Meta(min_length=1, max_length=1)]


# --- Findings and receipts -----------------------------------------------------------


class Finding(_Record, frozen=True, kw_only=True):
    """One broken rule: its stable code, where, the figures, and what it means."""

    code: Annotated[str, Meta(pattern=r"^[A-Z][0-9]{3}$")]
    severity: Severity
    race_id: Id | None = None
    fields: list[str] = []
    figures: dict[str, int | str] = {}
    message_vi: str
    message_en: str


class Receipt(_Record, frozen=True, kw_only=True):
    """The server's signed answer to a batch."""

    schema: Literal["kiemphieu/receipt/v1"]
    election_id: str
    station_id: str
    sequence: int
    batch_digest: Sha256Hex
    status: Literal["accepted", "rejected"]
    correction: bool = False
    ledger_index: Annotated[int, Meta(ge=0)]
    ledger_head: Sha256Hex
    received_at: Timestamp
    findings: list[Finding] = []


WIRE_TYPES: dict[str, type[Struct]] = {
    "election": ElectionDefinition,
    "minutes": CountingMinutes,
    "batch": ResultBatch,
    "envelope": Envelope,
    "receipt": Receipt,
}
