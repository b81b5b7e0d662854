"""Signatures over exact bytes, checked against fixed golden vectors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import (
    BATCH_TYPE,
    RECEIPT_TYPE,
    ResultBatch,
    SignatureError,
    SigningKey,
    VerifyKey,
    codec,
    open_envelope,
    pae,
    seal,
    sha256_hex,
)
from schemas.errors import KeyFileError
from schemas.signing import WeakKeyError, key_problem, read_fingerprint, weak_key

GOLDEN = Path(__file__).resolve().parents[1] / "assets" / "golden"
VECTORS = json.loads((GOLDEN / "vectors.json").read_text())


def golden_key() -> SigningKey:
    return SigningKey.load(GOLDEN / "station.key.pem")


def test_golden_signature_is_reproduced_exactly() -> None:
    payload = (GOLDEN / "batch.payload.json").read_bytes()
    assert sha256_hex(payload) == VECTORS["payload_sha256"]
    assert sha256_hex(pae(BATCH_TYPE, payload)) == VECTORS["pae_sha256"]
    signature = golden_key().sign(pae(BATCH_TYPE, payload))
    assert base64.b64encode(signature).decode() == VECTORS["signature_b64"]
    assert signature == (GOLDEN / "batch.sig").read_bytes()


def test_golden_envelope_verifies_with_the_golden_public_key() -> None:
    public = VerifyKey.from_pem((GOLDEN / "station.pub.pem").read_bytes())
    assert public.fingerprint == VECTORS["fingerprint"]
    assert public.b64 == VECTORS["public_key_b64"]
    opened = open_envelope((GOLDEN / "batch.envelope.json").read_bytes(), BATCH_TYPE)
    assert opened.keyid == VECTORS["fingerprint"]
    opened.verify(public)
    batch = codec.decode(opened.payload, ResultBatch)
    assert (batch.station_id, batch.sequence) == ("KV-01", 1)


def test_fingerprint_is_digits_in_short_groups_to_read_aloud() -> None:
    fp = golden_key().public.fingerprint
    # Digits only: no F, J, W or Z to mishear on the phone; six groups of four.
    assert re.fullmatch(r"[0-9]{4}(-[0-9]{4}){5}", fp)
    assert fp != SigningKey.generate().public.fingerprint


def test_fingerprint_digits_spread_over_every_value() -> None:
    # 24 digits carry about 80 bits only if every position takes every digit.
    seen: list[set[str]] = [set() for _ in range(24)]
    for _ in range(200):
        digits = SigningKey.generate().public.fingerprint.replace("-", "")
        for i, d in enumerate(digits):
            seen[i].add(d)
    assert all(len(s) == 10 for s in seen)


def test_a_fingerprint_read_back_in_any_grouping_is_the_same_one() -> None:
    fp = VECTORS["fingerprint"]
    digits = fp.replace("-", "")
    for typed in (fp, digits, " ".join(fp.split("-")), fp.replace("-", "."), f" {fp}\t"):
        assert read_fingerprint(typed) == fp
    assert read_fingerprint(digits[:-1] + "0") != fp
    assert read_fingerprint(digits[:-1]) != fp  # one digit short is not read as the key
    assert read_fingerprint("PMK2-RVNO-G4F7-SSDM") == "PMK2-RVNO-G4F7-SSDM"


@pytest.mark.parametrize("offset", [0, 17, 400, -2])
def test_any_changed_payload_byte_fails_verification(offset: int) -> None:
    key = golden_key()
    payload = bytearray((GOLDEN / "batch.payload.json").read_bytes())
    envelope = json.loads(seal(key, BATCH_TYPE, bytes(payload)))
    payload[offset] ^= 0x01
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    opened = open_envelope(json.dumps(envelope).encode(), BATCH_TYPE)
    with pytest.raises(SignatureError) as err:
        opened.verify(key.public)
    assert err.value.code == "S201"


def test_signature_for_one_payload_type_cannot_be_replayed_as_another() -> None:
    key = golden_key()
    payload = (GOLDEN / "batch.payload.json").read_bytes()
    envelope = json.loads(seal(key, RECEIPT_TYPE, payload))
    with pytest.raises(SignatureError) as err:
        open_envelope(json.dumps(envelope).encode(), BATCH_TYPE)
    assert err.value.code == "S202"
    envelope["payloadType"] = BATCH_TYPE
    with pytest.raises(SignatureError):
        open_envelope(json.dumps(envelope).encode(), BATCH_TYPE).verify(key.public)


def test_signature_by_another_key_is_rejected() -> None:
    payload = (GOLDEN / "batch.payload.json").read_bytes()
    opened = open_envelope(seal(SigningKey.generate(), BATCH_TYPE, payload), BATCH_TYPE)
    with pytest.raises(SignatureError):
        opened.verify(golden_key().public)


def test_private_key_file_is_owner_only_and_passphrase_protected(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "station.pem"
    key.save(path, passphrase=b"mat khau")
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in path.read_bytes()
    assert SigningKey.load(path, b"mat khau").public == key.public
    with pytest.raises(KeyFileError):
        SigningKey.load(path, b"sai")


@pytest.mark.parametrize("form", ["pem", "b64", "hex"])
def test_public_key_is_read_from_any_common_form(form: str) -> None:
    public = golden_key().public
    text = {"pem": public.pem().decode(), "b64": public.b64, "hex": public.raw.hex()}[form]
    assert VerifyKey.from_text(text) == public


# -- weak public keys -----------------------------------------------------------------------

WEAK = json.loads((GOLDEN / "weak_keys.json").read_text())
L = 2**252 + 27742317777372353535851937790883648493
"""The order of the base point."""


@pytest.mark.parametrize("vector", WEAK["keys"], ids=lambda v: f"{v['reason']}:{v['hex'][:8]}…")
def test_every_weak_key_is_refused_in_every_form(vector: dict[str, str]) -> None:
    """Enrolment runs the full check; every other reader of a key (verify, the station
    client) the fast one, which finds every key a forged signature could verify under
    (no signature verifies under bytes that are no point)."""
    raw, reason = bytes.fromhex(vector["hex"]), vector["reason"]
    assert key_problem(raw) == reason
    assert weak_key(raw) == (None if reason == "not_on_curve" else reason)
    refusals = [lambda: VerifyKey.checked(raw, full=True)]
    if reason != "not_on_curve":
        refusals += [
            lambda: VerifyKey.from_text(raw.hex()),
            lambda: VerifyKey.from_text(base64.b64encode(raw).decode()),
            lambda: VerifyKey.from_pem(pem_of(raw)),
        ]
    for refuse in refusals:
        with pytest.raises(WeakKeyError) as err:
            refuse()
        assert err.value.code == "S320"
        assert err.value.fields == ("public_key",)
        assert err.value.figures["reason"] == reason
        assert "weak public key" in err.value.message_en.lower()
        assert "khoá công khai yếu" in err.value.message_vi.lower()


def pem_of(raw: bytes) -> bytes:
    """SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte prefix, then the key."""
    der = base64.b64encode(bytes.fromhex("302a300506032b6570032100") + raw)
    return b"-----BEGIN PUBLIC KEY-----\n" + der + b"\n-----END PUBLIC KEY-----\n"


def test_the_eight_small_order_points_are_exactly_the_blocklist() -> None:
    """8·A = identity for the 8 canonical encodings of the list, each a different point."""
    canonical = [
        v["hex"] for v in WEAK["keys"] if v["reason"] == "small_order" and _canonical(v["hex"])
    ]
    assert len(canonical) == len(set(canonical)) == 8


def _canonical(hex_key: str) -> bool:
    n = int.from_bytes(bytes.fromhex(hex_key), "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    return y < 2**255 - 19 and not (sign and y in (1, 2**255 - 20))


@given(st.binary(min_size=32, max_size=32))
def test_the_fast_check_agrees_with_the_reference(raw: bytes) -> None:
    problem = key_problem(raw)
    assert weak_key(raw) == (None if problem == "not_on_curve" else problem)


def test_real_keys_are_not_weak() -> None:
    for _ in range(50):
        raw = SigningKey.generate().public.raw
        assert key_problem(raw) is None and weak_key(raw) is None
        assert VerifyKey.checked(raw, full=True).raw == raw


def test_the_issues_forgery_verifies_in_openssl_so_the_key_must_be_refused() -> None:
    """With the identity as key, R = identity and S = 0 pass OpenSSL's check for any
    message: only refusing the key stops it. The server refuses such a key at enrolment
    (S320) and again before any batch signed under it is looked at."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    forgery = WEAK["forgery"]
    raw, sig = bytes.fromhex(forgery["public_key_hex"]), bytes.fromhex(forgery["signature_hex"])
    loaded = Ed25519PublicKey.from_public_bytes(raw)
    for message in (b"", pae(BATCH_TYPE, b'{"sequence":1}'), b"any other bytes"):
        loaded.verify(sig, message)  # no InvalidSignature: that is the hazard
    with pytest.raises(WeakKeyError):
        VerifyKey.from_text(raw.hex())
    assert weak_key(raw) == "small_order"


def test_a_signature_with_s_not_below_l_is_refused() -> None:
    """S + L is the same scalar: OpenSSL refuses it (S < L), so a signature cannot be
    rewritten into a second valid one (malleability), and neither can S = L alone."""
    key = SigningKey.generate()
    message = pae(BATCH_TYPE, b'{"sequence":1}')
    good = key.sign(message)
    s = int.from_bytes(good[32:], "little")
    assert key.public.verify(good, message)
    for bad_s in (s + L, L):
        assert not key.public.verify(good[:32] + bad_s.to_bytes(32, "little"), message)
