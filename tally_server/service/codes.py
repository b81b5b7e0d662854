"""Stable codes of the server's own rejections (the law's are in core/rules.py), and the
one table that says what each refusal is: its outcome and its severity.

Rejection sites raise or return a code; ``REJECTIONS`` gives the outcome. The
HTTP status an outcome is answered with is the web layer's alone
(``tally_server/web/statuses.py``); the ledger records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from schemas.errors import KiemphieuError
from schemas.models import Finding
from schemas.read import OutcomeKind as OutcomeKind  # the outcomes are part of the read contract
from tally_server.core import rules

OUTCOME_KINDS: tuple[OutcomeKind, ...] = get_args(OutcomeKind)

Severity = Literal["error", "security", "warning"]
"""``security``: evidence someone may be forging, replaying or misusing keys or
receipts (an alert to look at); ``warning``: passing trouble the sender retries;
``error``: the request or the batch is wrong and must be fixed."""

RECEIPTED: frozenset[OutcomeKind] = frozenset(
    {"accepted", "conflict", "stale", "bad_correction", "law_error"}
)
"""Outcomes of a batch that got as far as its sequence number: a signed receipt
answers them."""


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    outcome: OutcomeKind
    severity: Severity
    title_vi: str
    title_en: str
    batch: OutcomeKind | None = None
    """The outcome when the code refuses a batch envelope, where that differs (a weak
    key refused at enrolment is a bad request; a batch signed under one that reached
    the database is unauthenticated)."""


REJECTIONS: dict[str, Rejection] = {
    r.code: r
    for r in (
        Rejection(
            "S100", "invalid_request", "error", "Tài liệu đúng định dạng", "A well-formed document"
        ),
        Rejection(
            "S101",
            "invalid_request",
            "error",
            "Không trùng tên trường (I-JSON)",
            "No duplicate keys (I-JSON)",
        ),
        Rejection(
            "S102",
            "invalid_request",
            "error",
            "Số nguyên trong ±(2^53−1) (I-JSON)",
            "Integers within ±(2^53−1) (I-JSON)",
        ),
        Rejection(
            "S103", "invalid_request", "error", "Unicode hợp lệ (I-JSON)", "Valid Unicode (I-JSON)"
        ),
        Rejection("S200", "unauthenticated", "security", "Chữ ký hợp lệ", "A valid signature"),
        Rejection("S201", "unauthenticated", "security", "Chữ ký hợp lệ", "A valid signature"),
        Rejection(
            "S202", "unauthenticated", "error", "Đúng loại nội dung", "The expected payload type"
        ),
        Rejection(
            "S203",
            "unauthenticated",
            "error",
            "Chữ ký Ed25519 dài 64 byte",
            "An Ed25519 signature is 64 bytes",
        ),
        Rejection(
            "S320",
            "invalid_request",
            "security",
            "Khoá công khai không yếu",
            "A public key that is not weak",
            batch="unauthenticated",
        ),
        Rejection("K401", "unauthenticated", "error", "Khoá đã đăng ký", "An enrolled key"),
        Rejection(
            "K402", "unauthenticated", "security", "Khoá chưa bị thu hồi", "A key not revoked"
        ),
        Rejection(
            "C403",
            "forbidden_context",
            "error",
            "Lô thuộc cuộc bầu cử này",
            "The batch is for this election",
        ),
        Rejection(
            "C404",
            "forbidden_context",
            "security",
            "Lô của đúng điểm gửi",
            "The batch names the enrolled station",
        ),
        Rejection(
            "C405",
            "forbidden_context",
            "security",
            "Lô của đúng khu vực bỏ phiếu",
            "The batch names the enrolled polling area",
        ),
        Rejection(
            "Q409",
            "conflict",
            "security",
            "Số thứ tự không bị dùng lại",
            "A sequence number is never reused",
        ),
        Rejection(
            "Q410", "stale", "error", "Số thứ tự không lùi", "Sequence numbers never go back"
        ),
        Rejection(
            "Q411",
            "bad_correction",
            "error",
            "Đính chính phải có lý do",
            "A correction gives its reason",
        ),
        Rejection(
            "Q412",
            "bad_correction",
            "error",
            "Đính chính nêu lô bị thay thế",
            "A correction names the batch it replaces",
        ),
        Rejection(
            "L401",
            "foreign_receipt",
            "security",
            "Biên nhận do máy chủ này ký",
            "A receipt this server signed",
        ),
        Rejection(
            "L409",
            "conflict",
            "security",
            "Sổ cái giữ mọi mục đã xác nhận",
            "The ledger holds every entry it acknowledged",
        ),
        Rejection("A400", "invalid_request", "error", "Yêu cầu hợp lệ", "A well-formed request"),
        Rejection(
            "A401", "unauthenticated", "error", "Có mã truy cập hợp lệ", "A valid access token"
        ),
        Rejection(
            "A402", "unauthenticated", "error", "Mã truy cập còn hạn", "An access token not expired"
        ),
        Rejection("A403", "forbidden", "error", "Đủ quyền", "A role allowed to do this"),
        Rejection("A404", "not_found", "error", "Tồn tại", "Something that exists"),
        Rejection(
            "A405",
            "not_allowed",
            "error",
            "Phương thức được phép",
            "A method allowed on the path",
        ),
        Rejection("A409", "conflict", "error", "Không trùng đăng ký", "No clash with an enrolment"),
        Rejection(
            "H408",
            "too_slow",
            "warning",
            "Gửi hết nội dung kịp thời",
            "The whole body sent in time",
        ),
        Rejection("H413", "too_large", "error", "Không quá 256 KiB", "At most 256 KiB"),
        Rejection(
            "H429",
            "throttled",
            "warning",
            "Không quá nhiều lô bị từ chối",
            "Not too many refused envelopes",
        ),
        Rejection("H503", "unavailable", "warning", "Máy chủ sẵn sàng", "The server is ready"),
        Rejection("H507", "storage_full", "warning", "Còn chỗ trên đĩa", "Room on the disk"),
    )
}
"""Every code the server answers a refusal with, but the law's (``rejection``)."""


def rejection(code: str) -> Rejection | None:
    """The table's row for ``code``; the law's errors (core/rules.py) are law errors."""
    found = REJECTIONS.get(code)
    if found is None:
        rule = rules.RULES.get(code)
        if rule is not None and rule.severity == "error":
            return Rejection(code, "law_error", "error", rule.title_vi, rule.title_en)
    return found


def outcome_of(code: str, *, batch: bool = False) -> OutcomeKind:
    """The outcome of a refusal with ``code`` (of a batch envelope, with ``batch``).
    A code outside the table is a bad request, as any unexpected error is."""
    found = rejection(code)
    if found is None:
        return "invalid_request"
    return found.batch if batch and found.batch is not None else found.outcome


def severity_of(code: str | None) -> Severity:
    found = rejection(code) if code is not None else None
    return found.severity if found is not None else "error"


class ServerError(KiemphieuError):
    """A refusal by the server; ``REJECTIONS`` gives its outcome."""

    code = "A400"

    def __init__(
        self,
        *,
        en: str,
        vi: str,
        code: str,
        fields: tuple[str, ...] = (),
        figures: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(en=en, vi=vi, code=code, fields=fields, figures=figures)


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
