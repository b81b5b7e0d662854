"""`tally-server election validate` and `election sample`, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tally_server.core.definition import Election
from tally_server.core.sample import SHORTFALL, SUPPLEMENTARY, bundled_election, sample_plan

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SERVER = [sys.executable, "-m", "tally_server"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [*SERVER, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_validate_bundled_summarises_and_passes_with_its_warnings() -> None:
    done = run("election", "validate", "--bundled")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Thành phố Hồ Chí Minh — 2011-05-22 — id hcmc-2011" in out
    assert "QH         Đại biểu Quốc hội khoá XIII: 10 đơn vị bầu cử, 30 ghế, 50 ứng cử viên" in out
    assert "32 đơn vị bầu cử, 95 ghế, 161 ứng cử viên" in out
    assert out.count("cảnh báo / warning D201") == 4
    assert out.rstrip().endswith("0 lỗi / errors, 4 cảnh báo / warnings — hợp lệ / valid")


def test_validate_reads_a_json_file_and_a_roster_folder() -> None:
    for source in (ASSETS / "examples" / "election.json", ASSETS / "rosters" / "example"):
        done = run("election", "validate", source)
        assert done.returncode == 0, done.stderr
        assert "id vd-2011" in done.stdout
        assert "0 lỗi / errors, 0 cảnh báo / warnings" in done.stdout


def test_validate_exits_1_and_names_every_error(tmp_path: Path) -> None:
    data = json.loads((ASSETS / "examples" / "election.json").read_text("utf-8"))
    data["races"][0]["constituencies"][0]["candidates"].pop()  # NA: 4 for 3 seats
    data["races"][2]["constituencies"][0]["polling_area_ids"].append("KV-99")
    path = tmp_path / "election.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")

    done = run("election", "validate", path)
    assert done.returncode == 1
    assert "LỖI / ERROR D102: đơn vị bầu cử QH-10 có 4 người ứng cử cho 3 đại biểu" in done.stdout
    assert "D102: constituency QH-10 has 4 candidates for 3 seats" in done.stdout
    assert "D105" in done.stdout and "KV-99" in done.stdout
    assert "2 lỗi / errors" in done.stdout

    as_json = run("election", "validate", path, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["errors"] == 2
    assert [i["code"] for i in report["issues"]] == ["D102", "D105"]


def test_validate_reports_a_bad_roster_line_and_the_minimum_age(tmp_path: Path) -> None:
    folder = tmp_path / "roster"
    folder.mkdir()
    for f in (ASSETS / "rosters" / "example").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    cands = folder / "candidates.csv"
    cands.write_text(cands.read_text("utf-8-sig").replace("25/05/1983", "25/05/1991"), "utf-8-sig")
    assert run("election", "validate", folder).returncode == 0
    too_young = run("election", "validate", folder, "--min-age", "21")
    assert too_young.returncode == 1
    assert "D114" in too_young.stdout and "TTH-1-4" in too_young.stdout

    cands.write_text(cands.read_text("utf-8-sig").replace("25/05/1991", "1991-13-25"), "utf-8")
    broken = run("election", "validate", folder)
    assert broken.returncode == 1
    assert "candidates.csv:13, cột/column birth_date" in broken.stderr
    assert "1991-13-25" in broken.stderr


def test_validate_needs_exactly_one_source() -> None:
    assert run("election", "validate").returncode == 2
    both = run("election", "validate", "--bundled", ASSETS / "examples" / "election.json")
    assert both.returncode == 2


def test_sample_writes_files_that_validate_and_tally_as_planned(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = run("election", "sample", "--out", out, "--csv", "--warnings", "6")
    assert done.returncode == 0, done.stderr
    assert "9779 biên bản / minutes in 4477 tệp / files" in done.stdout

    # the definition is the bundled one; its roster reads back to it
    election = Election.from_definition(bundled_election())
    written = json.loads((out / "election.json").read_text("utf-8"))
    assert written["id"] == "hcmc-2011"
    assert len(written["polling_areas"]) == len(election.definition.polling_areas)
    roster = run("election", "validate", out / "roster")
    assert roster.returncode == 0, roster.stderr
    assert "0 lỗi / errors, 4 cảnh báo / warnings" in roster.stdout

    files = sorted((out / "minutes").glob("*.json"))
    assert len(files) == len(election.definition.polling_areas)
    first = json.loads(files[0].read_text("utf-8"))
    assert {m["polling_area_id"] for m in first} == {files[0].stem}

    tally = run(
        "tally", "--election", out / "election.json", *files, "--json", "--strict", cwd=tmp_path
    )
    assert tally.returncode == 0, tally.stderr[-2000:]
    report = json.loads(tally.stdout)
    assert report["rejected"] == []
    by_status = Counter(r["status"] for r in report["results"])
    plan = sample_plan(election, 2011)
    assert by_status == {
        "elected": len(plan) - 4,
        "supplementary_proposed": 2,
        "seats_left_empty": 2,
    }
    special = {k for k, kind in plan.items() if kind in (SHORTFALL, SUPPLEMENTARY)}
    assert {
        (r["race_id"], r["constituency_id"]) for r in report["results"] if r["status"] != "elected"
    } == special


def test_sample_is_the_same_for_a_seed_and_writes_a_national_definition(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        done = run("election", "sample", "--out", folder, "--seed", "5", "--no-minutes")
        assert done.returncode == 0, done.stderr
    assert (a / "election.json").read_bytes() == (b / "election.json").read_bytes()
    assert not (a / "minutes").exists()

    lines = run("election", "sample", "--out", tmp_path / "l", "--jsonl", "--warnings", "0")
    assert lines.returncode == 0, lines.stderr
    sheets = (tmp_path / "l" / "minutes.jsonl").read_text("utf-8").splitlines()
    assert len(sheets) == 9779
    assert json.loads(sheets[0])["schema"] == "kiemphieu/minutes/v1"

    nation = run(
        "election", "sample", "--out", tmp_path / "n", "--scale", "national", "--no-minutes"
    )
    assert nation.returncode == 0, nation.stderr
    assert "Khu vực bỏ phiếu / polling areas: 90.189" in nation.stdout
    assert "183 đơn vị bầu cử, 500 ghế, 866 ứng cử viên" in nation.stdout
