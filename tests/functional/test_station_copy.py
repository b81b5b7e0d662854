"""The printed copy (issue 16 item 1): a PDF of exactly what was signed and what the
server answered, read back as a reader would (its text with pypdf, its QR code from
the rendered page with zxing-cpp)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pypdf
import zxingcpp
from PIL import Image
from serverkit import RunningServer, example_minutes

from tally_server.core.numbers import vn_int


def client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "station_client", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def page_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def qr_on_first_page(pdf: Path, tmp_path: Path) -> list[str]:
    """Render the first page as a printer would, then read its QR code."""
    stem = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
        check=True,
        timeout=60,
    )
    return [b.text for b in zxingcpp.read_barcodes(Image.open(f"{stem}.png"))]


def test_the_copy_shows_every_signed_figure_the_receipt_and_a_qr_of_the_digest(
    tally_server: RunningServer, tmp_path: Path
) -> None:
    folder = tmp_path / "st"
    made = client(
        "init", "--dir", str(folder), "--station-id", "KV-02", "--polling-area", "KV-02",
        "--election", str(tally_server.folder.path / "election.json"),
        "--server", tally_server.url,
        "--server-key", str(tally_server.folder.path / "server.pub.pem"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    minutes = example_minutes("KV-02")
    file = tmp_path / "m.json"
    file.write_bytes(msgspec.json.encode(minutes))
    assert client("submit", "--dir", str(folder), str(file)).returncode == 0
    status = client("status", "--dir", str(folder), "--json")
    digest = msgspec.json.decode(status.stdout)["batches"][0]["digest"]

    # Before delivery the copy says so, in both languages.
    early = client("copy", "--dir", str(folder), "--out", str(tmp_path / "early.pdf"))
    assert early.returncode == 0, early.stderr
    text = page_text(tmp_path / "early.pdf")
    assert "CHƯA GỬI ĐƯỢC" in text and "NOT DELIVERED YET" in text

    enrolled = tally_server.request(
        "POST",
        "/api/v1/stations",
        msgspec.json.encode(
            {
                "station_id": "KV-02",
                "polling_area_id": "KV-02",
                "public_key": (folder / "station.pub.pem").read_text(),
            }
        ),
        token=tally_server.tokens["admin"],
    )
    assert enrolled[0] == 201, enrolled
    synced = client("sync", "--dir", str(folder), "--give-up-after", "20")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    done = client("copy", "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    pdf = folder / "copies" / "batch-1.pdf"
    assert str(pdf) in done.stdout
    text = page_text(pdf)
    assert "ĐÃ GỬI, MÁY CHỦ ĐÃ NHẬN" in text and "NOT DELIVERED" not in text
    # The batch code as written on the paper minutes, and the full digest.
    code = " ".join(digest[i : i + 4] for i in range(0, 16, 4)).upper()
    assert code in text and digest in "".join(text.split())
    for m in minutes:
        for figure in (m.voters_on_list, m.voters_voted, m.valid_ballots, m.invalid_ballots):
            assert vn_int(figure) in text
        for votes in m.candidate_votes.values():
            assert vn_int(votes) in text
        for s in m.signatories:
            assert s.full_name in text
    assert "Số phiếu bầu cho" in text and "TỔ TRƯỞNG" in text and "THƯ KÝ" in text
    assert qr_on_first_page(pdf, tmp_path) == [digest]


def test_a_copy_of_a_batch_the_station_never_signed_is_refused(tmp_path: Path) -> None:
    server_key = tmp_path / "server.pub.pem"
    from schemas.signing import SigningKey

    server_key.write_bytes(SigningKey.generate().public.pem())
    folder = tmp_path / "st"
    root = Path(__file__).resolve().parents[1]
    made = client(
        "init", "--dir", str(folder), "--station-id", "KV-01", "--polling-area", "KV-01",
        "--election", str(root / "assets" / "examples" / "election.json"),
        "--server", "http://127.0.0.1:9", "--server-key", str(server_key),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = client("copy", "--dir", str(folder), "--batch", "7")
    assert result.returncode == 1 and "P120" in result.stderr
