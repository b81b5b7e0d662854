"""The one place an outcome becomes an HTTP status.

Rejection sites give a code; the service's table (``service/codes.py``) gives its
outcome; this gives the status. Stations read these statuses (200, 409 and 422
carry a receipt; station_client/delivery.py), so each stays what it has been.
"""

from __future__ import annotations

from schemas.errors import KiemphieuError
from tally_server.service.codes import OutcomeKind, outcome_of

STATUS: dict[OutcomeKind, int] = {
    "accepted": 200,
    "invalid_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "forbidden_context": 403,
    "not_found": 404,
    "not_allowed": 405,
    "too_slow": 408,
    "conflict": 409,
    "too_large": 413,
    "stale": 422,
    "bad_correction": 422,
    "law_error": 422,
    "foreign_receipt": 422,
    "throttled": 429,
    "unavailable": 503,
    "storage_full": 507,
}


def status_of(error: KiemphieuError) -> int:
    """The status an error is answered with."""
    return STATUS[outcome_of(error.code)]
