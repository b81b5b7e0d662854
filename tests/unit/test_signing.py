"""Signatures over exact bytes, checked against fixed golden vectors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

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


def test_fingerprint_is_short_enough_to_read_aloud() -> None:
    fp = golden_key().public.fingerprint
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", fp)
    assert fp != SigningKey.generate().public.fingerprint


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
