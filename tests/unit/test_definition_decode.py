"""Decoding a definition piece by piece (to share equal values as it goes) gives
exactly what decoding it whole gives, and refuses what that refuses, in its words."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from schemas import codec
from schemas.errors import DecodeError
from schemas.models import ElectionDefinition
from tally_server.core.definition import Election, decode_definition
from tally_server.core.sample import hcmc2011

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "election.json"


@pytest.mark.parametrize("raw", [EXAMPLE.read_bytes(), codec.encode_pretty(hcmc2011())])
def test_the_same_definition_as_decoding_it_whole(raw: bytes) -> None:
    whole = codec.decode(raw, ElectionDefinition)
    pieces = decode_definition(raw)
    assert pieces == whole
    assert codec.encode(pieces) == codec.encode(whole)
    e = Election.from_definition(pieces)
    assert len(e.seats) == len(Election.from_definition(whole).seats)


def test_equal_values_are_one_object() -> None:
    """What ``Election.from_definition(..., shared=True)`` relies on."""
    d = decode_definition(codec.encode_pretty(hcmc2011()))
    names = {id(a.admin_unit) for a in d.polling_areas}
    assert len(names) == len({a.admin_unit for a in d.polling_areas})
    area_ids = {a.id: a.id for a in d.polling_areas}
    candidates = [c for race in d.races for con in race.constituencies for c in con.candidates]
    dates = {id(c.birth_date) for c in candidates}
    assert len(dates) == len({c.birth_date for c in candidates}) < len(candidates)
    for race in d.races:
        for con in race.constituencies:
            assert all(i is area_ids[i] for i in con.polling_area_ids)


def _broken(path: list[str | int], value: object) -> bytes:
    doc = msgspec.json.decode(EXAMPLE.read_bytes())
    at = doc
    for step in path[:-1]:
        at = at[step]
    at[path[-1]] = value
    return msgspec.json.encode(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["polling_areas", 0, "voters", "QH"], -1),  # a negative count
        (["races", 0, "constituencies", 0, "seats"], "3"),  # a count as a string
        (["races", 0, "constituencies", 0, "candidates", 0, "extra"], 1),  # unknown field
        (["races", 0, "level"], "galactic"),
        (["polling_areas", 1, "name"], "Khu vực Cu\u0309 Chi"),  # not NFC
        (["schema"], "kiemphieu/election/v0"),
    ],
)
def test_what_the_whole_decode_refuses_is_refused_in_its_words(
    path: list[str | int], value: object
) -> None:
    raw = _broken(path, value)
    with pytest.raises(DecodeError) as whole:
        codec.decode(raw, ElectionDefinition)
    with pytest.raises(DecodeError) as pieces:
        decode_definition(raw)
    assert str(pieces.value) == str(whole.value)
    assert pieces.value.figures == whole.value.figures


def test_a_definition_without_sheets_facts_encodes_as_before() -> None:
    """``sheets`` is optional and left out when absent: an older definition decodes, and
    encodes to the bytes it had, so nothing signed or hashed over it changes."""
    d = decode_definition(EXAMPLE.read_bytes())
    assert d.sheets is None
    assert b'"sheets"' not in codec.encode(d)
    with_facts = hcmc2011()
    assert with_facts.sheets is not None and with_facts.sheets.races[0].term == "VIII"
    assert decode_definition(codec.encode(with_facts)).sheets == with_facts.sheets
