"""Stable codes of the server's own rejections (the law's are in core/rules.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.errors import KiemphieuError
from schemas.models import Finding


@dataclass(frozen=True, slots=True)
class ServerRule:
    code: str
    http: int
    title_vi: str
    title_en: str


SERVER_RULES: dict[str, ServerRule] = {
    r.code: r
    for r in (
        ServerRule("S100", 400, "Tài liệu đúng định dạng", "A well-formed document"),
        ServerRule("S101", 400, "Không trùng tên trường (I-JSON)", "No duplicate keys (I-JSON)"),
        ServerRule(
            "S102", 400, "Số nguyên trong ±(2^53−1) (I-JSON)", "Integers within ±(2^53−1) (I-JSON)"
        ),
        ServerRule("S103", 400, "Unicode hợp lệ (I-JSON)", "Valid Unicode (I-JSON)"),
        ServerRule("S201", 401, "Chữ ký hợp lệ", "A valid signature"),
        ServerRule("S202", 401, "Đúng loại nội dung", "The expected payload type"),
        ServerRule("S203", 401, "Chữ ký Ed25519 dài 64 byte", "An Ed25519 signature is 64 bytes"),
        ServerRule("S320", 400, "Khoá công khai không yếu", "A public key that is not weak"),
        ServerRule("K401", 401, "Khoá đã đăng ký", "An enrolled key"),
        ServerRule("K402", 401, "Khoá chưa bị thu hồi", "A key not revoked"),
        ServerRule("C403", 403, "Lô thuộc cuộc bầu cử này", "The batch is for this election"),
        ServerRule("C404", 403, "Lô của đúng điểm gửi", "The batch names the enrolled station"),
        ServerRule(
            "C405", 403, "Lô của đúng khu vực bỏ phiếu", "The batch names the enrolled polling area"
        ),
        ServerRule("Q409", 409, "Số thứ tự không bị dùng lại", "A sequence number is never reused"),
        ServerRule("Q410", 422, "Số thứ tự không lùi", "Sequence numbers never go back"),
        ServerRule("Q411", 422, "Đính chính phải có lý do", "A correction gives its reason"),
        ServerRule(
            "Q412", 422, "Đính chính nêu lô bị thay thế", "A correction names the batch it replaces"
        ),
        ServerRule("L401", 422, "Biên nhận do máy chủ này ký", "A receipt this server signed"),
        ServerRule(
            "L409",
            409,
            "Sổ cái giữ mọi mục đã xác nhận",
            "The ledger holds every entry it acknowledged",
        ),
        ServerRule("A400", 400, "Yêu cầu hợp lệ", "A well-formed request"),
        ServerRule("A401", 401, "Có mã truy cập hợp lệ", "A valid access token"),
        ServerRule("A402", 401, "Mã truy cập còn hạn", "An access token not expired"),
        ServerRule("A403", 403, "Đủ quyền", "A role allowed to do this"),
        ServerRule("A404", 404, "Tồn tại", "Something that exists"),
        ServerRule("A409", 409, "Không trùng đăng ký", "No clash with an enrolment"),
        ServerRule("H408", 408, "Gửi hết nội dung kịp thời", "The whole body sent in time"),
        ServerRule("H413", 413, "Không quá 256 KiB", "At most 256 KiB"),
        ServerRule("H429", 429, "Không quá nhiều lô bị từ chối", "Not too many refused envelopes"),
        ServerRule("H503", 503, "Máy chủ sẵn sàng", "The server is ready"),
        ServerRule("H507", 507, "Còn chỗ trên đĩa", "Room on the disk"),
    )
}


class ServerError(KiemphieuError):
    """A refusal by the server, with the HTTP status it maps to."""

    code = "A400"
    http = 400

    def __init__(
        self,
        message_en: str,
        message_vi: str,
        *,
        code: str,
        fields: tuple[str, ...] = (),
        figures: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en, message_vi, code=code, fields=fields, figures=figures)
        self.http = SERVER_RULES[code].http if code in SERVER_RULES else 400


def finding_of(error: KiemphieuError) -> Finding:
    """An error as a finding, for the ledger and receipts."""
    figures: dict[str, int | str] = {}
    for key, value in error.figures.items():
        figures[str(key)] = (
            value if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )
    return Finding(
        code=error.code,
        severity="error",
        fields=list(error.fields),
        figures=figures,
        message_vi=error.message_vi,
        message_en=error.message_en,
    )


def error_finding(
    code: str,
    message_vi: str,
    message_en: str,
    *,
    fields: list[str] | None = None,
    figures: dict[str, int | str] | None = None,
    race_id: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity="error",
        race_id=race_id,
        fields=fields or [],
        figures=figures or {},
        message_vi=f"{code}: {message_vi}",
        message_en=f"{code}: {message_en}",
    )
