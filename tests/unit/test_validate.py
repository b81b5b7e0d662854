"""Checks on an election definition: each rule trips on a broken copy of the example."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schemas import codec
from schemas.errors import DefinitionError
from schemas.models import ElectionDefinition
from tally_server.core.validate import (
    RULES,
    ValidationConfig,
    check_definition,
    rules_markdown,
    validate_definition,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE: dict[str, Any] = json.loads((ASSETS / "examples" / "election.json").read_text("utf-8"))

Data = dict[str, Any]


def build(data: Data) -> ElectionDefinition:
    return codec.convert(data, ElectionDefinition)


def race(data: Data, race_id: str) -> Data:
    return next(r for r in data["races"] if r["id"] == race_id)


def con(data: Data, race_id: str) -> Data:
    first: Data = race(data, race_id)["constituencies"][0]
    return first


def area(data: Data, area_id: str) -> Data:
    return next(a for a in data["polling_areas"] if a["id"] == area_id)


def codes(data: Data, config: ValidationConfig | None = None) -> list[str]:
    d = build(data)
    issues = validate_definition(d, config) if config else validate_definition(d)
    return [i.code for i in issues]


def test_the_example_definition_has_no_issue() -> None:
    assert validate_definition(build(EXAMPLE)) == []


def _na_seats_4(d: Data) -> None:
    c = con(d, "QH")
    c["seats"] = 4
    c["candidates"].append(
        {"id": "QH-10-6", "full_name": "Mai Văn Sáu", "birth_date": "1970-01-01"}
    )


def _na_short_list(d: Data) -> None:
    con(d, "QH")["candidates"].pop()


def _council_3_of_4(d: Data) -> None:
    con(d, "HDND-XA")["candidates"].pop()


def _council_2_of_2(d: Data) -> None:
    con(d, "HDND-TP")["candidates"].pop()


def _unlisted_area(d: Data) -> None:
    d["polling_areas"].append(
        {
            "id": "KV-04",
            "name": "Khu vực bỏ phiếu số 4",
            "admin_unit": "Xã Tân Thông Hội",
            "voters": {"QH": 900},
        }
    )


def _area_in_two_constituencies(d: Data) -> None:
    other = copy.deepcopy(con(d, "QH"))
    other["id"] = "QH-11"
    for i, c in enumerate(other["candidates"], start=1):
        c["id"] = f"QH-11-{i}"
    other["polling_area_ids"] = ["KV-02"]
    race(d, "QH")["constituencies"].append(other)


def _area_listed_twice(d: Data) -> None:
    con(d, "QH")["polling_area_ids"].append("KV-01")


def _unknown_area(d: Data) -> None:
    con(d, "QH")["polling_area_ids"].append("KV-99")


def _area_without_voters_for_race(d: Data) -> None:
    del area(d, "KV-03")["voters"]["HDND-XA"]


def _duplicate_race(d: Data) -> None:
    twin = copy.deepcopy(race(d, "HDND-TP"))
    twin["constituencies"] = []
    d["races"].append(twin)


def _duplicate_constituency(d: Data) -> None:
    other = copy.deepcopy(con(d, "HDND-TP"))
    for c in other["candidates"]:
        c["id"] += "b"
    other["polling_area_ids"] = []
    race(d, "HDND-TP")["constituencies"].append(other)


def _duplicate_candidate(d: Data) -> None:
    con(d, "HDND-XA")["candidates"][0]["id"] = "QH-10-1"


def _duplicate_area(d: Data) -> None:
    d["polling_areas"].append(copy.deepcopy(area(d, "KV-01")))


def _duplicate_committee(d: Data) -> None:
    d["committees"].append(copy.deepcopy(d["committees"][1]))


def _unknown_committee(d: Data) -> None:
    con(d, "HDND-TP")["committee_id"] = "UBBC-HN"


def _unknown_parent(d: Data) -> None:
    d["committees"][2]["parent_id"] = "UBBC-HN"


def _own_parent(d: Data) -> None:
    d["committees"][2]["parent_id"] = "UBBC-TTH"


def _too_young(d: Data) -> None:
    con(d, "HDND-XA")["candidates"][2]["birth_date"] = "1995-06-01"


def _too_old(d: Data) -> None:
    con(d, "QH")["candidates"][1]["birth_date"] = "1895-11-02"


def _no_areas(d: Data) -> None:
    con(d, "HDND-TP")["polling_area_ids"] = []
    for a in d["polling_areas"]:
        del a["voters"]["HDND-TP"]


def _voters_for_unknown_race(d: Data) -> None:
    area(d, "KV-02")["voters"]["HDND-HUYEN"] = 970


def _race_without_constituencies(d: Data) -> None:
    d["races"].append(
        {"id": "HDND-H", "level": "district", "name": "HĐND huyện", "constituencies": []}
    )


def _small_area(d: Data) -> None:
    area(d, "KV-02")["voters"] = {"QH": 212, "HDND-TP": 210, "HDND-XA": 210}


def _large_area(d: Data) -> None:
    area(d, "KV-02")["voters"] = {"QH": 4_310, "HDND-TP": 4_300, "HDND-XA": 4_300}


def _lists_out_of_order(d: Data) -> None:
    area(d, "KV-01")["voters"]["HDND-XA"] = 1_260


def _committee_of_wrong_level(d: Data) -> None:
    con(d, "QH")["committee_id"] = "UBBC-TTH"


def _area_without_races(d: Data) -> None:
    d["polling_areas"].append(
        {
            "id": "KV-09",
            "name": "Khu vực bỏ phiếu số 9",
            "admin_unit": "Xã Tân Thông Hội",
            "voters": {},
        }
    )


def _candidate_twice(d: Data) -> None:
    cands = con(d, "HDND-XA")["candidates"]
    cands.append(dict(cands[0], id="TTH-1-6"))


def _sheets_name_a_misspelt_race(d: Data) -> None:
    d["sheets"] = {"races": [{"race_id": "HDND-T", "term": "VIII"}]}


def _sheets_name_an_unknown_board(d: Data) -> None:
    # a board is RACE/CONSTITUENCY; a committee id is fine, a wrong pair is not
    d["sheets"] = {"bodies": [{"body": "UBBC-HCM"}, {"body": "QH/TP-25"}]}


BROKEN: list[tuple[str, Callable[[Data], None], list[str]]] = [
    ("D101", _na_seats_4, ["D101"]),
    ("D102", _na_short_list, ["D102"]),
    ("D102", _council_3_of_4, ["D102"]),
    ("D102", _council_2_of_2, ["D102"]),
    ("D103", _unlisted_area, ["D103"]),
    ("D104", _area_in_two_constituencies, ["D104"]),
    ("D104", _area_listed_twice, ["D104"]),
    ("D105", _unknown_area, ["D105"]),
    ("D106", _area_without_voters_for_race, ["D106"]),
    ("D107", _duplicate_race, ["D107", "D118"]),
    ("D108", _duplicate_constituency, ["D108", "D116"]),
    ("D109", _duplicate_candidate, ["D109"]),
    ("D110", _duplicate_area, ["D110"]),
    ("D111", _duplicate_committee, ["D111"]),
    ("D112", _unknown_committee, ["D112"]),
    ("D113", _unknown_parent, ["D113"]),
    ("D113", _own_parent, ["D113"]),
    ("D114", _too_young, ["D114"]),
    ("D115", _too_old, ["D115"]),
    ("D116", _no_areas, ["D116"]),
    ("D117", _voters_for_unknown_race, ["D117"]),
    ("D118", _race_without_constituencies, ["D118"]),
    ("D119", _sheets_name_a_misspelt_race, ["D119"]),
    ("D119", _sheets_name_an_unknown_board, ["D119"]),
    ("D201", _small_area, ["D201"]),
    ("D201", _large_area, ["D201"]),
    ("D202", _lists_out_of_order, ["D202"]),
    ("D203", _committee_of_wrong_level, ["D203"]),
    ("D204", _area_without_races, ["D204"]),
    ("D205", _candidate_twice, ["D205"]),
]


@pytest.mark.parametrize(
    ("code", "breaks", "expected"), BROKEN, ids=[f"{c}-{b.__name__}" for c, b, _ in BROKEN]
)
def test_each_rule_trips_on_a_broken_copy_of_the_example(
    code: str, breaks: Callable[[Data], None], expected: list[str]
) -> None:
    data = copy.deepcopy(EXAMPLE)
    breaks(data)
    assert codes(data) == expected


def test_every_rule_has_a_broken_example() -> None:
    assert {code for code, _, _ in BROKEN} == set(RULES)


def test_seats_beyond_what_the_wire_allows_are_caught_in_records_built_in_code() -> None:
    d = build(EXAMPLE)
    xa = d.races[2]
    bad = msgspec.structs.replace(xa.constituencies[0], seats=6)
    d = msgspec.structs.replace(
        d, races=[*d.races[:2], msgspec.structs.replace(xa, constituencies=[bad])]
    )
    issue = next(i for i in validate_definition(d) if i.code == "D101")
    assert issue.figures == {"constituency_id": "TTH-1", "seats": 6, "max": 5}
    assert "TTH-1" in issue.message_vi and "6" in issue.message_en


def test_an_issue_names_the_place_the_figures_and_speaks_both_languages() -> None:
    data = copy.deepcopy(EXAMPLE)
    _council_3_of_4(data)
    (issue,) = validate_definition(build(data))
    assert issue.severity == "error"
    assert issue.race_id == "HDND-XA"
    assert issue.fields == ["races[HDND-XA].constituencies[TTH-1].candidates"]
    assert issue.figures == {"constituency_id": "TTH-1", "seats": 3, "candidates": 4, "min": 5}
    assert issue.message_vi.startswith("D102: ") and "4 người ứng cử" in issue.message_vi
    assert "at least 5" in issue.message_en


def test_voter_figures_in_messages_use_the_vietnamese_thousands_separator() -> None:
    data = copy.deepcopy(EXAMPLE)
    _large_area(data)
    (issue,) = validate_definition(build(data))
    assert "4.310" in issue.message_vi and "300–4.000" in issue.message_vi


def test_the_minimum_age_is_configurable() -> None:
    data = copy.deepcopy(EXAMPLE)
    con(data, "HDND-XA")["candidates"][2]["birth_date"] = "1991-01-01"  # 20 on election day
    assert codes(data) == []
    assert codes(data, ValidationConfig(min_age=21)) == ["D114"]


def test_age_counts_whole_years_to_election_day() -> None:
    data = copy.deepcopy(EXAMPLE)
    con(data, "HDND-XA")["candidates"][2]["birth_date"] = "1993-05-22"  # 18 that very day
    assert codes(data) == []
    con(data, "HDND-XA")["candidates"][2]["birth_date"] = "1993-05-23"
    assert codes(data) == ["D114"]


def test_check_definition_lists_every_error_and_returns_the_indexed_election() -> None:
    data = copy.deepcopy(EXAMPLE)
    _unknown_area(data)
    _too_young(data)
    _small_area(data)
    with pytest.raises(DefinitionError) as caught:
        check_definition(build(data))
    err = caught.value
    assert err.figures["errors"] == 2
    assert "KV-99" in str(err) and "D114" in str(err)
    assert "D201" not in err.message_en  # warnings do not block

    only_warning = copy.deepcopy(EXAMPLE)
    _small_area(only_warning)
    election = check_definition(build(only_warning))
    assert election.seats[("KV-02", "QH")].constituency.id == "QH-10"


def test_rules_table_in_the_docs_matches_the_code() -> None:
    doc = (ROOT / "docs" / "rosters.md").read_text("utf-8")
    table = doc.split("<!-- definition-rules:start -->\n", 1)[1].split(
        "\n<!-- definition-rules:end -->", 1
    )[0]
    assert table.strip() == rules_markdown()
