"""``codec.plain_text``: the whole-text check ``codec.decode`` trusts instead of
walking every string must never pass text the walk would refuse."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.errors import DecodeError

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from("ăâđêôơưẠạẢảẤấẦầ\u0300\u0301\u0303\u0309\u0323\u200b\u00ad\x7f\x85\t\n"),
    ),
    max_size=12,
)


class Doc(msgspec.Struct):
    name: str
    tags: dict[str, str]
    notes: list[str]


@settings(max_examples=400, deadline=None)
@given(TEXT, TEXT, TEXT, st.booleans(), st.booleans())
def test_decode_refuses_exactly_what_the_walk_refuses(
    a: str, b: str, c: str, ascii_only: bool, pretty: bool
) -> None:
    data = json.dumps(
        {"name": a, "tags": {b: c}, "notes": [c, a]},
        ensure_ascii=ascii_only,
        indent=2 if pretty else None,
    ).encode()
    record = msgspec.json.decode(data, type=Doc)
    try:
        codec.check_text(record)
    except DecodeError:
        walk_ok = False
    else:
        walk_ok = True
    if codec.plain_text(data):
        assert walk_ok
    if walk_ok:
        assert codec.decode(data, Doc) == record
    else:
        with pytest.raises(DecodeError):
            codec.decode(data, Doc)


@pytest.mark.parametrize(
    "text",
    ["Nguyê\u0303n", "Lê\u200bVăn", "x\u00ady", "a\x7fb", "a\x85b", "a\u2060b"],
)
def test_raw_text_that_is_not_nfc_or_holds_controls_is_refused(text: str) -> None:
    data = json.dumps({"name": text, "tags": {}, "notes": []}, ensure_ascii=False).encode()
    assert b"\\" not in data  # written raw, not escaped
    assert not codec.plain_text(data)
    with pytest.raises(DecodeError):
        codec.decode(data, Doc)
