"""Attacks on a running server: forged, replayed, out-of-place and malformed batches,
and committee actions without the right token. Each is refused with its status and
rule code, the reason is in the ledger when the contract says it is recorded, and
the published tally does not move."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schemas.signing import BATCH_TYPE, RECEIPT_TYPE, SigningKey, fingerprint, seal
from tally_server.core.definition import load_election
from tally_server.core.rules import check_batch
from tally_server.web.statuses import STATUS

from .conftest import Record
from .kit import (
    NO_XA_AREA,
    ROOT,
    BatchKey,
    ServerProcess,
    Signer,
    area_ids,
    check_acks,
    enroll_offline,
    expected_results_sha256,
    export_ledger,
    init_folder,
    minutes_for,
    read_ledger,
    receipt_of,
    start_server,
    verify,
    write_election,
)

CATEGORY = "attacks"
REASON = "Kiểm lại phiếu theo yêu cầu của Ban bầu cử"


@dataclass
class Arena:
    server: ServerProcess
    election: Path
    tmp: Path
    s: dict[str, Signer]
    acks: dict[BatchKey, bytes] = field(default_factory=dict)
    sent: dict[BatchKey, bytes] = field(default_factory=dict)
    """Accepted envelopes."""
    revoked_token: str = ""

    def accept(self, signer: Signer, envelope: bytes, sequence: int) -> None:
        status, body = self.server.post_batch(envelope)
        assert status == 200, body
        self.acks[(signer.station_id, sequence)] = body
        self.sent[(signer.station_id, sequence)] = envelope


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    """A server with stations that already reported: KV-0001 a batch and its correction,
    KV-0002 its batch numbered 5, KV-0003 revoked; KV-0004 and NX-01 honest and unheard."""
    tmp = tmp_path_factory.mktemp("attacks")
    election = write_election(tmp / "election.json", 8)
    folder = tmp / "server"
    init_folder(folder, election)
    signers = {a: Signer(a, a) for a in (*area_ids(5), NO_XA_AREA)}
    enroll_offline(folder, signers.values())
    from tally_server.service.folder import open_folder
    from tally_server.store import tokens

    conn = open_folder(folder).connect()
    try:
        token, revoked_token = tokens.create(conn, "admin", "revoked")
        tokens.revoke(conn, token.id)
    finally:
        conn.close()
    server = start_server(folder, tmp / "server.log", election)
    a = Arena(server, election, tmp, signers, revoked_token=revoked_token)
    try:
        kv1 = signers["KV-0001"]
        first = kv1.envelope(1)
        a.accept(kv1, first, 1)
        digest = receipt_of(a.acks[("KV-0001", 1)])["batch_digest"]
        fixed = kv1.envelope(2, minutes_for("KV-0001", 5), supersedes=digest, reason=REASON)
        a.accept(kv1, fixed, 2)
        a.accept(signers["KV-0002"], signers["KV-0002"].envelope(5), 5)
        status, body = server.request(
            "POST", "/api/v1/stations/KV-0003/revoke", token=server.tokens["admin"]
        )
        assert status == 200, body
        yield a
    finally:
        server.stop()


# -- what an answer says -------------------------------------------------------------------


def code_of(body: bytes) -> str:
    """The rule code of a refusal: the error's, or the receipt's first error finding."""
    data = json.loads(body)
    if "error" in data:
        error = data["error"]
        assert error["message_vi"] and error["message_en"], error
        return str(error["code"])
    receipt = receipt_of(body)
    return str(next(f["code"] for f in receipt["findings"] if f["severity"] == "error"))


def attempt(
    a: Arena,
    body: bytes,
    status: int,
    code: str,
    kind: str | None,
) -> None:
    """Send ``body``: refused with ``status`` and ``code``; recorded as ``kind`` (None: not
    recorded, as docs/api.md says of bytes that are no envelope or are too large); the
    published results unchanged."""
    before = a.server.results()
    got, answer = a.server.post_batch(body)
    after = a.server.results()
    assert (got, code_of(answer)) == (status, code), answer[:600]
    assert after["results_sha256"] == before["results_sha256"]
    if kind is None:
        assert after["ledger_index"] == before["ledger_index"]
        return
    assert after["ledger_index"] == before["ledger_index"] + 1
    [entry] = a.server.ledger(after["ledger_index"])
    outcome = json.loads(entry["outcome"])
    # The ledger records the outcome; the web layer alone says which status answers it.
    assert "http" not in outcome
    assert (entry["kind"], outcome["status"], outcome["code"], STATUS[outcome["outcome"]]) == (
        kind,
        "rejected",
        code,
        status,
    )
    reason = next(f for f in outcome["findings"] if f["code"] == code)
    assert reason["message_en"] and reason["message_vi"]
    if code in UNSIGNED:
        # Anyone can send this: a digest of it is kept, not the bytes.
        assert entry["envelope"] == ""
        assert outcome["received_sha256"] == hashlib.sha256(body).hexdigest()
        assert outcome["received_bytes"] == len(body)
    else:
        # Signed by an enrolled station: the bytes are the evidence.
        assert base64.b64decode(entry["envelope"]) == body


UNSIGNED = {"K401", "K402", "S201", "S202", "S203"}


# -- forged and out-of-place batches -------------------------------------------------------


def with_field(a: Arena, station: str, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """A batch of ``station`` as JSON builtins, edited, encoded as plain JSON and signed
    with the station's own enrolled key."""
    signer = a.s[station]
    data = signer.batch(1)
    edit(data)
    return signer.seal(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def swap_payload(envelope: bytes, payload: bytes) -> bytes:
    data = json.loads(envelope)
    data["payload"] = base64.b64encode(payload).decode()
    return json.dumps(data).encode()


def minutes_xa_at_nx() -> list[Any]:
    xa = next(m for m in minutes_for("KV-0001") if m.race_id == "HDND-XA")
    return [*minutes_for(NO_XA_AREA), msgspec.structs.replace(xa, polling_area_id=NO_XA_AREA)]


def figure(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["minutes"][0][name] = value

    return edit


def signatory(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["minutes"][0]["signatories"][0]["full_name"] = name

    return edit


def ascii_signatory(name: str) -> Callable[[dict[str, Any]], None]:
    """Every name plain ASCII, one of them ``name``: the whole payload is ASCII."""

    def edit(data: dict[str, Any]) -> None:
        for m in data["minutes"]:
            for s in m["signatories"]:
                s["full_name"] = "Nguyen Van To"
        data["minutes"][0]["signatories"][0]["full_name"] = name

    return edit


def doubled(a: Arena, old: str, new: str, sequence: int = 1) -> bytes:
    """KV-0004's batch as plain JSON text with ``old`` written as ``new`` (a key twice),
    signed with its own key: valid for a reader keeping either key, not I-JSON."""
    text = json.dumps(a.s["KV-0004"].batch(sequence), ensure_ascii=False)
    assert old in text
    return a.s["KV-0004"].seal(text.replace(old, new, 1).encode("utf-8"))


def first_candidate(a: Arena) -> str:
    return next(iter(a.s["KV-0004"].batch(1)["minutes"][0]["candidate_votes"]))


def two_payloads(a: Arena) -> bytes:
    """KV-0004's envelope with a second "payload" key: another batch, unsigned."""
    envelope = a.s["KV-0004"].envelope(1).decode()
    other = base64.b64encode(a.s["KV-0004"].payload(1, minutes_for("KV-0004", 40))).decode()
    return envelope.replace('"signatures":', f'"payload":"{other}","signatures":', 1).encode()


def nested(depth: int) -> bytes:
    return b'{"schema":' + b"[" * depth + b"]" * depth + b"}"


def with_signature(envelope: bytes, keyid: str, sig: bytes) -> bytes:
    data = json.loads(envelope)
    data["signatures"] = [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}]
    return json.dumps(data).encode()


def other_keys_signature(a: Arena) -> bytes:
    """KV-0004's batch and key id, signed by some other key."""
    kv4 = a.s["KV-0004"]
    forged = json.loads(seal(SigningKey.generate(), BATCH_TYPE, kv4.payload(1)))
    sig = base64.b64decode(forged["signatures"][0]["sig"])
    return with_signature(kv4.envelope(1), kv4.key.public.fingerprint, sig)


def escaped_control(a: Arena) -> bytes:
    text = json.dumps(a.s["KV-0004"].batch(1), ensure_ascii=False)
    return a.s["KV-0004"].seal(text.replace("Nguyễn Văn Tổ", "Nguyễn\\u0000Văn Tổ", 1).encode())


REJ, CONFLICT = "batch_rejected", "conflict"
Attack = Callable[[Arena], tuple[bytes, int, str, str | None]]
BATCH_ATTACKS: dict[str, Attack] = {
    "unknown key": lambda a: (Signer("KV-0004", "KV-0004").envelope(1), 401, "K401", REJ),
    "revoked key": lambda a: (a.s["KV-0003"].envelope(1), 401, "K402", REJ),
    "valid signature over other bytes": lambda a: (
        swap_payload(
            a.s["KV-0004"].envelope(1), a.s["KV-0004"].payload(1, minutes_for("KV-0004", 40))
        ),
        401, "S201", REJ,
    ),
    "another key's signature under this key id": lambda a: (
        other_keys_signature(a), 401, "S201", REJ,
    ),
    "signature cut short": lambda a: (
        with_signature(
            a.s["KV-0004"].envelope(1), a.s["KV-0004"].key.public.fingerprint, b"\x01" * 63
        ),
        401, "S203", REJ,
    ),
    "a batch signed as a receipt": lambda a: (
        seal(a.s["KV-0004"].key, RECEIPT_TYPE, a.s["KV-0004"].payload(1)), 401, "S202", REJ,
    ),
    "another station's polling area": lambda a: (
        a.s["KV-0004"].envelope(1, minutes_for("KV-0005"), polling_area_id="KV-0005"),
        403, "C405", REJ,
    ),
    "another station's id": lambda a: (
        a.s["KV-0004"].envelope(1, station_id="KV-0005"), 403, "C404", REJ,
    ),
    "minutes of another polling area": lambda a: (
        a.s["KV-0004"].envelope(1, minutes_for("KV-0005")), 422, "E120", REJ,
    ),
    "a race the polling area does not vote in": lambda a: (
        a.s[NO_XA_AREA].envelope(1, minutes_xa_at_nx()), 422, "E104", REJ,
    ),
    "another election's id": lambda a: (
        a.s["KV-0004"].envelope(1, election_id="vd-2016"), 403, "C403", REJ,
    ),
    "a lower sequence than the last accepted": lambda a: (
        a.s["KV-0002"].envelope(3), 422, "Q410", REJ,
    ),
    "same sequence, other bytes": lambda a: (
        a.s["KV-0001"].envelope(1, created_at="2011-05-22T21:00:00Z"), 409, "Q409", CONFLICT,
    ),
    "a correction without a reason": lambda a: (
        a.s["KV-0001"].envelope(
            3, minutes_for("KV-0001", 9),
            supersedes=receipt_of(a.acks[("KV-0001", 2)])["batch_digest"],
        ),
        422, "Q411", REJ,
    ),
    "a correction naming no batch it replaces": lambda a: (
        a.s["KV-0001"].envelope(3, minutes_for("KV-0001", 9), reason=REASON), 422, "Q412", REJ,
    ),
    "minutes breaking the law (valid + invalid ≠ received)": lambda a: (
        with_field(a, "KV-0004", figure("valid_ballots", 1221)), 422, "E112", REJ,
    ),
    "a negative figure": lambda a: (
        with_field(a, "KV-0004", figure("invalid_ballots", -18)), 400, "S100", REJ,
    ),
    "a fractional figure": lambda a: (
        with_field(a, "KV-0004", figure("valid_ballots", 1220.5)), 400, "S100", REJ,
    ),
    "a huge figure": lambda a: (
        with_field(a, "KV-0004", figure("voters_on_list", 10**30)), 400, "S102", REJ,
    ),
    "a figure beyond 2^53 (I-JSON)": lambda a: (
        with_field(a, "KV-0004", figure("valid_ballots", 2**53)), 400, "S102", REJ,
    ),
    "the sequence given twice, 6 then 7 (I-JSON)": lambda a: (
        doubled(a, '"sequence": 6', '"sequence": 6, "sequence": 7', sequence=6),
        400, "S101", REJ,
    ),
    "a candidate's votes given twice (I-JSON)": lambda a: (
        doubled(a, '"candidate_votes": {', f'"candidate_votes": {{"{first_candidate(a)}": 9, '),
        400, "S101", REJ,
    ),
    "a lone surrogate in a name (I-JSON)": lambda a: (
        doubled(a, "Nguyễn Văn Tổ", "Nguyễn \\udc00 Tổ"), 400, "S103", REJ,
    ),
    "an envelope with two payloads (I-JSON)": lambda a: (
        two_payloads(a), 400, "S101", None,
    ),
    "a figure just past the schema's bound": lambda a: (
        with_field(a, "KV-0004", figure("voters_on_list", 1_000_000_001)), 400, "S100", REJ,
    ),
    "a figure as a string": lambda a: (
        with_field(a, "KV-0004", figure("valid_ballots", "1220")), 400, "S100", REJ,
    ),
    "a name in NFD": lambda a: (
        with_field(a, "KV-0004", signatory(unicodedata.normalize("NFD", "Nguyễn Văn Tổ"))),
        400, "S100", REJ,
    ),
    "a control character in a name": lambda a: (
        with_field(a, "KV-0004", signatory("Nguyễn\x07Văn Tổ")), 400, "S100", REJ,
    ),
    "a right-to-left override in a name": lambda a: (
        with_field(a, "KV-0004", signatory("Nguyễn\u202eVăn Tổ")), 400, "S100", REJ,
    ),
    "an escaped control character in a name": lambda a: (escaped_control(a), 400, "S100", REJ),
    "DEL in a name of an all-ASCII batch": lambda a: (
        with_field(a, "KV-0004", ascii_signatory("Nguyen\x7fVan To")), 400, "S100", REJ,
    ),
    "a deeply nested signed payload": lambda a: (
        a.s["KV-0004"].seal(nested(60_000)), 400, "S100", REJ,
    ),
    "an unknown field in the batch": lambda a: (
        with_field(a, "KV-0004", lambda d: d.update(tally_override=1)), 400, "S100", REJ,
    ),
    "a body over 256 KiB": lambda a: (
        a.s["KV-0004"].envelope(1) + b" " * (300 * 1024), 413, "H413", None,
    ),
    "malformed JSON": lambda a: (b'{"payloadType": "application/vnd', 400, "S100", None),
    "a truncated envelope": lambda a: (a.s["KV-0004"].envelope(1)[:700], 400, "S100", None),
    "a deeply nested body": lambda a: (b"[" * 120_000 + b"]" * 120_000, 400, "S100", None),
    "not JSON at all": lambda a: (bytes(range(256)) * 4, 400, "S100", None),
    "an empty body": lambda a: (b"", 400, "S100", None),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BATCH_ATTACKS))
def test_a_forged_or_malformed_batch_is_refused_and_counts_for_nothing(
    name: str, arena: Arena
) -> None:
    body, status, code, kind = BATCH_ATTACKS[name](arena)
    attempt(arena, body, status, code, kind)


def test_a_replayed_old_batch_gets_its_old_receipt_and_changes_nothing(arena: Arena) -> None:
    """KV-0001's first batch was corrected since: sending it again must not bring its
    figures back. It is the same batch, answered with its stored receipt, not recorded."""
    before = arena.server.results()
    status, body = arena.server.post_batch(arena.sent[("KV-0001", 1)])
    after = arena.server.results()
    assert (status, body) == (200, arena.acks[("KV-0001", 1)])
    assert after["ledger_index"] == before["ledger_index"]
    assert after["results_sha256"] == before["results_sha256"]
    area = arena.server.get_json("/api/v1/polling-areas/KV-0001")
    qh = next(c for c in area["current"] if c["race_id"] == "QH")
    assert qh["minutes"]["candidate_votes"]["QH-10-1"] == 1001 - 5  # still the correction's


# -- committee actions ---------------------------------------------------------------------


def enroll_body(a: Arena) -> bytes:
    return json.dumps(
        {
            "station_id": "KV-0006",
            "polling_area_id": "KV-0006",
            "public_key": SigningKey.generate().public.b64,
        }
    ).encode()


Route = Callable[[Arena], str]
Body = Callable[[Arena], bytes | None]
COMMITTEE: dict[str, tuple[str, Route, Body, str]] = {
    "enroll": ("POST", lambda a: "/api/v1/stations", enroll_body, "admin"),
    "revoke": ("POST", lambda a: "/api/v1/stations/KV-0004/revoke", lambda a: None, "admin"),
    "review an alert": (
        "POST",
        lambda a: f"/api/v1/alerts/{first_alert(a)}/review",
        lambda a: json.dumps({"note": "đã xem / seen"}).encode(),
        "operator",
    ),
    "list stations": ("GET", lambda a: "/api/v1/stations", lambda a: None, "operator"),
    "list alerts": ("GET", lambda a: "/api/v1/alerts", lambda a: None, "operator"),
    "export the ledger": ("GET", lambda a: "/api/v1/ledger", lambda a: None, "viewer"),
    "results": ("GET", lambda a: "/api/v1/results.json", lambda a: None, "viewer"),
    "a polling area": ("GET", lambda a: "/api/v1/polling-areas/KV-0001", lambda a: None, "viewer"),
    "progress": ("GET", lambda a: "/api/v1/progress", lambda a: None, "viewer"),
}


def first_alert(a: Arena) -> int:
    alerts = a.server.get_json("/api/v1/alerts?reviewed=false", "operator")["alerts"]
    return int(alerts[0]["id"])


def committee_cases() -> Iterator[Any]:
    for action, (_, _, _, needed) in COMMITTEE.items():
        for who in ("no token", "a made-up token", "a revoked token", "viewer", "operator"):
            if who in ("viewer", "operator") and RANK[who] >= RANK[needed]:
                continue
            yield pytest.param(action, who, id=f"{action} with {who}")


RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.mark.parametrize(("action", "who"), list(committee_cases()))
def test_committee_actions_need_a_token_of_the_role(action: str, who: str, arena: Arena) -> None:
    method, path, body, _ = COMMITTEE[action]
    token = {
        "no token": None,
        "a made-up token": "kpt_" + "A" * 43,
        "a revoked token": arena.revoked_token,
        "viewer": arena.server.tokens["viewer"],
        "operator": arena.server.tokens["operator"],
    }[who]
    target = path(arena)
    before = arena.server.results()
    alerts = arena.server.get_json("/api/v1/alerts", "operator")
    stations = arena.server.get_json("/api/v1/stations", "operator")
    status, answer = arena.server.request(method, target, body(arena), token=token)
    expected = (
        (401, "A401")
        if who in ("no token", "a made-up token", "a revoked token")
        else (403, "A403")
    )
    assert (status, code_of(answer)) == expected, answer[:400]
    after = arena.server.results()
    assert after["ledger_index"] == before["ledger_index"]
    assert after["results_sha256"] == before["results_sha256"]
    assert arena.server.get_json("/api/v1/alerts", "operator") == alerts
    assert arena.server.get_json("/api/v1/stations", "operator") == stations


# -- and afterwards ------------------------------------------------------------------------


def test_after_every_attack_the_ledger_verifies_and_nothing_acknowledged_is_lost(
    arena: Arena, record: Record
) -> None:
    published = arena.server.results()
    ledger = export_ledger(arena.server.folder, arena.tmp / "ledger.jsonl")
    entries = read_ledger(ledger)
    check = check_acks(entries, arena.acks)
    record.acknowledged(CATEGORY, check.acked, len(check.lost))
    assert check.ok, check
    rc, report = verify(ledger, arena.election)
    assert rc == 0, report["first_bad_entry"]
    expected = expected_results_sha256(
        arena.election, minutes_for("KV-0001", 5) + minutes_for("KV-0002")
    )
    assert report["results_sha256"] == published["results_sha256"] == expected
    rejected = [e for e in entries if e["kind"] in ("batch_rejected", "conflict")]
    record.note(
        CATEGORY,
        f"{len(BATCH_ATTACKS)} kinds of forged or malformed batch, "
        f"{len(list(committee_cases()))} committee actions without the role; "
        f"{len(rejected)} refusals recorded in the ledger, results digest unchanged",
    )
    # What was accepted is exactly what the honest stations sent, and it passes the law.
    election = load_election(arena.election)
    from schemas import codec
    from schemas.models import ResultBatch

    for key, envelope in arena.sent.items():
        batch = codec.decode(base64.b64decode(json.loads(envelope)["payload"]), ResultBatch)
        assert not [f for f in check_batch(election, batch) if f.severity == "error"], key


# -- weak station keys ---------------------------------------------------------------------

WEAK = json.loads((ROOT / "tests" / "assets" / "golden" / "weak_keys.json").read_text())
P = 2**255 - 19


def pem_of(raw: bytes) -> str:
    der = base64.b64encode(bytes.fromhex("302a300506032b6570032100") + raw).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{der}\n-----END PUBLIC KEY-----\n"


ORDER_8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
NOT_A_POINT = bytes.fromhex(next(v["hex"] for v in WEAK["keys"] if v["reason"] == "not_on_curve"))
WEAK_FORMS: dict[str, tuple[bytes, Callable[[bytes], str], str]] = {
    "the identity in hex (the issue's)": (b"\x01" + bytes(31), bytes.hex, "small_order"),
    "y = 0 in base64": (bytes(32), lambda r: base64.b64encode(r).decode(), "small_order"),
    "a point of order 8 as PEM": (ORDER_8, pem_of, "small_order"),
    "y = p + 1, the identity written non-canonically": (
        (P + 1).to_bytes(32, "little"), bytes.hex, "small_order",
    ),
    "y = p + 2, non-canonical": ((P + 2).to_bytes(32, "little"), bytes.hex, "non_canonical"),
    "no point of the curve": (NOT_A_POINT, bytes.hex, "not_on_curve"),
}  # fmt: skip


@pytest.mark.parametrize("form", list(WEAK_FORMS))
def test_a_weak_station_key_is_not_enrolled_and_its_forgery_counts_for_nothing(
    form: str, arena: Arena
) -> None:
    raw, written, reason = WEAK_FORMS[form]
    public_key = written(raw)
    before = arena.server.results()
    stations = arena.server.get_json("/api/v1/stations", "operator")
    body = {"station_id": "KV-0006", "polling_area_id": "KV-0006", "public_key": public_key}
    status, answer = arena.server.request(
        "POST", "/api/v1/stations", json.dumps(body).encode(), token=arena.server.tokens["admin"]
    )
    assert (status, code_of(answer)) == (400, "S320"), answer
    error = json.loads(answer)["error"]
    assert error["fields"] == ["public_key"] and error["figures"]["reason"] == reason
    if reason == "small_order":
        assert "a small-order point lets any signature verify" in error["message_en"]
        assert "khoá công khai yếu" in error["message_vi"].lower()
    assert arena.server.get_json("/api/v1/stations", "operator") == stations
    assert arena.server.results()["ledger_index"] == before["ledger_index"]

    # the forgery: signature 0x01 ‖ 63 × 0x00 under that key's id
    forged = with_signature(
        Signer("KV-0006", "KV-0006").envelope(1),
        fingerprint(raw),
        bytes.fromhex(WEAK["forgery"]["signature_hex"]),
    )
    attempt(arena, forged, 401, "K401", REJ)


def test_the_cli_refuses_a_weak_key_alone_or_in_a_csv(tmp_path: Path) -> None:
    """`station enroll --public-key 00…00` (the issue's), and a CSV with one weak line
    among good ones: refused with S320 and the line, nothing enrolled."""
    folder = tmp_path / "server"
    init_folder(folder, write_election(tmp_path / "election.json", 3))
    zeros = "00" * 32
    done = tally_server_cli(
        "station", "enroll", "--dir", str(folder), "KV-0001",
        "--polling-area", "KV-0001", "--public-key", zeros,
    )  # fmt: skip
    assert done.returncode == 1
    assert "S320" in done.stderr and "small-order point" in done.stderr, done.stderr
    good = SigningKey.generate().public.b64
    csv_path = tmp_path / "stations.csv"
    csv_path.write_text(
        "station_id,polling_area_id,public_key\n"
        f"KV-0001,KV-0001,{good}\nKV-0002,KV-0002,{'01' + '0' * 62}\n"
    )
    done = tally_server_cli("station", "enroll-csv", "--dir", str(folder), str(csv_path))
    assert done.returncode == 1
    assert "line 3" in done.stderr and "S320" in done.stderr, done.stderr
    listed = tally_server_cli("station", "list", "--dir", str(folder))
    assert listed.returncode == 0 and "KV-0001" not in listed.stdout


def tally_server_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally_server", *args],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip
