"""I-JSON (RFC 7493) for what is signed or stored: a key given twice, an integer beyond
what a double holds, a lone surrogate are refused, naming where; every reader of the
same bytes then reads the same figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import codec
from schemas.errors import DecodeError
from schemas.models import ResultBatch
from schemas.signing import BATCH_TYPE, SigningKey, open_envelope, seal
from tally_server.service.decide import decode_batch

GOLDEN = Path(__file__).resolve().parents[1] / "assets" / "golden"
PAYLOAD = (GOLDEN / "batch.payload.json").read_bytes()


def batch_text() -> str:
    """The golden batch as canonical compact JSON (what a station signs)."""
    return codec.encode(codec.decode(PAYLOAD, ResultBatch)).decode("utf-8")


def refused(data: bytes, code: str) -> DecodeError:
    with pytest.raises(DecodeError) as err:
        decode_batch(data)
    assert err.value.code == code, err.value
    assert err.value.message_vi and err.value.message_en
    # the slow reference path says the same
    with pytest.raises(DecodeError) as again:
        codec.decode(data, ResultBatch)
    assert again.value.to_dict() == err.value.to_dict()
    return err.value


def test_a_canonical_batch_and_an_indented_one_pass() -> None:
    text = batch_text()
    assert decode_batch(text.encode()) == decode_batch(PAYLOAD)
    pretty = json.dumps(json.loads(text), indent=1, ensure_ascii=False).encode()
    assert decode_batch(pretty) == decode_batch(PAYLOAD)


def test_the_sequence_given_twice_is_refused_naming_the_key() -> None:
    text = batch_text()
    seq = json.loads(text)["sequence"]
    twice = text.replace(f'"sequence":{seq}', '"sequence":6,"sequence":7', 1)
    assert msgspec.json.decode(twice.encode(), type=ResultBatch).sequence == 7  # last wins
    first_wins = json.loads(twice, object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert first_wins["sequence"] == 6  # another reader of the same signed bytes
    error = refused(twice.encode(), "S101")
    assert error.figures == {"key": "sequence", "at": "$"}
    assert error.fields == ("$.sequence",)
    assert '"sequence"' in error.message_en and "I-JSON" in error.message_en


def test_a_candidates_votes_given_twice_are_refused_naming_where() -> None:
    data = json.loads(batch_text())
    votes = data["minutes"][0]["candidate_votes"]
    first = next(iter(votes))
    text = codec.encode(data).decode()
    inner = json.dumps(votes, separators=(",", ":"), ensure_ascii=False)
    twice = inner[:-1] + f',"{first}":{votes[first] + 100}}}'
    error = refused(text.replace(inner, twice, 1).encode(), "S101")
    assert error.figures == {"key": first, "at": "$.minutes[0].candidate_votes"}


def test_a_key_spelled_with_an_escape_is_the_same_key() -> None:
    assert '"reason":null' in batch_text()
    text = batch_text().replace('"reason":', '"reason":null,"re\\u0061son":', 1)
    assert refused(text.encode(), "S101").figures == {"key": "reason", "at": "$"}


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**30])
def test_an_integer_beyond_a_doubles_exact_range_is_refused(value: int) -> None:
    data = json.loads(batch_text())
    data["minutes"][0]["voters_on_list"] = value
    error = refused(json.dumps(data, ensure_ascii=False).encode(), "S102")
    assert error.fields == ("$.minutes[0].voters_on_list",)
    assert error.figures == {"value": str(value), "limit": 2**53 - 1}


def test_the_largest_exact_integer_is_only_the_schemas_business() -> None:
    data = json.loads(batch_text())
    data["sequence"] = 2**53 - 1
    assert decode_batch(json.dumps(data, ensure_ascii=False).encode()).sequence == 2**53 - 1
    data["minutes"][0]["voters_on_list"] = 2**53 - 1  # a number I-JSON allows: S100
    refused(json.dumps(data, ensure_ascii=False).encode(), "S100")


def test_a_lone_surrogate_is_refused_as_such() -> None:
    data = json.loads(batch_text())
    data["minutes"][0]["signatories"][0]["full_name"] = "Nguyễn \ud800 Tổ"
    error = refused(json.dumps(data).encode(), "S103")  # ensure_ascii: written \ud800
    assert error.fields == ("$.minutes[0].signatories[0].full_name",)


def test_an_envelope_with_two_payloads_is_refused() -> None:
    key = SigningKey.generate()
    envelope = seal(key, BATCH_TYPE, PAYLOAD).decode()
    other = seal(key, BATCH_TYPE, b"{}").decode()
    second = other[other.index('"payload":') : other.index(',"signatures"')]
    twice = envelope.replace(',"signatures"', "," + second + ',"signatures"', 1)
    with pytest.raises(DecodeError) as err:
        open_envelope(twice.encode(), BATCH_TYPE)
    assert err.value.code == "S101" and err.value.figures == {"key": "payload", "at": "$"}
    assert open_envelope(envelope.encode(), BATCH_TYPE).payload == PAYLOAD


def test_loads_gives_builtins_or_names_the_rule() -> None:
    assert codec.loads(b'{"a":[1,{"b":"c"}],"d":null}') == {"a": [1, {"b": "c"}], "d": None}
    for text, code in [
        (b'{"a":{"b":1,"b":1}}', "S101"),
        (b'{"a":[9007199254740992]}', "S102"),
        (b'["\\udc00"]', "S103"),
        (b'{"a":NaN}', "S100"),
        (b'{"a":', "S100"),
        (b"[" * 100_000 + b"]" * 100_000, "S100"),
    ]:
        with pytest.raises(DecodeError) as err:
            codec.loads(text)
        assert err.value.code == code, text[:40]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=3), JSON, min_size=1), JSON, st.booleans())
def test_the_fast_path_refuses_exactly_what_the_reference_refuses(
    obj: dict[str, Any], other: Any, in_list: bool
) -> None:
    """``check_ijson`` (canonical bytes, a digit scan) and ``ijson_error`` (a full
    reading) agree on canonical text, and on the same text with one key doubled."""
    text = codec.encode(obj)
    first = next(iter(json.loads(text)))
    doubled = b"{" + json.dumps(first).encode() + b":0," + text[1:]
    for inner, duplicate in ((text, False), (doubled, True)):
        outer = b"[" + codec.encode(other) + b"," + inner + b"]" if in_list else inner
        value = msgspec.json.decode(outer)
        expected = codec.ijson_error(outer)
        if not duplicate and expected is None:
            codec.check_ijson(outer, value)
            continue
        assert expected is not None
        # the first problem in document order: a big integer may come before the key
        assert expected.code in ("S101", "S102", "S103")
        assert duplicate or expected.code != "S101"
        with pytest.raises(DecodeError) as err:
            codec.check_ijson(outer, value)
        assert err.value.to_dict() == expected.to_dict()


def _integers(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        own = [schema] if schema.get("type") == "integer" else []
        return own + [i for v in schema.values() for i in _integers(v)]
    if isinstance(schema, list):
        return [i for v in schema for i in _integers(v)]
    return []


def test_the_hot_path_may_skip_the_digit_scan() -> None:
    """``decode_batch`` and ``open_envelope`` check I-JSON with ``numbers=False``: sound
    only while a batch bounds every integer within ±(2^53 − 1) and an envelope has none."""
    folder = Path(__file__).resolve().parents[2] / "schemas" / "json"
    batch = _integers(json.loads((folder / "batch.v1.schema.json").read_text()))
    assert batch and all(
        i["maximum"] <= codec.MAX_EXACT_INT and i.get("minimum", -(2**63)) >= 0 for i in batch
    )
    assert _integers(json.loads((folder / "envelope.v1.schema.json").read_text())) == []
