"""The station client's errors: each names its rule (stable code) in both languages.

Codes: C1xx the station folder and keys, C2xx receipts, C3xx delivery,
C4xx entering and checking minutes.
"""

from __future__ import annotations

from schemas.errors import KiemphieuError


class ClientError(KiemphieuError):
    """Base of the station client's errors."""

    code = "C100"


class StationFolderError(ClientError):
    """The station folder is missing, incomplete, or already initialised."""

    code = "C101"


class ReceiptError(ClientError):
    """A receipt that does not prove what it should: wrong key, wrong batch."""

    code = "C201"


class DeliveryError(ClientError):
    """The server could not be reached, or refused the batch without a receipt."""

    code = "C301"


class EntryError(ClientError):
    """Typed or imported minutes that cannot be turned into a record."""

    code = "C401"


class ChecksFailed(ClientError):
    """The law's checks found errors, or warnings lack an explanation."""

    code = "C402"
