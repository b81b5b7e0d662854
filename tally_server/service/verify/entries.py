"""The decisions, entry by entry, in order: each entry is checked against the
entries before it (the chain, the enrolments, the ledger state) and every batch
is decided again; the recorded outcome must be the same bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec

from schemas import codec
from schemas.errors import KiemphieuError
from schemas.models import ResultBatch
from schemas.signing import WEAK_KEY_REASONS, VerifyKey, WeakKeyError
from tally_server.core.definition import Election
from tally_server.service import rollback, takeover
from tally_server.service.decide import (
    UNSIGNED_CODES,
    LedgerState,
    StationKey,
    decide,
    decide_opened,
    decode_unsigned,
    refuse_unsigned,
    unsigned_outcome,
)
from tally_server.service.verify.precheck import Precheck, unsigned_entry
from tally_server.service.verify.report import Report, Takeover
from tally_server.store import ledger
from tally_server.store.ledger import Entry


class Bad(Exception):
    """The first entry that does not check out: the rule it breaks, in both languages."""

    def __init__(self, code: str, *, en: str, vi: str) -> None:
        super().__init__(en)
        self.code, self.en, self.vi = code, en, vi


def opening(entry: Entry) -> tuple[VerifyKey, dict[str, Any]]:
    """The first entry opens a ledger of this format and names the server key; its
    claims about the election are checked by ``same_election`` once it is loaded."""
    if entry.kind != ledger.LEDGER_OPENED or entry.index != 0:
        raise Bad(
            "V101",
            en="the first entry must open the ledger (kind ledger_opened)",
            vi="mục đầu tiên phải là mục mở sổ cái (ledger_opened)",
        )
    try:
        opened = _outcome_json(entry)
    except (ValueError, KiemphieuError) as exc:
        raise Bad(
            "V102",
            en=f"the opening entry is unreadable: {exc}",
            vi=f"mục mở sổ cái không đọc được: {exc}",
        ) from exc
    problem = ledger.format_error(opened)
    if problem is not None:  # before anything else: its hashes are of another framing
        raise Bad("V105", en=problem.message_en, vi=problem.message_vi)
    try:
        key = VerifyKey.from_text(opened["server_public_key"])
    except (ValueError, KeyError, KiemphieuError) as exc:
        raise Bad(
            "V102",
            en=f"the opening entry does not name the server key: {exc}",
            vi=f"mục mở sổ cái không ghi khoá của máy chủ: {exc}",
        ) from exc
    return key, opened


def same_election(opened: dict[str, Any], election: Election, election_sha: str) -> None:
    """The ledger was opened (``opened``, the first entry's outcome) for this very
    definition: its id and the digest of its canonical bytes."""
    if opened.get("election_id") != election.id:
        raise Bad(
            "V103",
            en=f"the ledger is for election {opened.get('election_id')}, not {election.id}",
            vi=f"sổ cái của cuộc bầu cử {opened.get('election_id')}, không phải {election.id}",
        )
    if opened.get("election_sha256") != election_sha:
        raise Bad(
            "V104",
            en=f"the ledger was opened for another definition of election {election.id} "
            f"(sha256 {opened.get('election_sha256')}, this file {election_sha})",
            vi=f"sổ cái được mở cho một định nghĩa khác của cuộc bầu cử {election.id} "
            f"(sha256 {opened.get('election_sha256')}, tệp này {election_sha})",
        )


def check_rollback(
    entry: Entry,
    position: int,
    server_key: VerifyKey,
    election: Election,
    expected: int,
    line_at: Callable[[int], Entry | None],
) -> None:
    """A ``rollback_detected`` entry: the receipt it records is the server's, this chain
    did not hold its entry, and the entry sits past that index (service/rollback.py)."""

    def hash_at(index: int) -> str | None:
        found = line_at(index)
        return None if found is None else found.hash

    if entry.index < expected:
        return  # the index check in check_entry names it (V110)
    try:
        rollback.check_entry(entry, server_key, election.id, expected, hash_at)
    except rollback.Mismatch as exc:
        raise Bad(
            "V140",
            en=f"rollback entry {position}: {exc.message_en}",
            vi=f"mục phát hiện khôi phục {position}: {exc.message_vi}",
        ) from exc


def check_takeover(entry: Entry, position: int, server_key: VerifyKey) -> Takeover:
    """A ``server_takeover`` entry: signed by the server key of entry 0, naming the
    entry it follows as the head it continues from (service/takeover.py)."""
    try:
        o = takeover.check_entry(entry, server_key)
    except takeover.Mismatch as exc:
        raise Bad(
            "V150",
            en=f"takeover entry {position}: {exc.message_en}",
            vi=f"mục tiếp quản {position}: {exc.message_vi}",
        ) from exc
    return Takeover(
        entry.index,
        o["head_index"],
        o["head_hash"],
        entry.time,
        o["replica"],
        o["restored_to"],
        o["reason"],
        o["by"],
    )


def check_entry(
    position: int,
    expected_index: int,
    entry: Entry,
    pre: Precheck,
    prev: str,
    state: LedgerState,
    election: Election,
    report: Report,
    fingerprints: dict[bytes, str],
) -> ResultBatch | None:
    """The entry at ``position`` checks out after the ones before it (``state``, whose
    hash is ``prev``), or ``Bad`` says how not; the batch it accepts, to be tallied."""
    if entry.index != expected_index:
        raise Bad(
            "V110",
            en=f"entry index {entry.index} where {expected_index} belongs: an entry was removed, "
            f"inserted or moved",
            vi=f"mục số {entry.index} ở vị trí của mục {expected_index}: có mục bị xoá, chèn "
            "hoặc đổi chỗ",
        )
    if entry.prev != prev:
        raise Bad(
            "V111",
            en=f"entry {position} does not follow the entry before it (prev {entry.prev[:16]}…, "
            f"the hash before is {prev[:16]}…)",
            vi=f"mục {position} không nối tiếp mục trước (prev {entry.prev[:16]}…, "
            f"hash của mục trước là {prev[:16]}…)",
        )
    if pre.hash != entry.hash:
        raise Bad(
            "V112",
            en=f"entry {position} was altered: its contents hash to {pre.hash[:16]}…, "
            f"it records {entry.hash[:16]}…",
            vi=f"mục {position} đã bị sửa: nội dung có hash {pre.hash[:16]}…, "
            f"mục ghi {entry.hash[:16]}…",
        )
    kind = entry.kind
    if kind == ledger.LEDGER_OPENED:
        if position != 0:
            raise Bad(
                "V101",
                en=f"entry {position} opens a second ledger",
                vi=f"mục {position} mở sổ cái lần thứ hai",
            )
        _no_receipt(entry)
        return None
    if kind == ledger.STATION_ENROLLED:
        _no_receipt(entry)
        try:
            o = _outcome_json(entry)
            key = VerifyKey.from_text(o["public_key"])
            station_id, area_id, fp = o["station_id"], o["polling_area_id"], o["fingerprint"]
            _check_actor(o)
        except WeakKeyError as exc:
            en, vi = WEAK_KEY_REASONS[exc.figures["reason"]]
            raise Bad(
                "V126",
                en=f"enrolment entry {position} enrolls a weak public key (S320): {en}",
                vi=f"mục đăng ký {position} đăng ký một khoá công khai yếu (S320): {vi}",
            ) from exc
        except (ValueError, KeyError, TypeError, KiemphieuError) as exc:
            raise Bad(
                "V120",
                en=f"enrolment entry {position} is unreadable: {exc}",
                vi=f"mục đăng ký {position} không đọc được: {exc}",
            ) from exc
        real = fingerprints.get(key.raw) or key.fingerprint
        if fp != real or entry.station != station_id:
            raise Bad(
                "V121",
                en=f"enrolment entry {position} names fingerprint {fp} for key {real}",
                vi=f"mục đăng ký {position} ghi dấu vân tay {fp} cho khoá {real}",
            )
        if fp in state.keys or state.active_key(station_id) is not None:
            raise Bad(
                "V122",
                en=f"enrolment entry {position} enrolls a key or station already enrolled",
                vi=f"mục đăng ký {position} đăng ký khoá hoặc điểm gửi đã đăng ký",
            )
        if area_id not in election.polling_areas:
            raise Bad(
                "V123",
                en=f"enrolment entry {position} names unknown polling area {area_id}",
                vi=f"mục đăng ký {position} ghi khu vực bỏ phiếu không có {area_id}",
            )
        state.enroll(StationKey(fp, station_id, area_id, key, entry.index))
        return None
    if kind == ledger.STATION_REVOKED:
        _no_receipt(entry)
        try:
            o = _outcome_json(entry)
            fp = o["fingerprint"]
            _check_actor(o)
        except (ValueError, KeyError, TypeError, KiemphieuError) as exc:
            raise Bad(
                "V124",
                en=f"revocation entry {position} is unreadable: {exc}",
                vi=f"mục thu hồi {position} không đọc được: {exc}",
            ) from exc
        if fp not in state.keys or state.keys[fp].revoked:
            raise Bad(
                "V124",
                en=f"revocation entry {position} revokes key {fp}, which is not active",
                vi=f"mục thu hồi {position} thu hồi khoá {fp} không còn hiệu lực",
            )
        state.revoke(fp)
        return None
    if kind == ledger.ALERT_REVIEWED:
        _no_receipt(entry)
        try:
            o = json.loads(entry.outcome)
            if not isinstance(o["alert_id"], int) or not isinstance(o["note"], str):
                raise TypeError("alert_id is a number and note a string")
            _check_actor(o, required=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise Bad(
                "V125",
                en=f"review entry {position} is unreadable: {exc}",
                vi=f"mục xem xét cảnh báo {position} không đọc được: {exc}",
            ) from exc
        return None
    if kind == ledger.ROLLBACK_DETECTED:
        return None  # replayed by check_rollback
    if kind == ledger.SERVER_TAKEOVER:
        return None  # replayed by check_takeover, once the chain holds
    if kind not in ledger.BATCH_KINDS:
        raise Bad(
            "V102",
            en=f"entry {position} has unknown kind {kind!r}",
            vi=f"mục {position} loại lạ {kind!r}",
        )
    if pre.opened is None and unsigned_entry(entry):
        _check_unsigned(position, entry, pre, state)
        report.unsigned += 1
        return None
    if pre.opened is not None:
        decision = decide_opened(
            state,
            pre.opened,
            signature_ok=pre.signature_ok,
            findings=pre.findings,
            decoded=pre.decoded,
            batch=pre.batch,
        )
    else:
        decision = decide(state, entry.envelope)
    if pre.signature_ok is not None:
        report.signatures += 1
    if pre.receipt_checked:
        report.receipt_signatures += 1
    if decision.outcome is None:
        raise Bad(
            "V130",
            en=f"entry {position} records an envelope the server would not have recorded "
            f"({decision.kind})",
            vi=f"mục {position} ghi một phong bì mà máy chủ không ghi ({decision.kind})",
        )
    expected = decision.outcome.encode()
    if (
        expected != entry.outcome
        or decision.kind != kind
        or decision.station != entry.station
        or decision.unsigned  # such a refusal is recorded without the envelope
    ):
        raise Bad(
            "V131",
            en=f"entry {position}: re-checking the batch gives {decision.kind} "
            f"{expected.decode()[:300]}; the ledger records {kind} "
            f"{entry.outcome.decode(errors='replace')[:300]}",
            vi=f"mục {position}: kiểm tra lại lô cho kết quả {decision.kind}; sổ cái ghi {kind}",
        )
    # The outcome is the recorded one, so the worker's receipt check applies to it.
    if not pre.receipt_ok:
        raise Bad(
            "V132",
            en=f"entry {position}: the receipt is not the server's signature over this "
            f"entry's receipt",
            vi=f"mục {position}: biên nhận không phải chữ "
            "ký của máy chủ trên biên nhận của mục này",
        )
    state.record(decision, entry.index)
    if decision.outcome.status == "accepted":
        return decision.batch
    return None


def _check_actor(outcome: dict[str, Any], *, required: bool = False) -> None:
    """``by``, who did it: a name, never empty. Enrolments and revocations written
    before it was recorded have none."""
    if "by" not in outcome and not required:
        return
    by = outcome["by"]
    if not isinstance(by, str) or not by.strip():
        raise TypeError(f"'by' must name who did it, not {by!r}")


def _check_unsigned(position: int, entry: Entry, pre: Precheck, state: LedgerState) -> None:
    """An entry recorded as a digest: rebuild its outcome from its key id and the keys
    enrolled so far; only the claim that the signature failed (S201) or the envelope
    was wrong (S202, S203) cannot be re-checked, having no bytes."""
    try:
        o = decode_unsigned(entry.outcome)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Bad(
            "V134",
            en=f"entry {position} records no envelope and no readable refusal: {exc}",
            vi=f"mục {position} không ghi phong bì và không ghi lời từ chối đọc được: {exc}",
        ) from exc
    if o.code not in UNSIGNED_CODES:
        raise Bad(
            "V134",
            en=f"entry {position} records no envelope, but {o.code} is decided only after a "
            f"valid signature, whose bytes the ledger must keep",
            vi=f"mục {position} không ghi phong bì, nhưng {o.code} chỉ được quyết định sau khi "
            f"chữ ký hợp lệ, nên sổ cái phải giữ phong bì",
        )
    flaw = o.code if o.code in ("S202", "S203") else None
    decision = refuse_unsigned(state, o.keyid, flaw)
    assert decision.outcome is not None
    expected = unsigned_outcome(decision.outcome, o.received_sha256, o.received_bytes).encode()
    if expected != entry.outcome or decision.station != entry.station:
        raise Bad(
            "V131",
            en=f"entry {position}: re-checking the refusal gives {expected.decode()[:300]}; the "
            f"ledger records {entry.outcome.decode(errors='replace')[:300]}",
            vi=f"mục {position}: kiểm tra lại lời từ chối cho kết quả khác với sổ cái",
        )
    if not pre.receipt_ok:
        raise Bad(
            "V132",
            en=f"entry {position}: a refusal without a valid signature has no receipt",
            vi=f"mục {position}: lời từ chối khi chưa có chữ ký hợp lệ không có biên nhận",
        )


def _outcome_json(entry: Entry) -> Any:
    """An entry's outcome, refused if it is not I-JSON (a key twice: two readings)."""
    value = json.loads(entry.outcome)
    codec.check_ijson(entry.outcome, value)
    return value


def _no_receipt(entry: Entry) -> None:
    if entry.receipt:  # a receipt only ever answers a batch
        raise Bad(
            "V133",
            en=f"entry {entry.index} carries a receipt it should not have",
            vi=f"mục {entry.index} có biên nhận không đúng chỗ",
        )
