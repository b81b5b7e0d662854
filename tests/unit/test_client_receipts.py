"""A receipt counts only when it proves this batch was recorded by the pinned server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from schemas import RECEIPT_TYPE, SigningKey, codec, seal
from schemas.models import Finding, Receipt
from station_client.delivery import interpret
from station_client.errors import ReceiptError
from station_client.outbox import StoredBatch
from station_client.receipts import verify_receipt

DIGEST = "ab" * 32
SERVER = SigningKey.generate()


def receipt(status: str = "accepted", **changes: Any) -> Receipt:
    fields: dict[str, object] = {
        "schema": "kiemphieu/receipt/v1",
        "election_id": "vd-2011",
        "station_id": "KV-01",
        "sequence": 3,
        "batch_digest": DIGEST,
        "status": status,
        "ledger_index": 41,
        "ledger_head": "cd" * 32,
        "received_at": dt.datetime(2011, 5, 22, 19, 50, tzinfo=dt.UTC),
    }
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]


def sealed(r: Receipt, key: SigningKey = SERVER, kind: str = RECEIPT_TYPE) -> bytes:
    return seal(key, kind, codec.encode(r))


def check(body: bytes) -> Receipt:
    return verify_receipt(
        body, SERVER.public, election_id="vd-2011", station_id="KV-01", sequence=3, digest=DIGEST
    )


def stored() -> StoredBatch:
    return StoredBatch(
        station_id="KV-01", sequence=3, digest=DIGEST, envelope=b"{}", created_at="",
        races=("QH",), supersedes=None, reason=None, state="pending", attempts=0,
        last_attempt_at=None, last_error=None, receipt=None, ledger_index=None,
        ledger_head=None, received_at=None,
    )  # fmt: skip


def test_a_receipt_from_the_pinned_key_for_our_batch_verifies() -> None:
    r = check(sealed(receipt()))
    assert (r.status, r.ledger_index) == ("accepted", 41)


def test_a_receipt_signed_by_another_key_is_refused() -> None:
    with pytest.raises(ReceiptError) as err:
        check(sealed(receipt(), key=SigningKey.generate()))
    assert err.value.code == "P201"
    assert SERVER.public.fingerprint in err.value.message_en
    assert "khoá máy chủ" in err.value.message_vi


def test_a_batch_signature_cannot_pass_for_a_receipt() -> None:
    with pytest.raises(ReceiptError) as err:
        check(sealed(receipt(), kind="application/vnd.kiemphieu.batch.v1+json"))
    assert err.value.code == "P201" and err.value.figures["cause"] == "S202"


@pytest.mark.parametrize(
    ("name", "value"),
    [("batch_digest", "ef" * 32), ("sequence", 2), ("station_id", "KV-02"),
     ("election_id", "other")],
)  # fmt: skip
def test_a_receipt_for_another_batch_is_refused(name: str, value: Any) -> None:
    with pytest.raises(ReceiptError) as err:
        check(sealed(receipt(**{name: value})))
    assert err.value.code == "P202" and err.value.fields == (name,)


def test_answers_map_to_what_happens_to_the_batch() -> None:
    def kind(status: int, body: bytes) -> str:
        return interpret(status, body, stored(), SERVER.public, "vd-2011").kind

    finding = Finding(code="E112", severity="error", message_vi="x", message_en="y")
    assert kind(200, sealed(receipt())) == "delivered"
    assert kind(422, sealed(receipt("rejected", findings=[finding]))) == "rejected"
    assert kind(409, sealed(receipt("rejected"))) == "conflict"
    error = {"error": {"code": "A401", "message_vi": "khoá", "message_en": "unknown key"}}
    refused = interpret(401, json.dumps(error).encode(), stored(), SERVER.public, "vd-2011")
    assert refused.kind == "refused" and refused.error is not None
    assert refused.error["code"] == "A401"
    assert kind(503, b"busy") == "retry"
    assert kind(507, json.dumps({"error": {"code": "A507"}}).encode()) == "retry"
    assert kind(502, b"<html>bad gateway</html>") == "retry"


def test_a_200_whose_receipt_says_rejected_is_not_a_delivery() -> None:
    with pytest.raises(ReceiptError) as err:
        interpret(200, sealed(receipt("rejected")), stored(), SERVER.public, "vd-2011")
    assert err.value.code == "P203"


def test_a_200_that_is_not_a_receipt_is_never_a_delivery() -> None:
    with pytest.raises(ReceiptError):
        interpret(200, b'{"ok": true}', stored(), SERVER.public, "vd-2011")
