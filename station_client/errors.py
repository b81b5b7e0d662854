"""The station client's errors: each names its rule (stable code) in both languages.

Codes (P for the polling team's side): P1xx the station folder and keys,
P2xx receipts, P3xx delivery, P4xx entering and checking minutes, P5xx the
simulator. The server's own codes (A, C, Q, ...) reach the user unchanged.
"""

from __future__ import annotations

from schemas.errors import KiemphieuError


class ClientError(KiemphieuError):
    """Base of the station client's errors."""

    code = "P100"


class StationFolderError(ClientError):
    """The station folder is missing, incomplete, or already initialised."""

    code = "P101"


class OutboxVersionError(ClientError):
    """An outbox file this version must not open: not an outbox, newer, or of an
    unknown version."""

    code = "P112"


class ReceiptError(ClientError):
    """A receipt that does not prove what it should: wrong key, wrong batch."""

    code = "P201"


class DeliveryError(ClientError):
    """The server could not be reached, or refused the batch without a receipt."""

    code = "P301"


class EntryError(ClientError):
    """Typed or imported minutes that cannot be turned into a record."""

    code = "P401"


class ChecksFailed(ClientError):
    """The law's checks found errors, or warnings lack an explanation."""

    code = "P402"
