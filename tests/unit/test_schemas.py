"""The JSON Schemas and the typed models describe the same wire contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from schemas import DecodeError, codec
from schemas.generate import SCHEMA_DIR, TYPES, path_for, render
from schemas.models import WIRE_TYPES

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
GOLDEN = Path(__file__).resolve().parents[1] / "assets" / "golden"


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(path_for(name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def example(name: str) -> dict[str, Any]:
    path = GOLDEN / "batch.envelope.json" if name == "envelope" else EXAMPLES / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_file_is_a_valid_2020_12_schema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(TYPES))
def test_committed_schema_matches_the_models(name: str) -> None:
    assert path_for(name).read_text(encoding="utf-8") == render(name), (
        "schemas/json drifted from schemas/models.py or schemas/read.py: run `python -m schemas`"
    )


@pytest.mark.parametrize("name", ["election", "minutes", "batch", "envelope"])
def test_examples_pass_both_the_schema_and_the_model(name: str) -> None:
    data = example(name)
    validator(name).validate(data)
    record = codec.decode(json.dumps(data).encode(), WIRE_TYPES[name])
    # and back: what the model writes is valid by the schema
    validator(name).validate(json.loads(codec.encode(record)))


def _set(data: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _drop(data: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


MINUTES_BREAKAGES = {
    "negative count": (["valid_ballots"], -1),
    "fractional count": (["valid_ballots"], 12.5),
    "count as a string": (["valid_ballots"], "1220"),
    "boolean as a count": (["invalid_ballots"], True),
    "huge count": (["voters_on_list"], 10**12),
    "unknown round": (["round"], "final"),
    "bad candidate id": (["candidate_votes"], {"bad id!": 3}),
    "unknown role": (["signatories", 0, "role"], "chairman"),
    "unknown field": (["turnout_percent"], 99),
}


@pytest.mark.parametrize("case", sorted(MINUTES_BREAKAGES))
def test_broken_minutes_are_rejected_by_both(case: str) -> None:
    path, value = MINUTES_BREAKAGES[case]
    bad = _set(example("minutes"), list(path), value)
    with pytest.raises(jsonschema.ValidationError):
        validator("minutes").validate(bad)
    with pytest.raises(DecodeError):
        codec.decode(json.dumps(bad).encode(), WIRE_TYPES["minutes"])


BATCH_BREAKAGES = {
    "sequence zero": _set(example("batch"), ["sequence"], 0),
    "no minutes": _set(example("batch"), ["minutes"], []),
    "no election id": _drop(example("batch"), ["election_id"]),
    "supersedes not a digest": _set(example("batch"), ["supersedes"], "abc"),
    "created_at not a time": _set(example("batch"), ["created_at"], "yesterday"),
    "wrong schema tag": _set(example("batch"), ["schema"], "kiemphieu/batch/v0"),
}


@pytest.mark.parametrize("case", sorted(BATCH_BREAKAGES))
def test_broken_batches_are_rejected_by_both(case: str) -> None:
    bad = BATCH_BREAKAGES[case]
    with pytest.raises(jsonschema.ValidationError):
        validator("batch").validate(bad)
    with pytest.raises(DecodeError):
        codec.decode(json.dumps(bad).encode(), WIRE_TYPES["batch"])


def test_election_with_seven_seats_is_rejected_by_both() -> None:
    bad = _set(example("election"), ["races", 0, "constituencies", 0, "seats"], 7)
    with pytest.raises(jsonschema.ValidationError):
        validator("election").validate(bad)
    with pytest.raises(DecodeError):
        codec.decode(json.dumps(bad).encode(), WIRE_TYPES["election"])


def test_text_must_be_nfc_and_free_of_control_characters() -> None:
    data = example("minutes")
    nfd = "Nguye\u0302\u0303n Văn Tổ"
    bad = _set(data, ["signatories", 0, "full_name"], nfd)
    with pytest.raises(DecodeError) as err:
        codec.decode(json.dumps(bad).encode(), WIRE_TYPES["minutes"])
    assert "NFC" in err.value.message_en and "signatories[0].full_name" in err.value.message_en
    # normalising first makes the same name acceptable
    fixed = codec.nfc(bad)
    record = codec.decode(json.dumps(fixed).encode(), WIRE_TYPES["minutes"])
    assert record.signatories[0].full_name == "Nguyễn Văn Tổ"
    ctrl = _set(data, ["signatories", 1, "full_name"], "Trần\x00Thư")
    with pytest.raises(DecodeError, match="control character"):
        codec.decode(json.dumps(ctrl).encode(), WIRE_TYPES["minutes"])


def test_malformed_json_names_the_problem_in_both_languages() -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(b'{"schema": "kiemphieu/batch/v1", ', WIRE_TYPES["batch"])
    assert err.value.code == "S100"
    assert "JSON" in err.value.message_en and "JSON" in err.value.message_vi


def test_schemas_check_passes_and_out_writes_the_same_files(tmp_path: Path) -> None:
    from schemas.generate import main

    assert main(["--check"]) == 0
    assert main(["--out", str(tmp_path)]) == 0
    for name in WIRE_TYPES:
        assert (tmp_path / path_for(name).name).read_text(encoding="utf-8") == render(name)


def test_schemas_never_writes_into_an_installed_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from schemas import generate

    before = {p: p.read_bytes() for p in SCHEMA_DIR.glob("*.json")}
    monkeypatch.setattr(generate, "_in_source_checkout", lambda: False)
    with pytest.raises(SystemExit) as stop:
        generate.main([])
    assert stop.value.code == 2
    assert "--out" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in SCHEMA_DIR.glob("*.json")} == before
