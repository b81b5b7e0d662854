"""What happens to one envelope: the pure decision shared by the server and ``verify``.

``decide`` looks at the bytes and at the ledger's state so far and says what
the answer is and what the ledger records; ``LedgerState.record`` then moves
the state on. No I/O and no clock: replaying a ledger's envelopes through the
same two functions must give the same outcomes byte for byte, which is how
``tally-server verify`` re-checks every decision the server made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas import codec
from schemas.errors import DecodeError, KiemphieuError, SignatureError
from schemas.models import CountingMinutes, Finding, Receipt, ResultBatch
from schemas.signing import (
    BATCH_TYPE,
    Opened,
    VerifyKey,
    open_envelope,
    open_read,
    pae,
    read_envelope,
    weak_key,
    weak_key_error,
)
from tally_server.core import rules
from tally_server.core.definition import Election
from tally_server.core.fields import COUNT_NAMES
from tally_server.core.numbers import vn_int
from tally_server.core.tally import first_round_of
from tally_server.service.codes import (
    RECEIPTED,
    OutcomeKind,
    error_finding,
    finding_of,
    outcome_of,
)
from tally_server.store import ledger

MinutesKey = tuple[str, str, str]
"""(polling area id, race id, round)."""


class Outcome(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the ledger records about one batch envelope (canonical JSON)."""

    status: Literal["accepted", "rejected"]
    outcome: OutcomeKind
    """What became of it (service/codes.py): ``accepted``, or the rejection's outcome."""
    code: str | None = None
    """The rule that decided a rejection (the first error)."""
    keyid: str | None = None
    batch_digest: str | None = None
    station_id: str | None = None
    polling_area_id: str | None = None
    sequence: int | None = None
    correction: bool = False
    findings: list[Finding] = []
    unexplained: list[str] = []
    """Warnings without an explanation, as "race_id:code"."""

    def encode(self) -> bytes:
        return codec.encode(self)


_outcome_decoder = msgspec.json.Decoder(Outcome)

UNSIGNED_CODES = frozenset({"K401", "K402", "S201", "S202", "S203"})
"""Refusals decided before any enrolled station's signature holds: anyone can cause
them, so the ledger keeps a digest of what came, not the bytes."""

KEYID_SHOWN = 64


class UnsignedOutcome(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the ledger records about an envelope refused before a valid signature
    (canonical JSON; the entry's ``envelope`` is empty)."""

    status: Literal["rejected"]
    outcome: OutcomeKind
    code: str
    keyid: str | None
    """As sent, made printable and at most 64 characters."""
    received_sha256: str
    """SHA-256 of the bytes received, lowercase hex."""
    received_bytes: int
    station_id: str | None = None
    polling_area_id: str | None = None
    findings: list[Finding] = []

    def encode(self) -> bytes:
        return codec.encode(self)


_unsigned_decoder = msgspec.json.Decoder(UnsignedOutcome, strict=True)


def decode_unsigned(data: bytes) -> UnsignedOutcome:
    return _unsigned_decoder.decode(data)


def unsigned_record(outcome: Outcome, body: bytes) -> bytes:
    """The ledger's outcome for an unsigned refusal of ``body``."""
    return unsigned_outcome(outcome, hashlib.sha256(body).hexdigest(), len(body)).encode()


def unsigned_outcome(outcome: Outcome, received_sha256: str, size: int) -> UnsignedOutcome:
    assert outcome.code is not None
    return UnsignedOutcome(
        status="rejected",
        outcome=outcome.outcome,
        code=outcome.code,
        keyid=outcome.keyid,
        received_sha256=received_sha256,
        received_bytes=size,
        station_id=outcome.station_id,
        polling_area_id=outcome.polling_area_id,
        findings=outcome.findings,
    )


def shown_keyid(keyid: str | None) -> str | None:
    """A key id as sent, safe to store and show: NFC, control and other unprintable
    characters replaced, at most ``KEYID_SHOWN`` characters."""
    if keyid is None:
        return None
    text = unicodedata.normalize("NFC", keyid)
    text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= KEYID_SHOWN else text[: KEYID_SHOWN - 1] + "…"


def decode_outcome(data: bytes) -> Outcome:
    return _outcome_decoder.decode(data)


@dataclass(slots=True)
class StationKey:
    fingerprint: str
    station_id: str
    polling_area_id: str
    key: VerifyKey
    enrolled_index: int
    revoked: bool = False

    def verify(self, opened: Opened) -> None:
        """``opened.verify(self.key)``, the same checks and errors."""
        # Loaded per call, which is cheap: kept, the loaded keys of a national night's
        # stations would hold much memory, and a station mostly sends one batch.
        loaded = Ed25519PublicKey.from_public_bytes(self.key.raw)
        try:
            loaded.verify(opened.signature, pae(opened.payload_type, opened.payload))
        except InvalidSignature:
            opened.verify(self.key)  # raises the one SignatureError (S201) there is
            raise


@dataclass(frozen=True, slots=True)
class AcceptedRef:
    station_id: str
    polling_area_id: str
    sequence: int
    digest: str
    ledger_index: int


@dataclass(frozen=True, slots=True)
class _Who:
    """What is known of a rejected envelope's sender, for the ledger."""

    keyid: str | None = None
    digest: str | None = None
    station_id: str | None = None
    polling_area_id: str | None = None
    sequence: int | None = None
    batch: ResultBatch | None = None


FetchEnvelope = Callable[[int], bytes]
"""The envelope bytes the ledger recorded at an index (an accepted batch's)."""


@dataclass(frozen=True, slots=True)
class Current:
    """The minutes now counted for one (area, race, round), read back from the ledger."""

    minutes: CountingMinutes
    digest: str
    ledger_index: int


@dataclass(slots=True)
class Decision:
    answer: OutcomeKind
    """What the sender is answered (the web layer picks the HTTP status)."""
    kind: str
    """The ledger entry kind, or "duplicate" / "invalid" for what is not recorded."""
    outcome: Outcome | None = None
    batch: ResultBatch | None = None
    error: KiemphieuError | None = None
    duplicate_of: AcceptedRef | None = None
    unsigned: bool = False
    """Refused before a valid signature: the ledger keeps a digest, not the bytes."""
    received: tuple[str, int] | None = None
    """(SHA-256, size) of the bytes refused unsigned, when only the ledger's digest of
    them is at hand (a replay of the entry: service/integrity.py)."""
    changed: list[CountingMinutes] = field(default_factory=list)
    replaced: list[CountingMinutes | None] = field(default_factory=list)
    """For each minutes of ``batch``, the minutes it replaces in the count (None: the
    first of its area, race and round)."""

    @property
    def station(self) -> str:
        return (self.outcome.station_id or "") if self.outcome else ""

    @property
    def has_receipt(self) -> bool:
        return self.outcome is not None and outcome_has_receipt(self.outcome)

    def recorded(self, body: bytes) -> tuple[bytes, bytes]:
        """(envelope, outcome) as the ledger entry holds them."""
        assert self.outcome is not None
        if self.unsigned:
            if self.received is not None:
                sha256, size = self.received
                return b"", unsigned_outcome(self.outcome, sha256, size).encode()
            return b"", unsigned_record(self.outcome, body)
        return body, self.outcome.encode()


def outcome_has_receipt(o: Outcome) -> bool:
    """A receipt answers every batch that got as far as its sequence number."""
    return o.sequence is not None and o.outcome in RECEIPTED


_FIGURE_FIELDS = (
    "constituency_id",
    *COUNT_NAMES,
    "candidate_votes",
    "ballots_by_names_kept",
    "complaints",
)


def figures_differ(old: CountingMinutes, new: CountingMinutes) -> bool:
    """A correction changes figures; new signatories or explanations alone do not."""
    return any(getattr(old, name) != getattr(new, name) for name in _FIGURE_FIELDS)


class CountedIndex:
    """(area, race, round) -> the ledger index of the minutes counted there.

    The main round of every (polling area, race) of the definition has a slot in an
    array (8 bytes each, a tenth of what a dict of tuples took);
    other rounds, rare, and anything outside the definition are kept in a dict."""

    _NONE = -1

    def __init__(self, election: Election) -> None:
        self._races = {race.id: i for i, race in enumerate(election.definition.races)}
        self._areas = {area_id: i for i, area_id in enumerate(election.polling_areas)}
        self._main = array("q", [self._NONE]) * (len(self._areas) * len(self._races))
        self._other: dict[MinutesKey, int] = {}
        self._count = 0

    def _slot(self, key: MinutesKey) -> int | None:
        area_id, race_id, round_ = key
        if round_ != "main":
            return None
        area, race = self._areas.get(area_id), self._races.get(race_id)
        if area is None or race is None:
            return None
        return area * len(self._races) + race

    def get(self, key: MinutesKey) -> int | None:
        slot = self._slot(key)
        if slot is None:
            return self._other.get(key)
        index = self._main[slot]
        return None if index == self._NONE else index

    def __setitem__(self, key: MinutesKey, index: int) -> None:
        slot = self._slot(key)
        if slot is None:
            if key not in self._other:
                self._count += 1
            # Interned: the keys of this dict outlive the batch they were decoded from.
            self._other[(sys.intern(key[0]), sys.intern(key[1]), sys.intern(key[2]))] = index
            return
        if self._main[slot] == self._NONE:
            self._count += 1
        self._main[slot] = index

    def __len__(self) -> int:
        return self._count


class LedgerState:
    """Everything a decision depends on, rebuilt from the ledger (or the database).

    Of the minutes now counted only the ledger index is kept (a national night has
    ~336,000 of them, and only a correction or a resend of the same (area, race,
    round) needs one back): ``fetch`` reads the envelope recorded there. The server
    fetches from its database, or from the write group not yet on disk; ``verify``
    from the export it holds.
    """

    def __init__(self, election: Election, fetch: FetchEnvelope) -> None:
        self.election = election
        self.fetch = fetch
        self.keys: dict[str, StationKey] = {}
        self.station_keys: dict[str, str] = {}
        """station id -> fingerprint of its latest enrolled key."""
        self.keys_changed = 0
        """Counts enrolments and revocations: what reads the keys may keep until it moves."""
        self.last_sequence: dict[str, int] = {}
        self.accepted: dict[tuple[str, int], AcceptedRef] = {}
        self.by_digest: dict[str, AcceptedRef] = {}
        self.current = CountedIndex(election)
        """(area, race, round) -> ledger index of the batch whose minutes count."""
        self._first: dict[tuple[str, str], rules.FirstRound] = {}
        """(race, constituency) -> its first round, as worked out for a supplementary
        minutes; dropped when a minutes of that round is counted."""

    # -- enrolment ----------------------------------------------------------------------

    def enroll(self, key: StationKey) -> None:
        self.keys[key.fingerprint] = key
        self.station_keys[key.station_id] = key.fingerprint
        self.keys_changed += 1

    def revoke(self, fingerprint: str) -> None:
        self.keys[fingerprint].revoked = True
        self.keys_changed += 1

    def active_key(self, station_id: str) -> StationKey | None:
        fp = self.station_keys.get(station_id)
        key = self.keys.get(fp) if fp else None
        return key if key is not None and not key.revoked else None

    # -- batches ------------------------------------------------------------------------

    def record(self, decision: Decision, ledger_index: int) -> None:
        """Move the state on after ``decision`` was written at ``ledger_index``."""
        o, batch = decision.outcome, decision.batch
        if o is None or o.status != "accepted" or batch is None:
            return
        assert o.batch_digest is not None
        # The enrolment's strings (equal to the batch's, or it was not accepted).
        station_id = o.station_id or batch.station_id
        area_id = o.polling_area_id or batch.polling_area_id
        ref = AcceptedRef(station_id, area_id, batch.sequence, o.batch_digest, ledger_index)
        self.accepted[(station_id, batch.sequence)] = ref
        self.by_digest[o.batch_digest] = ref
        if batch.sequence > self.last_sequence.get(station_id, 0):
            self.last_sequence[station_id] = batch.sequence
        for m in batch.minutes:
            self.count(m.polling_area_id, m.race_id, m.round, ledger_index)

    def count(self, area_id: str, race_id: str, round_: str, ledger_index: int) -> None:
        """The minutes of (area, race, round) now counted are those of this entry."""
        self.current[(area_id, race_id, round_)] = ledger_index
        if self._first and round_ != "supplementary":
            seat = self.election.seats.get((area_id, race_id))
            if seat is not None:
                self._first.pop((race_id, seat.constituency.id), None)

    def first_round(self, race_id: str, constituency_id: str) -> rules.FirstRound:
        """The result of the constituency's first round (its re-vote if it has one, else
        its main round) from the minutes the ledger counts now: what a supplementary
        minutes is checked against. Worked out from the ledger alone, so ``verify``
        replaying in ledger order gets the same answer the server did."""
        key = (race_id, constituency_id)
        first = self._first.get(key)
        if first is None:
            con = self.election.constituencies[key]
            minutes = [
                cur.minutes
                for rnd in ("main", "revote")
                for area in con.polling_area_ids
                if (cur := self.counted((area, race_id, rnd))) is not None
            ]
            first = self._first[key] = first_round_of(
                self.election, race_id, constituency_id, minutes
            )
        return first

    def counted(self, key: MinutesKey) -> Current | None:
        """The minutes now counted for ``key``, read back from the ledger."""
        index = self.current.get(key)
        if index is None:
            return None
        payload, batch = read_accepted(self.fetch(index))
        # The last match: ``record`` let a later minutes of a batch replace an earlier one.
        for m in reversed(batch.minutes):
            if (m.polling_area_id, m.race_id, m.round) == key:
                return Current(m, hashlib.sha256(payload).hexdigest(), index)
        raise LookupError(f"ledger entry {index} holds no minutes for {key}")


def _reject(error: KiemphieuError, who: _Who = _Who()) -> Decision:
    """A refusal answered with an error (no receipt), recorded in the ledger."""
    answer = outcome_of(error.code, batch=True)
    return Decision(
        answer=answer,
        kind=ledger.BATCH_REJECTED,
        outcome=Outcome(
            status="rejected",
            outcome=answer,
            code=error.code,
            keyid=who.keyid,
            batch_digest=who.digest,
            station_id=who.station_id,
            polling_area_id=who.polling_area_id,
            sequence=who.sequence,
            findings=[finding_of(error)],
        ),
        batch=who.batch,
        error=error,
    )


def decide(
    state: LedgerState,
    body: bytes,
    *,
    signature_ok: bool | None = None,
    findings: list[Finding] | None = None,
) -> Decision:
    """The answer to one envelope and the ledger's record of it.

    ``signature_ok`` and ``findings`` (the law's findings without a ``previous``)
    may be worked out beforehand in parallel, as ``verify`` does; they are used
    only where they cannot differ from what this function would compute.
    """
    try:
        envelope = read_envelope(body)
    except DecodeError as exc:
        return Decision(answer=outcome_of(exc.code), kind="invalid", error=exc)
    keyid = envelope.signatures[0].keyid
    key = state.keys.get(keyid)
    if key is None or key.revoked:
        # Before the payload's base64 is decoded (the costly part of a large one):
        # junk under a made-up key id costs the server little.
        return refuse_unsigned(state, keyid)
    try:
        opened = open_read(body, envelope, BATCH_TYPE)
    except DecodeError as exc:
        return Decision(answer=outcome_of(exc.code), kind="invalid", error=exc)
    except SignatureError as exc:
        return refuse_unsigned(state, keyid, exc.code)
    return decide_opened(state, opened, signature_ok=signature_ok, findings=findings)


_FLAWS = {
    "S202": (
        f"The envelope's payload type is not {BATCH_TYPE!r}.",
        f"Loại nội dung của phong bì không phải {BATCH_TYPE!r}.",
        ("payloadType",),
    ),
    "S203": ("An Ed25519 signature is 64 bytes.", "Chữ ký Ed25519 phải dài 64 byte.", ()),
}


def refuse_unsigned(state: LedgerState, keyid: str | None, flaw: str | None = None) -> Decision:
    """The refusal of an envelope no enrolled station's signature vouches for.

    ``flaw`` is S202 or S203 when the envelope itself is wrong; otherwise the key id
    decides: unknown (K401), revoked (K402), or an active key whose signature did not
    hold (S201). Everything here comes from the key id and the ledger's state, so
    ``verify``, which has no bytes to re-check, rebuilds the same outcome."""
    keyid = shown_keyid(keyid)
    key = state.keys.get(keyid) if keyid is not None and flaw is None else None
    error: KiemphieuError
    if flaw is not None:
        en, vi, fields = _FLAWS[flaw]
        error = SignatureError(
            en=en, vi=vi, code=flaw, fields=fields, figures={"keyid": keyid or ""}
        )
    elif key is None:
        error = KiemphieuError(
            en=f"No station is enrolled with key {keyid}.",
            vi=f"Không có điểm gửi nào đăng ký khoá {keyid}.",
            code="K401",
            fields=("signatures[0].keyid",),
            figures={"keyid": keyid or ""},
        )
    elif key.revoked:
        error = KiemphieuError(
            en=f"The key {key.fingerprint} of station {key.station_id} has been revoked.",
            vi=f"Khoá {key.fingerprint} của điểm gửi {key.station_id} đã bị thu hồi.",
            code="K402",
            fields=("signatures[0].keyid",),
            figures={"keyid": key.fingerprint, "station_id": key.station_id},
        )
    else:
        error = SignatureError(
            en="The signature does not match the payload and the enrolled key.",
            vi="Chữ ký không khớp với nội dung và khoá đã đăng ký.",
            code="S201",
            figures={"keyid": key.fingerprint},
        )
    who = _Who(keyid) if key is None else _Who(keyid, None, key.station_id, key.polling_area_id)
    decision = _reject(error, who)
    decision.unsigned = True
    return decision


def decide_opened(
    state: LedgerState,
    opened: Opened,
    *,
    signature_ok: bool | None = None,
    findings: list[Finding] | None = None,
    decoded: bool = False,
    batch: ResultBatch | None = None,
) -> Decision:
    key = state.keys.get(opened.keyid)
    if key is None or key.revoked:
        return refuse_unsigned(state, opened.keyid)
    weak = weak_key(key.key.raw)
    if weak is not None:
        # Refused at enrolment; here too, whatever a worker or a precheck said, for a
        # key that reached the state another way (the database edited, an old ledger).
        error = weak_key_error(key.key.raw, weak, "signatures[0].keyid")
        error.figures["keyid"] = key.fingerprint
        digest = hashlib.sha256(opened.payload).hexdigest()
        return _reject(error, _Who(opened.keyid, digest, key.station_id, key.polling_area_id))
    if not signature_ok:
        try:
            key.verify(opened)
        except SignatureError:
            return refuse_unsigned(state, opened.keyid)
        if signature_ok is not None:
            # the precomputation disagreed: trust none of it
            findings, decoded, batch = None, False, None
    digest = hashlib.sha256(opened.payload).hexdigest()
    who = _Who(opened.keyid, digest, key.station_id, key.polling_area_id)
    if batch is None:
        try:
            # ``decoded``: decode_batch already passed on these bytes, text check included.
            batch = (
                _batch_decoder.decode(opened.payload) if decoded else decode_batch(opened.payload)
            )
        except DecodeError as exc:
            return _reject(exc, who)
    return _decide_batch(state, opened, digest, key, batch, findings)


_batch_decoder = msgspec.json.Decoder(ResultBatch, strict=True)


def read_accepted(envelope: bytes) -> tuple[bytes, ResultBatch]:
    """(payload, batch) of an envelope the ledger records as accepted, read back as it
    was counted: the checks it passed on the way in are not run again (one added since,
    I-JSON, would make a batch counted before it unreadable; verify names such an entry)."""
    payload = open_envelope(envelope, BATCH_TYPE, ijson=False).payload
    return payload, _batch_decoder.decode(payload)


def decode_batch(payload: bytes) -> ResultBatch:
    """``codec.decode(payload, ResultBatch)``, with the text check done on the whole
    payload when that is enough to decide (the ingest hot path). The I-JSON check is
    the same either way, so ingest, its workers and ``verify`` refuse the same bytes."""
    if codec.plain_text(payload):
        try:
            batch = _batch_decoder.decode(payload)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass  # codec.decode below names the problem
        else:
            # every integer of a batch is bounded by its schema (test_codec_ijson)
            codec.check_ijson(payload, batch, numbers=False)
            return batch
    return codec.decode(payload, ResultBatch)


def _decide_batch(
    state: LedgerState,
    opened: Opened,
    digest: str,
    key: StationKey,
    batch: ResultBatch,
    precomputed: list[Finding] | None,
) -> Decision:
    election = state.election
    where = _Who(opened.keyid, digest, key.station_id, key.polling_area_id, batch.sequence, batch)
    if batch.election_id != election.id:
        return _reject(
            KiemphieuError(
                en=f"The batch is for election {batch.election_id}; "
                f"this server counts {election.id}.",
                vi=f"Lô thuộc cuộc bầu cử {batch.election_id}; máy chủ này kiểm {election.id}.",
                code="C403",
                fields=("election_id",),
                figures={"election_id": batch.election_id, "expected": election.id},
            ),
            where,
        )
    if batch.station_id != key.station_id:
        return _reject(
            KiemphieuError(
                en=f"The batch names station {batch.station_id}, but key {key.fingerprint} "
                f"is enrolled for station {key.station_id}.",
                vi=f"Lô ghi điểm gửi {batch.station_id}, nhưng khoá {key.fingerprint} "
                f"đăng ký cho điểm gửi {key.station_id}.",
                code="C404",
                fields=("station_id",),
                figures={"station_id": batch.station_id, "enrolled": key.station_id},
            ),
            where,
        )
    if batch.polling_area_id != key.polling_area_id:
        return _reject(
            KiemphieuError(
                en=f"The batch names polling area {batch.polling_area_id}, but station "
                f"{key.station_id} is enrolled for {key.polling_area_id}.",
                vi=f"Lô ghi khu vực bỏ phiếu {batch.polling_area_id}, nhưng điểm gửi "
                f"{key.station_id} đăng ký cho khu vực {key.polling_area_id}.",
                code="C405",
                fields=("polling_area_id",),
                figures={
                    "polling_area_id": batch.polling_area_id,
                    "enrolled": key.polling_area_id,
                },
            ),
            where,
        )

    seen = state.accepted.get((batch.station_id, batch.sequence))
    if seen is not None:
        if seen.digest == digest:
            return Decision(answer="accepted", kind="duplicate", batch=batch, duplicate_of=seen)
        finding = error_finding(
            "Q409",
            f"số thứ tự {batch.sequence} của điểm gửi {batch.station_id} đã được nhận cho "
            f"một lô khác (mục sổ cái {seen.ledger_index}); lô này có nội dung khác",
            f"sequence {batch.sequence} of station {batch.station_id} was already accepted "
            f"for other bytes (ledger entry {seen.ledger_index})",
            fields=["sequence"],
            figures={
                "sequence": batch.sequence,
                "accepted_digest": seen.digest,
                "batch_digest": digest,
                "accepted_ledger_index": seen.ledger_index,
            },
        )
        return _batch_rejection(ledger.CONFLICT, "Q409", [finding], where)
    last = state.last_sequence.get(batch.station_id, 0)
    if batch.sequence < last:
        finding = error_finding(
            "Q410",
            f"số thứ tự {vn_int(batch.sequence)} nhỏ hơn số đã nhận gần nhất "
            f"({vn_int(last)}) của điểm gửi {batch.station_id}: lô cũ không được ghi đè lô mới",
            f"sequence {batch.sequence} is lower than the last accepted ({last}) of "
            f"station {batch.station_id}: an old batch cannot overwrite a newer one",
            fields=["sequence"],
            figures={"sequence": batch.sequence, "last_accepted": last},
        )
        return _batch_rejection(ledger.BATCH_REJECTED, "Q410", [finding], where)

    previous: dict[str, CountingMinutes] = {}
    changed: list[CountingMinutes] = []
    sources: list[Current] = []
    # An accepted batch has one minutes per race and round (E121), so each replaces
    # what the ledger counts now.
    replaced: list[CountingMinutes | None] = []
    for m in batch.minutes:
        cur = state.counted((m.polling_area_id, m.race_id, m.round))
        replaced.append(cur.minutes if cur is not None else None)
        if cur is None:
            continue
        old = cur.minutes
        previous[m.race_id] = old
        if figures_differ(old, m):
            changed.append(m)
            sources.append(cur)
    # A supplementary minutes is judged against its constituency's first round.
    firsts = {
        (m.race_id, m.constituency_id): state.first_round(m.race_id, m.constituency_id)
        for m in batch.minutes
        if m.round == "supplementary" and (m.race_id, m.constituency_id) in election.constituencies
    }
    if precomputed is not None and not previous and not firsts:
        found = list(precomputed)
    else:
        found = rules.check_batch(
            election, batch, previous=previous or None, first_rounds=firsts or None
        )
    found += _correction_findings(state, batch, sources)

    if rules.has_errors(found):
        code = next(f.code for f in found if f.severity == "error")
        return _batch_rejection(ledger.BATCH_REJECTED, code, found, where)

    by_race = {m.race_id: m for m in batch.minutes}
    missing = [f"{f.race_id or ''}:{f.code}" for f in rules.unexplained(found, by_race)]
    outcome = Outcome(
        status="accepted",
        outcome="accepted",
        keyid=opened.keyid,
        batch_digest=digest,
        station_id=key.station_id,
        polling_area_id=key.polling_area_id,
        sequence=batch.sequence,
        correction=bool(changed),
        findings=found,
        unexplained=missing,
    )
    kind = ledger.CORRECTION if changed else ledger.BATCH_ACCEPTED
    return Decision(
        answer="accepted",
        kind=kind,
        outcome=outcome,
        batch=batch,
        changed=changed,
        replaced=replaced,
    )


def _correction_findings(
    state: LedgerState, batch: ResultBatch, sources: list[Current]
) -> list[Finding]:
    out: list[Finding] = []
    if sources and not (batch.reason or "").strip():
        out.append(
            error_finding(
                "Q411",
                "lô thay đổi số liệu đã được nhận nên phải ghi lý do đính chính (reason)",
                "the batch changes figures already accepted, so it must give the reason "
                "for the correction (reason)",
                fields=["reason"],
                figures={"changed_races": ",".join(sorted({s.minutes.race_id for s in sources}))},
            )
        )
    if sources:
        latest = max(sources, key=lambda s: s.ledger_index)
        allowed = {s.digest for s in sources}
        if batch.supersedes not in allowed:
            out.append(
                error_finding(
                    "Q412",
                    f"lô đính chính phải ghi supersedes = mã lô bị thay thế ({latest.digest}), "
                    f"lô ghi {batch.supersedes or 'không có'}",
                    f"a correction must name the batch it replaces in supersedes "
                    f"({latest.digest}); it names {batch.supersedes or 'none'}",
                    fields=["supersedes"],
                    figures={"supersedes": batch.supersedes or "", "expected": latest.digest},
                )
            )
    elif batch.supersedes is not None:
        ref = state.by_digest.get(batch.supersedes)
        if ref is None or ref.polling_area_id != batch.polling_area_id:
            out.append(
                error_finding(
                    "Q412",
                    f"supersedes = {batch.supersedes} không phải một lô đã nhận của khu vực "
                    f"{batch.polling_area_id}",
                    f"supersedes = {batch.supersedes} is not an accepted batch of polling "
                    f"area {batch.polling_area_id}",
                    fields=["supersedes"],
                    figures={"supersedes": batch.supersedes},
                )
            )
    return out


def _batch_rejection(kind: str, code: str, found: list[Finding], where: _Who) -> Decision:
    """A refusal answered with a signed receipt."""
    batch = where.batch
    assert batch is not None
    answer = outcome_of(code, batch=True)
    outcome = Outcome(
        status="rejected",
        outcome=answer,
        code=code,
        keyid=where.keyid,
        batch_digest=where.digest,
        station_id=batch.station_id,
        polling_area_id=batch.polling_area_id,
        sequence=batch.sequence,
        findings=found,
    )
    return Decision(answer=answer, kind=kind, outcome=outcome, batch=batch)


def build_receipt(
    election_id: str,
    outcome: Outcome,
    index: int,
    head: str,
    time: str,
    moment: dt.datetime | None = None,
) -> Receipt:
    """The receipt of a ledger entry: everything in it comes from the entry."""
    assert outcome.station_id is not None and outcome.sequence is not None
    assert outcome.batch_digest is not None
    return Receipt(
        schema="kiemphieu/receipt/v1",
        election_id=election_id,
        station_id=outcome.station_id,
        sequence=outcome.sequence,
        batch_digest=outcome.batch_digest,
        status=outcome.status,
        correction=outcome.correction,
        ledger_index=index,
        ledger_head=head,
        received_at=moment if moment is not None else ledger.parse_time(time),
        findings=outcome.findings,
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
