"""The pure ingest decision shared by the server and verify: no HTTP, no database."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.errors import DecodeError
from schemas.models import CountingMinutes, ResultBatch
from schemas.signing import BATCH_TYPE, RECEIPT_TYPE, SigningKey, seal
from tally_server.core.definition import load_election
from tally_server.service.decide import (
    CountedIndex,
    Decision,
    LedgerState,
    StationKey,
    decide,
    decode_batch,
    figures_differ,
)
from tally_server.service.journal import Sealer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"
ELECTION = load_election(EXAMPLES / "election.json")
BATCH = json.loads((EXAMPLES / "batch.json").read_text("utf-8"))
KEY = SigningKey.from_seed(bytes(range(32)))


def payload(sequence: int = 1, **changes: object) -> bytes:
    data = {**BATCH, "sequence": sequence, **changes}
    return codec.encode(msgspec.convert(data, ResultBatch))


class Recorded(LedgerState):
    """The decision state over a ledger held in a dict (index -> envelope)."""

    def __init__(self) -> None:
        self.envelopes: dict[int, bytes] = {}
        super().__init__(ELECTION, self.envelopes.__getitem__)

    def write(self, d: Decision, body: bytes, index: int) -> None:
        self.envelopes[index] = body
        self.record(d, index)


def state() -> Recorded:
    s = Recorded()
    s.enroll(StationKey(KEY.public.fingerprint, "KV-01", "KV-01", KEY.public, 1))
    return s


def accept(s: Recorded, body: bytes, index: int) -> None:
    d = decide(s, body)
    assert d.answer == "accepted" and d.outcome is not None, d.outcome
    s.write(d, body, index)


def test_duplicate_conflict_and_stale() -> None:
    s = state()
    first = seal(KEY, BATCH_TYPE, payload(2))
    accept(s, first, 5)
    again = decide(s, first)
    assert again.kind == "duplicate" and again.duplicate_of is not None
    assert again.duplicate_of.ledger_index == 5
    other = decide(s, seal(KEY, BATCH_TYPE, payload(2, created_at="2011-05-22T20:00:00Z")))
    assert (other.answer, other.kind) == ("conflict", "conflict")
    stale = decide(s, seal(KEY, BATCH_TYPE, payload(1)))
    assert stale.answer == "stale" and stale.outcome is not None and stale.outcome.code == "Q410"


def test_explanations_alone_are_not_a_correction() -> None:
    m = msgspec.convert(BATCH["minutes"][0], CountingMinutes)
    assert not figures_differ(m, msgspec.structs.replace(m, explanations={"W200": "x"}))
    assert figures_differ(m, msgspec.structs.replace(m, invalid_ballots=19))
    s = state()
    accept(s, seal(KEY, BATCH_TYPE, payload(1)), 3)
    minutes = [dict(m) for m in BATCH["minutes"]]
    minutes[0]["explanations"] = {"W200": "Không có cảnh báo nào; ghi chú thêm."}
    d = decide(s, seal(KEY, BATCH_TYPE, payload(2, minutes=minutes)))
    assert d.answer == "accepted" and d.kind == "batch_accepted"


def test_the_same_envelope_gives_the_same_outcome_bytes_on_replay() -> None:
    bodies = [seal(KEY, BATCH_TYPE, payload(n)) for n in (1, 3, 2, 3)]
    outcomes = []
    for _ in range(2):
        s = state()
        run = []
        for i, body in enumerate(bodies):
            d = decide(s, body)
            assert d.outcome is not None or d.kind == "duplicate"
            run.append(d.outcome.encode() if d.outcome else b"duplicate")
            s.write(d, body, i)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]


def test_the_counted_index_keeps_every_round_and_area_apart() -> None:
    idx = CountedIndex(ELECTION)
    seat = next(iter(ELECTION.seats))
    area, race = seat
    other_race = next(r for r in ELECTION.races if r != race)
    assert idx.get((area, race, "main")) is None and len(idx) == 0
    idx[(area, race, "main")] = 0
    idx[(area, race, "revote")] = 7
    idx[("NOT-AN-AREA", race, "main")] = 9
    assert idx.get((area, race, "main")) == 0  # index 0 is a value, not "none"
    assert idx.get((area, race, "revote")) == 7
    assert idx.get((area, race, "supplementary")) is None
    assert idx.get((area, other_race, "main")) is None
    assert idx.get(("NOT-AN-AREA", race, "main")) == 9
    idx[(area, race, "main")] = 12
    assert idx.get((area, race, "main")) == 12 and len(idx) == 3


def test_sealer_makes_exactly_what_seal_makes() -> None:
    body = "Biên nhận — Nguyễn".encode()
    assert Sealer(KEY).seal(RECEIPT_TYPE, body) == seal(KEY, RECEIPT_TYPE, body)


TEXT = st.text(
    alphabet=st.sampled_from(
        list("aăâbcdđeêoôơuưy ")
        + ["\u0301", "\u0323", "\u00ad", "\u200b", "\u202e", "\ufeff", "\u0085", "\u2028"]
        + ["\\", '"', "\t", "\n", "é", "ệ", "Ơ", "\u1ec7", "–", "“", "\x7f", "\x00", "\x9f"]
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(name=TEXT, use_escape=st.booleans(), ascii_only=st.booleans())
def test_the_fast_text_check_agrees_with_the_codec(
    name: str, use_escape: bool, ascii_only: bool
) -> None:
    minutes = [dict(m) for m in BATCH["minutes"]]
    if ascii_only:  # the example's names have diacritics: make the whole text ASCII
        name = "".join(ch for ch in name if ch.isascii())
        for m in minutes:
            m["signatories"] = []
    minutes[0]["signatories"] = [{"role": "head", "full_name": name or "x"}]
    data = {**BATCH, "minutes": minutes}
    raw = json.dumps(data, ensure_ascii=use_escape).encode("utf-8")
    try:
        expected = codec.decode(raw, ResultBatch)
    except DecodeError:
        with pytest.raises(DecodeError):
            decode_batch(raw)
    else:
        assert decode_batch(raw) == expected


def test_nfd_text_is_refused_by_both() -> None:
    minutes = [dict(m) for m in BATCH["minutes"]]
    minutes[0]["signatories"] = [
        {"role": "head", "full_name": unicodedata.normalize("NFD", "Nguyễn Văn Tổ")}
    ]
    raw = json.dumps({**BATCH, "minutes": minutes}, ensure_ascii=False).encode()
    with pytest.raises(DecodeError):
        decode_batch(raw)
