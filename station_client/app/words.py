"""Every wording the polling team's app shows, in Vietnamese and English.

Plain words for a tired official on election night: no "lô", "sổ cái", "head"
or connection traces; the law's own terms where the paper minutes use them.
"""

from __future__ import annotations

from tally_server.core.glossary import Lang, Words

W: dict[str, Words] = {
    # bindings
    "lang": Words(vi="English", en="Tiếng Việt"),
    "quit": Words(vi="Thoát", en="Quit"),
    "enter_race": Words(vi="Nhập biên bản", en="Enter minutes"),
    "enter_all": Words(vi="Nhập hết", en="Enter all"),
    "correct": Words(vi="Đính chính", en="Correct"),
    "outbox": Words(vi="Đã gửi, biên nhận", en="Sent & receipts"),
    "send": Words(vi="Gửi ngay", en="Send now"),
    "back": Words(vi="Quay lại", en="Back"),
    "sign": Words(vi="Ký", en="Sign"),
    "discard": Words(vi="Bỏ bản nháp", en="Discard draft"),
    "edit": Words(vi="Sửa", en="Edit"),
    "print": Words(vi="In bản sao", en="Print copy"),
    "next_race": Words(vi="Xong biên bản này", en="Done with this race"),
    "home": Words(vi="Màn hình chính", en="Main screen"),
    # home
    "station": Words(vi="Tổ bầu cử", en="Polling team"),
    "races_here": Words(vi="Các cuộc bầu cử tại khu vực", en="Races held here"),
    "col_race": Words(vi="Cuộc bầu cử", en="Race"),
    "col_state": Words(vi="Tình trạng", en="State"),
    "none": Words(vi="chưa nhập", en="not entered"),
    "drafted": Words(vi="đang nhập dở", en="being entered"),
    "pending": Words(vi="đã ký, chưa gửi được", en="signed, not sent yet"),
    "delivered": Words(vi="đã gửi, máy chủ đã nhận", en="sent, the server has it"),
    "rejected": Words(vi="máy chủ không nhận: có lỗi", en="not accepted: errors found"),
    "conflict": Words(vi="XUNG ĐỘT: báo ngay Ủy ban", en="CONFLICT: call the committee"),
    "refused": Words(vi="máy chủ từ chối: báo Ủy ban", en="refused: call the committee"),
    "nothing_to_enter": Words(
        vi="Mọi cuộc bầu cử đã ký. Muốn sửa: chọn cuộc bầu cử rồi nhấn c (đính chính).",
        en="Every race is signed. To change one: select it and press c (correct).",
    ),
    "already_signed": Words(
        vi="Biên bản này đã ký. Muốn sửa: nhấn c (đính chính).",
        en="These minutes are signed. To change them: press c (correct).",
    ),
    # entry
    "official_a": Words(vi="Cán bộ thứ nhất (A) nhập", en="First official (A) enters"),
    "official_b": Words(
        vi="Cán bộ thứ hai (B) nhập lại độc lập", en="Second official (B) enters again"
    ),
    "correction": Words(vi="ĐÍNH CHÍNH", en="CORRECTION"),
    "seats": Words(vi="ghế", en="seats"),
    "candidates": Words(vi="người ứng cử", en="candidates"),
    "sec_voters": Words(vi="I. Cử tri", en="I. Voters"),
    "sec_ballots": Words(vi="II. Phiếu bầu", en="II. Ballots"),
    "sec_votes": Words(
        vi="III. Số phiếu bầu cho từng người ứng cử", en="III. Votes for each candidate"
    ),
    "sec_piles": Words(
        vi="IV. Phiếu hợp lệ theo số tên giữ lại (trống: không đếm)",
        en="IV. Valid ballots by names kept (blank: not counted)",
    ),
    "sec_complaints": Words(vi="V. Khiếu nại, tố cáo", en="V. Complaints"),
    "sec_signatories": Words(vi="VI. Người ký biên bản", en="VI. Who signs the minutes"),
    "pile": Words(vi="Phiếu giữ {k} tên", en="Ballots keeping {k} name(s)"),
    "votes_for": Words(vi="{name}", en="{name}"),
    "required": Words(vi="bắt buộc", en="required"),
    "not_number": Words(vi="không phải số", en="not a number"),
    "ok": Words(vi="đúng", en="ok"),
    "explain_later": Words(
        vi="Cảnh báo: ghi giải thích khi duyệt trước khi ký.",
        en="Warning: explain it at the review before signing.",
    ),
    "fix_later": Words(
        vi="Lỗi: nhập đúng như biên bản giấy; sửa khi duyệt nếu biên bản giấy sai.",
        en="Error: type what the paper says; fix it at the review if the paper is wrong.",
    ),
    "fill_first": Words(
        vi="Còn ô bắt buộc chưa nhập: {label}", en="A required field is still empty: {label}"
    ),
    "enter_keys": Words(
        vi="Enter/↓ ô sau · ↑ ô trước · Ctrl+N xong · Esc giữ nháp",
        en="Enter/↓ next · ↑ back · Ctrl+N done · Esc keeps the draft",
    ),
    # handover
    "handover_title": Words(vi="Chuyển cho cán bộ thứ hai (B)", en="Hand over to official B"),
    "handover_body": Words(
        vi="Cán bộ A đã nhập xong. Màn hình đã xoá: cán bộ B nhập lại từ biên bản giấy, "
        "không nhìn số của A.\n\nCán bộ B nhấn Enter để bắt đầu.",
        en="Official A has finished. The screen is cleared: official B types the paper "
        "minutes again without seeing A's figures.\n\nOfficial B: press Enter to start.",
    ),
    # differences
    "diff_title": Words(
        vi="Hai lần nhập khác nhau ở {n} ô: chọn A, B hoặc gõ số đúng",
        en="The two entries differ in {n} field(s): choose A, B or type the right value",
    ),
    "diff_choice": Words(vi="Chọn", en="Choice"),
    "diff_pending": Words(vi="Còn {n} ô chưa chọn", en="{n} field(s) still to settle"),
    # review
    "review_title": Words(vi="Duyệt biên bản trước khi ký", en="Review before signing"),
    "review_keys": Words(
        vi="Enter sửa ô / ghi giải thích · k ký · x bỏ bản nháp · Esc giữ nháp",
        en="Enter edits / explains · k signs · x discards · Esc keeps the draft",
    ),
    "reason": Words(vi="Lý do đính chính", en="Reason for the correction"),
    "explanation": Words(vi="Giải thích", en="Explanation"),
    "needs_explanation": Words(vi="(cần giải thích: nhấn Enter)", en="(explain it: press Enter)"),
    "needs_reason": Words(vi="(bắt buộc: nhấn Enter)", en="(required: press Enter)"),
    "blank": Words(vi="(trống)", en="(blank)"),
    "error": Words(vi="LỖI", en="ERROR"),
    "warning": Words(vi="CẢNH BÁO", en="WARNING"),
    "cannot_sign_errors": Words(
        vi="Chưa ký được: còn {n} lỗi. Sửa các ô được nêu (Enter trên ô).",
        en="Cannot sign yet: {n} error(s). Fix the fields named (Enter on the field).",
    ),
    "cannot_sign_warnings": Words(
        vi="Chưa ký được: {n} cảnh báo chưa có giải thích.",
        en="Cannot sign yet: {n} warning(s) without an explanation.",
    ),
    "cannot_sign_reason": Words(
        vi="Chưa ký được: đính chính phải có lý do.",
        en="Cannot sign yet: a correction needs a reason.",
    ),
    "discard_ask": Words(
        vi="Bỏ bản nháp này? Mọi số đã nhập cho các cuộc bầu cử này sẽ bị xoá. (c/k)",
        en="Discard this draft? Everything typed for these races is deleted. (y/n)",
    ),
    "discarded": Words(vi="Đã bỏ bản nháp.", en="Draft discarded."),
    "edit_title": Words(vi="Sửa: {label}", en="Edit: {label}"),
    "reason_title": Words(
        vi="Lý do đính chính (bắt buộc, gửi kèm biên bản đính chính)",
        en="Reason for the correction (required, sent with the corrected minutes)",
    ),
    "passphrase_title": Words(vi="Mật khẩu khoá của trạm", en="The station key's passphrase"),
    "passphrase_wrong": Words(
        vi="Sai mật khẩu, hãy thử lại. (Esc: thôi, bản nháp được giữ)",
        en="Wrong passphrase; try again. (Esc: stop, the draft is kept)",
    ),
    "field_hint": Words(vi="Enter: lưu · Esc: thôi", en="Enter: save · Esc: cancel"),
    # signed and sending
    "signed_title": Words(vi="Đã ký và lưu", en="Signed and stored"),
    "signed_body": Words(
        vi="Biên bản {races} đã ký và lưu trên máy (lần gửi số {n}).\n"
        "Mã ghi lên biên bản giấy: {code}",
        en="Minutes {races} signed and stored on this computer (sending no. {n}).\n"
        "Code to write on the paper minutes: {code}",
    ),
    "signed_keys": Words(
        vi="p in bản sao · o xem đã gửi · Enter về màn hình chính",
        en="p prints a copy · o sent & receipts · Enter main screen",
    ),
    "st_idle": Words(vi="Không có gì chờ gửi", en="Nothing waiting to be sent"),
    "st_sending": Words(vi="Đang gửi…", en="Sending…"),
    "st_sent": Words(vi="Đã gửi, máy chủ đã nhận", en="Sent, the server has received it"),
    "st_sent_standby": Words(
        vi="Đã gửi tới máy chủ dự phòng {server}, máy chủ đã nhận",
        en="Sent to the standby server {server}, it has received it",
    ),
    "lost_on_move": Words(
        vi="Máy chủ đang dùng thiếu {n} lô đã xác nhận: trạm đã báo và gửi lại; báo Ủy ban",
        en="The server now in use lacks {n} acknowledged batch(es): reported and sent "
        "again; call the committee",
    ),
    "st_retry": Words(
        vi="Chưa gửi được, sẽ tự gửi lại ({why})", en="Not sent yet, will retry by itself ({why})"
    ),
    "st_not_accepted": Words(
        vi="Máy chủ không nhận: {why}", en="The server did not accept it: {why}"
    ),
    "why_connect": Words(vi="không kết nối được máy chủ", en="cannot reach the server"),
    "why_slow": Words(vi="máy chủ không trả lời kịp", en="the server did not answer in time"),
    "why_tls": Words(
        vi="chứng chỉ máy chủ không đúng: báo Ủy ban",
        en="wrong server certificate: call the committee",
    ),
    "why_busy": Words(vi="máy chủ đang bận", en="the server is busy"),
    "why_receipt": Words(
        vi="biên nhận không hợp lệ: báo Ủy ban", en="an invalid receipt: call the committee"
    ),
    "why_findings": Words(vi="biên bản có lỗi, xem Đã gửi", en="errors in the minutes, see Sent"),
    "why_conflict": Words(
        vi="đã có số liệu khác cùng số thứ tự: báo ngay Ủy ban",
        en="other figures under the same number: call the committee now",
    ),
    "why_refused": Words(
        vi="khoá của trạm chưa được nhận: báo Ủy ban",
        en="the station key is not accepted: call the committee",
    ),
    # outbox
    "outbox_title": Words(vi="Đã ký, đã gửi và biên nhận", en="Signed, sent and receipts"),
    "col_no": Words(vi="Số", en="No."),
    "col_code": Words(vi="Mã trên giấy", en="Paper code"),
    "col_receipt": Words(vi="Biên nhận của máy chủ", en="Server's receipt"),
    "receipt_line": Words(vi="số {index}, lúc {time}", en="no. {index}, at {time}"),
    "corrects": Words(
        vi="Đính chính lần gửi số {n}: {reason}", en="Corrects sending {n}: {reason}"
    ),
    "outbox_empty": Words(vi="Chưa ký biên bản nào.", en="No minutes signed yet."),
    "outbox_keys": Words(
        vi="s gửi ngay · p in bản sao · Esc quay lại", en="s sends now · p prints a copy · Esc back"
    ),
    "print_failed": Words(vi="Không ghi được bản sao:", en="The copy could not be written:"),
    "printed": Words(vi="Đã tạo bản sao: {path}", en="Copy written: {path}"),
    "print_unsent": Words(
        vi="Chỉ in được biên bản đã gửi và có biên nhận.",
        en="Only minutes sent and receipted can be printed.",
    ),
}


def w(key: str, lang: Lang, **values: object) -> str:
    text = W[key].of(lang)
    return text.format(**values) if values else text


def num(n: int, lang: Lang) -> str:
    """A figure as the reader writes it: 1.238 in Vietnamese, 1,238 in English."""
    return f"{n:,}".replace(",", ".") if lang == "vi" else f"{n:,}"
