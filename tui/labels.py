"""Words of the dashboard's own screens, in Vietnamese and English.

Statuses, rounds and the fields of the minutes are the glossary's
(``tally_server.core.glossary``), worded as the CLI and the sheets word them.
Vietnamese is the default; ``Lang`` picks the language. Keep the keys stable:
screens look them up by key, tests by text.
"""

from __future__ import annotations

from tally_server.core.glossary import (
    ELECTED_IN,
    FIELD,
    FINAL_RESULT,
    Lang,
    Words,
    round_words,
    status_words,
)

__all__ = ["UI", "Lang", "round_label", "status_label", "t"]

UI: dict[str, Words] = {
    "app_title": Words(vi="Kiểm phiếu — Ủy ban bầu cử", en="Kiểm phiếu — election committee"),
    "overview": Words(vi="Tổng quan", en="Overview"),
    "constituencies": Words(vi="Đơn vị bầu cử", en="Constituencies"),
    "constituency": Words(vi="Đơn vị bầu cử", en="Constituency"),
    "polling_area": Words(vi="Khu vực bỏ phiếu", en="Polling area"),
    "alerts": Words(vi="Cảnh báo", en="Alerts"),
    "language": Words(vi="English", en="Tiếng Việt"),
    "print": Words(vi="In biên bản", en="Print sheet"),
    "back": Words(vi="Quay lại", en="Back"),
    "quit": Words(vi="Thoát", en="Quit"),
    "refresh": Words(vi="Tải lại", en="Refresh"),
    "search": Words(vi="Tìm", en="Search"),
    "filter_race": Words(vi="Lọc cuộc bầu cử", en="Filter race"),
    "filter_status": Words(vi="Lọc tình trạng", en="Filter status"),
    "sort": Words(vi="Sắp xếp", en="Sort"),
    "sort_key": Words(vi="theo mã", en="by id"),
    "sort_name": Words(vi="theo tên", en="by name"),
    "sort_reported": Words(vi="ít báo cáo trước", en="least reported first"),
    "sort_status": Words(vi="theo tình trạng", en="by status"),
    "sort_turnout": Words(vi="theo tỷ lệ đi bầu", en="by turnout"),
    "open": Words(vi="Xem", en="Open"),
    "review": Words(vi="Đánh dấu đã xem xét", en="Mark reviewed"),
    "show_reviewed": Words(vi="Hiện cả đã xem xét", en="Show reviewed too"),
    "race": Words(vi="Cuộc bầu cử", en="Race"),
    "committee": Words(vi="Ủy ban bầu cử", en="Committee"),
    "by_committee": Words(vi="Theo Ủy ban bầu cử", en="By committee"),
    "whole_election": Words(vi="Toàn cuộc bầu cử", en="Whole election"),
    "all": Words(vi="Tất cả", en="All"),
    "areas_reported": Words(vi="Khu vực đã báo cáo", en="Polling areas reported"),
    "turnout": Words(vi="Tỷ lệ đi bầu", en="Turnout"),
    "turnout_short": Words(vi="Đi bầu", en="Turnout"),
    "accepted_short": Words(vi="Nhận", en="Accepted"),
    "flagged_short": Words(vi="Lưu ý", en="Flagged"),
    "rejected_short": Words(vi="Từ chối", en="Rejected"),
    "last_short": Words(vi="Gói cuối", en="Last batch"),
    "voters": FIELD["voters_on_list"],
    "voted": FIELD["voters_voted"],
    "batches": Words(vi="Gói kết quả", en="Batches"),
    "accepted": Words(vi="Đã nhận", en="Accepted"),
    "flagged": Words(vi="Cần lưu ý", en="Flagged"),
    "rejected": Words(vi="Bị từ chối", en="Rejected"),
    "conflicts": Words(vi="Xung đột", en="Conflicts"),
    "last_batch": Words(vi="Gói gần nhất", en="Last batch"),
    "never": Words(vi="chưa có", en="none yet"),
    "ago": Words(vi="trước", en="ago"),
    "connected": Words(vi="Đã kết nối", en="Connected"),
    "connecting": Words(vi="Đang kết nối…", en="Connecting…"),
    "disconnected": Words(vi="Mất kết nối, thử lại sau", en="Disconnected, retrying in"),
    "projector": Words(vi="Chế độ trình chiếu (chỉ xem)", en="Projector mode (read-only)"),
    "ledger": Words(vi="Sổ cái", en="Ledger"),
    "id": Words(vi="Mã", en="Id"),
    "name": Words(vi="Tên", en="Name"),
    "seats": Words(vi="Ghế", en="Seats"),
    "status": FIELD["status"],
    "winners": FIELD["winners"],
    "candidate": Words(vi="Người ứng cử", en="Candidate"),
    "votes": FIELD["votes"],
    "share": Words(vi="Tỷ lệ", en="Share"),
    "majority": Words(vi="Quá bán", en="Majority"),
    "elected": Words(vi="Trúng cử", en="Elected"),
    "yes": Words(vi="có", en="yes"),
    "no": Words(vi="không", en="no"),
    "missing_areas": Words(vi="Khu vực chưa báo cáo", en="Polling areas missing"),
    "area_missing": Words(vi="✗ chưa báo cáo", en="✗ missing"),
    "area_reported": Words(vi="✓ đã báo cáo", en="✓ reported"),
    "reported_areas": Words(vi="Khu vực đã báo cáo", en="Polling areas reported"),
    "valid": FIELD["valid_ballots"],
    "invalid": FIELD["invalid_ballots"],
    "issued": FIELD["ballots_issued"],
    "received": FIELD["ballots_received"],
    "majority_line": Words(vi="Ngưỡng quá bán (50%)", en="Majority line (50%)"),
    "minutes": Words(vi="Biên bản", en="Minutes"),
    "history": Words(vi="Lịch sử sửa đổi", en="Correction history"),
    "warnings": Words(vi="Cảnh báo", en="Warnings"),
    "explanation": Words(vi="Giải trình", en="Explanation"),
    "receipts": Words(vi="Biên nhận", en="Receipts"),
    "kind": Words(vi="Loại", en="Kind"),
    "time": Words(vi="Thời điểm", en="Time"),
    "detail": Words(vi="Chi tiết", en="Detail"),
    "reviewed": Words(vi="Đã xem xét", en="Reviewed"),
    "note": Words(vi="Ghi chú xem xét", en="Review note"),
    "printed": Words(vi="Đã ghi biên bản", en="Sheet written"),
    "read_only": Words(vi="Chế độ chỉ xem: không có thao tác", en="Read-only: no operator actions"),
    "no_data": Words(vi="Chưa có dữ liệu", en="No data yet"),
    "loading": Words(vi="Đang tải…", en="Loading…"),
    "error": Words(vi="Lỗi", en="Error"),
    "rows": Words(vi="dòng", en="rows"),
    "round": Words(vi="Vòng", en="Round"),
    "final": FINAL_RESULT.title(),
    "final_short": Words(vi="Chung cuộc", en="Final"),
    "elected_in": ELECTED_IN.title(),
    "rounds_held": Words(vi="Các vòng đã bầu", en="Rounds held"),
    "switch_round": Words(vi="Đổi vòng", en="Switch round"),
    "showing_round": Words(vi="Đang xem", en="Showing"),
    "seats_filled": Words(vi="Đã bầu", en="Filled"),
    "areas_short": Words(vi="Khu vực", en="Areas"),
    "valid_short": Words(vi="Hợp lệ", en="Valid"),
    "no_one_elected": Words(vi="Chưa có người trúng cử", en="No one elected yet"),
}


def t(key: str, lang: Lang) -> str:
    return UI[key].of(lang)


def status_label(status: str, lang: Lang) -> str:
    return status_words(status).of(lang)


def round_label(round_: str, lang: Lang) -> str:
    return round_words(round_).of(lang)
