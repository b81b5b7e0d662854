"""Reading a ledger export: its lines, each line as an entry, and the station keys
it enrolls (read ahead by another process while the election loads)."""

from __future__ import annotations

import base64
import json
import multiprocessing
import re
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import msgspec

from schemas.errors import KiemphieuError
from schemas.signing import VerifyKey
from tally_server.store.ledger import Entry


def read_lines(path: Path) -> list[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line."""
    with open(path, "rb") as fh:
        return [(n, line) for n, line in enumerate(fh, start=1) if line.strip()]


class _Line(msgspec.Struct):
    """An export line as ``Entry.from_export_line`` reads it (other keys ignored)."""

    index: int
    prev: str
    hash: str
    time: str
    kind: str
    station: str
    envelope: str
    outcome: str
    receipt: str


_read_line = msgspec.json.Decoder(_Line).decode


def entry_of(line: bytes, line_no: int) -> Entry:
    """``Entry.from_export_line``, faster on a well-formed line (one typed decode);
    anything else goes the slow way, to be read or refused exactly as there
    (tests/unit/test_verify_lines.py holds them equal)."""
    try:
        r = _read_line(line)
        return Entry(
            r.index,
            r.prev,
            r.hash,
            r.time,
            r.kind,
            r.station,
            base64.b64decode(r.envelope, validate=True),
            r.outcome.encode("utf-8"),
            base64.b64decode(r.receipt, validate=True),
        )
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        return Entry.from_export_line(line, line_no)


_PUBLIC_KEY = re.compile(rb'\\"public_key\\":\\"([A-Za-z0-9+/]{43}=)\\"')
"""An enrolment's key as the server writes it (base64, inside the outcome's text)."""


def keys_in(lines: Iterable[tuple[int, bytes]]) -> dict[str, bytes]:
    """Every station key the ledger enrolls (fingerprint -> raw), for the workers.

    Only which key checks which signature: the replay reads each enrolment in full
    and refuses a batch whose key it did not enroll, so a line read wrong here can
    only fail a check, never pass one. The key is found in the line's text (as the
    server writes it), and the line parsed only when it is written otherwise."""
    keys: dict[str, bytes] = {}
    for n, line in lines:
        if b'"kind":"station_enrolled"' not in line:
            continue
        try:
            found = _PUBLIC_KEY.findall(line)
            if len(found) == 1:
                key = VerifyKey.checked(base64.b64decode(found[0], validate=True))
            else:
                o = json.loads(entry_of(line, n).outcome)
                key = VerifyKey.from_text(o["public_key"])
        except (ValueError, KeyError, TypeError, KiemphieuError):
            continue
        keys[key.fingerprint] = key.raw
    return keys


class KeysAhead:
    """The station keys a ledger export enrolls (fingerprint -> raw), read by a
    forked process while this one does something else (loads the election): the
    reading is then off the time before the workers can start."""

    def __init__(self, path: Path) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        self._keys = self._pool.submit(_keys_in_file, path)

    @classmethod
    def start(cls, path: Path) -> KeysAhead | None:
        """None where processes cannot be forked."""
        return cls(path) if "fork" in multiprocessing.get_all_start_methods() else None

    def result(self) -> dict[str, bytes] | None:
        """The keys, or None if they could not be read (``verify_ledger`` then does)."""
        try:
            return self._keys.result()
        except (OSError, BrokenProcessPool):
            return None
        finally:
            self._pool.shutdown()

    def close(self) -> None:
        """Gives the reading up (the ledger was refused before its keys were needed)."""
        self._keys.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _keys_in_file(path: Path) -> dict[str, bytes]:
    with open(path, "rb") as fh:
        return keys_in(enumerate(fh, start=1))
