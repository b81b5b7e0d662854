"""Reading back what a sheet shows: its text (pypdf) and its QR code (the
form XObject's rectangles drawn into a bitmap, decoded with zxing-cpp)."""

from __future__ import annotations

from pathlib import Path

import pypdf
import zxingcpp
from PIL import Image, ImageDraw
from pypdf.generic import ContentStream

from tui.pdf.fingerprint import QR_FORM

FORM_NAME = f"/FormXob.{QR_FORM}"


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _mul(a: list[float], b: list[float]) -> list[float]:
    """Compose two PDF matrices [a b c d e f]: a then b."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def qr_bitmap(reader: pypdf.PdfReader, form: object, scale: float = 8) -> Image.Image:
    """Draw the black rectangles of the QR form into a white bitmap."""
    stream = ContentStream(form, reader)
    bbox = [float(v) for v in form["/BBox"]]  # type: ignore[index]
    width = int((bbox[2] - bbox[0]) * scale) + 1
    height = int((bbox[3] - bbox[1]) * scale) + 1
    pad = int(8 * scale)
    image = Image.new("L", (width + 2 * pad, height + 2 * pad), 255)
    draw = ImageDraw.Draw(image)
    ctm = [1.0, 0, 0, 1.0, 0, 0]
    stack: list[tuple[list[float], tuple[float, ...]]] = []
    fill: tuple[float, ...] = (0.0, 0.0, 0.0)
    pending: list[tuple[float, float, float, float]] = []
    for operands, op in stream.operations:
        if op == b"q":
            stack.append((list(ctm), fill))
        elif op == b"Q":
            ctm, fill = stack.pop()
        elif op == b"cm":
            ctm = _mul([float(v) for v in operands], ctm)
        elif op == b"rg":
            fill = tuple(float(v) for v in operands)
        elif op == b"re":
            x, y, w, h = (float(v) for v in operands)
            pending.append((x, y, w, h))
        elif op in (b"f", b"f*", b"F", b"B", b"B*") and pending:
            if fill == (0.0, 0.0, 0.0):
                for x, y, w, h in pending:
                    x0 = ctm[0] * x + ctm[4]
                    y0 = ctm[3] * y + ctm[5]
                    x1 = ctm[0] * (x + w) + ctm[4]
                    y1 = ctm[3] * (y + h) + ctm[5]
                    left, right = sorted((x0, x1))
                    low, high = sorted((y0, y1))
                    draw.rectangle(
                        (
                            pad + left * scale,
                            pad + (bbox[3] - high) * scale,
                            pad + right * scale - 1,
                            pad + (bbox[3] - low) * scale - 1,
                        ),
                        fill=0,
                    )
            pending = []
        elif op == b"n":
            pending = []
    return image


def qr_payloads(path: Path) -> list[str]:
    """The text of the QR code each page shows (one entry per page)."""
    reader = pypdf.PdfReader(path)
    out = []
    for page in reader.pages:
        xobjects = page["/Resources"]["/XObject"]
        form = xobjects[FORM_NAME].get_object()
        content = page.get_contents()
        assert content is not None
        assert f"{FORM_NAME} Do".encode() in content.get_data(), "page does not show the QR"
        found = zxingcpp.read_barcodes(qr_bitmap(reader, form))
        assert found, "no QR code could be read"
        out.append(found[0].text)
    return out
