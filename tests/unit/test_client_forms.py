"""Typed values become minutes exactly; bad input names its field."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from schemas import codec
from schemas.models import CountingMinutes
from station_client.errors import EntryError
from station_client.forms import (
    check_format,
    form_fields,
    keys_for,
    minutes_from_values,
    normalise,
    parse_count,
    values_from_minutes,
)
from tally_server.core.definition import Election, load_election

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "examples"


@pytest.fixture(scope="module")
def election() -> Election:
    return load_election(ASSETS / "election.json")


def example() -> CountingMinutes:
    return codec.decode((ASSETS / "minutes.json").read_bytes(), CountingMinutes)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1238", 1238), (" 1238 ", 1238), ("1.238", 1238), ("1 238", 1238), ("12.345.678", 12345678),
     ("0", 0), ("１２３", 123)],
)  # fmt: skip
def test_counts_as_officials_type_them(typed: str, value: int) -> None:
    assert parse_count(typed) == value


@pytest.mark.parametrize("typed", ["12.5", "1,5", "-3", "abc", "1.23", "1..238", "", "12 34"])
def test_what_is_not_a_whole_number_is_refused(typed: str) -> None:
    assert parse_count(typed) is None


def test_form_follows_the_paper_with_every_candidate_by_name(election: Election) -> None:
    seat = election.races_at("KV-01")[0]
    fields = form_fields(seat)
    keys = [f.key for f in fields]
    assert keys[:6] == [
        "voters_on_list", "voters_voted", "ballots_issued", "ballots_received",
        "valid_ballots", "invalid_ballots",
    ]  # fmt: skip
    assert keys.count("piles:1") == 1 and "piles:3" in keys and "piles:4" not in keys
    labels = {f.key: f.label for f in fields}
    assert "Nguyễn Thị Ánh" in labels["votes:QH-10-1"]
    assert labels["valid_ballots"] == "Số phiếu hợp lệ / Valid ballots"


def test_values_round_trip_to_the_same_minutes(election: Election) -> None:
    m = example()
    seat = election.seats[("KV-01", "QH")]
    rebuilt = minutes_from_values(seat, "KV-01", values_from_minutes(m))
    assert codec.encode(rebuilt) == codec.encode(m)


def test_names_typed_in_nfd_are_stored_in_nfc(election: Election) -> None:
    values = values_from_minutes(example())
    values["signatory:head"] = unicodedata.normalize("NFD", "  Nguyễn   Văn Tổ ")
    seat = election.seats[("KV-01", "QH")]
    m = minutes_from_values(seat, "KV-01", values)
    assert m.signatories[0].full_name == "Nguyễn Văn Tổ"
    assert unicodedata.is_normalized("NFC", m.signatories[0].full_name)
    codec.check_text(m)


def test_piles_all_blank_means_not_counted_and_some_blank_is_refused(election: Election) -> None:
    seat = election.seats[("KV-01", "QH")]
    values = values_from_minutes(example())
    for k in (1, 2, 3):
        values[f"piles:{k}"] = ""
    assert minutes_from_values(seat, "KV-01", values).ballots_by_names_kept is None
    values["piles:1"] = "6"
    with pytest.raises(EntryError) as err:
        minutes_from_values(seat, "KV-01", values)
    assert err.value.code == "P403"
    assert err.value.fields == ("piles:2", "piles:3")
    assert "fill every pile or none" in err.value.message_en


def test_unusable_figures_are_named_field_by_field(election: Election) -> None:
    seat = election.seats[("KV-01", "QH")]
    values = values_from_minutes(example())
    values["valid_ballots"] = "1.22O"
    values["votes:QH-10-2"] = ""
    with pytest.raises(EntryError) as err:
        minutes_from_values(seat, "KV-01", values)
    assert set(err.value.fields) == {"valid_ballots", "votes:QH-10-2"}
    assert "'1.22O'" in err.value.message_en and "'1.22O'" in err.value.message_vi


def test_format_check_and_canonical_text(election: Election) -> None:
    fields = {f.key: f for f in form_fields(election.seats[("KV-01", "QH")])}
    assert check_format(fields["valid_ballots"], "") is not None
    assert check_format(fields["piles:1"], "") is None
    assert check_format(fields["complaints.received"], "") is None
    assert "whole number" in (check_format(fields["valid_ballots"], "12,5") or "")
    assert normalise(fields["valid_ballots"], "1.220") == normalise(fields["valid_ballots"], "1220")


def test_finding_fields_map_to_the_form_keys_to_fix(election: Election) -> None:
    seat = election.seats[("KV-01", "QH")]
    assert keys_for(["valid_ballots", "invalid_ballots", "ballots_received"], seat) == [
        "ballots_received", "valid_ballots", "invalid_ballots",
    ]  # fmt: skip
    assert keys_for(["candidate_votes.QH-10-2", "valid_ballots"], seat) == [
        "valid_ballots", "votes:QH-10-2",
    ]  # fmt: skip
    assert keys_for(["ballots_by_names_kept"], seat) == ["piles:1", "piles:2", "piles:3"]
    assert len(keys_for(["candidate_votes"], seat)) == 5
    assert keys_for(["complaints.received"], seat) == ["complaints.received"]


def test_example_files_agree(election: Election) -> None:
    data = json.loads((ASSETS / "batch.json").read_text(encoding="utf-8"))
    for raw in data["minutes"]:
        m = codec.convert(raw, CountingMinutes)
        seat = election.seats[("KV-01", m.race_id)]
        assert minutes_from_values(seat, "KV-01", values_from_minutes(m)) == m
