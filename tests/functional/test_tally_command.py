"""`tally-server tally` as an auditor runs it: a real process on real files."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas import codec
from tally_server.core.tally import ConstituencyResult, results_digest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
EXAMPLES = ASSETS / "examples"
ELECTION = EXAMPLES / "election.json"
LAW = ASSETS / "law"


def tally(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally_server", "tally", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def as_json(*args: str | Path) -> dict[str, Any]:
    done = tally(*args, "--json")
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@pytest.fixture
def three_areas(tmp_path: Path) -> list[Path]:
    """The example batch (KV-01) as it is, and the same figures for KV-02 and KV-03
    as a JSON list and as JSON Lines."""
    batch = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    kv2 = tmp_path / "kv-02.json"
    kv2.write_text(
        json.dumps([dict(m, polling_area_id="KV-02") for m in batch["minutes"]]),
        encoding="utf-8",
    )
    kv3 = tmp_path / "kv-03.jsonl"
    kv3.write_text(
        "\n".join(
            json.dumps(dict(m, polling_area_id="KV-03"), ensure_ascii=False)
            for m in batch["minutes"]
        )
        + "\n",
        encoding="utf-8",
    )
    return [EXAMPLES / "batch.json", kv2, kv3]


def test_the_table_shows_totals_shares_and_winners(three_areas: list[Path]) -> None:
    done = tally("--election", ELECTION, *three_areas)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Biên bản được kiểm / minutes tallied: 9; bị loại / rejected: 0" in out
    assert "Đơn vị bầu cử số 10 (QH-10) · 3 ghế / seats" in out
    qh = out.split("(QH-10)")[1].split("══")[0]
    assert "đủ người trúng cử / elected [elected]" in qh
    assert "3.750" in qh and "99,04%" in qh  # voters on the list, turnout
    assert "98,55%" in qh and "1,45%" in qh  # valid and invalid of received
    row = next(line for line in qh.splitlines() if "(QH-10-1)" in line and "12/03/1965" in line)
    assert "3.003" in row and "82,05%" in row and "trúng cử / elected" in row
    row = next(line for line in qh.splitlines() if "(QH-10-4)" in line and "30/01/1975" in line)
    assert "1.365" in row and "37,30%" in row and "elected" not in row
    assert (
        "Trúng cử / elected: Nguyễn Thị Ánh (QH-10-1), Trần Văn Bảo (QH-10-2), "
        "Lê Hoàng Cường (QH-10-3)" in qh
    )
    assert "Đơn vị bầu cử số 1 xã Tân Thông Hội (TTH-1)" in out
    assert "results_sha256: " in out


def test_json_carries_results_rollups_and_a_digest_that_can_be_recomputed(
    three_areas: list[Path],
) -> None:
    doc = as_json("--election", ELECTION, *three_areas)
    assert doc["election_id"] == "vd-2011"
    assert doc["rejected"] == [] and doc["accepted"] == 9
    by_con = {r["constituency_id"]: r for r in doc["results"]}
    assert by_con["QH-10"]["status"] == "elected"
    assert by_con["QH-10"]["winners"] == ["QH-10-1", "QH-10-2", "QH-10-3"]
    assert by_con["QH-10"]["turnout_pct"] == "99.04"
    assert by_con["TP-25"]["winners"] == ["TP-25-1", "TP-25-2"]
    assert by_con["TTH-1"]["candidates"][0] == {
        "id": "TTH-1-1",
        "full_name": "Ngô Văn Lợi",
        "birth_date": "1960-02-02",
        "votes": 2850,
        "pct": "79.17",
        "eligible": True,
        "elected": True,
        "rank": 1,
    }
    election = doc["rollups"][0]
    assert election["scope"] == "election"
    assert (election["areas_reported"], election["seats"], election["seats_filled"]) == (3, 8, 8)
    assert [r["scope"] for r in doc["rollups"]][1:4] == [
        "race:QH",
        "race:HDND-TP",
        "race:HDND-XA",
    ]
    # the KV-02/KV-03 copies carry KV-01's voter figures: flagged, still counted
    assert {f["code"] for w in doc["warnings"] for f in w["findings"]} == {"W204"}
    results = codec.decode(json.dumps(doc["results"]), list[ConstituencyResult])
    assert results_digest(results) == doc["results_sha256"]


def test_rejected_minutes_are_named_and_left_out(tmp_path: Path, three_areas: list[Path]) -> None:
    minutes = json.loads((EXAMPLES / "minutes.json").read_text(encoding="utf-8"))
    bad = tmp_path / "kv-02-bad.json"
    bad.write_text(json.dumps(dict(minutes, polling_area_id="KV-02", invalid_ballots=20)))
    doc = as_json("--election", ELECTION, three_areas[0], bad)
    (entry,) = doc["rejected"]
    assert entry["source"] == str(bad)
    (finding,) = entry["findings"]
    assert finding["code"] == "E112"
    assert finding["message_en"] == (
        "E112: valid (1.220) + invalid (20) = 1.240 ≠ ballots received (1.238)"
    )
    qh = next(r for r in doc["results"] if r["constituency_id"] == "QH-10")
    assert qh["areas_reported"] == 1 and qh["status"] == "partial"

    table = tally("--election", ELECTION, three_areas[0], bad)
    assert table.returncode == 0
    assert "rejected minutes" in table.stdout and "phiếu không hợp lệ (20)" in table.stdout
    strict = tally("--election", ELECTION, three_areas[0], bad, "--strict")
    assert strict.returncode == 1
    assert tally("--election", ELECTION, *three_areas, "--strict").returncode == 0


def test_two_minutes_for_the_same_area_and_race_name_both_files(tmp_path: Path) -> None:
    other = tmp_path / "again.json"
    other.write_text((EXAMPLES / "minutes.json").read_text(encoding="utf-8"), encoding="utf-8")
    doc = as_json("--election", ELECTION, EXAMPLES / "minutes.json", other)
    assert len(doc["rejected"]) == 2
    for entry in doc["rejected"]:
        (f,) = entry["findings"]
        assert f["code"] == "E124"
        assert str(other) in f["message_en"] and "examples/minutes.json" in f["message_en"]
    assert doc["accepted"] == 0


def test_a_signed_envelope_is_read_without_checking_its_signature() -> None:
    envelope = ASSETS / "golden" / "batch.envelope.json"
    doc = as_json("--election", ELECTION, envelope)
    assert doc["accepted"] == 3 and doc["rejected"] == []
    assert {r["areas_reported"] for r in doc["results"]} == {1}
    help_text = tally("--help").stdout
    assert "signature is NOT checked" in help_text


def test_a_file_that_is_not_minutes_is_reported(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("{not json\n", encoding="utf-8")
    doc = as_json("--election", ELECTION, junk)
    (entry,) = doc["rejected"]
    assert entry["source"] == f"{junk}:1" and entry["findings"][0]["code"] == "S100"
    missing = tally("--election", ELECTION, tmp_path / "nowhere.json")
    assert missing.returncode == 1 and "nowhere.json" in missing.stderr


def test_a_key_given_twice_is_refused_offline_as_the_server_refuses_it(tmp_path: Path) -> None:
    """The same bytes, the same answer: a signed payload and an unsigned minutes file
    with a key given twice count for nothing, with S101 naming the key."""
    envelope = json.loads((ASSETS / "golden" / "batch.envelope.json").read_bytes())
    payload = base64.b64decode(envelope["payload"]).decode("utf-8")
    assert '"sequence":' in payload
    envelope["payload"] = base64.b64encode(
        payload.replace('"sequence":', '"sequence":6,"sequence":', 1).encode()
    ).decode()
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(envelope))
    minutes = (ASSETS / "examples" / "minutes.json").read_text("utf-8")
    assert '"valid_ballots": ' in minutes
    unsigned = tmp_path / "minutes.json"
    unsigned.write_text(
        minutes.replace('"valid_ballots": ', '"valid_ballots": 1, "valid_ballots": ', 1)
    )
    doc = as_json("--election", ELECTION, signed, unsigned)
    assert doc["accepted"] == 0
    codes = {entry["source"]: entry["findings"][0] for entry in doc["rejected"]}
    assert codes[str(signed)]["code"] == codes[str(unsigned)]["code"] == "S101"
    assert codes[str(unsigned)]["figures"]["key"] == "valid_ballots"


CASES = sorted(p.name for p in LAW.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES)
def test_hand_made_cases_of_the_law(case: str) -> None:
    folder = LAW / case
    doc = as_json("--election", folder / "election.json", folder / "minutes.jsonl", "--strict")
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    got = {r["round"]: r for r in doc["results"]}
    assert len(got) == len(expected)
    for want in expected:
        result = got[want["round"]]
        assert {k: result[k] for k in want} == want


def test_every_case_folder_is_complete() -> None:
    assert len(CASES) >= 8
    for case in CASES:
        assert {p.name for p in (LAW / case).iterdir()} == {
            "election.json",
            "minutes.jsonl",
            "expected.json",
        }
