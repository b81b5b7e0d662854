"""The per-entry work that does not depend on the entries before it: the hash,
the station's signature, the server's receipt signature. Run by the pool's
worker processes (``pool.py``) and by the main process when it catches up."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas import codec
from schemas.errors import DecodeError, SignatureError
from schemas.models import Finding, ResultBatch
from schemas.signing import (
    BATCH_TYPE,
    RECEIPT_TYPE,
    Opened,
    VerifyKey,
    open_envelope,
    pae,
)
from tally_server.core import rules
from tally_server.core.definition import Election
from tally_server.service.decide import (
    build_receipt,
    decode_batch,
    decode_outcome,
    outcome_has_receipt,
)
from tally_server.service.verify.reading import entry_of
from tally_server.store import ledger
from tally_server.store.ledger import Entry, LedgerFormatError


@dataclass(frozen=True, slots=True)
class Precheck:
    """What a worker found about one line, without knowing the entries before it."""

    line: int
    entry: Entry | None
    """None when the line is not a ledger entry (``error`` says why)."""
    error: tuple[str, str, str] | None = None
    hash: str = ""
    opened: Opened | None = None
    signature_ok: bool | None = None
    """None: not a batch, or no key of that id is enrolled anywhere in the ledger."""
    findings: list[Finding] | None = None
    """The law's findings without ``previous``, when the payload decoded."""
    decoded: bool = False
    receipt_ok: bool = False
    """The stored receipt is the server's signature over exactly the receipt the
    entry's *recorded* outcome implies (or there is none, and none is due)."""
    batch: ResultBatch | None = None
    """The decoded batch, when worked out in the main process."""
    receipt_checked: bool = False
    """The receipt's signature was verified (whatever the answer)."""


@dataclass(frozen=True, slots=True)
class Keys:
    """What the checks need of the election and the keys, set once per process: of the
    election only its id (in the receipts), so the workers can start before the
    definition is loaded."""

    election_id: str
    stations: dict[str, Ed25519PublicKey]
    """Every station key the ledger enrolls, by fingerprint."""
    server: Ed25519PublicKey
    server_fingerprint: str


_keys: Keys | None = None


def setup(election_id: str, keys: dict[str, bytes], server_key: bytes) -> Keys:
    """The keys parsed, and made this process's."""
    parsed = Keys(
        election_id,
        {fp: Ed25519PublicKey.from_public_bytes(raw) for fp, raw in keys.items()},
        Ed25519PublicKey.from_public_bytes(server_key),
        VerifyKey(server_key).fingerprint,
    )
    use(parsed)
    return parsed


def use(keys: Keys) -> None:
    """Make ``keys`` this process's (a worker's, parsed once before it forked)."""
    global _keys
    _keys = keys


def _the_keys() -> Keys:
    assert _keys is not None, "setup() first"
    return _keys


def unsigned_entry(entry: Entry) -> bool:
    """A refusal before a valid signature: recorded without the envelope."""
    return entry.kind == ledger.BATCH_REJECTED and not entry.envelope


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _receipt_ok(entry: Entry) -> tuple[bool, bool]:
    """(the receipt is right, its signature was verified)."""
    if entry.kind not in ledger.BATCH_KINDS or unsigned_entry(entry):
        return not entry.receipt, False
    try:
        outcome = decode_outcome(entry.outcome)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False, False  # the re-check will not give these bytes either
    if not outcome_has_receipt(outcome):
        return not entry.receipt, False
    k = _the_keys()
    try:
        r = open_envelope(entry.receipt, RECEIPT_TYPE)
        expected = build_receipt(k.election_id, outcome, entry.index, entry.hash, entry.time)
    except (DecodeError, SignatureError, ValueError):
        return False, False
    if r.keyid != k.server_fingerprint or r.payload != codec.encode(expected):
        return False, False
    return _verifies(k.server, r.signature, pae(r.payload_type, r.payload)), True


def precheck(line_no: int, line: bytes, election: Election | None = None) -> Precheck:
    """With ``election``: also decode the batch and run the law's checks on it, for
    the replay in this same process. A worker does not: decoding costs about what
    replaying does, and the replay would decode the batch again anyway."""
    try:
        entry = entry_of(line, line_no)
    except LedgerFormatError as exc:
        return Precheck(line_no, None, (exc.code, exc.message_en, exc.message_vi))
    digest = entry.recomputed_hash()
    receipt_ok, receipt_checked = _receipt_ok(entry)
    if entry.kind not in ledger.BATCH_KINDS:
        return Precheck(line_no, entry, None, digest, receipt_ok=receipt_ok)
    try:
        opened = open_envelope(entry.envelope, BATCH_TYPE)
    except (DecodeError, SignatureError):
        return Precheck(
            line_no, entry, None, digest, receipt_ok=receipt_ok, receipt_checked=receipt_checked
        )
    k = _the_keys()
    sig_ok: bool | None = None
    found: list[Finding] | None = None
    decoded = False
    kept: ResultBatch | None = None
    key = k.stations.get(opened.keyid)
    if key is not None:
        sig_ok = _verifies(key, opened.signature, pae(opened.payload_type, opened.payload))
        if sig_ok and election is not None:
            try:
                batch = decode_batch(opened.payload)
            except DecodeError:
                pass
            else:
                decoded, kept = True, batch
                found = rules.check_batch(election, batch)
    # The main process needs neither the envelope (it has ``opened``) nor the receipt
    # (checked here): leave them out of what travels back.
    light = dataclasses.replace(entry, envelope=b"", receipt=b"")
    return Precheck(
        line_no,
        light,
        None,
        digest,
        opened,
        sig_ok,
        found,
        decoded,
        receipt_ok,
        kept,
        receipt_checked,
    )


Packed = tuple[Any, ...]


def pack(pre: Precheck) -> Packed:
    """Plain tuples cross the process boundary faster than dataclasses."""
    e, o = pre.entry, pre.opened
    return (
        pre.line,
        None if e is None else (e.index, e.prev, e.hash, e.time, e.kind, e.station, e.envelope,
                                e.outcome, e.receipt),
        pre.error,
        pre.hash,
        None if o is None else (o.payload_type, o.payload, o.keyid, o.signature),
        pre.signature_ok,
        pre.findings,
        pre.decoded,
        pre.receipt_ok,
        pre.receipt_checked,
    )  # fmt: skip


def unpack(t: Packed) -> Precheck:
    line, e, error, digest, o, sig_ok, found, decoded, receipt_ok, receipt_checked = t
    return Precheck(
        line,
        None if e is None else Entry(*e),
        error,
        digest,
        None if o is None else Opened(*o),
        sig_ok,
        found,
        decoded,
        receipt_ok,
        None,
        receipt_checked,
    )
