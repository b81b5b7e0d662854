"""What ``tally-server verify`` found: the report and its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas import codec
from tally_server.core.tally import ConstituencyResult
from tally_server.store import ledger


@dataclass(frozen=True, slots=True)
class BadEntry:
    index: int
    """Position in the file (0-based): the entry that should be there."""
    line: int
    code: str
    reason_en: str
    reason_vi: str


@dataclass(slots=True)
class Takeover:
    """A ``server_takeover`` entry and the receipts of the old primary it explains: the
    ``rollback_detected`` entries after it for indexes past the head it continues from."""

    index: int
    head_index: int
    head_hash: str
    time: str
    replica: str
    restored_to: str | None
    reason: str
    by: str
    shown: int = 0
    """Receipts the old primary signed past ``head_index``, shown back by stations."""
    redelivered: int = 0
    """Of those, the batches delivered again in a later entry (accepted or refused)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "head_index": self.head_index,
            "head_hash": self.head_hash,
            "time": self.time,
            "replica": self.replica,
            "restored_to": self.restored_to,
            "reason": self.reason,
            "by": self.by,
            "receipts_shown_back": self.shown,
            "redelivered": self.redelivered,
        }


@dataclass(slots=True)
class Report:
    entries: int = 0
    head_index: int = -1
    head_hash: str = ledger.GENESIS_PREV
    bad: BadEntry | None = None
    kinds: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    signatures: int = 0
    """Stations' batch signatures verified."""
    receipt_signatures: int = 0
    """The server's receipt signatures verified (one more per batch entry that has
    a receipt: the work of verify is both)."""
    unsigned: int = 0
    """Refusals before a valid signature, recorded as a digest: their signature
    could not be re-checked (there are no bytes), their outcome was rebuilt."""
    takeovers: list[Takeover] = field(default_factory=list)
    rollbacks_without_takeover: int = 0
    """``rollback_detected`` entries no takeover explains (a backup put back by hand)."""
    results: list[ConstituencyResult] = field(default_factory=list)
    results_sha256: str | None = None
    fingerprint: str | None = None
    fingerprint_index: int | None = None
    fingerprint_results_sha256: str | None = None
    seconds: float = 0.0
    workers: int = 1

    @property
    def ok(self) -> bool:
        fingerprint_ok = self.fingerprint is None or self.fingerprint_index is not None
        return self.bad is None and fingerprint_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_index": self.head_index,
            "head_hash": self.head_hash,
            "first_bad_entry": None
            if self.bad is None
            else {
                "index": self.bad.index,
                "line": self.bad.line,
                "code": self.bad.code,
                "reason_en": self.bad.reason_en,
                "reason_vi": self.bad.reason_vi,
            },
            "kinds": self.kinds,
            "batches_accepted": self.accepted,
            "signatures_checked": self.signatures,
            "receipt_signatures_checked": self.receipt_signatures,
            "unsigned_refusals_as_recorded": self.unsigned,
            "takeovers": [t.to_json() for t in self.takeovers],
            "rollbacks_without_takeover": self.rollbacks_without_takeover,
            "results_sha256": self.results_sha256,
            "fingerprint": self.fingerprint,
            "fingerprint_index": self.fingerprint_index,
            "fingerprint_results_sha256": self.fingerprint_results_sha256,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            # The records themselves: msgspec encodes them as ``to_builtins`` would.
            "results": self.results if self.bad is None else [],
        }

    def json_bytes(self) -> bytes:
        """``to_json()`` as indented UTF-8 JSON: msgspec rather than ``json.dumps``,
        which is many times slower on a national night's millions of values."""
        return msgspec.json.format(codec.encode(self.to_json()), indent=2)
