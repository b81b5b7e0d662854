"""Minutes from files go through the same checks as typed ones; the docs stay true."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from schemas import BATCH_TYPE, SigningKey, codec, open_envelope
from schemas.models import CountingMinutes, ResultBatch
from station_client.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"
DOC = ROOT / "docs" / "station.md"


def client(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "station_client", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def station(tmp_path: Path) -> Path:
    server = tmp_path / "server.pub.pem"
    server.write_bytes(SigningKey.generate().public.pem())
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("mật khẩu tổ bầu cử\n", encoding="utf-8")
    folder = tmp_path / "st"
    result = client(
        "init", "--dir", str(folder), "--station-id", "KV-01", "--polling-area", "KV-01",
        "--election", str(EXAMPLES / "election.json"), "--server", "http://127.0.0.1:9",
        "--server-key", server.read_text(), "--passphrase-file", str(passphrase),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


def minutes() -> list[CountingMinutes]:
    data = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    return [codec.convert(m, CountingMinutes) for m in data["minutes"]]


def signed(folder: Path) -> list[ResultBatch]:
    db = sqlite3.connect(folder / "outbox.sqlite")
    rows = db.execute("SELECT envelope FROM batches ORDER BY sequence").fetchall()
    db.close()
    return [codec.decode(open_envelope(r[0], BATCH_TYPE).payload, ResultBatch) for r in rows]


def write(path: Path, records: object) -> Path:
    path.write_bytes(msgspec.json.encode(records))
    return path


def test_init_prints_the_fingerprint_and_keeps_the_key_private(station: Path) -> None:
    from schemas import VerifyKey

    public = VerifyKey.from_pem((station / "station.pub.pem").read_bytes())
    config = json.loads((station / "station.json").read_text())
    assert config["fingerprint"] == public.fingerprint and config["key_encrypted"] is True
    assert (station / "station.key.pem").stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in (station / "station.key.pem").read_bytes()
    shown = client("fingerprint", "--dir", str(station))
    assert " ".join(public.fingerprint.split("-")[0]) in shown.stdout
    assert "BEGIN PUBLIC KEY" in shown.stdout


def test_init_refuses_a_second_key_in_the_same_folder(station: Path, tmp_path: Path) -> None:
    before = (station / "station.key.pem").read_bytes()
    result = client(
        "init", "--dir", str(station), "--station-id", "KV-01", "--polling-area", "KV-01",
        "--election", str(EXAMPLES / "election.json"), "--server", "http://127.0.0.1:9",
        "--server-key", str(tmp_path / "server.pub.pem"),
    )  # fmt: skip
    assert result.returncode == 1 and "P102" in result.stderr
    assert (station / "station.key.pem").read_bytes() == before


def test_init_refuses_an_unknown_polling_area(tmp_path: Path) -> None:
    key = SigningKey.generate().public.b64
    result = client(
        "init", "--dir", str(tmp_path / "x"), "--station-id", "KV-09", "--polling-area", "KV-09",
        "--election", str(EXAMPLES / "election.json"), "--server", "http://127.0.0.1:9",
        "--server-key", key,
    )  # fmt: skip
    assert result.returncode == 1 and "P103" in result.stderr and "KV-09" in result.stderr
    assert not (tmp_path / "x" / "station.key.pem").exists()


def test_json_minutes_are_checked_signed_and_need_the_passphrase(
    station: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / "m.json", minutes())
    no_pass = client("submit", "--dir", str(station), str(path))
    assert no_pass.returncode == 1 and "P105" in no_pass.stderr
    assert signed(station) == []
    ok = client(
        "submit", "--dir", str(station), str(path), "--passphrase-file", str(tmp_path / "pass.txt")
    )
    assert ok.returncode == 0, ok.stderr
    [batch] = signed(station)
    assert batch.minutes == minutes()


def test_errors_in_a_file_sign_nothing_and_print_the_findings(
    station: Path, tmp_path: Path
) -> None:
    broken = [msgspec.structs.replace(minutes()[0], valid_ballots=1221)]
    path = write(tmp_path / "m.json", broken)
    result = client(
        "submit", "--dir", str(station), str(path), "--passphrase-file", str(tmp_path / "pass.txt")
    )
    assert result.returncode == 1
    assert "P407" in result.stderr and "E112" in result.stderr
    assert "valid (1,221) + invalid (18) = 1,239 ≠ ballots received (1,238)" in result.stderr
    assert signed(station) == []


def test_warnings_in_a_file_need_explanations_present(station: Path, tmp_path: Path) -> None:
    odd = msgspec.structs.replace(minutes()[0], ballots_issued=1240)
    path = write(tmp_path / "m.json", [odd])
    pw = ["--passphrase-file", str(tmp_path / "pass.txt")]
    result = client("submit", "--dir", str(station), str(path), *pw)
    assert result.returncode == 1 and "P408" in result.stderr and "W200" in result.stderr
    explained = msgspec.structs.replace(odd, explanations={"W200": "Hai phiếu hỏng được đổi"})
    result = client("submit", "--dir", str(station), str(write(path, explained)), *pw)
    assert result.returncode == 0, result.stderr
    assert signed(station)[0].minutes[0].explanations == {"W200": "Hai phiếu hỏng được đổi"}


def test_the_csv_example_in_the_docs_submits(station: Path, tmp_path: Path) -> None:
    block = re.search(r"```csv\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert block, "docs/station.md lost its CSV example"
    path = tmp_path / "minutes.csv"
    path.write_text(block.group(1), encoding="utf-8")
    result = client(
        "submit", "--dir", str(station), str(path), "--passphrase-file", str(tmp_path / "pass.txt")
    )
    assert result.returncode == 0, result.stderr
    [batch] = signed(station)
    m = batch.minutes[0]
    assert (m.race_id, m.ballots_issued, m.candidate_votes["QH-10-2"]) == ("QH", 1240, 874)
    assert m.explanations == {"W200": "Hai phiếu hỏng được đổi phiếu mới"}
    assert m.signatories[0].full_name == "Nguyễn Văn Tổ"


def test_a_bad_csv_line_is_named(station: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("race_id,field,value\nQH,voters_on_list,1250\nQH,votes:QH-99-1,3\n")
    result = client("submit", "--dir", str(station), str(path))
    assert result.returncode == 1
    assert (
        "P410" in result.stderr and "line 3" in result.stderr and "votes:QH-99-1" in result.stderr
    )


def test_minutes_of_another_polling_area_are_refused(station: Path, tmp_path: Path) -> None:
    other = msgspec.structs.replace(minutes()[0], polling_area_id="KV-02")
    result = client("submit", "--dir", str(station), str(write(tmp_path / "m.json", other)))
    assert result.returncode == 1 and "P412" in result.stderr


def test_every_command_is_documented_for_officials() -> None:
    text = DOC.read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = sorted(sub.choices)  # type: ignore[arg-type]
    assert commands, "station-client has no commands"
    missing = [c for c in commands if f"station-client {c}" not in text]
    assert missing == []
