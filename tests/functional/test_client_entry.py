"""Double entry as the officials do it: the real command, its prompts on scripted stdin."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import msgspec
import pytest

from schemas import BATCH_TYPE, SigningKey, codec, open_envelope
from schemas.models import CountingMinutes, ResultBatch
from station_client.forms import form_fields, values_from_minutes
from tally_server.core.definition import Election, load_election

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"


def client(*args: str, stdin: str = "", check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "station_client", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result


@pytest.fixture(scope="module")
def election() -> Election:
    return load_election(EXAMPLES / "election.json")


def example_minutes() -> list[CountingMinutes]:
    data = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    return [codec.convert(m, CountingMinutes) for m in data["minutes"]]


@pytest.fixture
def station(tmp_path: Path) -> Path:
    server = tmp_path / "server.pub.pem"
    server.write_bytes(SigningKey.generate().public.pem())
    folder = tmp_path / "st"
    client(
        "init", "--dir", str(folder), "--station-id", "KV-01", "--polling-area", "KV-01",
        "--election", str(EXAMPLES / "election.json"), "--server", "http://127.0.0.1:9",
        "--server-key", str(server), check=True,
    )  # fmt: skip
    return folder


def typed(election: Election, minutes: list[CountingMinutes], **changes: str) -> list[str]:
    """The lines one official types for these minutes; ``changes`` maps
    'RACE/field key' to what this official types instead."""
    lines = []
    for m in minutes:
        values = values_from_minutes(m)
        for f in form_fields(election.seats[("KV-01", m.race_id)]):
            lines.append(changes.get(f"{m.race_id}/{f.key}", values.get(f.key, "")))
    return lines


def signed_batches(folder: Path) -> list[ResultBatch]:
    db = sqlite3.connect(folder / "outbox.sqlite")
    rows = db.execute("SELECT envelope FROM batches ORDER BY sequence").fetchall()
    db.close()
    return [codec.decode(open_envelope(r[0], BATCH_TYPE).payload, ResultBatch) for r in rows]


def test_double_entry_shows_differences_and_settles_each_alone(
    station: Path, election: Election
) -> None:
    minutes = example_minutes()
    a = typed(election, minutes, **{"QH/votes:QH-10-2": "874", "HDND-XA/valid_ballots": "1.200"})
    b = typed(
        election,
        minutes,
        **{"QH/votes:QH-10-2": "847", "HDND-TP/signatory:head": "Nguyen Van To"},
    )
    # Settle: QH votes -> type the value read again from the paper; TP head -> A.
    script = [*a, "", *b, "874", "a", "KÝ"]
    result = client("enter", "--dir", str(station), stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    assert "QH: hai lần nhập khác nhau ở 1 ô / the two entries differ in 1 field" in out
    assert "HDND-TP: hai lần nhập khác nhau ở 1 ô" in out
    # 1.200 and 1200 are the same figure: not a difference.
    assert "HDND-XA: hai lần nhập khớp nhau / both entries agree." in out
    diff_line = next(x for x in out.splitlines() if x.strip().startswith("Số phiếu bầu cho Trần"))
    assert diff_line.split()[-2:] == ["874", "847"]
    assert "Nguyen Van To" in out
    [batch] = signed_batches(station)
    assert batch.sequence == 1 and batch.polling_area_id == "KV-01"
    got = {m.race_id: m for m in batch.minutes}
    assert got["QH"].candidate_votes["QH-10-2"] == 874
    assert got["HDND-TP"].signatories[0].full_name == "Nguyễn Văn Tổ"
    assert [m.race_id for m in batch.minutes] == ["QH", "HDND-TP", "HDND-XA"]
    expected = {m.race_id: m for m in minutes}
    assert got == expected
    status = client("status", "--dir", str(station), "--json", check=True)
    races = {r["race_id"]: r["state"] for r in json.loads(status.stdout)["races"]}
    assert races == {"QH": "pending", "HDND-TP": "pending", "HDND-XA": "pending"}


def test_errors_block_signing_and_only_the_named_fields_are_asked_again(
    station: Path, election: Election
) -> None:
    minutes = example_minutes()[:1]
    wrong = typed(election, minutes, **{"QH/invalid_ballots": "81"})
    # Both officials misread the same figure: no difference, but E112 trips.
    # Enter: fix now; keep received and valid (Enter); the invalid ballots read again.
    script = [*wrong, "", *wrong, "", "", "", "18", "ký"]
    result = client("enter", "--dir", str(station), "--race", "QH", stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    assert "LỖI / ERROR E112 [QH]" in out
    assert "valid (1,220) + invalid (81) = 1,301 ≠ ballots received (1,238)" in out
    assert "phiếu hợp lệ (1.220) + phiếu không hợp lệ (81)" in out
    # The three fields E112 names are offered with their current values.
    assert "sửa / fix: Số phiếu không hợp lệ / Invalid ballots [81" in out
    [batch] = signed_batches(station)
    assert batch.minutes[0].invalid_ballots == 18


def test_each_warning_needs_an_explanation_recorded_in_the_minutes(
    station: Path, election: Election
) -> None:
    minutes = example_minutes()[:1]
    odd = typed(election, minutes, **{"QH/ballots_issued": "1240"})
    explanation = unicodedata.normalize("NFD", "Hai phiếu hỏng được đổi phiếu mới")
    script = [*odd, "", *odd, "", explanation, "ký"]
    result = client("enter", "--dir", str(station), "--race", "QH", stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "CẢNH BÁO / WARNING W200 [QH]" in result.stdout
    [batch] = signed_batches(station)
    assert batch.minutes[0].explanations == {"W200": "Hai phiếu hỏng được đổi phiếu mới"}


def test_a_killed_entry_resumes_at_the_field_being_typed(station: Path, election: Election) -> None:
    minutes = example_minutes()
    a = typed(election, minutes)
    proc = subprocess.Popen(
        [sys.executable, "-m", "station_client", "enter", "--dir", str(station)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("\n".join(a[:25]) + "\n")
    proc.stdin.flush()
    db = sqlite3.connect(station / "outbox.sqlite")
    deadline = time.monotonic() + 20
    saved = 0
    while time.monotonic() < deadline:
        saved = db.execute("SELECT count(*) FROM drafts WHERE copy = 'A'").fetchone()[0]
        # 21 QH fields + its done mark + 4 of HDND-TP
        if saved >= 26:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db.close()
    assert saved == 26
    rest = [*a[25:], "", *typed(election, minutes), "ký"]
    result = client("enter", "--dir", str(station), stdin="\n".join(rest) + "\n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "resuming the draft: 4 fields already saved" in result.stdout
    assert "(đã nhập xong / already entered)" in result.stdout
    [batch] = signed_batches(station)
    assert batch.minutes == minutes


def test_input_ending_mid_entry_keeps_the_draft(station: Path, election: Election) -> None:
    a = typed(election, example_minutes())
    result = client("enter", "--dir", str(station), stdin="\n".join(a[:5]) + "\n")
    assert result.returncode == 1
    assert "P409" in result.stderr and "saved" in result.stderr
    status = client("status", "--dir", str(station), "--json", check=True)
    states = {r["race_id"]: r["state"] for r in json.loads(status.stdout)["races"]}
    assert states["QH"] == "drafted" and states["HDND-TP"] == "none"


def test_a_signed_race_is_not_entered_again_without_correct(
    station: Path, election: Election
) -> None:
    m = example_minutes()
    path = station.parent / "m.json"
    path.write_bytes(msgspec.json.encode(m))
    client("submit", "--dir", str(station), str(path), check=True)
    result = client("enter", "--dir", str(station), stdin="")
    assert result.returncode == 1
    assert "use station-client correct" in result.stdout


def test_an_interactive_correction_keeps_what_is_unchanged_and_asks_why(
    station: Path, election: Election
) -> None:
    minutes = example_minutes()
    path = station.parent / "m.json"
    path.write_bytes(msgspec.json.encode(minutes))
    client("submit", "--dir", str(station), str(path), check=True)
    fields = [f.key for f in form_fields(election.seats[("KV-01", "QH")])]
    # Each official presses Enter to keep every figure but one vote moved by a recount.
    keep = ["" for _ in fields]
    keep[fields.index("votes:QH-10-4")] = "454"
    keep[fields.index("votes:QH-10-5")] = "302"
    script = ["Kiểm lại theo yêu cầu của Ban bầu cử", *keep, "", *keep]
    script += ["Một phiếu đọc nhầm tên", "ký"]
    result = client(
        "correct", "--dir", str(station), "--race", "QH", stdin="\n".join(script) + "\n"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "[1.001; Enter = giữ / keep]" in result.stdout
    assert "CẢNH BÁO / WARNING W208 [QH]" in result.stdout
    _, second = signed_batches(station)
    assert second.sequence == 2 and second.reason == "Kiểm lại theo yêu cầu của Ban bầu cử"
    status = json.loads(client("status", "--dir", str(station), "--json", check=True).stdout)
    assert second.supersedes == status["batches"][0]["digest"]
    [qh] = second.minutes
    assert qh.candidate_votes == {**minutes[0].candidate_votes, "QH-10-4": 454, "QH-10-5": 302}
    assert qh.explanations == {"W208": "Một phiếu đọc nhầm tên"}
    assert qh.signatories == minutes[0].signatories


def test_a_correction_draft_left_before_a_newer_correction_is_not_signed_over_it(
    station: Path, election: Election
) -> None:
    """Issue 16's steps: correct QH by typing, quit at signing (draft kept); correct QH
    from a file and send; correct QH again by typing. The third must start afresh
    from the file's figures and ask for its own reason, not sign the stale draft."""
    minutes = example_minutes()
    first = station.parent / "m.json"
    first.write_bytes(msgspec.json.encode(minutes))
    client("submit", "--dir", str(station), str(first), check=True)
    fields = [f.key for f in form_fields(election.seats[("KV-01", "QH")])]

    def keep(votes_4: str, votes_5: str) -> list[str]:
        lines = ["" for _ in fields]
        lines[fields.index("votes:QH-10-4")] = votes_4
        lines[fields.index("votes:QH-10-5")] = votes_5
        return lines

    stale = ["Lý do cũ", *keep("454", "302"), "", *keep("454", "302"), "Giải thích cũ", "q"]
    result = client("correct", "--dir", str(station), "--race", "QH", stdin="\n".join(stale))
    assert result.returncode == 1 and len(signed_batches(station)) == 1

    qh = minutes[0]
    votes = {**qh.candidate_votes, "QH-10-4": 460, "QH-10-5": 296}
    from_file = msgspec.structs.replace(qh, candidate_votes=votes, explanations={"W208": "Đếm lại"})
    second_file = station.parent / "qh.json"
    second_file.write_bytes(msgspec.json.encode([from_file]))
    sent = client(
        "correct", "--dir", str(station), "--race", "QH", str(second_file),
        "--reason", "Ban bầu cử cho đếm lại", "--send", "--give-up-after", "0.5",
    )  # fmt: skip
    assert sent.returncode == 3, sent.stdout[-3000:] + sent.stderr  # server down: pending
    second = signed_batches(station)[1]

    again = ["Lý do mới", *keep("461", "295"), "", *keep("461", "295"), "Giải thích mới", "ký"]
    result = client("correct", "--dir", str(station), "--race", "QH", stdin="\n".join(again))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "is set aside" in result.stdout
    # The figures offered to keep are the file's, not the stale draft's.
    assert "[460; Enter = giữ / keep]" in result.stdout
    third = signed_batches(station)[2]
    status = json.loads(client("status", "--dir", str(station), "--json", check=True).stdout)
    assert third.supersedes == status["batches"][1]["digest"]
    assert third.reason == "Lý do mới"
    [got] = third.minutes
    assert got.candidate_votes == {**votes, "QH-10-4": 461, "QH-10-5": 295}
    assert got.explanations == {"W208": "Giải thích mới"}
    assert second.reason == "Ban bầu cử cho đếm lại"
