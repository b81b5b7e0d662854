"""Checking a server's receipt: it must prove that THIS batch was recorded.

A receipt counts only when it is signed by the server key pinned at init,
carries the receipt payload type, and names our election, station, sequence
and the SHA-256 of the exact payload bytes we signed.
"""

from __future__ import annotations

from schemas import codec
from schemas.errors import DecodeError, SignatureError
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, VerifyKey, open_envelope
from station_client.errors import ReceiptError


def verify_receipt(
    body: bytes,
    server_key: VerifyKey,
    *,
    election_id: str,
    station_id: str,
    sequence: int,
    digest: str,
) -> Receipt:
    try:
        opened = open_envelope(body, RECEIPT_TYPE)
        opened.verify(server_key)
    except (SignatureError, DecodeError) as exc:
        raise ReceiptError(
            en="The receipt is not signed by the pinned server key "
            f"({server_key.fingerprint}): {exc.message_en} Do not trust this answer; "
            "the batch stays pending. Check the server address and tell the committee.",
            vi="Biên nhận không được ký bằng khoá máy chủ đã ghim "
            f"({server_key.fingerprint}): {exc.message_vi} Không tin câu trả lời này; "
            "lô vẫn chờ gửi. Kiểm tra địa chỉ máy chủ và báo Ủy ban bầu cử.",
            code="P201",
            fields=("signatures",),
            figures={"server_fingerprint": server_key.fingerprint, "cause": exc.code},
        ) from exc
    receipt = codec.decode(opened.payload, Receipt)
    expected: dict[str, str | int] = {
        "election_id": election_id,
        "station_id": station_id,
        "sequence": sequence,
        "batch_digest": digest,
    }
    for name, want in expected.items():
        got = getattr(receipt, name)
        if got != want:
            raise ReceiptError(
                en=f"The receipt is for another batch: {name} is {got!r}, ours is {want!r}. "
                "The batch stays pending.",
                vi=f"Biên nhận dành cho lô khác: {name} là {got!r}, của trạm là {want!r}. "
                "Lô vẫn chờ gửi.",
                code="P202",
                fields=(name,),
                figures={"receipt": str(got), "expected": str(want)},
            )
    return receipt
