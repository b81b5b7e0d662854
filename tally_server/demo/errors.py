"""The demo's errors (X1xx setting up, X2xx the server, X3xx the stations, X4xx
the checks at the end)."""

from __future__ import annotations

from schemas.errors import KiemphieuError


class DemoError(KiemphieuError):
    code = "X100"
