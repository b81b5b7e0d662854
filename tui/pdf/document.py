"""The page of an official sheet: national heading, figures tables, signature
blocks, and the fingerprint footer with its QR code on every page."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tui.pdf.fingerprint import Fingerprint, draw_qr
from tui.pdf.fonts import BOLD, ITALIC, REGULAR, register_fonts

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FOOTER_HEIGHT = 26 * mm
QR_SIZE = 22 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

# Paragraphs resolve their font when built, so the family must exist first.
register_fonts()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def upper(text: str) -> str:
    """Vietnamese upper case ('Đơn vị' -> 'ĐƠN VỊ'), kept in NFC."""
    return nfc(nfc(text).upper())


def date_line(place: str, day: dt.date) -> str:
    return nfc(f"{place}, ngày {day.day} tháng {day.month} năm {day.year}")


def _style(name: str, **kw: object) -> ParagraphStyle:
    base: dict[str, object] = {"fontName": REGULAR, "fontSize": 11, "leading": 14.5}
    base.update(kw)
    return ParagraphStyle(name, **base)


class Styles:
    body = _style("body", spaceAfter=3)
    note = _style("note", fontName=ITALIC, fontSize=10, leading=13, spaceAfter=3)
    heading_left = _style("heading_left", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    heading_left_plain = _style("heading_left_plain", fontSize=10.5, alignment=TA_CENTER)
    nation = _style("nation", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    motto = _style("motto", fontName=BOLD, fontSize=11.5, alignment=TA_CENTER)
    dateline = _style("dateline", fontName=ITALIC, fontSize=10.5, alignment=TA_CENTER)
    title = _style("title", fontName=BOLD, fontSize=13.5, leading=18, alignment=TA_CENTER)
    subtitle = _style("subtitle", fontName=BOLD, fontSize=11.5, alignment=TA_CENTER)
    provisional = _style(
        "provisional",
        fontName=BOLD,
        fontSize=11,
        alignment=TA_CENTER,
        textColor=colors.HexColor("#a00000"),
        spaceBefore=4,
    )
    section = _style("section", fontName=BOLD, spaceBefore=7, spaceAfter=3, keepWithNext=1)
    cell = _style("cell", fontSize=10, leading=12.5)
    cell_bold = _style("cell_bold", fontName=BOLD, fontSize=10, leading=12.5)
    cell_right = _style("cell_right", fontSize=10, leading=12.5, alignment=TA_RIGHT)
    cell_head = _style("cell_head", fontName=BOLD, fontSize=9.5, leading=12, alignment=TA_CENTER)
    cell_center = _style("cell_center", fontSize=10, leading=12.5, alignment=TA_CENTER)
    sign_role = _style("sign_role", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    sign_hint = _style("sign_hint", fontName=ITALIC, fontSize=9, alignment=TA_CENTER)
    sign_name = _style("sign_name", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    footer = _style("footer", fontSize=7.5, leading=9.5, alignment=TA_LEFT)


def para(text: str, style: ParagraphStyle = Styles.body) -> Paragraph:
    """A paragraph of plain text (escaped, NFC)."""
    return Paragraph(escape(nfc(text)), style)


def rich(markup: str, style: ParagraphStyle = Styles.body) -> Paragraph:
    """A paragraph whose markup (<b>, <i>) the caller built from escaped parts."""
    return Paragraph(nfc(markup), style)


def b(text: str) -> str:
    return f"<b>{escape(nfc(text))}</b>"


def national_heading(body: Sequence[str], place: str, day: dt.date) -> Flowable:
    """Left: the body making the sheet (first line plain, the rest bold);
    right: the national name and motto; under them the place and date."""
    left: list[Flowable] = []
    for i, line in enumerate(body):
        style = Styles.heading_left_plain if i == 0 and len(body) > 1 else Styles.heading_left
        left.append(para(upper(line) if i < 2 else line, style))
    left.append(para("—————", Styles.heading_left_plain))
    right = [
        para(NATION, Styles.nation),
        rich(f"<u>{escape(MOTTO)}</u>", Styles.motto),
        Spacer(1, 4),
        para(date_line(place, day), Styles.dateline),
    ]
    table = Table([[left, right]], colWidths=[72 * mm, CONTENT_WIDTH - 72 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def title(lines: Sequence[str]) -> list[Flowable]:
    out: list[Flowable] = [Spacer(1, 10)]
    out.append(para(lines[0], Styles.title))
    out.extend(para(line, Styles.subtitle) for line in lines[1:])
    out.append(Spacer(1, 8))
    return out


_GRID = [
    ("FONTNAME", (0, 0), (-1, -1), REGULAR),
    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
]


def figures_table(rows: Sequence[tuple[str, str, str]]) -> Table:
    """Label | figure | percentage note, numbered like the form's items."""
    data = [
        [
            para(f"{i}.", Styles.cell),
            para(label, Styles.cell),
            para(fig, Styles.cell_right),
            para(pct, Styles.cell),
        ]
        for i, (label, fig, pct) in enumerate(rows, start=1)
    ]
    table = Table(data, colWidths=[9 * mm, 72 * mm, 26 * mm, CONTENT_WIDTH - 107 * mm])
    table.setStyle(TableStyle(_GRID))
    return table


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    align: Sequence[str] = (),
    bold_rows: Sequence[int] = (),
) -> Table:
    """A ruled table with a bold header row; ``align`` per column: l, r or c."""
    cell_style = {"l": Styles.cell, "r": Styles.cell_right, "c": Styles.cell_center}
    data: list[list[Flowable]] = [[para(h, Styles.cell_head) for h in header]]
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            style = cell_style[align[c] if c < len(align) else "l"]
            if r in bold_rows:
                style = ParagraphStyle(f"{style.name}-bold", parent=style, fontName=BOLD)
            cells.append(para(value, style))
        data.append(cells)
    table = Table(data, colWidths=list(widths), repeatRows=1)
    style = [*_GRID, ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]
    table.setStyle(TableStyle(style))
    return table


def signature_block(
    roles: Sequence[tuple[str, str | None]], hint: str, *, per_row: int = 3
) -> Flowable:
    """One column per signatory: the role, the hint '(Ký, ghi rõ họ tên)',
    room to sign, and the name when the record holds it."""
    cells = []
    for role, name in roles:
        cells.append(
            [
                para(upper(role), Styles.sign_role),
                para(hint, Styles.sign_hint),
                Spacer(1, 16 * mm),
                para(name or "", Styles.sign_name),
            ]
        )
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    for row in rows:
        row.extend([[]] * (per_row - len(row)))
    table = Table(rows, colWidths=[CONTENT_WIDTH / per_row] * per_row)
    table.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), REGULAR), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    return KeepTogether([Spacer(1, 10), table])


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Defers pages so each footer can say 'Trang 1/3'."""

    fingerprint: Fingerprint

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, object]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            _draw_footer(self, self.fingerprint, self._pageNumber, total)
            super().showPage()
        super().save()


def _draw_footer(canvas: Canvas, fp: Fingerprint, page: int, total: int) -> None:
    canvas.saveState()
    y0 = MARGIN - 8 * mm
    canvas.setStrokeColor(colors.grey)
    canvas.setLineWidth(0.4)
    canvas.line(MARGIN, y0 + QR_SIZE + 2 * mm, PAGE_WIDTH - MARGIN, y0 + QR_SIZE + 2 * mm)
    draw_qr(canvas, fp.payload(), MARGIN, y0, QR_SIZE)
    lines = [
        nfc(line)
        for line in (
            "Dấu vân tay SHA-256 của bản ghi điện tử (đối chiếu bản giấy với sổ cái) / "
            "SHA-256 fingerprint of the digital record:",
            *fp.lines(),
            f"Bầu cử / election: {fp.election_id}",
        )
    ]
    text_x = MARGIN + QR_SIZE + 4 * mm
    room = PAGE_WIDTH - MARGIN - text_x
    # as large as fits: a digest must never run off the page
    widest = max(stringWidth(line, BOLD if i == 0 else REGULAR, 1) for i, line in enumerate(lines))
    size = min(7.5, room / widest)
    y = y0 + QR_SIZE - 3 * mm
    for i, line in enumerate(lines):
        canvas.setFont(BOLD if i == 0 else REGULAR, size)
        canvas.drawString(text_x, y, line)
        y -= size * 1.3
    canvas.setFont(REGULAR, 9)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, y0, nfc(f"Trang {page}/{total}"))
    canvas.restoreState()


def write_pdf(
    path: Path, stories: Sequence[Sequence[Flowable]], fingerprint: Fingerprint, doc_title: str
) -> Path:
    """Write the sheets (each starting on a new page) to ``path``."""
    register_fonts()
    flow: list[Flowable] = []
    for i, story in enumerate(stories):
        if i:
            flow.append(PageBreak())
        flow.extend(story)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN - 4 * mm,
        bottomMargin=MARGIN + FOOTER_HEIGHT - 8 * mm,
        title=nfc(doc_title),
        author="kiemphieu",
        subject=fingerprint.payload(),
        initialFontName=REGULAR,
    )

    class _Canvas(_NumberedCanvas):
        pass

    _Canvas.fingerprint = fingerprint
    doc.build(flow, canvasmaker=_Canvas)
    return path
