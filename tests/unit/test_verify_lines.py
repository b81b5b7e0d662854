"""verify's fast reading of an export line gives what ``Entry.from_export_line``
gives, or the same refusal."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tally_server.service.verify.reading import entry_of
from tally_server.store.ledger import Entry, LedgerFormatError

FIELDS = ["index", "prev", "hash", "time", "kind", "station", "envelope", "outcome", "receipt"]
GOOD = json.loads(
    Entry.make(
        7, "a" * 64, "2026-11-28T00:00:00.000000Z", "batch_accepted", "TBC-KV-01",
        b'{"x":"Nguy\xe1\xbb\x85n"}', b'{"status":"accepted"}', b"\x01\x02",
    ).export_line()
)  # fmt: skip
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["AQI=", "AQI", "!!!!", "", "\ud800", "e30="]),
    st.lists(st.integers(), max_size=2),
)


def outcome(line: bytes) -> Any:
    try:
        return Entry.from_export_line(line, 3)
    except LedgerFormatError as exc:
        return ("refused", exc.code)


def fast(line: bytes) -> Any:
    try:
        return entry_of(line, 3)
    except LedgerFormatError as exc:
        return ("refused", exc.code)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*FIELDS, "extra"]), VALUES, max_size=3),
    st.lists(st.sampled_from(FIELDS), max_size=2),
    st.booleans(),
    st.booleans(),
)
def test_the_fast_reading_agrees_with_the_entry_reader(
    changes: dict[str, Any], dropped: list[str], duplicate: bool, ascii_only: bool
) -> None:
    record = {k: v for k, v in {**GOOD, **changes}.items() if k not in dropped}
    text = json.dumps(record, ensure_ascii=ascii_only)
    if duplicate and record:
        key = next(iter(record))
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(record[key])}" + "}"
    line = text.encode("utf-8", errors="surrogatepass") + b"\n"
    assert fast(line) == outcome(line)


def test_a_good_line_reads_the_same() -> None:
    line = json.dumps(GOOD).encode() + b"\n"
    assert fast(line) == outcome(line) == Entry(**{**GOOD, **_bytes(GOOD)})


def _bytes(record: dict[str, Any]) -> dict[str, bytes]:
    import base64

    return {
        "envelope": base64.b64decode(record["envelope"]),
        "outcome": record["outcome"].encode(),
        "receipt": base64.b64decode(record["receipt"]),
    }
