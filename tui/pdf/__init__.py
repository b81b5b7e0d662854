"""Official result sheets as PDF: constituency result minutes, a polling team's
counting minutes, a committee's summary minutes — each with the fingerprint of
the record it was made from, as text and as a QR code, on every page."""

from tui.pdf.fingerprint import Fingerprint, files_digest
from tui.pdf.printing import (
    SheetSource,
    print_all,
    print_committee,
    print_constituency,
    print_polling_area,
    print_summaries,
    source_from_results,
    source_from_server,
    source_offline,
)

__all__ = [
    "Fingerprint",
    "SheetSource",
    "files_digest",
    "print_all",
    "print_committee",
    "print_constituency",
    "print_polling_area",
    "print_summaries",
    "source_from_results",
    "source_from_server",
    "source_offline",
]
