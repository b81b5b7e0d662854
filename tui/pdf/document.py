"""The page of an official sheet: national heading, figures tables, signature
blocks, and the fingerprint footer with its QR code on every page."""

from __future__ import annotations

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


def keep(text: str) -> str:
    """Spaces that never break: a name or a figure with its unit stays on one line."""
    return nfc(text).replace(" ", "\u00a0")


def _style(name: str, **kw: object) -> ParagraphStyle:
    # splitLongWords=0: a figure like 4.029/4.477 is never cut; columns are made wide enough
    base: dict[str, object] = {
        "fontName": REGULAR,
        "fontSize": 11,
        "leading": 14.5,
        "splitLongWords": 0,
    }
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
    # wide tables (a column per candidate, ten columns of figures)
    small = _style("small", fontSize=8.5, leading=10.5)
    small_right = _style("small_right", fontSize=8.5, leading=10.5, alignment=TA_RIGHT)
    small_center = _style("small_center", fontSize=8.5, leading=10.5, alignment=TA_CENTER)
    small_head = _style("small_head", fontName=BOLD, fontSize=8, leading=10, alignment=TA_CENTER)
    cell_center = _style("cell_center", fontSize=10, leading=12.5, alignment=TA_CENTER)
    sign_role = _style("sign_role", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    sign_hint = _style("sign_hint", fontName=ITALIC, fontSize=9, alignment=TA_CENTER)
    sign_name = _style("sign_name", fontName=BOLD, fontSize=10.5, alignment=TA_CENTER)
    footer = _style("footer", fontSize=7.5, leading=9.5, alignment=TA_LEFT)
    form_no = _style("form_no", fontName=ITALIC, fontSize=10, alignment=TA_RIGHT)
    item = _style("item", spaceAfter=2, leftIndent=10)
    blank = _style("blank", spaceAfter=2, leftIndent=10, leading=16)


def para(text: str, style: ParagraphStyle = Styles.body) -> Paragraph:
    """A paragraph of plain text (escaped, NFC)."""
    return Paragraph(escape(nfc(text)), style)


def rich(markup: str, style: ParagraphStyle = Styles.body) -> Paragraph:
    """A paragraph whose markup (<b>, <i>) the caller built from escaped parts."""
    return Paragraph(nfc(markup), style)


def b(text: str) -> str:
    return f"<b>{escape(nfc(text))}</b>"


def national_heading(
    body: Sequence[str], form: str, dateline: str | None = None, *, capitals: bool = True
) -> list[Flowable]:
    """ "Mẫu số …" on top at the right; left: the body making the sheet in capitals;
    right: the national name and motto. Minutes have no place-and-date line (their
    text opens with the time): ``dateline`` is only for reports and lists."""
    if capitals:
        left: list[Flowable] = [para(upper(line), Styles.heading_left) for line in body]
    else:  # the team's minutes: "Tỉnh/Thành phố: …" as the form writes it
        left = [para(line, Styles.heading_left_plain) for line in body]
    left.append(para("-------", Styles.heading_left_plain))
    right: list[Flowable] = [
        para(NATION, Styles.nation),
        para(MOTTO, Styles.motto),
        para("---------------", Styles.heading_left_plain),
    ]
    if dateline:
        right.append(para(dateline, Styles.dateline))
    # 80 mm: "ỦY BAN BẦU CỬ THÀNH PHỐ HỒ CHÍ MINH" must not break inside the name
    table = Table([[left, right]], colWidths=[80 * mm, CONTENT_WIDTH - 80 * mm])
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
    return [_DocStart(), para(form, Styles.form_no), table]


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
    small: bool = False,
) -> Table:
    """A ruled table with a bold header row; ``align`` per column: l, r or c;
    ``small`` for wide tables. A figure is never cut (``splitLongWords=0``)."""
    if small:
        cell_style = {"l": Styles.small, "r": Styles.small_right, "c": Styles.small_center}
        head = Styles.small_head
    else:
        cell_style = {"l": Styles.cell, "r": Styles.cell_right, "c": Styles.cell_center}
        head = Styles.cell_head
    data: list[list[Flowable]] = [[para(h, head) for h in header]]
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


Signer = tuple[Sequence[str], str, str | None]
"""A signature cell: the role's lines in capitals, the caption, the name if known."""


def signature_block(rows: Sequence[Sequence[Signer | None]]) -> Table:
    """Signature cells in rows (None leaves a cell empty): role and caption, room to
    sign, then the name when the record holds it, level across the row."""
    width = max(len(row) for row in rows)
    data: list[list[object]] = []
    for row in rows:
        padded = list(row) + [None] * (width - len(row))
        data.append(
            [
                [
                    *[para(upper(line), Styles.sign_role) for line in s[0]],
                    para(s[1], Styles.sign_hint),
                ]
                if s
                else []
                for s in padded
            ]
        )
        data.append([Spacer(1, 16 * mm) for _ in padded])
        data.append([para(s[2] or "", Styles.sign_name) if s else [] for s in padded])
    table = Table(data, colWidths=[CONTENT_WIDTH / width] * width)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def closing(last: Sequence[Flowable], signatures: Table, note: str) -> Flowable:
    """The last content, the signatures and the form's footer note kept on one page:
    a signature block never stands alone on a page."""
    return KeepTogether([*last, Spacer(1, 8), signatures, Spacer(1, 4), para(note, Styles.note)])


class _DocStart(Flowable):  # type: ignore[misc]
    """Marks where a sheet begins, so each sheet's pages are numbered on their own."""

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        self.canv.doc_starts.add(self.canv.getPageNumber())


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Defers pages so each footer can say 'Trang 1/3' of its own sheet."""

    fingerprint: Fingerprint

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, object]] = []
        self.doc_starts: set[int] = {1}

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        # page numbers per sheet: "Trang 1/2" on a sheet's first page, not "Trang 9/20"
        total = len(self._pages)
        starts = sorted(p for p in self.doc_starts if p <= total)
        for state in self._pages:
            self.__dict__.update(state)
            page = self._pageNumber
            first = max(p for p in starts if p <= page)
            nxt = next((p for p in starts if p > page), total + 1)
            _draw_footer(self, self.fingerprint, page - first + 1, nxt - first)
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
