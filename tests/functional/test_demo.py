"""`tally-server demo` end to end, as a user runs it: a child process that starts
the real server, lets stations report over HTTP, exports the ledger, verifies
it and prints the sheets — on a slice of the bundled sample so it stays fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from serverkit import verify_json

from tally_server.core.definition import Election
from tally_server.core.rules import check_minutes, has_errors
from tally_server.core.sample import sample_minutes
from tally_server.demo.election import demo_election

ROOT = Path(__file__).resolve().parents[2]
AREAS = 40


def demo(*args: str | Path | int, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally_server", "demo", *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


@pytest.fixture(scope="module")
def headless(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("demo") / "work"
    done = demo("--headless", "--dir", work, "--stations", AREAS, "--duration", "4", "--seed", "7")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return work, done.stdout


def test_every_polling_area_reports_every_race(headless: tuple[Path, str]) -> None:
    work, out = headless
    results = json.loads((work / "results.json").read_text("utf-8"))
    assert {r["race_id"] for r in results["results"]} == {"QH", "HDND-TP", "HDND-XA"}
    for r in results["results"]:
        assert (r["areas_reported"], r["missing_area_ids"]) == (r["areas_total"], [])
    assert f"polling areas reported: {AREAS}/{AREAS} (mọi cuộc bầu cử / every race)" in out
    # the progress lines counted up to the end
    assert f"khu vực/areas {AREAS}/{AREAS}" in out


def test_verify_on_the_exported_ledger_gives_the_server_s_digest_and_head(
    headless: tuple[Path, str],
) -> None:
    work, _ = headless
    server = json.loads((work / "results.json").read_text("utf-8"))
    mine = verify_json(work / "ledger.jsonl", work / "election.json")
    assert mine["ok"]
    assert mine["results_sha256"] == server["results_sha256"]
    assert (mine["head_index"], mine["head_hash"]) == (
        server["ledger_index"],
        server["ledger_head"],
    )
    # the demo's own report says the same
    assert (
        json.loads((work / "verify.json").read_text("utf-8"))["results_sha256"]
        == (server["results_sha256"])
    )


def test_the_alerts_have_a_rejection_a_conflict_a_revoked_key_and_corrections(
    headless: tuple[Path, str],
) -> None:
    work, out = headless
    entries = [json.loads(line) for line in (work / "ledger.jsonl").open("rb")]
    kinds = [e["kind"] for e in entries]
    assert kinds.count("conflict") == 1 and kinds.count("correction") >= 1
    rejected = [json.loads(e["outcome"]) for e in entries if e["kind"] == "batch_rejected"]
    codes = {o["code"] for o in rejected}
    assert {"E112", "K402"} <= codes, codes
    # the revoked station came back with a new key; stations enrolled through the API
    enrolled = [json.loads(e["outcome"]) for e in entries if e["kind"] == "station_enrolled"]
    assert len(enrolled) == AREAS + 1 and kinds.count("station_revoked") == 1
    assert "HTTP 409 conflict Q409" in out and "HTTP 401 refused K402" in out


def test_the_sheets_are_final_with_the_vietnamese_heading_and_the_ledger_head(
    headless: tuple[Path, str],
) -> None:
    work, _ = headless
    server = json.loads((work / "results.json").read_text("utf-8"))
    sheets = sorted((work / "sheets").glob("*.pdf"))
    constituencies = {(r["race_id"], r["constituency_id"]) for r in server["results"]}
    assert len([p for p in sheets if p.name.startswith("ket-qua_")]) == len(constituencies)
    assert any(p.name == "tong-ket_UBBC-HCM.pdf" for p in sheets)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(sheets[0]).pages)
    assert "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ" in text
    assert "TẠM THỜI" not in text  # every area is in: the result is not provisional
    assert server["ledger_head"][:16] in text.replace("\n", "").replace(" ", "")


def test_without_a_terminal_the_demo_runs_headless_and_wipes_only_its_own_folder(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    first = demo("--dir", work, "--stations", "6", "--duration", "1")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "running headless" in first.stdout
    assert "removing the previous demo" not in first.stdout

    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    refused = demo("--dir", other, "--stations", "6", "--duration", "1")
    assert refused.returncode == 1 and "[X102]" in refused.stderr
    assert (other / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("areas", [5, 40, 200])
def test_a_slice_keeps_every_race_and_its_sample_minutes_pass_the_law(areas: int) -> None:
    definition = demo_election(areas)
    election = Election.from_definition(definition)
    assert len(definition.polling_areas) == areas
    assert [r.id for r in definition.races] == ["QH", "HDND-TP", "HDND-XA"]
    for seed in (7, 2011):
        for m in sample_minutes(election, seed):
            assert not has_errors(check_minutes(election, m)), (areas, seed, m.polling_area_id)


def test_every_option_of_the_demo_is_documented() -> None:
    from tally_server.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    demo_parser = sub.choices["demo"]  # type: ignore[index]
    options = {o for a in demo_parser._actions for o in a.option_strings if o.startswith("--")}
    options.discard("--help")
    doc = (ROOT / "docs" / "demo.md").read_text("utf-8")
    undocumented = {o for o in options if f"`{o}" not in doc}
    assert "--headless" in options and not undocumented, undocumented
