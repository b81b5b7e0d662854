"""Receipts shown back to the server: does the ledger still hold what it acknowledged?

A station presents a receipt the server signed. When the ledger no longer has
that entry at that index with that hash (a restored backup, a fork), the
server records the receipt itself as evidence, an entry of kind
``rollback_detected``, and never hands that index out again: the evidence
entry takes index ``max(next index, receipt index + 1)``, so an index a
station was shown is never given to another entry afterwards. The skipped
indexes belong to the lost branch; the receipts stations hold name them.

Pure: the server (journal, ingest) and ``tally-server verify`` share it, so
the recorded outcome is replayed byte for byte.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas import codec
from schemas.errors import DecodeError, KiemphieuError, SignatureError
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, VerifyKey, open_envelope
from tally_server.service.codes import ServerError
from tally_server.store import ledger

_json = msgspec.json.Encoder(order="deterministic")

MESSAGE_VI = "Máy chủ không còn giữ kết quả đã xác nhận"
MESSAGE_EN = "The server no longer holds what it acknowledged"


def open_receipt(body: bytes, server_key: VerifyKey, election_id: str) -> Receipt:
    """The receipt in ``body`` if this server signed it for this election; else L401."""
    try:
        opened = open_envelope(body, RECEIPT_TYPE)
        if opened.keyid != server_key.fingerprint:
            raise SignatureError(
                en=f"The receipt names key {opened.keyid}, not this server's "
                f"{server_key.fingerprint}.",
                vi=f"Biên nhận ghi khoá {opened.keyid}, không phải khoá {server_key.fingerprint} "
                "của máy chủ này.",
                code="S201",
            )
        opened.verify(server_key)
        receipt = codec.decode(opened.payload, Receipt)
    except (DecodeError, SignatureError) as exc:
        raise ServerError(
            en=f"Not a receipt this server signed: {exc.message_en}",
            vi=f"Không phải biên nhận do máy chủ này ký: {exc.message_vi}",
            code="L401",
            fields=("receipt",),
            figures={"cause": exc.code, "server_fingerprint": server_key.fingerprint},
        ) from exc
    if receipt.election_id != election_id:
        raise ServerError(
            en=f"The receipt is for election {receipt.election_id}, not {election_id}.",
            vi=f"Biên nhận của cuộc bầu cử {receipt.election_id}, không phải {election_id}.",
            code="L401",
            fields=("election_id",),
            figures={"election_id": receipt.election_id, "expected": election_id},
        )
    return receipt


def evidence_index(next_index: int, receipt: Receipt) -> int:
    """Where the evidence goes: past every index the receipt shows was handed out."""
    return max(next_index, receipt.ledger_index + 1)


def outcome(receipt: Receipt, held_hash: str | None, head_index: int) -> bytes:
    """The recorded outcome: what the receipt says and what this ledger held instead.

    ``held_hash``: the hash of this ledger's entry at the receipt's index (None when
    the ledger had not reached it); ``head_index``: the last entry before the evidence.
    """
    return _json.encode(
        {
            "station_id": receipt.station_id,
            "sequence": receipt.sequence,
            "batch_digest": receipt.batch_digest,
            "status": receipt.status,
            "ledger_index": receipt.ledger_index,
            "ledger_head": receipt.ledger_head,
            "received_at": ledger.format_time(receipt.received_at),
            "held_hash": held_hash,
            "head_index": head_index,
        }
    )


def alert_data(receipt: Receipt, held_hash: str | None, head_index: int) -> dict[str, Any]:
    k = receipt.ledger_index
    if held_hash is not None:
        where = (
            f"entry {k} here has hash {held_hash[:12]}, the receipt names "
            f"{receipt.ledger_head[:12]}"
        )
        where_vi = (
            f"mục {k} ở đây có hash {held_hash[:12]}, biên nhận ghi {receipt.ledger_head[:12]}"
        )
    elif k > head_index:
        where = f"index {k} is beyond this ledger's head {head_index}"
        where_vi = f"số {k} vượt quá mục cuối {head_index} của sổ cái"
    else:
        where = f"this ledger has no entry {k} (passed over after an earlier one was shown)"
        where_vi = f"sổ cái không có mục {k} (đã bỏ qua sau một biên nhận trước)"
    return {
        "sequence": receipt.sequence,
        "digest": receipt.batch_digest,
        "receipt_status": receipt.status,
        "receipt_ledger_index": receipt.ledger_index,
        "receipt_ledger_head": receipt.ledger_head,
        "held_hash": held_hash,
        "head_index": head_index,
        "message_vi": f"{MESSAGE_VI} (trạm {receipt.station_id}, lô {receipt.sequence}): "
        f"{where_vi}. Có thể một bản sao lưu cũ đã được khôi phục; trạm sẽ gửi lại lô.",
        "message_en": f"{MESSAGE_EN} (station {receipt.station_id}, batch "
        f"{receipt.sequence}): {where}. An older backup may have been restored; the "
        "station re-delivers the batch.",
    }


class Mismatch(KiemphieuError):
    """A ``rollback_detected`` entry that is not what its receipt implies (verify)."""

    code = "V140"


def check_entry(
    entry: ledger.Entry,
    server_key: VerifyKey,
    election_id: str,
    expected_index: int,
    hash_at: Any,
) -> None:
    """Replay a ``rollback_detected`` entry: ``hash_at(i)`` is this chain's hash at
    index ``i`` (None where it has none). Raises Mismatch saying what differs."""
    try:
        receipt = open_receipt(entry.envelope, server_key, election_id)
    except ServerError as exc:
        raise Mismatch(en=exc.message_en, vi=exc.message_vi) from exc
    held = hash_at(receipt.ledger_index) if receipt.ledger_index < expected_index else None
    if held == receipt.ledger_head:
        raise Mismatch(
            en=f"the ledger holds entry {receipt.ledger_index} as the receipt names it: "
            "nothing was lost",
            vi=f"sổ cái vẫn giữ mục {receipt.ledger_index} đúng như biên nhận: không mất gì",
        )
    want_index = evidence_index(expected_index, receipt)
    if entry.index != want_index:
        raise Mismatch(
            en=f"the evidence is at index {entry.index}, where {want_index} belongs",
            vi=f"bằng chứng ở số {entry.index}, đúng ra ở số {want_index}",
        )
    if entry.station != receipt.station_id or entry.receipt:
        raise Mismatch(
            en="the entry's station or receipt field is not the receipt's",
            vi="trạm hoặc biên nhận của mục không khớp biên nhận",
        )
    if entry.outcome != outcome(receipt, held, expected_index - 1):
        raise Mismatch(
            en="the recorded outcome is not what the receipt and this ledger give",
            vi="kết quả ghi không khớp biên nhận và sổ cái",
        )
