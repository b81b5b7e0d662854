"""The official sheets as a person reads them: Vietnamese headings, names and
figures in the minutes' number forms, the outcome in words, and a QR code on
every page that carries the fingerprint of the record."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pypdf
import pytest
from lawkit import make_election, sheet
from pdfkit import pdf_text, qr_payloads

from schemas.models import Complaints, CountingMinutes, Signatory
from tally_server.core.definition import Election, load_election
from tally_server.core.fasttally import tally_from_scratch
from tui.errors import SheetError
from tui.pdf import Fingerprint, files_digest
from tui.pdf.document import write_pdf
from tui.pdf.printing import (
    SheetSource,
    print_all,
    print_committee,
    print_constituency,
    print_polling_area,
    source_offline,
)
from tui.pdf.sheets import constituency_sheet

HEAD = "4f" * 32
DAY = dt.date(2011, 5, 25)


def qh(
    area: str, on_list: int, voted: int, valid: int, invalid: int, votes: list[int]
) -> CountingMinutes:
    return CountingMinutes(
        race_id="QH",
        constituency_id="QH-10",
        polling_area_id=area,
        voters_on_list=on_list,
        voters_voted=voted,
        ballots_issued=voted,
        ballots_received=valid + invalid,
        valid_ballots=valid,
        invalid_ballots=invalid,
        candidate_votes={f"QH-10-{i}": v for i, v in enumerate(votes, start=1)},
        complaints=Complaints(received=1, resolved=1, forwarded=0),
        signatories=[
            Signatory(role="head", full_name="Nguyễn Văn Tổ"),
            Signatory(role="secretary", full_name="Trần Thị Thư"),
        ],
    )


FULL_QH = [
    qh("KV-01", 1250, 1238, 1220, 18, [1001, 874, 803, 455, 301]),
    qh("KV-02", 980, 970, 960, 10, [800, 700, 600, 300, 200]),
    qh("KV-03", 1502, 1490, 1470, 20, [1200, 1000, 900, 500, 400]),
]


@pytest.fixture
def election(assets: Path) -> Election:
    return load_election(assets / "examples" / "election.json")


def source(election: Election, minutes: list[CountingMinutes]) -> SheetSource:
    tally = tally_from_scratch(election, minutes)
    fp = Fingerprint.from_ledger(election.id, HEAD, 41, "ab" * 32)
    by_area: dict[str, list[CountingMinutes]] = {}
    for m in minutes:
        by_area.setdefault(m.polling_area_id, []).append(m)
    return SheetSource(election, tally.results(), fp, by_area, made_on=DAY)


def one_line(pages: list[str]) -> str:
    """The text with line breaks folded, since a table cell may wrap."""
    return " ".join(" ".join(pages).split())


def test_constituency_sheet_shows_heading_figures_and_winners(
    election: Election, tmp_path: Path
) -> None:
    path = print_constituency(source(election, FULL_QH), "QH", "QH-10", tmp_path)
    assert path.name == "ket-qua_QH_QH-10.pdf"
    text = one_line(pdf_text(path))
    for expected in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ Ở ĐƠN VỊ BẦU CỬ",
        "BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHOÁ XIII",
        "ỦY BAN BẦU CỬ THÀNH PHỐ HỒ CHÍ MINH",
        "Huyện Củ Chi, Thành phố Hồ Chí Minh, ngày 25 tháng 5 năm 2011",
        # 3 areas: 1.250 + 980 + 1.502 on the list, 1.238 + 970 + 1.490 voted
        "Tổng số cử tri của đơn vị bầu cử 3.732",
        "Số cử tri đã tham gia bỏ phiếu 3.698 đạt 99,09% so với tổng số cử tri",
        "Số phiếu hợp lệ 3.650 bằng 98,70% so với số phiếu thu vào",
        "Số phiếu không hợp lệ 48 bằng 1,30% so với số phiếu thu vào",
        # more than half of 3.650 valid ballots is 1.826 or more
        "từ 1.826 phiếu trở lên",
        "Nguyễn Thị Ánh 12/03/1965 3.001 82,22%",
        "Trần Văn Bảo 02/11/1958 2.574 70,52%",
        "Lê Hoàng Cường 21/07/1970 2.303 63,10%",
        "Phạm Thị Diệu 30/01/1975 1.255 34,38%",
        "Võ Đức Ễnh 09/09/1962 901 24,68%",
        "Tình trạng: Đã bầu đủ.",
        "Đã bầu đủ 3/3 đại biểu.",
        "TRƯỞNG BAN",
        "PHÓ TRƯỞNG BAN",
        "THƯ KÝ",
    ]:
        assert expected in text, expected
    assert "KẾT QUẢ TẠM THỜI" not in text
    winners = text[text.index("Những người trúng cử") : text.index("Kết luận")]
    assert winners.index("Nguyễn Thị Ánh") < winners.index("Trần Văn Bảo")
    assert winners.index("Trần Văn Bảo") < winners.index("Lê Hoàng Cường")
    assert "Phạm Thị Diệu" not in winners


def test_every_page_carries_the_ledger_fingerprint_as_qr_and_text(
    election: Election, tmp_path: Path
) -> None:
    path = print_committee(source(election, FULL_QH), "UBBC-HCM", tmp_path)
    pages = pdf_text(path)
    assert len(pages) >= 2
    expected = f"kiemphieu:v1;election=vd-2011;ledger=41;head={HEAD};results={'ab' * 32}"
    assert qr_payloads(path) == [expected] * len(pages)
    for page in pages:
        flat = " ".join(page.split())
        assert "Sổ cái / ledger #41:" in flat
        assert " ".join([HEAD[i : i + 8] for i in range(0, 64, 8)]) in flat


def test_fonts_are_embedded_be_vietnam_pro(election: Election, tmp_path: Path) -> None:
    path = print_constituency(source(election, FULL_QH), "QH", "QH-10", tmp_path)
    fonts = pypdf.PdfReader(path).pages[0]["/Resources"]["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        names.append(str(font["/BaseFont"]))
        descendant = font.get("/DescendantFonts")
        descriptor = (
            descendant[0].get_object()["/FontDescriptor"] if descendant else font["/FontDescriptor"]
        ).get_object()
        assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
    assert names and all("BeVietnamPro" in n for n in names)


def test_partial_result_is_marked_provisional_and_names_missing_areas(
    election: Election, tmp_path: Path
) -> None:
    path = print_constituency(source(election, FULL_QH[:1]), "QH", "QH-10", tmp_path)
    text = one_line(pdf_text(path))
    assert "KẾT QUẢ TẠM THỜI" in text
    assert "Số khu vực bỏ phiếu đã có biên bản 1/3" in text
    assert "KV-02 (Khu vực bỏ phiếu số 2), KV-03 (Khu vực bỏ phiếu số 3)" in text
    assert "Không có người trúng cử." in text


def test_low_turnout_proposes_a_revote(election: Election, tmp_path: Path) -> None:
    # 1.800 of 3.732 voted: 2 × 1.800 = 3.600 is not more than 3.732
    low = [
        qh("KV-01", 1250, 600, 590, 10, [500, 400, 300, 200, 100]),
        qh("KV-02", 980, 500, 490, 10, [400, 300, 200, 100, 50]),
        qh("KV-03", 1502, 700, 690, 10, [600, 500, 400, 300, 200]),
    ]
    path = print_constituency(source(election, low), "QH", "QH-10", tmp_path)
    text = one_line(pdf_text(path))
    assert "Tình trạng: Phải bầu cử lại." in text
    assert "(1.800, 48,23%) chưa quá một nửa tổng số cử tri (3.732)" in text
    assert "đề nghị tổ chức bầu cử lại" in text


def test_na_shortfall_proposes_a_supplementary_election_decided_by_the_council(
    election: Election, tmp_path: Path
) -> None:
    # only Nguyễn Thị Ánh gets more than half of the valid ballots
    short = [
        qh("KV-01", 1250, 1238, 1220, 18, [1001, 500, 400, 300, 301]),
        qh("KV-02", 980, 970, 960, 10, [800, 300, 300, 300, 200]),
        qh("KV-03", 1502, 1490, 1470, 20, [1200, 500, 500, 500, 400]),
    ]
    path = print_constituency(source(election, short), "QH", "QH-10", tmp_path)
    text = one_line(pdf_text(path))
    assert "Tình trạng: Đề nghị bầu cử thêm." in text
    assert "Số người trúng cử (1) ít hơn số đại biểu được bầu (3)" in text
    assert "đề nghị bầu cử thêm 2 đại biểu (Hội đồng bầu cử quốc gia quyết định)" in text


def test_polling_area_sheet_is_the_team_minutes(election: Election, tmp_path: Path) -> None:
    path = print_polling_area(source(election, FULL_QH), "KV-02", "QH", tmp_path)
    assert path.name == "kiem-phieu_KV-02_QH.pdf"
    text = one_line(pdf_text(path))
    for expected in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU",
        "TỔ BẦU CỬ KHU VỰC BỎ PHIẾU SỐ 2",
        "Tổng số cử tri của khu vực bỏ phiếu 980",
        # 970 of 980 = 98,979…% -> 98,98%
        "Số cử tri đã tham gia bỏ phiếu 970 đạt 98,98% so với tổng số cử tri",
        "Nguyễn Thị Ánh 800 83,33%",
        "Nhận được 1; Tổ bầu cử đã giải quyết 1; chuyển đến Ban bầu cử 0.",
        "TỔ TRƯỞNG",
        "CỬ TRI CHỨNG KIẾN",
        "Nguyễn Văn Tổ",
    ]:
        assert expected in text, expected


def test_asking_for_what_does_not_exist_names_it(election: Election, tmp_path: Path) -> None:
    src = source(election, FULL_QH)
    with pytest.raises(SheetError) as exc:
        print_polling_area(src, "KV-02", "HDND-XA", tmp_path)
    assert exc.value.code == "U200"
    assert "KV-02" in exc.value.message_vi and "HDND-XA" in exc.value.message_en
    with pytest.raises(SheetError) as exc:
        print_constituency(src, "QH", "QH-99", tmp_path)
    assert "QH/QH-99" in exc.value.message_en
    with pytest.raises(SheetError):
        print_committee(src, "UBBC-NOWHERE", tmp_path)


def test_summary_lists_winners_by_constituency_and_totals(
    election: Election, tmp_path: Path
) -> None:
    path = print_committee(source(election, FULL_QH), "UBBC-HCM", tmp_path)
    text = one_line(pdf_text(path))
    assert "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ" in text
    assert "Tổng số cử tri 3.732" in text
    assert "Số người trúng cử 3" in text
    assert "Đơn vị bầu cử số 10 Nguyễn Thị Ánh Vòng đầu 3.001 82,22%" in text
    assert "CHỦ TỊCH" in text and "PHÓ CHỦ TỊCH" in text
    # the city council race has no minutes yet: its own sheet says so
    assert "HỘI ĐỒNG NHÂN DÂN THÀNH PHỐ" in text.upper()
    assert "KẾT QUẢ TẠM THỜI" in text


def test_offline_fingerprint_is_what_sha256sum_gives(assets: Path, tmp_path: Path) -> None:
    election_path = assets / "examples" / "election.json"
    minutes_path = tmp_path / "kv.jsonl"
    from schemas import codec

    minutes_path.write_bytes(b"\n".join(codec.encode(m) for m in FULL_QH) + b"\n")
    src = source_offline(election_path, [minutes_path], made_on=DAY)
    assert src.rejected == []
    sums = subprocess.run(
        ["sha256sum", str(election_path), str(minutes_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    manifest = "".join(sorted(line[:64] + "\n" for line in sums.splitlines()))
    assert src.fingerprint.digest == hashlib.sha256(manifest.encode()).hexdigest()
    assert files_digest([minutes_path, election_path]) == src.fingerprint.digest
    paths = print_all(src, tmp_path / "out")
    assert {p.name for p in paths} >= {"ket-qua_QH_QH-10.pdf", "tong-ket_UBBC-HCM.pdf"}
    payload = qr_payloads(tmp_path / "out" / "ket-qua_QH_QH-10.pdf")[0]
    assert f"files={src.fingerprint.digest}" in payload
    assert "Tình trạng: Đã bầu đủ." in one_line(pdf_text(tmp_path / "out" / "ket-qua_QH_QH-10.pdf"))


def test_offline_leaves_out_minutes_the_law_rejects(assets: Path, tmp_path: Path) -> None:
    bad = qh("KV-02", 980, 970, 960, 10, [800, 700, 600, 300, 200])
    # valid + invalid no longer equals ballots received
    from msgspec import structs

    bad = structs.replace(bad, ballots_received=975)
    f = tmp_path / "m.json"
    from schemas import codec

    f.write_bytes(codec.encode([FULL_QH[0], bad]))
    src = source_offline(assets / "examples" / "election.json", [f], made_on=DAY)
    assert len(src.rejected) == 1 and src.rejected[0].startswith("KV-02/QH/main: ")
    qh_result = src.result("QH", "QH-10")
    assert qh_result.areas_reported == 1


def test_text_is_normalised_to_nfc(election: Election, tmp_path: Path) -> None:
    result = source(election, FULL_QH).result("QH", "QH-10")
    from msgspec import structs

    decomposed = "Đơn vị bầu cử số 10".replace("ơ", "o\u031b")  # NFD-style o + horn
    result = structs.replace(result, constituency_name=decomposed)
    story = constituency_sheet(election, result, made_on=DAY)
    path = write_pdf(tmp_path / "x.pdf", [story], Fingerprint.from_ledger("vd-2011", HEAD, 1), "x")
    text = one_line(pdf_text(path))
    assert "ĐƠN VỊ BẦU CỬ SỐ 10" in text
    assert "o\u031b" not in text


def test_a_supplementary_round_is_named_and_ends_with_who_was_elected_in_which_round(
    tmp_path: Path,
) -> None:
    """Three seats: Ứng cử viên 1 and 2 elected in the main round, Ứng cử viên 3 in the
    supplementary round held for the one seat left open."""
    e = make_election(seats=3, areas=2)
    main = [
        sheet([800, 700, 400, 300, 200], valid=900, area=a, piles=[0, 300, 600])
        for a in ("A1", "A2")
    ]
    supp = [
        sheet({"C-3": 500, "C-4": 250, "C-5": 150}, valid=900, area="A1", round="supplementary"),
        sheet({"C-3": 450, "C-4": 300, "C-5": 150}, valid=900, area="A2", round="supplementary"),
    ]
    src = SheetSource(
        e,
        tally_from_scratch(e, main + supp).results(),
        Fingerprint.from_ledger(e.id, HEAD, 9, "ab" * 32),
        made_on=DAY,
    )
    pages = pdf_text(print_constituency(src, "R", "C", tmp_path))
    # The main round's minutes first, as made; then the supplementary round's.
    at = next(i for i, p in enumerate(pages) if "(BẦU CỬ THÊM)" in p)
    first, later = one_line(pages[:at]), one_line(pages[at:])
    assert "đề nghị bầu cử thêm 1 đại biểu (Hội đồng bầu cử quốc gia quyết định)" in first
    assert "Kết quả chung cuộc" not in first
    for expected in [
        "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ Ở ĐƠN VỊ BẦU CỬ",
        "(BẦU CỬ THÊM)",
        # the form's sentence for a round held because seats were short
        "Vì số người trúng cử chưa đủ số lượng đại biểu được bầu đã ấn định cho đơn vị bầu "
        "cử (2/3), Hội đồng bầu cử quốc gia đã quyết định việc bầu cử thêm 1 đại biểu",
        "Kết quả bầu cử thêm như sau:",
        "Số đại biểu được bầu ở đơn vị bầu cử 3",
        "Số đại biểu bầu thêm (số ghế còn thiếu) 1",
        "Số người ứng cử có tên trên phiếu bầu cử thêm 3",
        # this round's own figures: 1.800 valid ballots, Ứng cử viên 3 has 950
        "Số phiếu hợp lệ 1.800",
        "Ứng cử viên 3 03/01/1960 950 52,78% Có Trúng cử",
        "Ứng cử viên 4 04/01/1960 550 30,56% Không",
        # the combined outcome, with the round of each deputy
        "Kết quả chung cuộc ở đơn vị bầu cử",
        "Đơn vị bầu cử được bầu 3 đại biểu, nay đã bầu được 3 đại biểu, còn thiếu 0 đại biểu.",
        "Tình trạng: Đã bầu đủ.",
        "1 Ứng cử viên 1 Vòng đầu 1.600 88,89%",
        "2 Ứng cử viên 2 Vòng đầu 1.400 77,78%",
        "3 Ứng cử viên 3 Bầu cử thêm 950 52,78%",
    ]:
        assert expected in later, expected
    # Ứng cử viên 1, elected in the main round, is not on the supplementary ballot.
    ballot = later[later.index("Số phiếu bầu cho mỗi người") : later.index("Những người trúng")]
    assert "Ứng cử viên 1" not in ballot

    summary = one_line(pdf_text(print_committee(src, "K", tmp_path)))
    assert "Số người trúng cử 3" in summary
    for expected in [
        "Đơn vị bầu cử số 1 Ứng cử viên 1 Vòng đầu 1.600",
        "Đơn vị bầu cử số 1 Ứng cử viên 2 Vòng đầu 1.400",
        "Đơn vị bầu cử số 1 Ứng cử viên 3 Bầu cử thêm 950",
    ]:
        assert expected in summary, expected
    # the supplementary round settled what the main round proposed: nothing left to do
    assert "cần xử lý tiếp" not in summary
