"""Words of the dashboard's own screens, in Vietnamese and English.

Statuses, rounds and the fields of the minutes are the glossary's
(``tally_server.core.glossary``), worded as the CLI and the sheets word them.
Vietnamese is the default; ``Lang`` picks the language. Keep the keys stable:
screens look them up by key, tests by text.
"""

from __future__ import annotations

from tally_server.core.glossary import FIELD, Lang, Words, round_words, status_words

__all__ = ["UI", "Lang", "round_label", "status_label", "t"]

UI: dict[str, Words] = {
    "app_title": Words("Kiểm phiếu — Ủy ban bầu cử", "Kiểm phiếu — election committee"),
    "overview": Words("Tổng quan", "Overview"),
    "constituencies": Words("Đơn vị bầu cử", "Constituencies"),
    "constituency": Words("Đơn vị bầu cử", "Constituency"),
    "polling_area": Words("Khu vực bỏ phiếu", "Polling area"),
    "alerts": Words("Cảnh báo", "Alerts"),
    "language": Words("English", "Tiếng Việt"),
    "print": Words("In biên bản", "Print sheet"),
    "back": Words("Quay lại", "Back"),
    "quit": Words("Thoát", "Quit"),
    "refresh": Words("Tải lại", "Refresh"),
    "search": Words("Tìm", "Search"),
    "filter_race": Words("Lọc cuộc bầu cử", "Filter race"),
    "filter_status": Words("Lọc tình trạng", "Filter status"),
    "sort": Words("Sắp xếp", "Sort"),
    "sort_key": Words("theo mã", "by id"),
    "sort_name": Words("theo tên", "by name"),
    "sort_reported": Words("ít báo cáo trước", "least reported first"),
    "sort_status": Words("theo tình trạng", "by status"),
    "sort_turnout": Words("theo tỷ lệ đi bầu", "by turnout"),
    "open": Words("Xem", "Open"),
    "review": Words("Đánh dấu đã xem xét", "Mark reviewed"),
    "show_reviewed": Words("Hiện cả đã xem xét", "Show reviewed too"),
    "race": Words("Cuộc bầu cử", "Race"),
    "committee": Words("Ủy ban bầu cử", "Committee"),
    "by_committee": Words("Theo Ủy ban bầu cử", "By committee"),
    "whole_election": Words("Toàn cuộc bầu cử", "Whole election"),
    "all": Words("Tất cả", "All"),
    "areas_reported": Words("Khu vực đã báo cáo", "Polling areas reported"),
    "turnout": Words("Tỷ lệ đi bầu", "Turnout"),
    "turnout_short": Words("Đi bầu", "Turnout"),
    "accepted_short": Words("Nhận", "Accepted"),
    "flagged_short": Words("Lưu ý", "Flagged"),
    "rejected_short": Words("Từ chối", "Rejected"),
    "last_short": Words("Gói cuối", "Last batch"),
    "voters": FIELD["voters_on_list"],
    "voted": FIELD["voters_voted"],
    "batches": Words("Gói kết quả", "Batches"),
    "accepted": Words("Đã nhận", "Accepted"),
    "flagged": Words("Cần lưu ý", "Flagged"),
    "rejected": Words("Bị từ chối", "Rejected"),
    "conflicts": Words("Xung đột", "Conflicts"),
    "last_batch": Words("Gói gần nhất", "Last batch"),
    "never": Words("chưa có", "none yet"),
    "ago": Words("trước", "ago"),
    "connected": Words("Đã kết nối", "Connected"),
    "connecting": Words("Đang kết nối…", "Connecting…"),
    "disconnected": Words("Mất kết nối, thử lại sau", "Disconnected, retrying in"),
    "projector": Words("Chế độ trình chiếu (chỉ xem)", "Projector mode (read-only)"),
    "ledger": Words("Sổ cái", "Ledger"),
    "id": Words("Mã", "Id"),
    "name": Words("Tên", "Name"),
    "seats": Words("Ghế", "Seats"),
    "status": FIELD["status"],
    "winners": FIELD["winners"],
    "candidate": Words("Người ứng cử", "Candidate"),
    "votes": FIELD["votes"],
    "share": Words("Tỷ lệ", "Share"),
    "majority": Words("Quá bán", "Majority"),
    "elected": Words("Trúng cử", "Elected"),
    "yes": Words("có", "yes"),
    "no": Words("không", "no"),
    "missing_areas": Words("Khu vực chưa báo cáo", "Polling areas missing"),
    "area_missing": Words("✗ chưa báo cáo", "✗ missing"),
    "area_reported": Words("✓ đã báo cáo", "✓ reported"),
    "reported_areas": Words("Khu vực đã báo cáo", "Polling areas reported"),
    "valid": FIELD["valid_ballots"],
    "invalid": FIELD["invalid_ballots"],
    "issued": FIELD["ballots_issued"],
    "received": FIELD["ballots_received"],
    "majority_line": Words("Ngưỡng quá bán (50%)", "Majority line (50%)"),
    "minutes": Words("Biên bản", "Minutes"),
    "history": Words("Lịch sử sửa đổi", "Correction history"),
    "warnings": Words("Cảnh báo", "Warnings"),
    "explanation": Words("Giải trình", "Explanation"),
    "receipts": Words("Biên nhận", "Receipts"),
    "kind": Words("Loại", "Kind"),
    "time": Words("Thời điểm", "Time"),
    "detail": Words("Chi tiết", "Detail"),
    "reviewed": Words("Đã xem xét", "Reviewed"),
    "note": Words("Ghi chú xem xét", "Review note"),
    "printed": Words("Đã ghi biên bản", "Sheet written"),
    "read_only": Words("Chế độ chỉ xem: không có thao tác", "Read-only: no operator actions"),
    "no_data": Words("Chưa có dữ liệu", "No data yet"),
    "loading": Words("Đang tải…", "Loading…"),
    "error": Words("Lỗi", "Error"),
    "rows": Words("dòng", "rows"),
}


def t(key: str, lang: Lang) -> str:
    return UI[key].of(lang)


def status_label(status: str, lang: Lang) -> str:
    return status_words(status).of(lang)


def round_label(round_: str, lang: Lang) -> str:
    return round_words(round_).of(lang)
