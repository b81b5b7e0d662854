"""Errors the dashboard and the sheet printer raise, with stable codes (U1xx, U2xx)."""

from __future__ import annotations

from schemas.errors import KiemphieuError


class ServerUnreachable(KiemphieuError):
    """The server did not answer (refused, timed out, TLS failure)."""

    code = "U100"


class ServerRefused(KiemphieuError):
    """The server answered with an error (bad token, unknown id, ...)."""

    code = "U101"


class BadAnswer(KiemphieuError):
    """The server's answer is not the document the contract describes."""

    code = "U102"


class SheetError(KiemphieuError):
    """A result sheet cannot be made from the data given."""

    code = "U200"
