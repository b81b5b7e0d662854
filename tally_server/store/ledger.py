"""The ledger's entries, their hash chain, and the JSON Lines export.

Entry ``i`` is hashed with the hash of entry ``i-1``; the exact encoding is in
docs/ledger.md so an observer can re-check a chain without our code::

    hash_i = SHA-256( "kiemphieu-ledger-v2"
                      || for each field f of (index, prev, time, kind, station,
                                              envelope, outcome):
                             SP || len(f) || SP || f )

``len`` is the byte length in decimal ASCII, ``index`` is decimal ASCII,
``prev`` the previous hash in lowercase hex (64 zeros for entry 0), the text
fields UTF-8, ``envelope`` the exact bytes received and ``outcome`` the exact
canonical JSON bytes recorded. The receipt is not inside the hash (it names
the hash of its own entry); it is bound to the entry by its signature and by
repeating the entry's index, hash, time, digest, status and findings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.errors import KiemphieuError

FORMAT = "kiemphieu-ledger-v2"
"""v2: a batch outcome records what became of it (``outcome``), not an HTTP status.
No v1 ledger was ever released: one is refused, not migrated (``format_error``)."""
GENESIS_PREV = "0" * 64

# Entry kinds.
LEDGER_OPENED = "ledger_opened"
STATION_ENROLLED = "station_enrolled"
STATION_REVOKED = "station_revoked"
BATCH_ACCEPTED = "batch_accepted"
CORRECTION = "correction"
BATCH_REJECTED = "batch_rejected"
CONFLICT = "conflict"
ALERT_REVIEWED = "alert_reviewed"
ROLLBACK_DETECTED = "rollback_detected"
"""A station showed a receipt whose entry this ledger no longer holds (docs/ledger.md)."""
SERVER_TAKEOVER = "server_takeover"
"""A standby restored from the replica continues the ledger (service/takeover.py)."""
KINDS = frozenset(
    {
        LEDGER_OPENED,
        STATION_ENROLLED,
        STATION_REVOKED,
        BATCH_ACCEPTED,
        CORRECTION,
        BATCH_REJECTED,
        CONFLICT,
        ALERT_REVIEWED,
        ROLLBACK_DETECTED,
        SERVER_TAKEOVER,
    }
)
BATCH_KINDS = frozenset({BATCH_ACCEPTED, CORRECTION, BATCH_REJECTED, CONFLICT})


class LedgerFormatError(KiemphieuError):
    """A ledger export line that cannot be read."""

    code = "L100"


class LedgerVersionError(KiemphieuError):
    """A ledger of another format version than this software's."""

    code = "L105"


def format_error(opened: Any) -> LedgerVersionError | None:
    """Why a ledger whose entry 0 has outcome ``opened`` (its JSON) cannot be read
    here, or None when it is of this version."""
    found = opened.get("format") if isinstance(opened, dict) else None
    if found == FORMAT:
        return None
    shown = found if isinstance(found, str) else "no format named"
    return LedgerVersionError(
        en=f"The ledger is {shown}; this version of kiemphieu reads {FORMAT} only. No "
        f"earlier ledger is migrated: make a new server folder with `tally-server init`, "
        f"or check that ledger with the version of kiemphieu that wrote it.",
        vi=f"Sổ cái có định dạng {shown}; phiên bản kiemphieu này chỉ đọc {FORMAT}. Sổ cái "
        f"cũ không được chuyển đổi: hãy tạo thư mục máy chủ mới bằng `tally-server init`, "
        f"hoặc kiểm tra sổ cái đó bằng phiên bản kiemphieu đã ghi nó.",
        fields=("format",),
        figures={"format": shown, "expected": FORMAT},
    )


def entry_hash(
    index: int,
    prev: str,
    time: str,
    kind: str,
    station: str,
    envelope: bytes,
    outcome: bytes,
) -> str:
    h = hashlib.sha256(FORMAT.encode("ascii"))
    for field in (
        str(index).encode("ascii"),
        prev.encode("ascii"),
        time.encode("utf-8"),
        kind.encode("utf-8"),
        station.encode("utf-8"),
        envelope,
        outcome,
    ):
        h.update(b" %d " % len(field))
        h.update(field)
    return h.hexdigest()


def format_time(moment: dt.datetime) -> str:
    """Ledger time: UTC, microseconds, always the same width."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    if len(text) != 27 or not text.endswith("Z"):
        raise ValueError(f"not a ledger time: {text!r}")
    return dt.datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    prev: str
    hash: str
    time: str
    kind: str
    station: str
    envelope: bytes
    outcome: bytes
    receipt: bytes

    @classmethod
    def make(
        cls,
        index: int,
        prev: str,
        time: str,
        kind: str,
        station: str,
        envelope: bytes,
        outcome: bytes,
        receipt: bytes = b"",
    ) -> Entry:
        digest = entry_hash(index, prev, time, kind, station, envelope, outcome)
        return cls(index, prev, digest, time, kind, station, envelope, outcome, receipt)

    def recomputed_hash(self) -> str:
        return entry_hash(
            self.index, self.prev, self.time, self.kind, self.station, self.envelope, self.outcome
        )

    def outcome_json(self) -> Any:
        return json.loads(self.outcome)

    def export_line(self) -> bytes:
        """One JSON Lines record (with its newline)."""
        record = {
            "index": self.index,
            "prev": self.prev,
            "hash": self.hash,
            "time": self.time,
            "kind": self.kind,
            "station": self.station,
            "envelope": base64.b64encode(self.envelope).decode("ascii"),
            "outcome": self.outcome.decode("utf-8"),
            "receipt": base64.b64encode(self.receipt).decode("ascii"),
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_export_line(cls, line: bytes | str, line_no: int = 0) -> Entry:
        try:
            record = json.loads(line)
            return cls(
                index=_int(record["index"]),
                prev=_str(record["prev"]),
                hash=_str(record["hash"]),
                time=_str(record["time"]),
                kind=_str(record["kind"]),
                station=_str(record["station"]),
                envelope=base64.b64decode(_str(record["envelope"]), validate=True),
                outcome=_str(record["outcome"]).encode("utf-8"),
                receipt=base64.b64decode(_str(record["receipt"]), validate=True),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise LedgerFormatError(
                en=f"Ledger line {line_no} is not a ledger entry: {exc}",
                vi=f"Dòng {line_no} của sổ cái không phải một mục sổ cái: {exc}",
                figures={"line": line_no},
            ) from exc


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def read_export(path_or_lines: Any) -> Iterator[Entry]:
    """Entries of a JSON Lines export (a path or an iterable of lines)."""
    if isinstance(path_or_lines, str | Path):
        with open(path_or_lines, "rb") as fh:
            yield from read_export(fh)
        return
    for n, line in enumerate(path_or_lines, start=1):
        if line.strip():
            yield Entry.from_export_line(line, n)
