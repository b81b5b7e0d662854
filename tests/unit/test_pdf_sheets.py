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
from tui.pdf.forms import BLANK
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


def in_order(text: str, phrases: list[str]) -> None:
    """Each phrase of the form's template is on the sheet, in the form's order."""
    at = 0
    for phrase in phrases:
        found = text.find(phrase, at)
        assert found >= 0, f"{phrase!r} missing after {text[max(0, at - 80) : at]!r}"
        at = found + len(phrase)


def test_board_minutes_are_form_19_with_the_table_per_commune(
    election: Election, tmp_path: Path
) -> None:
    path = print_constituency(source(election, FULL_QH), "QH", "QH-10", tmp_path)
    assert path.name == "ket-qua_QH_QH-10.pdf"
    text = one_line(pdf_text(path))
    in_order(
        text,
        [
            "Mẫu số 19/HĐBC-QH",
            "BAN BẦU CỬ ĐẠI BIỂU QUỐC HỘI ĐƠN VỊ BẦU CỬ SỐ 10",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA XIII Ở ĐƠN VỊ BẦU CỬ SỐ 10",
            "Đơn vị bầu cử số 10 gồm: Xã Tân Thông Hội",
            # the meeting's day is the one given to the print command, never today
            "Vào hồi …… giờ …… phút, ngày 25 tháng 5 năm 2011, Ban bầu cử đại biểu Quốc hội "
            "gồm có:",
            f"Ông/Bà {BLANK * 3}, Trưởng ban",
            "Đã họp tại:",
            "Số đại biểu Quốc hội được bầu đã ấn định cho đơn vị bầu cử: 3 người",
            "Số người ứng cử: 5 người",
            # 3 areas: 1.250 + 980 + 1.502 on the list, 1.238 + 970 + 1.490 voted
            "Tổng số cử tri của đơn vị bầu cử: 3.732 người",
            "Số cử tri đã tham gia bỏ phiếu: 3.698 người",
            "Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri: 99,09%",
            "Số phiếu phát ra: 3.698 phiếu",
            "Số phiếu hợp lệ: 3.650 phiếu",
            "Tỷ lệ số phiếu hợp lệ so với tổng số phiếu thu vào: 98,70%",
            "Số phiếu không hợp lệ: 48 phiếu",
            "Tỷ lệ số phiếu không hợp lệ so với tổng số phiếu thu vào: 1,30%",
            "SỐ PHIẾU BẦU CHO MỖI NGƯỜI ỨNG CỬ",
            "Tên xã, phường, đặc khu trong phạm vi đơn vị bầu cử",
            # candidates left to right in ballot order
            "Nguyễn Thị Ánh",
            "Trần Văn Bảo",
            "Lê Hoàng Cường",
            "Phạm Thị Diệu",
            "Võ Đức Ễnh",
            "Ghi chú",
            "Xã Tân Thông Hội 3 3.001 2.574 2.303 1.255 901",
            "Tổng cộng: 3 3.001 2.574 2.303 1.255 901",
            "Tỷ lệ % so với tổng số phiếu hợp lệ 82,22% 70,52% 63,10% 34,38% 24,68%",
            "Ban bầu cử đại biểu Quốc hội kết luận:",
            "a) Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri: 99,09%.",
            "b) Các Ông/Bà có tên sau đây nhận được quá nửa tổng số phiếu hợp lệ",
            # more than half of 3.650 valid ballots is 1.826 or more
            "từ 1.826 phiếu trở lên",
            # the elected, most votes first
            "1. Ông/Bà Nguyễn Thị Ánh, số phiếu: 3.001, đạt: 82,22% so với tổng số phiếu hợp lệ",
            "2. Ông/Bà Trần Văn Bảo, số phiếu: 2.574",
            "3. Ông/Bà Lê Hoàng Cường, số phiếu: 2.303",
            "c) Số đại biểu Quốc hội được bầu đã ấn định cho đơn vị bầu cử là 3 đại biểu, nay "
            "đã bầu được 3 đại biểu, còn thiếu 0 đại biểu.",
            "Tình trạng: Đã bầu đủ.",
            "d) Tóm tắt những việc xảy ra:",
            "đ) Những khiếu nại, tố cáo do các Tổ bầu cử đã giải quyết: 3",
            "e) Những khiếu nại, tố cáo do Ban bầu cử đã giải quyết:",
            "g) Những khiếu nại, tố cáo chuyển đến Ủy ban bầu cử thành phố Hồ Chí Minh:",
            "Biên bản này được lập thành 03 bản và được gửi đến Hội đồng bầu cử quốc gia, Ủy "
            "ban bầu cử thành phố Hồ Chí Minh, Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Hồ "
            "Chí Minh.",
            "Các tài liệu kèm theo gồm:",
            "CÁC PHÓ TRƯỞNG BAN BẦU CỬ",
            "TM. BAN BẦU CỬ TRƯỞNG BAN",
            "Ghi chú: Nhất thiết không được tẩy xóa trên biên bản.",
        ],
    )
    assert "KẾT QUẢ TẠM THỜI" not in text
    assert "Phạm Thị Diệu, số phiếu" not in text  # not elected
    # minutes have no place-and-date line, and nothing is dated by the printing day
    today = dt.date.today()
    assert f"ngày {today.day} tháng {today.month} năm {today.year}" not in text
    assert "Huyện Củ Chi, Thành phố Hồ Chí Minh, ngày" not in text


def test_each_sheet_numbers_its_own_pages_and_keeps_signatures_with_content(
    election: Election, tmp_path: Path
) -> None:
    path = print_committee(source(election, FULL_QH), "UBBC-HCM", tmp_path)
    pages = [" ".join(p.split()) for p in pdf_text(path)]
    firsts = [i for i, p in enumerate(pages) if "Mẫu số" in p]
    assert len(firsts) == 2  # 20/HĐBC-QH, then 25/HĐBC-HĐND for the city council
    for start, end in zip(firsts, [*firsts[1:], len(pages)], strict=True):
        for n, page in enumerate(pages[start:end], start=1):
            assert f"Trang {n}/{end - start}" in page
        last = pages[end - 1]
        # the signatures share their page with the copies clause before them
        assert "CHỦ TỊCH" in last and "Biên bản này được lập thành" in last


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
    assert "Số khu vực bỏ phiếu đã có biên bản: 1/3" in text
    # the missing areas as a table, and the commune's row says its minutes are short
    in_order(
        text,
        [
            "Xã Tân Thông Hội 3 1.001 874 803 455 301 Thiếu 2/3 biên bản",
            "Khu vực bỏ phiếu chưa có biên bản kết quả kiểm phiếu",
            "STT Mã Khu vực bỏ phiếu Xã, phường, đặc khu",
            "1 KV-02 Khu vực bỏ phiếu số 2 Xã Tân Thông Hội, huyện Củ Chi",
            "2 KV-03 Khu vực bỏ phiếu số 3",
        ],
    )
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
    # the form's sentence, under a)
    in_order(
        text,
        [
            "a) Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri: 48,23%.",
            "Vì số cử tri đi bỏ phiếu chưa đạt quá nửa tổng số cử tri của đơn vị bầu cử, nên "
            "cuộc bầu cử đại biểu Quốc hội tại đơn vị bầu cử đại biểu Quốc hội số 10 không có "
            "giá trị. Đề nghị Ủy ban bầu cử thành phố Hồ Chí Minh báo cáo Hội đồng bầu cử quốc "
            "gia xem xét, quyết định việc bầu cử lại tại đơn vị bầu cử (1.800/3.732",
            "b) ",
        ],
    )


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
    in_order(
        text,
        [
            "nay đã bầu được 1 đại biểu, còn thiếu 2 đại biểu.",
            "Vì số người trúng cử đại biểu Quốc hội chưa đủ số lượng đại biểu được bầu đã ấn "
            "định cho đơn vị bầu cử nên đề nghị Ủy ban bầu cử thành phố Hồ Chí Minh báo cáo Hội "
            "đồng bầu cử quốc gia để xem xét, quyết định việc bầu cử thêm tại đơn vị bầu cử "
            "(2 đại biểu).",
        ],
    )


def test_polling_area_sheet_is_form_18_of_the_team(election: Election, tmp_path: Path) -> None:
    path = print_polling_area(source(election, FULL_QH), "KV-02", "QH", tmp_path)
    assert path.name == "kiem-phieu_KV-02_QH.pdf"
    text = one_line(pdf_text(path))
    in_order(
        text,
        [
            "Mẫu số 18/HĐBC-QH",
            "Tỉnh/Thành phố: Thành phố Hồ Chí Minh",
            "Xã/Phường/Đặc khu: Xã Tân Thông Hội",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA XIII CỦA TỔ BẦU CỬ",
            "Khu vực bỏ phiếu số: 2",
            "Đơn vị bầu cử đại biểu Quốc hội số: 10",
            "Gồm: Xã Tân Thông Hội",
            # the team's minutes are dated by the election day
            "Ngày 22 tháng 5 năm 2011, Tổ bầu cử gồm có:",
            "Ông/Bà Nguyễn Văn Tổ, Tổ trưởng",
            "Ông/Bà Trần Thị Thư, Thư ký",
            "Nơi ở hiện nay",
            "Kết quả cuộc bầu cử như sau:",
            "Số đại biểu Quốc hội được ấn định cho đơn vị bầu cử: 3 người",
            "Số người ứng cử: 5 người",
            "Tổng số cử tri của khu vực bỏ phiếu: 980 người",
            "Số cử tri đã tham gia bỏ phiếu: 970 người",
            # 970 of 980 = 98,979…% -> 98,98%
            "Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri: 98,98%",
            "Số phiếu phát ra: 970 phiếu",
            "Số phiếu thu vào: 970 phiếu",
            "Số phiếu hợp lệ: 960 phiếu",
            "Số phiếu không hợp lệ: 10 phiếu",
            "Số phiếu bầu cho mỗi người ứng cử như sau:",
            # ballot order, no percentage
            "1. Ông/Bà Nguyễn Thị Ánh được 800 phiếu/960 phiếu hợp lệ",
            "2. Ông/Bà Trần Văn Bảo được 700 phiếu/960 phiếu hợp lệ",
            "5. Ông/Bà Võ Đức Ễnh được 200 phiếu/960 phiếu hợp lệ",
            "Trong ngày bầu cử và thời gian kiểm phiếu, đã xảy ra sự việc hoặc khiếu nại, tố cáo "
            "sau đây:",
            "Khiếu nại, tố cáo nhận được: 1; Tổ bầu cử đã giải quyết: 1.",
            "Những vấn đề hoặc khiếu nại, tố cáo mà Tổ bầu cử chưa giải quyết được và kiến nghị:",
            "Biên bản này được hoàn thành vào hồi …… giờ …… phút, ngày …… tháng …… năm 2011.",
            "Biên bản này được lập thành 03 bản và được gửi đến Ban bầu cử đại biểu Quốc hội ở "
            "đơn vị bầu cử số 10; Ủy ban nhân dân và Ban thường trực Ủy ban Mặt trận Tổ quốc "
            "Việt Nam xã Tân Thông Hội.",
            "CỬ TRI THỨ NHẤT CHỨNG KIẾN VIỆC KIỂM PHIẾU",
            "TM. TỔ BẦU CỬ TỔ TRƯỞNG",
            "THƯ KÝ TỔ BẦU CỬ",
            "Nguyễn Văn Tổ",
            "Trần Thị Thư",
            "CỬ TRI THỨ HAI CHỨNG KIẾN VIỆC KIỂM PHIẾU",
            "Ghi chú: Nhất thiết không được tẩy xóa trên biên bản.",
        ],
    )
    assert "83,33%" not in text  # the team's form gives no percentage per candidate
    assert "ĐÍNH CHÍNH" not in text


def test_council_minutes_name_the_council_its_place_term_and_period(
    election: Election, tmp_path: Path
) -> None:
    minutes = [
        CountingMinutes(
            race_id="HDND-XA",
            constituency_id="TTH-1",
            polling_area_id=a,
            voters_on_list=n,
            voters_voted=n - 10,
            ballots_issued=n - 10,
            ballots_received=n - 10,
            valid_ballots=n - 20,
            invalid_ballots=10,
            candidate_votes={f"TTH-1-{i}": v for i, v in enumerate(votes, start=1)},
        )
        for a, n, votes in [
            ("KV-01", 1236, [900, 800, 700, 300, 200]),
            ("KV-02", 975, [700, 600, 500, 200, 100]),
            ("KV-03", 1488, [1000, 900, 800, 400, 300]),
        ]
    ]
    src = source(election, minutes)
    src.corrections[("KV-02", "HDND-XA", "main")] = "Cộng nhầm số phiếu không hợp lệ"
    team = one_line(pdf_text(print_polling_area(src, "KV-02", "HDND-XA", tmp_path)))
    in_order(
        team,
        [
            "Mẫu số 23/HĐBC-HĐND",
            "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU BẦU CỬ ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN XÃ TÂN THÔNG HỘI "
            # the commune council's khóa is not in the definition: a blank to fill
            "KHÓA …… NHIỆM KỲ 2011-2016 CỦA TỔ BẦU CỬ",
            # a correction says it is one, and why
            "BIÊN BẢN ĐÍNH CHÍNH — thay biên bản Tổ bầu cử đã gửi trước; lý do đính chính: "
            "Cộng nhầm số phiếu không hợp lệ",
            "Đơn vị bầu cử đại biểu Hội đồng nhân dân xã Tân Thông Hội số: 1",
            "Số đại biểu Hội đồng nhân dân được ấn định cho đơn vị bầu cử: 3 người",
        ],
    )
    board = one_line(pdf_text(print_constituency(src, "HDND-XA", "TTH-1", tmp_path)))
    in_order(
        board,
        [
            "Mẫu số 24/HĐBC-HĐND",
            "BAN BẦU CỬ ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN XÃ TÂN THÔNG HỘI ĐƠN VỊ BẦU CỬ SỐ 1",
            "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN XÃ TÂN THÔNG HỘI KHÓA "
            "……, NHIỆM KỲ 2011-2016 Ở ĐƠN VỊ BẦU CỬ SỐ 1",
            "(theo Nghị quyết số ……/NQ-UBBC)",
            # the candidates' list in ballot order
            "1 Ông/Bà Ngô Văn Lợi 02/02/1960 2.600",
            "2 Ông/Bà Dương Thị Mỹ",
            "5 Ông/Bà Tạ Quang Phúc",
            "nhận được quá một nửa tổng số phiếu hợp lệ",
            "Biên bản này được lập thành 04 bản và được gửi đến Ủy ban bầu cử xã Tân Thông Hội",
        ],
    )
    summary = one_line(pdf_text(print_committee(src, "UBBC-TTH", tmp_path)))
    in_order(
        summary,
        [
            "Mẫu số 25/HĐBC-HĐND",
            "ỦY BAN BẦU CỬ XÃ TÂN THÔNG HỘI",
            "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN XÃ TÂN THÔNG HỘI KHÓA ……, "
            "NHIỆM KỲ 2011-2016",
            "(theo quy định của Luật Tổ chức chính quyền địa phương)",
            "1. Các đơn vị bầu cử",
            "2. Số lượng đơn vị bầu cử",
            "3. Các đơn vị bầu cử phải bầu cử lại",
            "4. Số phiếu bầu cho mỗi người ứng cử",
            "5. Danh sách những người trúng cử",
            "6. Các đơn vị bầu cử phải bầu cử thêm",
            "7. Những việc quan trọng đã xảy ra và kết quả giải quyết:",
            "8. Những khiếu nại, tố cáo do Ủy ban bầu cử xã Tân Thông Hội đã giải quyết:",
            "Biên bản này được lập thành 06 bản",
            "TM. ỦY BAN BẦU CỬ CHỦ TỊCH",
        ],
    )


def test_the_definition_and_the_print_command_fill_the_forms_blanks(
    election: Election, tmp_path: Path
) -> None:
    """An election of another year carries its own khóa, term and meeting."""
    from msgspec import structs

    from schemas.models import BodyMeeting, CouncilTerm, RaceTerm, SheetFacts, SheetMember
    from tui.pdf.forms import Meeting

    facts = SheetFacts(
        races=[RaceTerm(race_id="HDND-TP", term="VIII", seats_basis="Nghị quyết số 12/NQ-UBBC")],
        councils=[CouncilTerm(committee_id="UBBC-TTH", term="IX")],
        bodies=[
            BodyMeeting(
                body="UBBC-HCM",
                place="Hội trường Ủy ban nhân dân Thành phố",
                members=[SheetMember(role="Chủ tịch", full_name="Lê Thanh Hải")],
            )
        ],
    )
    e = Election.from_definition(structs.replace(election.definition, sheets=facts))
    src = source(e, FULL_QH)
    src.meeting = Meeting(time=dt.time(14, 5))
    text = one_line(pdf_text(print_committee(src, "UBBC-HCM", tmp_path)))
    in_order(
        text,
        [
            "Vào hồi 14 giờ 05 phút, ngày 25 tháng 5 năm 2011, Ủy ban bầu cử thành phố Hồ Chí "
            "Minh gồm có: Ông/Bà Lê Thanh Hải, Chủ tịch",
            "Đã họp tại: Hội trường Ủy ban nhân dân Thành phố",
            "Mẫu số 25/HĐBC-HĐND",
            "ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH KHÓA VIII, NHIỆM KỲ 2011-2016",
            "(theo Nghị quyết số 12/NQ-UBBC)",
        ],
    )


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


def test_province_determines_na_results_on_form_20_and_the_council_sums_up_art_84(
    election: Election, tmp_path: Path
) -> None:
    src = source(election, FULL_QH)
    text = one_line(pdf_text(print_committee(src, "UBBC-HCM", tmp_path)))
    # the city makes the determination for the National Assembly, not a "tổng kết"
    in_order(
        text,
        [
            "Mẫu số 20/HĐBC-QH",
            "ỦY BAN BẦU CỬ THÀNH PHỐ HỒ CHÍ MINH",
            "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA XIII Ở THÀNH PHỐ HỒ CHÍ MINH",
            "Tổng số cử tri: 3.732 người",
            "Số người trúng cử: 3 người",
            "1. Các đơn vị bầu cử",
            "1 Đơn vị bầu cử số 10 Xã Tân Thông Hội",
            "2. Số lượng đơn vị bầu cử",
            "1 Đơn vị bầu cử số 10 3.732 3.698 99,09% 3.650 98,70% 48 1,30%",
            "Tổng cộng: 3.732 3.698 99,09% 3.650 98,70% 48 1,30%",
            "3. Các đơn vị bầu cử phải bầu cử lại Không có.",
            # every candidate's votes, in ballot order
            "4. Số phiếu bầu cho mỗi người ứng cử",
            "1 Đơn vị bầu cử số 10 Nguyễn Thị Ánh 3.001 82,22% Trúng cử",
            "4 Đơn vị bầu cử số 10 Phạm Thị Diệu 1.255 34,38%",
            "5 Đơn vị bầu cử số 10 Võ Đức Ễnh 901 24,68%",
            "5. Danh sách những người trúng cử",
            "1 Đơn vị bầu cử số 10 Nguyễn Thị Ánh 3.001 82,22% Vòng đầu",
            "6. Các đơn vị bầu cử phải bầu cử thêm Không có.",
            "7. Những khiếu nại, tố cáo do các Tổ bầu cử, Ban bầu cử đã giải quyết",
            "8. Những việc quan trọng đã xảy ra và cách giải quyết:",
            "9. Những khiếu nại, tố cáo do Ủy ban bầu cử thành phố Hồ Chí Minh đã giải quyết:",
            "10. Những khiếu nại, tố cáo và kiến nghị chuyển đến Hội đồng bầu cử quốc gia:",
            "Biên bản này được lập thành 04 bản",
            "TM. ỦY BAN BẦU CỬ CHỦ TỊCH",
            # then the city council's summary, still provisional
            "Mẫu số 25/HĐBC-HĐND",
            "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ",
            "KẾT QUẢ TẠM THỜI",
        ],
    )
    assert "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ ĐẠI BIỂU QUỐC HỘI" not in text
    nec = one_line(pdf_text(print_committee(src, "HDBCQG", tmp_path)))
    in_order(
        nec,
        [
            "Điều 84 Luật Bầu cử",
            "HỘI ĐỒNG BẦU CỬ QUỐC GIA",
            "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA XIII",
            "Tổng số đại biểu Quốc hội được bầu: 3 người",
            "Tổng số cử tri: 3.732 người",
            "4. Số phiếu bầu cho mỗi người ứng cử",
            "5. Danh sách những người trúng cử",
            "7. Những việc quan trọng đã xảy ra:",
            "8. Những khiếu nại, tố cáo do Hội đồng bầu cử quốc gia đã giải quyết",
            "Biên bản này được lập thành 05 bản và được gửi đến Ủy ban thường vụ Quốc hội, Chính "
            "phủ, Ủy ban trung ương Mặt trận Tổ quốc Việt Nam",
            "TM. HỘI ĐỒNG BẦU CỬ QUỐC GIA CHỦ TỊCH",
        ],
    )


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
    assert "báo cáo Hội đồng bầu cử quốc gia để xem xét, quyết định việc bầu cử thêm" in first
    assert "Kết quả chung cuộc" not in first
    for expected in [
        "Ở ĐƠN VỊ BẦU CỬ SỐ 1",
        "(BẦU CỬ THÊM)",
        # the form's sentence for a round held because seats were short
        "Vì số người trúng cử chưa đủ số lượng đại biểu được bầu đã ấn định cho đơn vị bầu "
        "cử (2/3), Hội đồng bầu cử quốc gia đã quyết định việc bầu cử thêm 1 đại biểu",
        "ở đơn vị bầu cử số 1 (bầu cử thêm)",
        "Số đại biểu Quốc hội được bầu đã ấn định cho đơn vị bầu cử: 3 người",
        "Số đại biểu bầu thêm (số ghế còn thiếu): 1 người",
        "Số người ứng cử có tên trên phiếu bầu cử thêm: 3 người",
        # this round's own figures: 1.800 valid ballots, Ứng cử viên 3 has 950
        "Số phiếu hợp lệ: 1.800 phiếu",
        "Tổng cộng: 2 950 550 300",
        "1. Ông/Bà Ứng cử viên 3, số phiếu: 950, đạt: 52,78%",
        "còn thiếu 0 đại biểu.",
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
    ballot = later[later.index("SỐ PHIẾU BẦU CHO MỖI NGƯỜI") : later.index("kết luận")]
    assert "Ứng cử viên 1" not in ballot

    summary = one_line(pdf_text(print_committee(src, "K", tmp_path)))
    assert "Số người trúng cử: 3 người" in summary
    for expected in [
        "Đơn vị bầu cử số 1 Ứng cử viên 1 1.600 88,89% Vòng đầu",
        "Đơn vị bầu cử số 1 Ứng cử viên 2 1.400 77,78% Vòng đầu",
        "Đơn vị bầu cử số 1 Ứng cử viên 3 950 52,78% Bầu cử thêm",
        "6. Các đơn vị bầu cử phải bầu cử thêm",
        "Kết quả bầu cử thêm như sau: Đơn vị bầu cử số 1: Ứng cử viên 3",
    ]:
        assert expected in summary, expected
    # the supplementary round settled what the main round proposed: nothing left to do
    assert "cần xử lý tiếp" not in summary


def test_the_2011_sample_is_printed_on_the_same_forms_with_its_own_khoa_and_term(
    tmp_path: Path,
) -> None:
    from tally_server.core.sample import bundled_election, sample_minutes

    e = Election.from_definition(bundled_election())
    minutes = list(sample_minutes(e, seed=1))
    by_area: dict[str, list[CountingMinutes]] = {}
    for m in minutes:
        by_area.setdefault(m.polling_area_id, []).append(m)
    src = SheetSource(
        e,
        tally_from_scratch(e, minutes).results(),
        Fingerprint.from_ledger(e.id, HEAD, 7, "ab" * 32),
        by_area,
    )
    qh10 = e.constituencies[("QH", "QH-10")]
    board = one_line(pdf_text(print_constituency(src, "QH", "QH-10", tmp_path)))
    in_order(
        board,
        [
            "Mẫu số 19/HĐBC-QH",
            "XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA XIII Ở ĐƠN VỊ BẦU CỬ SỐ 10",
            # no meeting day given: a blank, in the election's year
            "Vào hồi …… giờ …… phút, ngày …… tháng …… năm 2011",
            "Thị trấn Củ Chi",
            f"Tổng cộng: {len(qh10.polling_area_ids)}",
        ],
    )
    # one row per commune of the three districts, each with its votes
    communes_in = {e.polling_areas[a].admin_unit.split(",")[0] for a in qh10.polling_area_ids}
    assert len(communes_in) > 40
    assert all(name in board for name in communes_in)
    city = one_line(pdf_text(print_committee(src, "UBBC-HCM", tmp_path)))
    in_order(
        city,
        [
            "Mẫu số 20/HĐBC-QH",
            "Ở THÀNH PHỐ HỒ CHÍ MINH",
            "Mẫu số 25/HĐBC-HĐND",
            # the city council's khóa from the definition, the term from the race's name
            "ĐẠI BIỂU HỘI ĐỒNG NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH KHÓA VIII, NHIỆM KỲ 2011-2016",
        ],
    )
    assert "2026" not in board + city


def test_communes_of_the_same_name_in_two_districts_are_two_rows() -> None:
    from tally_server.core.sample import bundled_election
    from tui.pdf.forms import communes

    e = Election.from_definition(bundled_election())
    rows = dict(communes(e, e.constituencies[("QH", "QH-01")]))  # Quận 1, 3 and 4
    assert "Phường 1 (Quận\u00a03)" in rows and "Phường 1 (Quận\u00a04)" in rows
    assert "Phường Bến Nghé" in rows  # unique: its name alone
    assert sum(len(ids) for ids in rows.values()) == len(
        e.constituencies[("QH", "QH-01")].polling_area_ids
    )


def test_offline_a_correcting_batch_prints_its_minutes_as_a_correction_with_the_reason(
    assets: Path, tmp_path: Path
) -> None:
    from schemas import codec
    from schemas.models import ResultBatch

    batch = ResultBatch(
        schema="kiemphieu/batch/v1",
        election_id="vd-2011",
        station_id="TRAM-02",
        polling_area_id="KV-02",
        sequence=2,
        created_at=dt.datetime(2011, 5, 22, 21, 30, tzinfo=dt.UTC),
        minutes=[FULL_QH[1]],
        supersedes="cd" * 32,
        reason="Ghi nhầm số phiếu của bà Phạm Thị Diệu",
    )
    f = tmp_path / "correction.json"
    f.write_bytes(codec.encode(batch))
    src = source_offline(assets / "examples" / "election.json", [f])
    text = one_line(pdf_text(print_polling_area(src, "KV-02", "QH", tmp_path)))
    in_order(
        text,
        [
            "CỦA TỔ BẦU CỬ",
            "BIÊN BẢN ĐÍNH CHÍNH — thay biên bản Tổ bầu cử đã gửi trước; lý do đính chính: "
            "Ghi nhầm số phiếu của bà Phạm Thị Diệu",
            "Khu vực bỏ phiếu số: 2",
        ],
    )
