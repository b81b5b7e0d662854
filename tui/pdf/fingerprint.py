"""The fingerprint printed on every sheet, as text and as a QR code, so that paper
and the digital record can be matched.

From a server it is the ledger head hash and entry index the results were
computed at; offline it is a digest of the input files (see docs/dashboard.md
for how an auditor recomputes it with ``sha256sum``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Rect
from reportlab.pdfgen.canvas import Canvas

QR_FORM = "kiemphieu-fingerprint-qr"
"""Name of the PDF form XObject that holds the QR code (drawn once, shown per page)."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    election_id: str
    digest: str
    """64 hex digits: the ledger head hash, or the digest of the input files."""
    source: Literal["ledger", "files"]
    ledger_index: int | None = None
    results_sha256: str | None = None

    @classmethod
    def from_ledger(
        cls, election_id: str, head: str, index: int, results_sha256: str | None = None
    ) -> Fingerprint:
        return cls(election_id, head, "ledger", index, results_sha256)

    @classmethod
    def from_files(
        cls, election_id: str, paths: Iterable[Path], results_sha256: str | None = None
    ) -> Fingerprint:
        return cls(election_id, files_digest(paths), "files", None, results_sha256)

    def payload(self) -> str:
        """What the QR code carries: one line of ``key=value`` fields."""
        parts = ["kiemphieu:v1", f"election={self.election_id}"]
        if self.source == "ledger":
            parts += [f"ledger={self.ledger_index}", f"head={self.digest}"]
        else:
            parts.append(f"files={self.digest}")
        if self.results_sha256:
            parts.append(f"results={self.results_sha256}")
        return ";".join(parts)

    def lines(self) -> list[str]:
        """The same fingerprint in words, for the footer."""
        if self.source == "ledger":
            first = f"Sổ cái / ledger #{self.ledger_index}: {grouped(self.digest)}"
        else:
            first = f"Tệp đầu vào / input files: {grouped(self.digest)}"
        out = [first]
        if self.results_sha256:
            out.append(f"Kết quả / results: {grouped(self.results_sha256)}")
        return out


def grouped(hex_digest: str, size: int = 8) -> str:
    """'1a2b3c4d5e6f…' -> '1a2b3c4d 5e6f…': easier to read aloud and compare."""
    return " ".join(hex_digest[i : i + size] for i in range(0, len(hex_digest), size))


def files_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the sorted SHA-256 hex digests of the files, one per line:
    ``sha256sum FILES | cut -c1-64 | sort | sha256sum`` gives the same."""
    digests = sorted(hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths)
    return hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest()


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """Draw the QR code at (x, y), ``size`` points square. The drawing is stored
    once per document as a form XObject and reused on every page."""
    if not canvas.hasForm(QR_FORM):
        widget = QrCodeWidget(payload, barLevel="M", barBorder=2)
        widget.barWidth = widget.barHeight = size
        canvas.beginForm(QR_FORM, lowerx=0, lowery=0, upperx=size, uppery=size)
        canvas.setFillColorRGB(0, 0, 0)
        # the widget's dark modules, as plain filled rectangles (no font, no state)
        for shape in widget.draw().contents:
            if isinstance(shape, Rect) and shape.fillColor is not None:
                canvas.rect(shape.x, shape.y, shape.width, shape.height, stroke=0, fill=1)
        canvas.endForm()
    canvas.saveState()
    canvas.translate(x, y)
    canvas.doForm(QR_FORM)
    canvas.restoreState()
