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
    assert "Tình trạng / Status: Đã bầu đủ / All seats filled [elected]" in qh
    assert "3.750" in qh and "99,04%" in qh  # voters on the list, turnout
    assert "98,55%" in qh and "1,45%" in qh  # valid and invalid of received
    row = next(line for line in qh.splitlines() if "(QH-10-1)" in line and "12/03/1965" in line)
    assert "3.003" in row and "82,05%" in row and "trúng cử / elected" in row
    row = next(line for line in qh.splitlines() if "(QH-10-4)" in line and "30/01/1975" in line)
    assert "1.365" in row and "37,30%" in row and "elected" not in row
    assert (
        "Người trúng cử / Elected: Nguyễn Thị Ánh (QH-10-1), Trần Văn Bảo (QH-10-2), "
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
        "E112: valid (1,220) + invalid (20) = 1,240 ≠ ballots received (1,238)"
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


# --- later rounds: the supplementary round of issue 14 ---------------------------------


def _supplementary(tmp_path: Path, votes: dict[str, int], piles: list[int] | None) -> Path:
    """The na-supplementary case (3 seats; C-1 and C-2 elected in the main round, one
    seat open) with another supplementary minutes of 1,000 valid ballots."""
    main = (LAW / "na-supplementary" / "minutes.jsonl").read_text(encoding="utf-8")
    first = json.loads(main.splitlines()[0])
    later = dict(first, round="supplementary", candidate_votes=votes)
    later["ballots_by_names_kept"] = piles
    path = tmp_path / "minutes.jsonl"
    lines = [json.dumps(later, ensure_ascii=False), json.dumps(first, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _refusal(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    (entry,) = doc["rejected"]
    assert entry["round"] == "supplementary" and entry["polling_area_id"] == "A1"
    # Nothing of the refused round is counted.
    assert [r["round"] for r in doc["results"]] == ["main"]
    (final,) = doc["finals"]
    assert (final["seats_filled"], [e["id"] for e in final["elected"]]) == (2, ["C-1", "C-2"])
    findings: list[dict[str, Any]] = entry["findings"]
    return findings


def test_a_supplementary_round_cannot_elect_again_who_the_main_round_elected(
    tmp_path: Path,
) -> None:
    """Fault 1 of issue 14: A elected in the main round, a supplementary minutes
    naming A and B was accepted and elected A again."""
    path = _supplementary(tmp_path, {"C-1": 700, "C-3": 300}, [1000])
    election = LAW / "na-supplementary" / "election.json"
    (f,) = _refusal(tally("--election", election, path, "--json", "--strict"))
    assert f["code"] == "E108" and f["fields"] == ["candidate_votes.C-1"]
    assert f["figures"]["elected_before"] == "C-1"
    assert (f["figures"]["seats_filled"], f["figures"]["open_seats"]) == (2, 1)
    assert f["message_en"] == (
        "E108: Ứng cử viên 1 (C-1) already elected in the main round of constituency C "
        "(2 of 3 seats): a supplementary round chooses only among the unelected, for the "
        "1 seat(s) still open"
    )
    assert f["message_vi"].startswith("E108: Ứng cử viên 1 (C-1) đã trúng cử ở vòng đầu")
    table = tally("--election", election, path).stdout
    assert "E108: Ứng cử viên 1 (C-1) already elected" in table
    assert "kết quả chung cuộc / final result" not in table  # only the main round counts


def test_a_supplementary_ballot_keeps_at_most_the_seats_still_open(tmp_path: Path) -> None:
    """Fault 2 of issue 14: one seat open, ballots keeping two names were accepted
    (both candidates at 100.00 %)."""
    election = LAW / "na-supplementary" / "election.json"
    both = {"C-3": 1000, "C-4": 1000}
    (f,) = _refusal(
        tally("--election", election, _supplementary(tmp_path, both, None), "--json", "--strict")
    )
    assert f["code"] == "E115"
    assert f["figures"] == {
        "votes_total": 2000,
        "seats": 1,
        "constituency_seats": 3,
        "valid_ballots": 1000,
        "cap": 1000,
    }
    assert "(2,000) > 1 seat(s) still open × 1,000 valid ballots = 1,000" in f["message_en"]
    assert "1 ghế còn thiếu × 1.000 phiếu hợp lệ" in f["message_vi"]
    # The piles say the same: 1,000 ballots kept two names.
    found = _refusal(
        tally(
            "--election",
            election,
            _supplementary(tmp_path, both, [0, 1000, 0]),
            "--json",
            "--strict",
        )
    )
    assert {f["code"] for f in found} == {"E107", "E115"}
    e107 = next(f for f in found if f["code"] == "E107")
    assert e107["figures"]["over"] == 1000 and e107["figures"]["seats"] == 1


def test_a_lawful_supplementary_round_fills_the_open_seat(tmp_path: Path) -> None:
    election = LAW / "na-supplementary" / "election.json"
    path = _supplementary(tmp_path, {"C-3": 600, "C-4": 250, "C-5": 150}, [1000, 0, 0])
    doc = as_json("--election", election, path, "--strict")
    assert doc["rejected"] == []
    sup = next(r for r in doc["results"] if r["round"] == "supplementary")
    assert (sup["seats"], sup["status"], sup["winners"]) == (1, "elected", ["C-3"])
    (final,) = doc["finals"]
    assert (final["status"], final["seats"], final["seats_filled"]) == ("elected", 3, 3)
    assert [(e["id"], e["round"], e["pct"]) for e in final["elected"]] == [
        ("C-1", "main", "80.00"),
        ("C-2", "main", "70.00"),
        ("C-3", "supplementary", "60.00"),
    ]
    assert [r["round"] for r in final["rounds"]] == ["main", "supplementary"]
    assert doc["rollups"][0]["seats_filled"] == 3
    table = tally("--election", election, path).stdout
    assert (
        "Đơn vị bầu cử số 1 (C) — kết quả chung cuộc / final result: 3/3 ghế / seats · "
        "Đã bầu đủ / All seats filled [elected]" in table
    )
    assert "Ứng cử viên 3 (C-3, supplementary round)." in table


# --- the offline tally as an auditor's tool (issue 14, item 2) ---------------------------


def _definition(tmp_path: Path, change: Any) -> Path:
    doc = json.loads(ELECTION.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "election.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _three_for_three(doc: dict[str, Any]) -> None:
    qh = doc["races"][0]["constituencies"][0]
    qh["candidates"] = qh["candidates"][:3]


def test_a_definition_against_the_law_stops_the_tally_with_every_error(tmp_path: Path) -> None:
    """Before: an NA constituency with as many candidates as seats was tallied without
    a word; only `election validate` said D102."""
    election = _definition(tmp_path, _three_for_three)
    done = tally("--election", election, EXAMPLES / "minutes.json")
    assert done.returncode == 1 and done.stdout == ""
    assert f"the election definition {election} has 1 error(s); nothing is tallied" in done.stderr
    assert (
        "LỖI / ERROR D102: đơn vị bầu cử QH-10 có 3 người ứng cử cho 3 đại biểu; "
        "luật đòi hỏi ít nhất 5" in done.stderr
    )
    assert "D102: constituency QH-10 has 3 candidates for 3 seats; the law requires at least 5" in (
        done.stderr
    )
    as_doc = tally("--election", election, EXAMPLES / "minutes.json", "--json")
    assert as_doc.returncode == 1
    doc = json.loads(as_doc.stdout)
    (issue,) = doc["definition_issues"]
    assert (issue["code"], issue["severity"]) == ("D102", "error")
    assert (issue["figures"]["candidates"], issue["figures"]["min"]) == (3, 5)
    assert "results" not in doc

    # A list the Council kept short (a candidate dropped out) is tallied when the
    # auditor says so, and the error is still shown.
    accepted = as_json("--election", election, EXAMPLES / "minutes.json", "--accept", "D102")
    assert accepted["definition_accepted"] == ["D102"]
    assert [i["code"] for i in accepted["definition_issues"]] == ["D102"]
    table = tally("--election", election, EXAMPLES / "minutes.json", "--accept", "D102").stdout
    assert "đã chấp nhận (--accept) / accepted: D102" in table
    assert "tally despite this definition error" in tally("--help").stdout


def test_definition_warnings_are_listed_and_the_tally_goes_on() -> None:
    folder = LAW / "age-tie"
    doc = as_json("--election", folder / "election.json", folder / "minutes.jsonl", "--strict")
    (issue,) = doc["definition_issues"]
    assert (issue["code"], issue["severity"]) == ("D203", "warning")
    assert doc["definition_accepted"] == [] and doc["accepted"] > 0
    table = tally("--election", folder / "election.json", folder / "minutes.jsonl").stdout
    assert "definition: tallied despite" in table
    assert "cảnh báo / warning D203: đơn vị bầu cử C (HĐND xã) thuộc ủy ban K cấp province" in table
    assert "D203: constituency C of a commune race is run by K, a province committee" in table


def test_a_roster_folder_is_taken_as_the_definition(three_areas: list[Path]) -> None:
    """Before: "[Errno 21] Is a directory"."""
    roster = as_json("--election", ASSETS / "rosters" / "example", *three_areas)
    from_json = as_json("--election", ELECTION, *three_areas)
    assert roster["election_id"] == "vd-2011" and roster["accepted"] == 9
    assert roster["results_sha256"] == from_json["results_sha256"]
    not_a_roster = tally("--election", ASSETS / "rosters", *three_areas)
    assert not_a_roster.returncode == 1
    assert "has no election.csv: not a roster" in not_a_roster.stderr


def test_text_not_in_nfc_is_normalised_and_noted(tmp_path: Path) -> None:
    """Before: a definition not in NFC stopped the run with S100, while minutes were
    normalised without a word."""
    import unicodedata

    def nfd(doc: dict[str, Any]) -> None:
        doc["name"] = unicodedata.normalize("NFD", doc["name"])
        for c in doc["races"][0]["constituencies"][0]["candidates"]:
            c["full_name"] = unicodedata.normalize("NFD", c["full_name"])

    election = _definition(tmp_path, nfd)
    minutes = json.loads((EXAMPLES / "minutes.json").read_text(encoding="utf-8"))
    for s in minutes["signatories"]:
        s["full_name"] = unicodedata.normalize("NFD", s["full_name"])
    sheet = tmp_path / "kv-01.json"
    sheet.write_text(json.dumps(minutes, ensure_ascii=False), encoding="utf-8")

    doc = as_json("--election", election, sheet, "--strict")
    assert doc["normalised"] == [
        {"file": str(election), "what": "definition", "strings": 6},
        {"file": str(sheet), "what": "minutes", "strings": 4},
    ]
    qh = next(r for r in doc["results"] if r["constituency_id"] == "QH-10")
    assert qh["candidates"][0]["full_name"] == "Nguyễn Thị Ánh"
    assert unicodedata.is_normalized("NFC", qh["candidates"][0]["full_name"])
    table = tally("--election", election, sheet).stdout
    assert (
        f"Đã chuẩn hoá Unicode NFC / normalised to Unicode NFC: {election} "
        "(định nghĩa / definition): 6 chuỗi / strings" in table
    )
    assert f"{sheet} (biên bản / minutes): 4 chuỗi / strings" in table

    # A roster's cells likewise, named by file.
    roster = tmp_path / "roster"
    roster.mkdir()
    for f in (ASSETS / "rosters" / "example").iterdir():
        text = f.read_text(encoding="utf-8-sig")
        if f.name == "candidates.csv":
            text = text.replace("Ngô Văn Lợi", unicodedata.normalize("NFD", "Ngô Văn Lợi"))
        (roster / f.name).write_text(text, encoding="utf-8")
    doc = as_json("--election", roster, EXAMPLES / "minutes.json")
    assert doc["normalised"] == [
        {"file": str(roster / "candidates.csv"), "what": "definition", "strings": 1}
    ]


ENGLISH = ("file", "polling area", "race", "votes for", "valid ballots", "must", "Expected")
VIETNAMESE = ("tệp", "khu vực", "cuộc bầu cử", "số phiếu", "phải", "Khu vực bỏ phiếu số 1")


def test_a_malformed_minutes_names_file_area_race_field_and_candidate(tmp_path: Path) -> None:
    """Before: the entry lost its polling area and race, and the message was
    "Expected `int` >= 0 - at `$.candidate_votes[...]`", in English inside the
    Vietnamese one too."""
    minutes = json.loads((EXAMPLES / "minutes.json").read_text(encoding="utf-8"))
    bad = dict(minutes, valid_ballots="1220")
    bad["candidate_votes"] = dict(minutes["candidate_votes"], **{"QH-10-2": -5})
    sheets = tmp_path / "kv-01.jsonl"
    other = dict(minutes, polling_area_id="KV-02")
    sheets.write_text(json.dumps(other) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")

    done = tally("--election", ELECTION, sheets, "--json", "--strict")
    assert done.returncode == 1  # --strict: a minutes was rejected
    doc = json.loads(done.stdout)
    assert doc["accepted"] == 1
    (entry,) = doc["rejected"]
    where = f"{sheets}:2"
    assert {k: entry[k] for k in ("source", "polling_area_id", "race_id", "round")} == {
        "source": where,
        "polling_area_id": "KV-01",
        "race_id": "QH",
        "round": "main",
    }
    assert entry["constituency_id"] == "QH-10"
    valid, votes = entry["findings"]
    assert votes["message_vi"] == (
        f"E100: tệp {where}, khu vực bỏ phiếu KV-01 (Khu vực bỏ phiếu số 1), cuộc bầu cử QH "
        "(Đại biểu Quốc hội khoá XIII): số phiếu bầu cho Trần Văn Bảo (QH-10-2) là -5: "
        "phải là số nguyên từ 0 đến 1.000.000.000"
    )
    assert votes["message_en"] == (
        f"E100: file {where}, polling area KV-01, race QH: votes for Trần Văn Bảo (QH-10-2) "
        "is -5: must be a whole number from 0 to 1,000,000,000"
    )
    assert votes["fields"] == ["candidate_votes.QH-10-2"]
    assert votes["figures"]["candidate"] == "QH-10-2" and votes["figures"]["value"] == "-5"
    assert valid["code"] == "E100" and valid["fields"] == ["valid_ballots"]
    assert 'số phiếu hợp lệ là "1220": phải là số nguyên' in valid["message_vi"]
    assert 'valid ballots is "1220": must be a whole number' in valid["message_en"]
    for f in entry["findings"]:
        vi, en = f["message_vi"].replace(where, ""), f["message_en"].replace(where, "")
        assert not [w for w in ENGLISH if w in vi], vi
        assert not [w for w in VIETNAMESE if w in en], en

    table = tally("--election", ELECTION, sheets).stdout
    assert f"{where} — KV-01 QH main" in table
    assert "số phiếu bầu cho Trần Văn Bảo (QH-10-2) là -5" in table


def test_a_malformed_minutes_in_a_batch_is_named_and_the_batch_left_out(tmp_path: Path) -> None:
    batch = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    tp = batch["minutes"][1]
    assert tp["race_id"] == "HDND-TP"
    tp["ballots_by_names_kept"] = [tp["ballots_by_names_kept"][0], 2.5]
    tp["signed_by"] = "Tổ trưởng"
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    doc = as_json("--election", ELECTION, path)
    assert doc["accepted"] == 0
    bad, whole = doc["rejected"]
    assert (bad["source"], bad["polling_area_id"], bad["race_id"]) == (
        f"{path}#minutes[1]",
        "KV-01",
        "HDND-TP",
    )
    messages = {f["fields"][0]: f for f in bad["findings"]}
    assert set(messages) == {"signed_by", "ballots_by_names_kept[1]"}
    assert messages["ballots_by_names_kept[1]"]["message_vi"].endswith(
        "số phiếu hợp lệ giữ 2 tên là 2.5: phải là số nguyên từ 0 đến 1.000.000.000"
    )
    assert (
        "valid ballots keeping 2 names is 2.5" in messages["ballots_by_names_kept[1]"]["message_en"]
    )
    assert "signed_by không có trong định dạng biên bản" in messages["signed_by"]["message_vi"]
    assert "signed_by is not a field of the counting minutes" in messages["signed_by"]["message_en"]
    assert whole["source"] == str(path) and whole["polling_area_id"] == "KV-01"
    (note,) = whole["findings"]
    assert "its 2 other minutes are not counted either" in note["message_en"]
    assert "2 biên bản còn lại của lô cũng không được kiểm" in note["message_vi"]


def test_json_warnings_say_whether_each_was_explained(tmp_path: Path) -> None:
    batch = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    reason = "Danh sách cử tri bổ sung ngày 21/5"
    copies = [
        dict(m, polling_area_id="KV-02", explanations={"W204": reason} if i == 0 else {})
        for i, m in enumerate(batch["minutes"])
    ]
    kv2 = tmp_path / "kv-02.json"
    kv2.write_text(json.dumps(copies, ensure_ascii=False), encoding="utf-8")
    doc = as_json("--election", ELECTION, kv2)
    flagged = {
        (w["race_id"], f["code"]): (f["explained"], f["explanation"])
        for w in doc["warnings"]
        for f in w["findings"]
    }
    assert flagged == {
        ("QH", "W204"): (True, reason),
        ("HDND-TP", "W204"): (False, None),
        ("HDND-XA", "W204"): (False, None),
    }
    table = tally("--election", ELECTION, kv2).stdout
    assert f"đã giải trình / explained: {reason}" in table
    assert table.count("chưa giải trình / not explained") == 2
