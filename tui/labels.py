"""Words the dashboard and the sheets show, in Vietnamese and English.

Vietnamese is the default; ``Lang`` picks the column. Keep the keys stable:
screens look them up by key, tests by text.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]

STATUS: dict[str, tuple[str, str]] = {
    "no_results": ("Chưa có kết quả", "No results"),
    "partial": ("Đang tổng hợp", "Partial"),
    "elected": ("Đã bầu đủ", "Elected"),
    "revote": ("Bầu cử lại", "Re-vote"),
    "supplementary_proposed": ("Đề nghị bầu cử thêm", "Supplementary proposed"),
    "seats_left_empty": ("Để trống ghế còn thiếu", "Seats left empty"),
    "unresolved_tie": ("Bằng phiếu chưa phân định", "Unresolved tie"),
}

ROUND: dict[str, tuple[str, str]] = {
    "main": ("Bầu cử chính thức", "Main round"),
    "revote": ("Bầu cử lại", "Re-vote"),
    "supplementary": ("Bầu cử thêm", "Supplementary"),
}

UI: dict[str, tuple[str, str]] = {
    "app_title": ("Kiểm phiếu — Ủy ban bầu cử", "Kiểm phiếu — election committee"),
    "overview": ("Tổng quan", "Overview"),
    "constituencies": ("Đơn vị bầu cử", "Constituencies"),
    "constituency": ("Đơn vị bầu cử", "Constituency"),
    "polling_area": ("Khu vực bỏ phiếu", "Polling area"),
    "alerts": ("Cảnh báo", "Alerts"),
    "language": ("English", "Tiếng Việt"),
    "print": ("In biên bản", "Print sheet"),
    "back": ("Quay lại", "Back"),
    "quit": ("Thoát", "Quit"),
    "refresh": ("Tải lại", "Refresh"),
    "search": ("Tìm", "Search"),
    "filter_race": ("Lọc cuộc bầu cử", "Filter race"),
    "filter_status": ("Lọc tình trạng", "Filter status"),
    "sort": ("Sắp xếp", "Sort"),
    "sort_key": ("theo mã", "by id"),
    "sort_name": ("theo tên", "by name"),
    "sort_reported": ("ít báo cáo trước", "least reported first"),
    "sort_status": ("theo tình trạng", "by status"),
    "sort_turnout": ("theo tỷ lệ đi bầu", "by turnout"),
    "open": ("Xem", "Open"),
    "review": ("Đánh dấu đã xem xét", "Mark reviewed"),
    "show_reviewed": ("Hiện cả đã xem xét", "Show reviewed too"),
    "race": ("Cuộc bầu cử", "Race"),
    "committee": ("Ủy ban bầu cử", "Committee"),
    "by_committee": ("Theo Ủy ban bầu cử", "By committee"),
    "whole_election": ("Toàn cuộc bầu cử", "Whole election"),
    "all": ("Tất cả", "All"),
    "areas_reported": ("Khu vực đã báo cáo", "Polling areas reported"),
    "turnout": ("Tỷ lệ đi bầu", "Turnout"),
    "turnout_short": ("Đi bầu", "Turnout"),
    "accepted_short": ("Nhận", "Accepted"),
    "flagged_short": ("Lưu ý", "Flagged"),
    "rejected_short": ("Từ chối", "Rejected"),
    "last_short": ("Gói cuối", "Last batch"),
    "voters": ("Cử tri", "Voters"),
    "voted": ("Đã bỏ phiếu", "Voted"),
    "batches": ("Gói kết quả", "Batches"),
    "accepted": ("Đã nhận", "Accepted"),
    "flagged": ("Cần lưu ý", "Flagged"),
    "rejected": ("Bị từ chối", "Rejected"),
    "conflicts": ("Xung đột", "Conflicts"),
    "last_batch": ("Gói gần nhất", "Last batch"),
    "never": ("chưa có", "none yet"),
    "ago": ("trước", "ago"),
    "connected": ("Đã kết nối", "Connected"),
    "connecting": ("Đang kết nối…", "Connecting…"),
    "disconnected": ("Mất kết nối, thử lại sau", "Disconnected, retrying in"),
    "projector": ("Chế độ trình chiếu (chỉ xem)", "Projector mode (read-only)"),
    "ledger": ("Sổ cái", "Ledger"),
    "id": ("Mã", "Id"),
    "name": ("Tên", "Name"),
    "seats": ("Ghế", "Seats"),
    "status": ("Tình trạng", "Status"),
    "winners": ("Trúng cử", "Winners"),
    "candidate": ("Người ứng cử", "Candidate"),
    "votes": ("Số phiếu", "Votes"),
    "share": ("Tỷ lệ", "Share"),
    "majority": ("Quá bán", "Majority"),
    "elected": ("Trúng cử", "Elected"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "missing_areas": ("Khu vực chưa báo cáo", "Polling areas missing"),
    "area_missing": ("✗ chưa báo cáo", "✗ missing"),
    "area_reported": ("✓ đã báo cáo", "✓ reported"),
    "reported_areas": ("Khu vực đã báo cáo", "Polling areas reported"),
    "valid": ("Phiếu hợp lệ", "Valid ballots"),
    "invalid": ("Phiếu không hợp lệ", "Invalid ballots"),
    "issued": ("Phiếu phát ra", "Ballots issued"),
    "received": ("Phiếu thu vào", "Ballots received"),
    "majority_line": ("Ngưỡng quá bán (50%)", "Majority line (50%)"),
    "minutes": ("Biên bản", "Minutes"),
    "history": ("Lịch sử sửa đổi", "Correction history"),
    "warnings": ("Cảnh báo", "Warnings"),
    "explanation": ("Giải trình", "Explanation"),
    "receipts": ("Biên nhận", "Receipts"),
    "kind": ("Loại", "Kind"),
    "time": ("Thời điểm", "Time"),
    "detail": ("Chi tiết", "Detail"),
    "reviewed": ("Đã xem xét", "Reviewed"),
    "note": ("Ghi chú xem xét", "Review note"),
    "printed": ("Đã ghi biên bản", "Sheet written"),
    "read_only": ("Chế độ chỉ xem: không có thao tác", "Read-only: no operator actions"),
    "no_data": ("Chưa có dữ liệu", "No data yet"),
    "loading": ("Đang tải…", "Loading…"),
    "error": ("Lỗi", "Error"),
    "rows": ("dòng", "rows"),
}


def t(key: str, lang: Lang) -> str:
    vi, en = UI[key]
    return vi if lang == "vi" else en


def status_label(status: str, lang: Lang) -> str:
    vi, en = STATUS.get(status, (status, status))
    return vi if lang == "vi" else en


def round_label(round_: str, lang: Lang) -> str:
    vi, en = ROUND.get(round_, (round_, round_))
    return vi if lang == "vi" else en
