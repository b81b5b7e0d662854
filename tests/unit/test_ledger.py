"""The ledger's hash chain: its encoding, its export, and the doc's own check script."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally_server.store import ledger
from tally_server.store.ledger import GENESIS_PREV, Entry, entry_hash

ROOT = Path(__file__).resolve().parents[2]


def chain(n: int = 6) -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS_PREV
    for i in range(n):
        e = Entry.make(
            i,
            prev,
            f"2011-05-22T19:42:{i:02d}.000000Z",
            ledger.BATCH_ACCEPTED if i else ledger.LEDGER_OPENED,
            f"KV-0{i}" if i else "",
            f'{{"payload":"{i}"}}'.encode() if i else b"",
            json.dumps(
                {"status": "accepted", "note": "Nguyễn Văn Tổ", "i": i}, ensure_ascii=False
            ).encode(),
            b"receipt-%d" % i if i else b"",
        )
        out.append(e)
        prev = e.hash
    return out


def test_the_hash_is_the_documented_framing() -> None:
    e = chain(2)[1]
    expected = hashlib.sha256(
        b"kiemphieu-ledger-v2"
        + b" 1 1"
        + b" 64 " + e.prev.encode()
        + b" 27 2011-05-22T19:42:01.000000Z"
        + b" 14 batch_accepted"
        + b" 5 KV-01"
        + b' 15 {"payload":"1"}'
        + b" %d " % len(e.outcome) + e.outcome
    ).hexdigest()  # fmt: skip
    assert e.hash == expected


@pytest.mark.parametrize(
    "name", ["index", "prev", "time", "kind", "station", "envelope", "outcome"]
)
def test_changing_any_hashed_field_changes_the_hash(name: str) -> None:
    e = chain(3)[2]
    value = getattr(e, name)
    other: object
    if isinstance(value, int):
        other = value + 1
    elif isinstance(value, bytes):
        other = value[:-1] + bytes([value[-1] ^ 1])
    else:
        other = value[:-1] + ("1" if value[-1] != "1" else "2")
    assert dataclasses.replace(e, **{name: other}).recomputed_hash() != e.hash


@given(
    st.lists(st.binary(max_size=40), min_size=7, max_size=7),
)
def test_moving_bytes_between_fields_changes_the_hash(parts: list[bytes]) -> None:
    # Length prefixes: shifting a byte from one field to the next is a different entry.
    args = [p.hex() for p in parts[:5]]
    a = entry_hash(1, args[0], args[1], args[2], args[3], parts[5], parts[6])
    if parts[5]:
        b = entry_hash(
            1, args[0], args[1], args[2], args[3], parts[5][:-1], parts[5][-1:] + parts[6]
        )
        assert a != b


def test_export_lines_read_back_to_the_same_entries() -> None:
    entries = chain()
    lines = b"".join(e.export_line() for e in entries)
    assert list(ledger.read_export(lines.splitlines())) == entries
    first = json.loads(lines.splitlines()[1])
    assert first["outcome"] == entries[1].outcome.decode()
    assert "Nguyễn" in lines.decode()


def test_a_bad_line_names_itself() -> None:
    with pytest.raises(ledger.LedgerFormatError) as info:
        Entry.from_export_line(b'{"index": "x"}', 7)
    assert info.value.figures["line"] == 7


def doc_check_script() -> str:
    text = (ROOT / "docs" / "ledger.md").read_text("utf-8")
    m = re.search(r"<!-- ledger-check -->\n```python\n(.*?)```", text, flags=re.S)
    assert m, "docs/ledger.md lost its check script"
    return m.group(1)


def run_doc_check(tmp_path: Path, entries: list[Entry]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"".join(e.export_line() for e in entries))
    script = tmp_path / "check.py"
    script.write_text(doc_check_script())
    return subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, check=False
    )


def test_the_documented_script_accepts_a_good_chain(tmp_path: Path) -> None:
    entries = chain()
    result = run_doc_check(tmp_path, entries)
    assert result.returncode == 0, result.stderr
    assert entries[-1].hash in result.stdout


@pytest.mark.parametrize("tamper", ["flip", "delete", "swap", "insert"])
def test_the_documented_script_catches_tampering(tmp_path: Path, tamper: str) -> None:
    entries = chain()
    if tamper == "flip":
        e = entries[3]
        entries[3] = dataclasses.replace(e, envelope=e.envelope.replace(b"3", b"4"))
    elif tamper == "delete":
        del entries[2]
    elif tamper == "swap":
        entries[2], entries[3] = entries[3], entries[2]
    else:
        entries.insert(4, entries[3])
    result = run_doc_check(tmp_path, entries)
    assert result.returncode == 1
    bad = {"flip": 3, "delete": 2, "swap": 2, "insert": 4}[tamper]
    assert f"entry {bad} " in result.stderr
