"""``tally-tui print`` as a person runs it: from a server, and offline for auditors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from serverkit import EXAMPLES, RunningServer, Station

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pdfkit import pdf_text, qr_payloads  # noqa: E402


def tally_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120
    )


def flat(path: Path) -> str:
    return " ".join(" ".join(pdf_text(path)).split())


def test_help_lists_the_dashboard_and_print() -> None:
    done = tally_tui("--help")
    assert done.returncode == 0
    assert "--server" in done.stdout and "print" in done.stdout
    assert tally_tui().returncode == 2  # no server: the help, not a crash


def test_print_from_server_matches_its_results_and_ledger(
    tally_server: RunningServer, station: Station, tmp_path: Path
) -> None:
    status, _ = tally_server.request("POST", "/api/v1/batches", station.envelope(1))
    assert status == 200
    token = tally_server.tokens["viewer"]
    out = tmp_path / "out"
    done = tally_tui(
        "print",
        "--server",
        tally_server.url,
        "--token",
        token,
        "--out",
        str(out),
        "--constituency",
        "HDND-TP/TP-25",
        "--date",
        "2011-05-25",
        "--time",
        "09:30",
        "--place",
        "Hội trường xã Tân Thông Hội",
        "--member",
        "Trưởng ban:Nguyễn Văn Ban",
    )
    assert done.returncode == 0, done.stderr
    sheet = out / "ket-qua_HDND-TP_TP-25.pdf"
    assert done.stdout.strip() == str(sheet)
    _, body = tally_server.request("GET", "/api/v1/results.json", token=token)
    results = json.loads(body)
    tp = next(r for r in results["results"] if r["constituency_id"] == "TP-25")
    text = flat(sheet)
    # the meeting the print command names opens the minutes (form 24/HĐBC-HĐND)
    assert "Mẫu số 24/HĐBC-HĐND" in text
    assert "Vào hồi 9 giờ 30 phút, ngày 25 tháng 5 năm 2011" in text
    assert "Ông/Bà Nguyễn Văn Ban, Trưởng ban" in text
    assert "Đã họp tại: Hội trường xã Tân Thông Hội" in text
    assert "Số cử tri đã tham gia bỏ phiếu: 1.228 người" in text
    assert f"so với tổng số cử tri: {tp['turnout_pct'].replace('.', ',')}%" in text
    for c in tp["candidates"]:
        assert f"{c['full_name']} " in text and f"{c['pct'].replace('.', ',')}%" in text
    assert qr_payloads(sheet)[0] == (
        f"kiemphieu:v1;election=vd-2011;ledger={results['ledger_index']};"
        f"head={results['ledger_head']};results={results['results_sha256']}"
    )
    assert results["ledger_head"] in done.stderr

    done = tally_tui(
        "print",
        "--server",
        tally_server.url,
        "--token",
        token,
        "--out",
        str(out),
        "--polling-area",
        "KV-01",
        "--race",
        "QH",
    )
    assert done.returncode == 0, done.stderr
    text = flat(out / "kiem-phieu_KV-01_QH.pdf")
    assert "Mẫu số 18/HĐBC-QH" in text and "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU" in text
    assert "Ông/Bà Nguyễn Thị Ánh được 1.001 phiếu/1.220 phiếu hợp lệ" in text


def test_print_refuses_a_wrong_token_naming_the_status(
    tally_server: RunningServer, tmp_path: Path
) -> None:
    done = tally_tui(
        "print",
        "--server",
        tally_server.url,
        "--token",
        "kpt_wrong",
        "--out",
        str(tmp_path),
        "--all",
    )
    assert done.returncode == 1
    assert "U101" in done.stderr and "401" in done.stderr


def test_print_offline_for_auditors(tmp_path: Path) -> None:
    done = tally_tui(
        "print",
        "--election",
        str(EXAMPLES / "election.json"),
        "--minutes",
        str(EXAMPLES / "batch.json"),
        "--out",
        str(tmp_path),
        "--all",
    )
    assert done.returncode == 0, done.stderr
    names = sorted(Path(p).name for p in done.stdout.split())
    assert names == [
        "ket-qua_HDND-TP_TP-25.pdf",
        "ket-qua_HDND-XA_TTH-1.pdf",
        "ket-qua_QH_QH-10.pdf",
        "tong-ket_HDBCQG.pdf",  # the Council's summary (Art. 84): the NA race has results
        "tong-ket_UBBC-HCM.pdf",
        "tong-ket_UBBC-TTH.pdf",
    ]
    assert "Biên bản" not in done.stderr  # no rejection
    assert "files=" in qr_payloads(tmp_path / "tong-ket_UBBC-TTH.pdf")[0]
    missing = tally_tui(
        "print",
        "--election",
        str(EXAMPLES / "election.json"),
        "--minutes",
        str(EXAMPLES / "batch.json"),
        "--out",
        str(tmp_path),
        "--constituency",
        "QH-10",
    )
    assert missing.returncode == 1 and "RACE/ID" in missing.stderr
