"""A standby taking over: the ledger's ``server_takeover`` entry.

``tally-server standby restore`` appends it once, after the restored folder passed
the start check and before anyone is answered (docs/standby.md): it names the head
the standby continues from (what the replica held), the replica (password hidden),
the point in time restored to (or null: the latest) and the operator's reason. The
entry's ``envelope`` is the outcome signed by the server key (DSSE, payload type
``TAKEOVER_TYPE``): only the key's holder can record a takeover, and the chain
covers the signature.

What the old primary acknowledged past that head is not in this ledger: stations
show those receipts back and ``rollback_detected`` entries record them after the
takeover (service/rollback.py); ``verify`` counts them against it.

Pure: the journal, the start check and ``tally-server verify`` share it.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from schemas import codec
from schemas.errors import DecodeError, KiemphieuError, SignatureError
from schemas.signing import VerifyKey, open_envelope
from tally_server.store import ledger

TAKEOVER_TYPE = "application/vnd.kiemphieu.takeover.v1+json"
FIELDS = ("head_index", "head_hash", "replica", "restored_to", "reason", "by")
"""The outcome's keys, all of them always there."""

_json = msgspec.json.Encoder(order="deterministic")


def outcome(
    head_index: int,
    head_hash: str,
    replica: str,
    restored_to: str | None,
    reason: str,
    by: str,
) -> bytes:
    """The recorded outcome (and the signed payload). ``head_*``: the restored ledger's
    last entry, the one this entry follows; ``replica``: its URL, password hidden."""
    return _json.encode(
        {
            "head_index": head_index,
            "head_hash": head_hash,
            "replica": replica,
            "restored_to": restored_to,
            "reason": reason,
            "by": by,
        }
    )


class Mismatch(KiemphieuError):
    """A ``server_takeover`` entry that is malformed, misplaced or not signed by the
    server key (verify: V150)."""

    code = "V150"


def check_entry(entry: ledger.Entry, server_key: VerifyKey) -> dict[str, Any]:
    """The entry's outcome, if it is a takeover this server key signed, following the
    entry before it (``prev``) at the next index; else Mismatch saying what is wrong."""
    try:
        o = json.loads(entry.outcome)
        codec.check_ijson(entry.outcome, o)
        if not isinstance(o, dict) or sorted(o) != sorted(FIELDS):
            raise TypeError(f"the outcome's fields are {', '.join(FIELDS)}")
        if entry.outcome != outcome(*(o[k] for k in FIELDS)):
            raise TypeError("the outcome is not in its canonical form")
        types_ok = (
            isinstance(o["head_index"], int)
            and not isinstance(o["head_index"], bool)
            and isinstance(o["head_hash"], str)
            and isinstance(o["replica"], str)
            and (o["restored_to"] is None or isinstance(o["restored_to"], str))
            and isinstance(o["reason"], str)
            and isinstance(o["by"], str)
            and o["by"].strip() != ""
        )
        if not types_ok:
            raise TypeError("a field has the wrong type, or 'by' names no one")
    except (ValueError, TypeError, KiemphieuError) as exc:
        raise Mismatch(
            en=f"unreadable: {exc}",
            vi=f"không đọc được: {exc}",
        ) from exc
    if o["head_index"] != entry.index - 1 or o["head_hash"] != entry.prev:
        raise Mismatch(
            en=f"it names head {o['head_index']} {str(o['head_hash'])[:16]}… but follows entry "
            f"{entry.index - 1} {entry.prev[:16]}…",
            vi=f"mục ghi điểm tiếp nối {o['head_index']} {str(o['head_hash'])[:16]}… nhưng "
            f"nối sau mục {entry.index - 1} {entry.prev[:16]}…",
        )
    if entry.station or entry.receipt:
        raise Mismatch(
            en="a takeover concerns no station and has no receipt",
            vi="mục tiếp quản không thuộc trạm nào và không có biên nhận",
        )
    try:
        opened = open_envelope(entry.envelope, TAKEOVER_TYPE)
        if opened.keyid != server_key.fingerprint:
            raise SignatureError(
                en=f"signed with key {opened.keyid}, not the server's {server_key.fingerprint}",
                vi=f"ký bằng khoá {opened.keyid}, không phải khoá máy chủ {server_key.fingerprint}",
            )
        opened.verify(server_key)
    except (DecodeError, SignatureError) as exc:
        raise Mismatch(
            en=f"not signed by the server key: {exc.message_en}",
            vi=f"không được ký bằng khoá máy chủ: {exc.message_vi}",
        ) from exc
    if opened.payload != entry.outcome:
        raise Mismatch(
            en="the signed payload is not the recorded outcome",
            vi="nội dung được ký không phải kết quả được ghi",
        )
    return dict(o)
