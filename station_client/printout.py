"""The polling team's printed copy of one batch: what was signed and what the server
answered, to sign and keep with the paper minutes.

Everything on it is read back from the outbox: the minutes from the exact payload
bytes that were signed (checked against the station's own key), the answer from
the server's receipt (checked against the pinned server key), so the paper cannot
show figures other than those sent. The QR code holds the batch's digest (SHA-256
of the signed payload), which the committee's screens and the ledger name too.
"""

from __future__ import annotations

from pathlib import Path

from schemas import codec
from schemas.models import CountingMinutes, Receipt, ResultBatch
from schemas.signing import BATCH_TYPE, open_envelope
from station_client.entry import paper_digest
from station_client.errors import StationFolderError
from station_client.forms import form_fields, name_fields, show, values_from_minutes
from station_client.outbox import StoredBatch
from station_client.receipts import verify_receipt
from station_client.station import Station
from station_client.status import short_time
from tally_server.core.glossary import ROUND
from tally_server.core.numbers import vn_int

# reportlab and the font package directly, not tui's sheets: the station client and
# the dashboard stay independent (import contract), and this page is small.
FAMILY = "Be Vietnam Pro"
REGULAR, BOLD = "BeVietnamPro", "BeVietnamPro-Bold"

SIGNERS = (
    ("TỔ TRƯỞNG", "team head", "head"),
    ("THƯ KÝ", "secretary", "secretary"),
    ("CỬ TRI CHỨNG KIẾN", "witness voter", "witness"),
    ("CỬ TRI CHỨNG KIẾN", "witness voter", "witness"),
)


def _fonts() -> None:
    import fontpkg
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(fontpkg.path(FAMILY, 400, "normal"))))
        pdfmetrics.registerFont(TTFont(BOLD, str(fontpkg.path(FAMILY, 700, "normal"))))


def signed_batch(station: Station, stored: StoredBatch) -> ResultBatch:
    """The batch as signed: the envelope's payload, verified with the station's key."""
    opened = open_envelope(stored.envelope, BATCH_TYPE)
    opened.verify(station.public_key())
    return codec.decode(opened.payload, ResultBatch)


def stored_receipt(station: Station, stored: StoredBatch) -> Receipt | None:
    if stored.receipt is None:
        return None
    return verify_receipt(
        stored.receipt,
        station.server_key,
        election_id=station.config.election_id,
        station_id=stored.station_id,
        sequence=stored.sequence,
        digest=stored.digest,
    )


def write_copy(station: Station, sequence: int | None = None, path: Path | None = None) -> Path:
    """Write the copy of batch ``sequence`` (default: the latest) as a PDF; its path.

    ``path`` defaults to ``DIR/copies/batch-N.pdf``."""
    stored = _batch(station, sequence)
    batch = signed_batch(station, stored)
    receipt = stored_receipt(station, stored)
    if path is None:
        path = station.folder / "copies" / f"batch-{stored.sequence}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    _render(path, station, stored, batch, receipt)
    return path


def _batch(station: Station, sequence: int | None) -> StoredBatch:
    batches = station.outbox.batches(station.station_id)
    chosen = [b for b in batches if sequence is None or b.sequence == sequence]
    if not chosen:
        held = ", ".join(str(b.sequence) for b in batches) or "—"
        raise StationFolderError(
            en=f"No signed batch {sequence if sequence is not None else ''} in this station's "
            f"outbox (held: {held}).",
            vi=f"Không có lô đã ký {sequence if sequence is not None else ''} trong hộp thư đi "
            f"của trạm (đang có: {held}).",
            code="P120",
            fields=("sequence",),
            figures={"sequence": sequence, "held": held},
        )
    return chosen[-1]


def _render(
    path: Path,
    station: Station,
    stored: StoredBatch,
    batch: ResultBatch,
    receipt: Receipt | None,
) -> None:
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

    _fonts()
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=9.5, leading=12)
    bold = ParagraphStyle("bold", parent=body, fontName=BOLD)
    title = ParagraphStyle("title", parent=bold, fontSize=13, leading=17, alignment=1)
    head = ParagraphStyle(
        "head", parent=bold, fontSize=10.5, leading=14, spaceBefore=6, keepWithNext=1
    )

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(_markup(text), style)

    story: list[object] = [
        p("BẢN SAO KẾT QUẢ KIỂM PHIẾU ĐÃ KÝ VÀ GỬI", title),
        p("Copy of the counting results as signed and sent", title),
        Spacer(1, 3 * mm),
    ]
    area = station.election.polling_areas[batch.polling_area_id]
    facts = [
        ("Cuộc bầu cử / election", batch.election_id),
        ("Khu vực bỏ phiếu / polling area", f"{area.name} ({batch.polling_area_id})"),
        ("Trạm / station", f"{batch.station_id} · khoá / key {station.config.fingerprint}"),
        (
            "Lô số / batch",
            f"{batch.sequence} · ký lúc / signed {short_time(stored.created_at)} (giờ Việt Nam)",
        ),
        ("Mã lô / batch code", paper_digest(stored.digest)),
        # In groups of 16, so a line breaks between groups, never inside one.
        (
            "Mã băm đầy đủ / full digest",
            " ".join(stored.digest[i : i + 16] for i in range(0, 64, 16)),
        ),
    ]
    if batch.supersedes:
        facts.append(("Đính chính lô / corrects batch", paper_digest(batch.supersedes)))
        facts.append(("Lý do / reason", batch.reason or ""))
    qr = QrCodeWidget(stored.digest, barLevel="M", barBorder=4)
    x0, y0, x1, y1 = qr.getBounds()
    size = 34 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    info = Table([[p(k), p(v, bold)] for k, v in facts], colWidths=[52 * mm, 88 * mm])
    info.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)])
    story.append(Table([[info, drawing]], colWidths=[142 * mm, 38 * mm]))
    story.append(p("Mã QR: mã băm của lô / the QR code holds the batch digest"))

    story.append(p("Câu trả lời của máy chủ / the server's answer", head))
    story += [p(line) for line in _receipt_lines(station, receipt)]

    grid = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    for m in batch.minutes:
        seat = station.election.seats[(batch.polling_area_id, m.race_id)]
        story.append(
            p(
                f"{seat.race.name} ({m.race_id}) · {seat.constituency.name} · "
                f"{seat.constituency.seats} ghế / seats · "
                f"{ROUND[m.round].of('vi')} / {ROUND[m.round].of('en')}",
                head,
            )
        )
        rows = [[p("Mục / field", bold), p("Số liệu đã ký / as signed", bold)]]
        values = values_from_minutes(m)
        for f in form_fields(seat):
            rows.append([p(f.label), p(show(f, values.get(f.key)), bold)])
        for code, text in m.explanations.items():
            rows.append([p(f"Giải thích cảnh báo / explanation {code}"), p(text)])
        table = Table(rows, colWidths=[120 * mm, 60 * mm], repeatRows=1)
        table.setStyle(grid)
        story.append(table)

    signers = [
        [p(f"{vi} / {en}", bold) for vi, en, _ in SIGNERS],
        [p("(ký, ghi rõ họ tên / sign and write the name)") for _ in SIGNERS],
        [Spacer(1, 16 * mm) for _ in SIGNERS],
        [p(name, bold) for name in _signer_names(batch.minutes)],
    ]
    sign = Table(signers, colWidths=[45 * mm] * 4)
    sign.setStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    story += [
        Spacer(1, 5 * mm),
        KeepTogether([p("Chữ ký của Tổ bầu cử / the team's signatures", head), sign]),
    ]

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Bản sao lô {batch.sequence} — {batch.station_id}",
        author=batch.station_id,
    )
    doc.build(story)


def _receipt_lines(station: Station, receipt: Receipt | None) -> list[str]:
    if receipt is None:
        return [
            "CHƯA GỬI ĐƯỢC: máy chủ chưa xác nhận lô này; in lại bản sao sau khi gửi. / "
            "NOT DELIVERED YET: the server has not acknowledged this batch; print the copy "
            "again once it is sent."
        ]
    if receipt.status == "accepted":
        lines = ["ĐÃ GỬI, MÁY CHỦ ĐÃ NHẬN / DELIVERED, ACCEPTED BY THE SERVER"]
    else:
        lines = ["MÁY CHỦ TỪ CHỐI / REJECTED BY THE SERVER: báo Ủy ban bầu cử / tell the committee"]
    lines += [
        f"Nhận lúc / received at {short_time(receipt.received_at.isoformat())} (giờ Việt Nam) "
        "· mục sổ / ledger entry "
        f"{vn_int(receipt.ledger_index)}",
        f"Đầu sổ / ledger head {receipt.ledger_head}",
        f"Biên nhận ký bằng khoá máy chủ / receipt signed by the server key "
        f"{station.server_key.fingerprint}",
    ]
    for f in receipt.findings:
        vi, en = f.message_vi.removeprefix(f.code + ": "), f.message_en.removeprefix(f.code + ": ")
        seat = station.election.seats.get((station.polling_area_id, f.race_id or ""))
        if seat is not None:
            vi = name_fields(vi, f.fields, seat, lambda x: x.label_vi)
            en = name_fields(en, f.fields, seat, lambda x: x.label_en)
        lines.append(f"{f.code} [{f.race_id or '—'}]: {vi} / {en}")
    return lines


def _signer_names(minutes: list[CountingMinutes]) -> list[str]:
    """The names the minutes record for each line (the first race's), else blank."""
    given = minutes[0].signatories if minutes else []
    names = []
    taken: set[int] = set()
    for _, _, role in SIGNERS:
        index = next((i for i, s in enumerate(given) if s.role == role and i not in taken), None)
        if index is None:
            names.append("")
        else:
            taken.add(index)
            names.append(given[index].full_name)
    return names


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(text: str) -> str:
    """Escaped, with the signs Be Vietnam Pro lacks (→ in W208's "874 → 876", Σ)
    drawn from the PDF's built-in Symbol font: a blank there would hide which way a
    figure changed."""
    from reportlab.pdfbase import pdfmetrics

    has = pdfmetrics.getFont(REGULAR).face.charToGlyph
    return "".join(
        c if ord(c) in has or c.isspace() else f'<font face="Symbol">{c}</font>'
        for c in _escape(text)
    )
