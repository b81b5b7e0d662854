"""The official sheets, laid out as the forms of Nghị quyết 40/NQ-HĐBCQG (29/9/2025)
and, for the National Election Council's summary, Art. 84 of the election law
(docs/dashboard.md, "The sheets", lists each form and where a sheet departs from it):

- ``polling_area_sheet``: a polling team's counting minutes (18/HĐBC-QH, 23/HĐBC-HĐND);
- ``constituency_sheet``: an election board's minutes of one constituency and round
  (19/HĐBC-QH with its per-commune table, 24/HĐBC-HĐND);
- ``summary_sheets``: a committee's minutes, one per race it runs: the provincial
  committee's determination for the National Assembly (20/HĐBC-QH), a committee's
  council summary (25/HĐBC-HĐND), the National Election Council's summary (Art. 84).

Each returns platypus flowables; ``document.write_pdf`` puts them on pages with
the fingerprint footer. Figures as the minutes print them: ``vn_int`` (293.079),
``vn_percent`` (75,08%), percentages rounded half up by ``tally_server.core.numbers``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from schemas.models import Committee, Constituency, CountingMinutes, Race
from tally_server.core.definition import Election
from tally_server.core.glossary import ELECTED_IN, FIELD, FINAL_RESULT, ROUND, status_words
from tally_server.core.numbers import percent, shares, vn_int, vn_percent
from tally_server.core.tally import CandidateResult, ConstituencyResult, FinalResult, final_of
from tui.errors import SheetError
from tui.pdf.document import (
    CONTENT_WIDTH,
    Signer,
    Styles,
    b,
    closing,
    grid_table,
    keep,
    national_heading,
    nfc,
    para,
    rich,
    signature_block,
    title,
    upper,
)
from tui.pdf.forms import (
    BLANK,
    Meeting,
    capital_first,
    commune_of,
    communes,
    council_words,
    day_words,
    deputies_of,
    meeting_for,
    members_lines,
    number_of,
    place_of,
    province_place,
    race_term,
    seats_basis,
)

SIGN = "(Ký, ghi rõ họ và tên)"
FOOTER_NOTE = "Ghi chú: Nhất thiết không được tẩy xóa trên biên bản."
ROUND_TITLE = {r: upper(ROUND[r].vi) for r in ("revote", "supplementary")}
NEC = "Hội đồng bầu cử quốc gia"
FRONT = "Ủy ban Mặt trận Tổ quốc Việt Nam"
FRONT_CENTRAL = "Ủy ban trung ương Mặt trận Tổ quốc Việt Nam"
DOTS = "…………………………………………………………………………………………"


@dataclass(frozen=True, slots=True)
class Form:
    """One form of the resolution: its number and the copies its closing names."""

    number: str
    copies: int


TEAM_QH = Form("Mẫu số 18/HĐBC-QH", 3)
TEAM_HDND = Form("Mẫu số 23/HĐBC-HĐND", 3)
BOARD_QH = Form("Mẫu số 19/HĐBC-QH", 3)
BOARD_HDND = Form("Mẫu số 24/HĐBC-HĐND", 4)
PROVINCE_QH = Form("Mẫu số 20/HĐBC-QH", 4)
COUNCIL_SUMMARY = Form("Mẫu số 25/HĐBC-HĐND", 6)
NEC_SUMMARY = Form("(Theo Điều 84 Luật Bầu cử đại biểu Quốc hội và đại biểu Hội đồng nhân dân)", 5)


def _pct(value: str | Decimal) -> str:
    return vn_percent(Decimal(value))


def _people(n: int) -> str:
    return keep(f"{vn_int(n)} người")


def _ballots(n: int) -> str:
    return keep(f"{vn_int(n)} phiếu")


def _copies(form: Form, recipients: str) -> str:
    return f"Biên bản này được lập thành {form.copies:02d} bản và được gửi đến {recipients}."


def _race(election: Election, race_id: str) -> Race:
    try:
        return election.races[race_id]
    except KeyError:
        raise SheetError(
            en=f"Race {race_id} is not in election {election.id}.",
            vi=f"Cuộc bầu cử {race_id} không có trong định nghĩa {election.id}.",
            fields=("race_id",),
            figures={"race_id": race_id, "election_id": election.id},
        ) from None


def _items(rows: Iterable[tuple[str, str]]) -> list[Flowable]:
    """The form's numbered lines: "- Số cử tri đã tham gia bỏ phiếu: 3.698 người"."""
    return [rich(f"- {escape(nfc(label))}: {b(value)}", Styles.item) for label, value in rows]


def _lines(texts: Iterable[str]) -> list[Flowable]:
    return [para(t, Styles.item) for t in texts]


def _cut(story: list[Flowable], at: int) -> list[Flowable]:
    """Take the flowables from ``at`` on out of ``story`` (to keep them with the signatures)."""
    out = story[at:]
    del story[at:]
    return out


def _blank_answer(label: str, answer: str | None = None) -> list[Flowable]:
    """A question of the form the system cannot answer: its line left to fill by hand."""
    if answer:
        return [para(f"{label} {answer}", Styles.body)]
    return [para(label, Styles.body), para(DOTS, Styles.blank)]


def _turnout_rows(
    *, on_list: int, voted: int, issued: int, received: int, valid: int, invalid: int
) -> list[tuple[str, str]]:
    valid_pct, invalid_pct = shares([valid, invalid])
    if received == 0:
        valid_pct = invalid_pct = Decimal("0.00")
    return [
        (f"{FIELD['voters_on_list'].vi}", _people(on_list)),
        (FIELD["voters_voted"].vi, _people(voted)),
        (
            "Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri",
            _pct(percent(voted, on_list)),
        ),
        (FIELD["ballots_issued"].vi, _ballots(issued)),
        (FIELD["ballots_received"].vi, _ballots(received)),
        (FIELD["valid_ballots"].vi, _ballots(valid)),
        ("Tỷ lệ số phiếu hợp lệ so với tổng số phiếu thu vào", _pct(valid_pct)),
        (FIELD["invalid_ballots"].vi, _ballots(invalid)),
        ("Tỷ lệ số phiếu không hợp lệ so với tổng số phiếu thu vào", _pct(invalid_pct)),
    ]


def _round_title(round_: str) -> list[str]:
    return [f"({ROUND_TITLE[round_]})"] if round_ in ROUND_TITLE else []


def _committee_of(election: Election, committee_id: str) -> Committee:
    committee = election.committees.get(committee_id)
    if committee is None:
        raise SheetError(
            en=f"Committee {committee_id} is not in election {election.id}.",
            vi=f"Ủy ban bầu cử {committee_id} không có trong định nghĩa {election.id}.",
            fields=("committee_id",),
            figures={"committee_id": committee_id},
        )
    return committee


# --- 18/HĐBC-QH and 23/HĐBC-HĐND: a polling team's counting minutes ----------------------


def polling_area_sheet(
    election: Election,
    minutes: CountingMinutes,
    *,
    correction: str | None = None,
) -> list[Flowable]:
    """Biên bản kết quả kiểm phiếu of one polling team for one race. ``correction``: the
    reason, when these minutes correct ones sent before. The team counts on election
    day: its minutes carry the election's date."""
    m = minutes
    area = election.polling_areas.get(m.polling_area_id)
    con = election.constituencies.get((m.race_id, m.constituency_id))
    if area is None or con is None:
        raise SheetError(
            en=f"Polling area {m.polling_area_id} or constituency {m.race_id}/"
            f"{m.constituency_id} is not in election {election.id}.",
            vi=f"Khu vực bỏ phiếu {m.polling_area_id} hoặc đơn vị bầu cử {m.race_id}/"
            f"{m.constituency_id} không có trong định nghĩa {election.id}.",
            fields=("polling_area_id", "constituency_id"),
            figures={"polling_area_id": m.polling_area_id, "constituency_id": m.constituency_id},
        )
    race = _race(election, m.race_id)
    d = election.definition
    na = race.level == "national_assembly"
    form = TEAM_QH if na else TEAM_HDND
    commune = commune_of(area.admin_unit)
    province = capital_first(province_place(election, con.committee_id))
    story: list[Flowable] = national_heading(
        [f"Tỉnh/Thành phố: {keep(province)}", f"Xã/Phường/Đặc khu: {keep(commune)}"],
        form.number,
        capitals=False,
    )
    if na:
        heading = [
            "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU BẦU CỬ",
            f"ĐẠI BIỂU QUỐC HỘI KHÓA {race_term(election, race) or BLANK}",
            "CỦA TỔ BẦU CỬ",
        ]
    else:
        council, term, period = council_words(election, race, con.committee_id)
        heading = [
            "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU",
            upper(f"Bầu cử đại biểu {council} {term}"),
            upper(f"{period} của Tổ bầu cử"),
        ]
    story += title(heading + _round_title(m.round))
    if correction is not None:
        story.append(
            para(
                "BIÊN BẢN ĐÍNH CHÍNH — thay biên bản Tổ bầu cử đã gửi trước; lý do đính chính: "
                + (correction or "(không ghi)"),
                Styles.provisional,
            )
        )
    seat_line = (
        "Đơn vị bầu cử đại biểu Quốc hội số"
        if na
        else f"Đơn vị bầu cử đại biểu Hội đồng nhân dân {place_of(election, con.committee_id)} số"
    )
    story += _items(
        [
            ("Khu vực bỏ phiếu số", _area_number(area.name, area.id)),
            (seat_line, number_of(con.name)),
            ("Gồm", ", ".join(name for name, _ in communes(election, con))),
        ]
    )
    signed: dict[str, list[str]] = {"head": [], "secretary": [], "witness": []}
    for s in m.signatories:
        signed[s.role].append(s.full_name)
    team = [("Tổ trưởng", n) for n in signed["head"]] + [("Thư ký", n) for n in signed["secretary"]]
    story.append(
        para(f"{capital_first(day_words(d.date, d.date.year))}, Tổ bầu cử gồm có:", Styles.body)
    )
    story += _lines(
        [f"Ông/Bà {n}, {r}" for r, n in team]
        or [f"Ông/Bà {BLANK}{BLANK}, {r}" for r in ("Tổ trưởng", "Thư ký")]
    )
    story.append(para(f"Ông/Bà {BLANK}{BLANK}, Ủy viên", Styles.item))
    witnesses = [*signed["witness"], None, None][:2]
    story.append(
        para(
            f"Cuộc bỏ phiếu bắt đầu từ {BLANK} giờ {BLANK} phút, {day_words(d.date, d.date.year)} "
            f"và kết thúc vào {BLANK} giờ {BLANK} phút cùng ngày. Sau khi kết thúc bỏ phiếu, Tổ "
            "bầu cử đã kiểm phiếu với sự chứng kiến của hai cử tri không phải là người ứng cử:"
        )
    )
    story += _lines(
        f"Ông/Bà {w or BLANK + BLANK}, Nơi ở hiện nay: {BLANK}{BLANK}" for w in witnesses
    )
    story.append(para("Kết quả cuộc bầu cử như sau:", Styles.section))
    seats = (
        "Số đại biểu Quốc hội được ấn định cho đơn vị bầu cử"
        if na
        else "Số đại biểu Hội đồng nhân dân được ấn định cho đơn vị bầu cử"
    )
    story += _items(
        [
            (seats, _people(con.seats)),
            ("Số người ứng cử", _people(len(con.candidates))),
            *[
                (f"{label} của khu vực bỏ phiếu" if i == 0 else label, value)
                for i, (label, value) in enumerate(
                    _turnout_rows(
                        on_list=m.voters_on_list,
                        voted=m.voters_voted,
                        issued=m.ballots_issued,
                        received=m.ballots_received,
                        valid=m.valid_ballots,
                        invalid=m.invalid_ballots,
                    )
                )
            ],
        ]
    )
    story.append(para("Số phiếu bầu cho mỗi người ứng cử như sau:", Styles.section))
    names = {c.id: c.full_name for c in con.candidates}
    # ballot order is the definition's order of candidates
    order = [c.id for c in con.candidates if c.id in m.candidate_votes]
    order += [cid for cid in m.candidate_votes if cid not in order]
    for i, cid in enumerate(order, start=1):
        story.append(
            rich(
                f"{i}. Ông/Bà {b(keep(names.get(cid, cid)))} được "
                f"{b(keep(f'{vn_int(m.candidate_votes[cid])} phiếu'))}/"
                f"{keep(f'{vn_int(m.valid_ballots)} phiếu hợp lệ')}",
                Styles.item,
            )
        )
    if m.ballots_by_names_kept:
        story.append(para("Số phiếu hợp lệ theo số người được bầu trên phiếu", Styles.section))
        story.append(
            grid_table(
                ["Số người được bầu trên phiếu", "Số phiếu"],
                [[f"{k} người", vn_int(n)] for k, n in enumerate(m.ballots_by_names_kept, 1)],
                [95 * mm, 40 * mm],
                align="lr",
            )
        )
    c = m.complaints
    story.append(
        para(
            "Trong ngày bầu cử và thời gian kiểm phiếu, đã xảy ra sự việc hoặc khiếu nại, tố "
            "cáo sau đây:",
            Styles.section,
        )
    )
    story.append(
        para(
            f"Khiếu nại, tố cáo nhận được: {vn_int(c.received)}; Tổ bầu cử đã giải quyết: "
            f"{vn_int(c.resolved)}.",
            Styles.item,
        )
    )
    for code, text in sorted(m.explanations.items()):
        story.append(rich(f"{b(code)}: {escape(nfc(text))}", Styles.item))
    if c.received == 0 and not m.explanations:
        story.append(para(DOTS, Styles.blank))
    tail = len(story)  # from here, kept on the signatures' page
    story.append(
        para(
            "Những vấn đề hoặc khiếu nại, tố cáo mà Tổ bầu cử chưa giải quyết được và kiến nghị:",
            Styles.section,
        )
    )
    story.append(
        para(
            f"Chuyển đến Ban bầu cử: {vn_int(c.forwarded)}." if c.forwarded else DOTS,
            Styles.item,
        )
    )
    board = (
        f"Ban bầu cử đại biểu Quốc hội ở đơn vị bầu cử số {number_of(con.name)}"
        if na
        else f"Ban bầu cử đại biểu Hội đồng nhân dân {place_of(election, con.committee_id)} "
        f"ở đơn vị bầu cử số {number_of(con.name)}"
    )
    last = [
        *_cut(story, tail),
        para(
            f"Biên bản này được hoàn thành vào hồi {BLANK} giờ {BLANK} phút, "
            f"{day_words(None, d.date.year)}. "
            + _copies(
                form,
                f"{board}; Ủy ban nhân dân và Ban thường trực {FRONT} {lower_commune(commune)}",
            )
        ),
    ]
    hint = SIGN
    voter1: Signer = (["Cử tri thứ nhất", "chứng kiến việc kiểm phiếu"], hint, witnesses[0])
    voter2: Signer = (["Cử tri thứ hai", "chứng kiến việc kiểm phiếu"], hint, witnesses[1])
    head: Signer = (
        ["TM. Tổ bầu cử", "Tổ trưởng"],
        "(Ký, ghi rõ họ và tên, đóng dấu của Tổ bầu cử)",
        next(iter(signed["head"]), None),
    )
    secretary: Signer = (["Thư ký Tổ bầu cử"], hint, next(iter(signed["secretary"]), None))
    story.append(closing(last, signature_block([[voter1, head, secretary], [voter2]]), FOOTER_NOTE))
    return story


def _area_number(name: str, area_id: str) -> str:
    """ "2 (mã KV-02)"; an area named otherwise ("Khu vực bỏ phiếu Bệnh viện Chợ Rẫy")
    keeps its name."""
    number = number_of(name)
    return f"{number if number != name else name} (mã {area_id})"


def lower_commune(commune: str) -> str:
    return commune[:1].lower() + commune[1:]


# --- 19/HĐBC-QH and 24/HĐBC-HĐND: an election board's minutes ----------------------------


def _board_body(election: Election, race: Race, con: Constituency) -> list[str]:
    number = number_of(con.name)
    if race.level == "national_assembly":
        return ["Ban bầu cử", "đại biểu Quốc hội", f"đơn vị bầu cử số {number}"]
    return [
        "Ban bầu cử đại biểu",
        "Hội đồng nhân dân",
        place_of(election, con.committee_id),
        f"đơn vị bầu cử số {number}",
    ]


def _commune_table(
    election: Election,
    con: Constituency,
    r: ConstituencyResult,
    area_minutes: Sequence[CountingMinutes],
) -> list[Flowable]:
    """19/HĐBC-QH's table: a row per commune, a column per candidate in ballot order,
    then "Tổng cộng" and the share of the valid ballots."""
    by_area = {m.polling_area_id: m for m in area_minutes}
    cands = r.candidates
    n = len(cands)
    fixed = 38 * mm + 16 * mm + 22 * mm
    col = (CONTENT_WIDTH - fixed) / max(n, 1)
    header = [
        "Tên xã, phường, đặc khu trong phạm vi đơn vị bầu cử",
        "Số khu vực bỏ phiếu",
        *[f"Số phiếu bầu cho Ông/Bà {c.full_name}" for c in cands],
        "Ghi chú",
    ]
    rows: list[list[str]] = []
    not_in = set(r.missing_area_ids)
    for name, area_ids in communes(election, con):
        reported = [a for a in area_ids if a not in not_in]
        got = [by_area[a] for a in reported if a in by_area]
        # a commune's sums only when every reported minutes of it is at hand
        whole = bool(reported) and len(got) == len(reported)
        votes = [
            vn_int(sum(m.candidate_votes.get(c.id, 0) for m in got)) if whole else "" for c in cands
        ]
        missing = len(area_ids) - len(reported)
        note = f"Thiếu {missing}/{len(area_ids)} biên bản" if missing else ""
        rows.append([name, vn_int(len(area_ids)), *votes, note])
    rows.append(
        ["Tổng cộng:", vn_int(len(con.polling_area_ids)), *[vn_int(c.votes) for c in cands], ""]
    )
    rows.append(["Tỷ lệ % so với tổng số phiếu hợp lệ", "", *[_pct(c.pct) for c in cands], ""])
    return [
        para("SỐ PHIẾU BẦU CHO MỖI NGƯỜI ỨNG CỬ", Styles.section),
        grid_table(
            header,
            rows,
            [38 * mm, 16 * mm, *[col] * n, 22 * mm],
            align="lr" + "r" * n + "l",
            bold_rows=(len(rows) - 2, len(rows) - 1),
            small=True,
        ),
    ]


def _candidate_table(r: ConstituencyResult) -> list[Flowable]:
    """The candidates in ballot order with their votes (24/HĐBC-HĐND's "Ông/Bà… được…
    phiếu/… phiếu hợp lệ", as a table with the share and who passed half)."""
    rows = [
        [
            str(i),
            f"Ông/Bà {c.full_name}",
            c.birth_date.strftime("%d/%m/%Y"),
            vn_int(c.votes),
            _pct(c.pct),
            "Trúng cử" if c.elected else "",
        ]
        for i, c in enumerate(r.candidates, start=1)
    ]
    return [
        para("Số phiếu bầu cho mỗi người ứng cử như sau:", Styles.section),
        grid_table(
            [
                "STT",
                "Họ và tên",
                "Ngày sinh",
                "Số phiếu bầu",
                "Tỷ lệ % so với số phiếu hợp lệ",
                "Ghi chú",
            ],  # fmt: skip
            rows,
            [11 * mm, 66 * mm, 24 * mm, 25 * mm, 26 * mm, CONTENT_WIDTH - 152 * mm],
            align="clcrrc",
        ),
    ]


def _missing_table(election: Election, area_ids: Sequence[str]) -> list[Flowable]:
    rows = []
    for i, a in enumerate(area_ids, start=1):
        area = election.polling_areas.get(a)
        rows.append([str(i), a, area.name if area else "", area.admin_unit if area else ""])
    return [
        para("Khu vực bỏ phiếu chưa có biên bản kết quả kiểm phiếu", Styles.section),
        grid_table(
            ["STT", "Mã", "Khu vực bỏ phiếu", "Xã, phường, đặc khu"],
            rows,
            [11 * mm, 40 * mm, 60 * mm, CONTENT_WIDTH - 111 * mm],
            align="clll",
            small=True,
        ),
    ]


def constituency_sheet(
    election: Election,
    result: ConstituencyResult,
    *,
    made_on: dt.date | None = None,
    final: FinalResult | None = None,
    meeting: Meeting | None = None,
    area_minutes: Sequence[CountingMinutes] = (),
) -> list[Flowable]:
    """Biên bản xác định kết quả bầu cử ở đơn vị bầu cử, of one round. A later round
    (bầu cử lại, bầu cử thêm) is named under the title and opens with why it was held;
    given the constituency's ``final`` result, it ends with who was elected in which
    round. ``area_minutes``: the round's counting minutes, for 19/HĐBC-QH's table per
    commune (a commune whose minutes are not at hand shows its row empty)."""
    race = _race(election, result.race_id)
    key = (result.race_id, result.constituency_id)
    if key not in election.constituencies:
        raise SheetError(
            en=f"Constituency {result.race_id}/{result.constituency_id} is not in election "
            f"{election.id}.",
            vi=f"Đơn vị bầu cử {result.race_id}/{result.constituency_id} không có trong định "
            f"nghĩa {election.id}.",
            fields=("constituency_id",),
            figures={"race_id": result.race_id, "constituency_id": result.constituency_id},
        )
    d = election.definition
    r = result
    con = election.constituencies[key]
    na = race.level == "national_assembly"
    form = BOARD_QH if na else BOARD_HDND
    number = number_of(con.name)
    place = place_of(election, con.committee_id)
    province = province_place(election, con.committee_id)
    meeting = meeting_for(election, f"{r.race_id}/{r.constituency_id}", meeting)
    if made_on and meeting.day is None:
        meeting = Meeting(made_on, meeting.time, meeting.place, meeting.members)
    story: list[Flowable] = national_heading(_board_body(election, race, con), form.number)
    if na:
        heading = [
            "BIÊN BẢN",
            f"XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA {race_term(election, race) or BLANK}",
            f"Ở ĐƠN VỊ BẦU CỬ SỐ {number}",
        ]
    else:
        council, term, period = council_words(election, race, con.committee_id)
        heading = [
            "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ",
            upper(f"Đại biểu {council}"),
            upper(f"{term}, {period}"),
            f"Ở ĐƠN VỊ BẦU CỬ SỐ {number}",
        ]
    story += title(heading + _round_title(r.round))
    if r.round != "main":
        story.append(para(_why_held(election, race, con, r)))
    if r.status in ("partial", "no_results"):
        story.append(
            para(
                "KẾT QUẢ TẠM THỜI — CHƯA ĐỦ BIÊN BẢN CỦA CÁC KHU VỰC BỎ PHIẾU, "
                "CHƯA XÁC ĐỊNH NGƯỜI TRÚNG CỬ",
                Styles.provisional,
            )
        )
    board = (
        "Ban bầu cử đại biểu Quốc hội"
        if na
        else f"Ban bầu cử đại biểu Hội đồng nhân dân {place} ở đơn vị bầu cử số {number}"
    )
    story += _items(
        [("Đơn vị bầu cử số " + number + " gồm", ", ".join(n for n, _ in communes(election, con)))]
    )
    story.append(para(f"{meeting.opening(d.date.year)}, {board} gồm có:"))
    story += _lines(
        members_lines(meeting, ["Trưởng ban", "Phó Trưởng ban", "Phó Trưởng ban", "Ủy viên"])
    )
    story.append(para(f"Đã họp tại: {meeting.place or BLANK + BLANK + BLANK}"))
    story.append(
        para(
            f"để xác định kết quả bầu cử {deputies_of(election, race, con.committee_id)} ở đơn vị "
            f"bầu cử số {number}"
            + ("" if r.round == "main" else f" ({ROUND[r.round].vi})")
            + f"; Ban bầu cử đã tổng hợp {vn_int(r.areas_reported)}/{vn_int(r.areas_total)} "
            "biên bản kết quả kiểm phiếu của các Tổ bầu cử. Kết quả như sau:"
        )
    )
    basis = seats_basis(election, race)
    seats_label = (
        "Số đại biểu Quốc hội được bầu đã ấn định cho đơn vị bầu cử"
        if na
        else "Số đại biểu Hội đồng nhân dân được bầu đã ấn định cho đơn vị bầu cử"
    )
    rows = [
        (
            seats_label,
            _people(con.seats)
            + (
                f" (theo {basis})"
                if basis
                else f" (theo Nghị quyết số {BLANK}/NQ-{'HĐBCQG' if na else 'UBBC'})"
            ),
        )
    ]
    if r.round == "supplementary":
        rows.append(("Số đại biểu bầu thêm (số ghế còn thiếu)", _people(r.seats)))
    rows += [
        (
            "Số người ứng cử"
            + (" có tên trên phiếu bầu cử thêm" if r.round == "supplementary" else ""),
            _people(len(r.candidates)),
        ),
        (FIELD["areas_reported"].vi, keep(f"{vn_int(r.areas_reported)}/{vn_int(r.areas_total)}")),
    ]
    rows += [
        (f"{label} của đơn vị bầu cử" if i == 0 else label, value)
        for i, (label, value) in enumerate(
            _turnout_rows(
                on_list=r.voters_on_list,
                voted=r.voters_voted,
                issued=r.ballots_issued,
                received=r.ballots_received,
                valid=r.valid_ballots,
                invalid=r.invalid_ballots,
            )
        )
    ]
    story += _items(rows)
    if na:
        story += _commune_table(election, con, r, area_minutes)
    else:
        story += _candidate_table(r)
    if r.missing_area_ids:
        story += _missing_table(election, r.missing_area_ids)
    by_id = {c.id: c for c in r.candidates}
    story.append(para(f"Căn cứ kết quả trên, {board} kết luận:", Styles.section))
    story.append(
        para(f"a) Tỷ lệ cử tri đã tham gia bỏ phiếu so với tổng số cử tri: {_pct(r.turnout_pct)}.")
    )
    if r.status == "revote":
        story.append(para(_revote_sentence(election, race, con, r), Styles.item))
    half = "quá nửa" if na else "quá một nửa"
    story.append(
        para(
            f"b) Các Ông/Bà có tên sau đây nhận được {half} tổng số phiếu hợp lệ và có nhiều "
            f"phiếu hơn, đã trúng cử {deputies_of(election, race, con.committee_id)}"
            " (người trúng cử phải được từ "
            f"{vn_int(r.valid_ballots // 2 + 1)} phiếu trở lên trên {vn_int(r.valid_ballots)} "
            "phiếu hợp lệ):"
        )
    )
    if r.winners:
        for i, w in enumerate(r.winners, start=1):
            c = by_id.get(w)
            if c is None:
                continue
            story.append(
                rich(
                    f"{i}. Ông/Bà {b(keep(c.full_name))}, số phiếu: "
                    f"{keep(vn_int(c.votes))}, đạt: {keep(_pct(c.pct))} so với tổng số phiếu "
                    "hợp lệ",
                    Styles.item,
                )
            )
    else:
        story.append(para("Không có người trúng cử.", Styles.item))
    # over the rounds when a later round's minutes are given the constituency's result
    seats, filled = (final.seats, final.seats_filled) if final else (con.seats, r.seats_filled)
    if r.round == "supplementary" and final is None:
        filled += con.seats - r.seats
    story.append(
        para(
            f"c) Số {'đại biểu Quốc hội' if na else 'đại biểu Hội đồng nhân dân'} được bầu đã ấn "
            f"định cho đơn vị bầu cử là {vn_int(seats)} đại biểu, nay đã bầu được "
            f"{vn_int(filled)} đại biểu, còn thiếu {vn_int(seats - filled)} đại biểu."
        )
    )
    for line in _outcome_lines(election, race, con, r, by_id):
        story.append(para(line, Styles.item))
    if final is not None and r.round != "main":
        story += _final_block(final)
    story += _blank_answer("d) Tóm tắt những việc xảy ra:")
    story.append(
        para(
            "đ) Những khiếu nại, tố cáo do các Tổ bầu cử đã giải quyết: "
            f"{vn_int(r.complaints_resolved)} (trong {vn_int(r.complaints_received)} khiếu nại, "
            f"tố cáo các Tổ bầu cử nhận được)."
        )
    )
    story += _blank_answer("e) Những khiếu nại, tố cáo do Ban bầu cử đã giải quyết:")
    up = f"Ủy ban bầu cử {province}" if na else f"Ủy ban bầu cử {place}"
    tail = len(story)  # from here, kept on the signatures' page
    story += _blank_answer(
        f"g) Những khiếu nại, tố cáo chuyển đến {up}:"
        + (
            f" (các Tổ bầu cử chuyển đến Ban bầu cử: {vn_int(r.complaints_forwarded)})"
            if r.complaints_forwarded
            else ""
        )
    )
    recipients = (
        f"{NEC}, Ủy ban bầu cử {province}, {FRONT} {province}"
        if na
        else f"Ủy ban bầu cử {place}, Thường trực Hội đồng nhân dân, Ủy ban nhân dân, "
        f"Ban thường trực {FRONT} {place}"
    )
    last: list[Flowable] = [
        *_cut(story, tail),
        para(_copies(form, recipients)),
        para(f"Các tài liệu kèm theo gồm: {DOTS}"),
    ]
    deputies: Signer = (["Các Phó Trưởng ban bầu cử"], SIGN, None)
    head: Signer = (
        ["TM. Ban bầu cử", "Trưởng ban"],
        "(Ký, ghi rõ họ và tên, đóng dấu của Ban bầu cử)",
        None,
    )
    story.append(closing(last, signature_block([[deputies, head]]), FOOTER_NOTE))
    return story


def _decider(election: Election, race: Race, con: Constituency) -> str:
    """Who decides a re-vote or a supplementary round: the Council for the National
    Assembly, on the provincial committee's report; the council's committee otherwise."""
    if race.level == "national_assembly":
        return NEC
    return f"Ủy ban bầu cử {place_of(election, con.committee_id)}"


def _revote_sentence(
    election: Election, race: Race, con: Constituency, r: ConstituencyResult
) -> str:
    number = number_of(con.name)
    if race.level == "national_assembly":
        return (
            "Vì số cử tri đi bỏ phiếu chưa đạt quá nửa tổng số cử tri của đơn vị bầu cử, nên "
            "cuộc bầu cử đại biểu Quốc hội tại đơn vị bầu cử đại biểu Quốc hội số "
            f"{number} không có giá trị. Đề nghị Ủy ban bầu cử "
            f"{province_place(election, con.committee_id)} báo cáo {NEC} xem xét, quyết định "
            f"việc bầu cử lại tại đơn vị bầu cử ({vn_int(r.voters_voted)}/"
            f"{vn_int(r.voters_on_list)} cử tri đã tham gia bỏ phiếu, {_pct(r.turnout_pct)})."
        )
    return (
        "Vì số cử tri đi bỏ phiếu chưa đạt quá một nửa tổng số cử tri của đơn vị bầu cử, nên "
        f"cuộc bầu cử tại đơn vị bầu cử số {number} không có giá trị. Đề nghị "
        f"{_decider(election, race, con)} xem xét, quyết định việc bầu cử lại tại đơn vị bầu cử "
        f"({vn_int(r.voters_voted)}/{vn_int(r.voters_on_list)} cử tri đã tham gia bỏ phiếu, "
        f"{_pct(r.turnout_pct)})."
    )


def _why_held(election: Election, race: Race, con: Constituency, r: ConstituencyResult) -> str:
    """The sentence that opens a later round's minutes: why the round was held."""
    decider = _decider(election, race, con)
    if r.round == "revote":
        return (
            "Vì số cử tri đi bỏ phiếu ở vòng đầu chưa đạt quá nửa tổng số cử tri của đơn vị "
            f"bầu cử, {decider} đã quyết định việc bầu cử lại tại đơn vị bầu cử, với danh sách "
            "người ứng cử của vòng đầu."
        )
    return (
        "Vì số người trúng cử chưa đủ số lượng đại biểu được bầu đã ấn định cho đơn vị bầu "
        f"cử ({con.seats - r.seats}/{con.seats}), {decider} đã quyết định việc bầu cử thêm "
        f"{r.seats} đại biểu tại đơn vị bầu cử; chỉ những người ứng cử chưa trúng cử có tên "
        "trên phiếu bầu."
    )


def _final_block(final: FinalResult) -> list[Flowable]:
    """The constituency's result over its rounds: who was elected in which round."""
    story: list[Flowable] = [
        para(f"{FINAL_RESULT.title().vi} ở đơn vị bầu cử", Styles.section),
        para(
            f"Đơn vị bầu cử được bầu {vn_int(final.seats)} đại biểu, nay đã bầu được "
            f"{vn_int(final.seats_filled)} đại biểu, còn thiếu "
            f"{vn_int(final.seats - final.seats_filled)} đại biểu. "
            f"{FIELD['status'].vi}: {status_words(final.status).vi}."
        ),
    ]
    if final.elected:
        story.append(
            grid_table(
                ["STT", "Họ và tên", ELECTED_IN.title().vi, "Số phiếu bầu", "Tỷ lệ"],
                [
                    [str(i), e.full_name, ROUND[e.round].title().vi, vn_int(e.votes), _pct(e.pct)]
                    for i, e in enumerate(final.elected, start=1)
                ],
                [11 * mm, 70 * mm, 35 * mm, 30 * mm, CONTENT_WIDTH - 146 * mm],
                align="cllrr",
            )
        )
    return story


def _outcome_lines(
    election: Election,
    race: Race,
    con: Constituency,
    r: ConstituencyResult,
    by_id: Mapping[str, CandidateResult],
) -> list[str]:
    """The status in the glossary's words, and the sentence the form uses for what the
    board proposes."""
    lines = [f"{FIELD['status'].vi}: {status_words(r.status).vi}."]
    missing = r.seats - r.seats_filled
    na = race.level == "national_assembly"
    if r.round == "supplementary" and r.status == "seats_left_empty":
        lines.append(
            f"Bầu cử thêm được {r.seats_filled}/{r.seats} đại biểu; không bầu cử thêm lần thứ "
            f"hai: {missing} ghế để trống."
        )
    elif r.status == "no_results":
        lines.append("Chưa có biên bản kết quả kiểm phiếu nào của các Tổ bầu cử.")
    elif r.status == "partial":
        lines.append(
            f"Chưa có biên bản của {vn_int(len(r.missing_area_ids))} khu vực bỏ phiếu (bảng "
            "trên): chưa xác định người trúng cử."
        )
    elif r.status == "supplementary_proposed":
        if na:
            lines.append(
                "Vì số người trúng cử đại biểu Quốc hội chưa đủ số lượng đại biểu được bầu đã "
                "ấn định cho đơn vị bầu cử nên đề nghị Ủy ban bầu cử "
                f"{province_place(election, con.committee_id)} báo cáo {NEC} để xem xét, quyết "
                f"định việc bầu cử thêm tại đơn vị bầu cử ({missing} đại biểu)."
            )
        else:
            lines.append(
                "Vì số người trúng cử đại biểu Hội đồng nhân dân chưa đủ số lượng đại biểu được "
                f"bầu đã ấn định cho đơn vị bầu cử nên đề nghị {_decider(election, race, con)} "
                f"xem xét, quyết định việc bầu cử thêm tại đơn vị bầu cử ({missing} đại biểu)."
            )
    elif r.status == "seats_left_empty":
        lines.append(
            f"Số người trúng cử ({r.seats_filled}) đã đạt ít nhất hai phần ba số đại biểu "
            f"được bầu ({r.seats}): không bầu cử thêm, {missing} ghế để trống."
        )
    elif r.status == "unresolved_tie":
        names = [by_id[c].full_name if c in by_id else c for c in r.unresolved_tie]
        lines.append(
            "Những người ứng cử sau bằng số phiếu và cùng ngày sinh ở vị trí trúng cử cuối "
            "cùng: " + ", ".join(str(n) for n in names) + ". Pháp luật chưa quy định cách xác "
            "định; đề nghị cấp có thẩm quyền xem xét."
        )
    return lines


# --- 20/HĐBC-QH, 25/HĐBC-HĐND and the Council's summary (Art. 84) ------------------------


def summary_sheets(
    election: Election,
    committee_id: str,
    results: Sequence[ConstituencyResult],
    *,
    made_on: dt.date | None = None,
    meeting: Meeting | None = None,
) -> list[list[Flowable]]:
    """A committee's minutes, one per race whose constituencies it runs: 20/HĐBC-QH for
    a provincial committee's National Assembly constituencies, 25/HĐBC-HĐND for a
    council; the National Election Council's summary covers every NA constituency."""
    committee = _committee_of(election, committee_id)
    if committee.level == "national":
        mine = [r for r in results if election.races[r.race_id].level == "national_assembly"]
    else:
        mine = [r for r in results if r.committee_id == committee_id]
    if not mine:
        raise SheetError(
            en=f"Committee {committee_id} runs no constituency with results.",
            vi=f"Ủy ban bầu cử {committee_id} không phụ trách đơn vị bầu cử nào có kết quả.",
            fields=("committee_id",),
            figures={"committee_id": committee_id},
        )
    meeting = meeting_for(election, committee_id, meeting)
    if made_on and meeting.day is None:
        meeting = Meeting(made_on, meeting.time, meeting.place, meeting.members)
    sheets = []
    for race in election.definition.races:
        race_results = [r for r in mine if r.race_id == race.id]
        if race_results:
            sheets.append(_committee_sheet(election, committee, race, race_results, meeting))
    return sheets


def _total(results: Iterable[ConstituencyResult], attr: str) -> int:
    return sum(int(getattr(r, attr)) for r in results)


def _turnout_table(rows_of: Sequence[ConstituencyResult], note: Mapping[int, str]) -> Flowable:
    """20/HĐBC-QH's table 2: voters, voted, valid and invalid per constituency."""
    rows: list[list[str]] = []

    def shares_of(r_valid: int, r_invalid: int) -> tuple[str, str]:
        if r_valid + r_invalid == 0:
            return _pct("0.00"), _pct("0.00")
        v, i = shares([r_valid, r_invalid])
        return _pct(v), _pct(i)

    for i, r in enumerate(rows_of, start=1):
        vp, ip = shares_of(r.valid_ballots, r.invalid_ballots)
        rows.append(
            [
                str(i),
                r.constituency_name,
                vn_int(r.voters_on_list),
                vn_int(r.voters_voted),
                _pct(r.turnout_pct),
                vn_int(r.valid_ballots),
                vp,
                vn_int(r.invalid_ballots),
                ip,
                note.get(i - 1, ""),
            ]
        )
    on_list, voted = _total(rows_of, "voters_on_list"), _total(rows_of, "voters_voted")
    valid, invalid = _total(rows_of, "valid_ballots"), _total(rows_of, "invalid_ballots")
    vp, ip = shares_of(valid, invalid)
    rows.append(
        [
            "",
            "Tổng cộng:",
            vn_int(on_list),
            vn_int(voted),
            _pct(percent(voted, on_list)),
            vn_int(valid),
            vp,
            vn_int(invalid),
            ip,
            "",
        ]  # fmt: skip
    )
    return grid_table(
        [
            "STT",
            "Các đơn vị bầu cử",
            "Tổng số cử tri của đơn vị bầu cử",
            "Tổng số cử tri đã tham gia bỏ phiếu",
            "Tỷ lệ cử tri đã tham gia bỏ phiếu",
            "Phiếu hợp lệ: số phiếu",
            "Tỷ lệ % so với tổng số phiếu thu vào",
            "Phiếu không hợp lệ: số phiếu",
            "Tỷ lệ % so với tổng số phiếu thu vào",
            "Ghi chú",
        ],  # fmt: skip
        rows,
        [8 * mm, 28 * mm, 18 * mm, 18 * mm, 16 * mm, 18 * mm, 16 * mm, 16 * mm, 16 * mm, 20 * mm],
        align="clrrrrrrrl",
        bold_rows=(len(rows) - 1,),
        small=True,
    )


def _committee_sheet(
    election: Election,
    committee: Committee,
    race: Race,
    results: Sequence[ConstituencyResult],
    meeting: Meeting,
) -> list[Flowable]:
    d = election.definition
    na = race.level == "national_assembly"
    nec = committee.level == "national"
    place = place_of(election, committee.id)
    term = race_term(election, race, committee.id) or BLANK
    if nec:
        form = NEC_SUMMARY
        body = ["Hội đồng bầu cử quốc gia"]
        heading = ["BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ", f"ĐẠI BIỂU QUỐC HỘI KHÓA {term}"]
        who = NEC
        roles = ["Chủ tịch", "Phó Chủ tịch", "Phó Chủ tịch", "Ủy viên"]
        scope = "cả nước"
    elif na:
        form = PROVINCE_QH
        body = ["Ủy ban bầu cử", place]
        heading = ["BIÊN BẢN", f"XÁC ĐỊNH KẾT QUẢ BẦU CỬ ĐẠI BIỂU QUỐC HỘI KHÓA {term}",
                   upper(f"Ở {place}")]  # fmt: skip
        who = f"Ủy ban bầu cử {place}"
        roles = ["Chủ tịch", "Phó Chủ tịch", "Phó Chủ tịch", "Ủy viên"]
        scope = place
    else:
        form = COUNCIL_SUMMARY
        council, term_words, period = council_words(election, race, committee.id)
        body = ["Ủy ban bầu cử", place]
        heading = [
            "BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ",
            upper(f"Đại biểu {council}"),
            upper(f"{term_words}, {period}"),
        ]
        who = f"Ủy ban bầu cử {place}"
        roles = ["Chủ tịch", "Phó Chủ tịch", "Phó Chủ tịch", "Ủy viên"]
        scope = place
    story: list[Flowable] = national_heading(body, form.number)
    story += title(heading)
    provisional = any(r.status in ("partial", "no_results") for r in results)
    if provisional:
        story.append(
            para("KẾT QUẢ TẠM THỜI — CÒN ĐƠN VỊ BẦU CỬ CHƯA ĐỦ BIÊN BẢN", Styles.provisional)
        )
    main = [r for r in results if r.round == "main"]
    revotes = [r for r in results if r.round == "revote"]
    supplementary = [r for r in results if r.round == "supplementary"]
    deputies = (
        deputies_of(election, race, committee.id) if not nec else (f"đại biểu Quốc hội khóa {term}")
    )
    story.append(para(f"{meeting.opening(d.date.year)}, {who} gồm có:"))
    story += _lines(members_lines(meeting, roles))
    story.append(para(f"Đã họp tại: {meeting.place or BLANK + BLANK + BLANK}"))
    story.append(
        para(
            f"để {'tổng kết cuộc bầu cử' if nec or not na else 'xác định kết quả bầu cử'} "
            f"{deputies} ở {scope}. {who} đã nhận biên bản của "
            f"{vn_int(len(main))} đơn vị bầu cử ({vn_int(_total(main, 'areas_reported'))}/"
            f"{vn_int(_total(main, 'areas_total'))} khu vực bỏ phiếu có biên bản). Kết quả như sau:"
        )
    )
    basis = seats_basis(election, race)
    seats_note = (
        f" (theo {basis})"
        if basis
        else (" (theo quy định của Luật Tổ chức chính quyền địa phương)" if not na else "")
    )
    won = {key: f for key, f in _finals(election, results).items()}
    winners_total = sum(f.seats_filled for f in won.values())
    rows = [
        (
            f"Tổng số đại biểu {'Quốc hội' if na else 'Hội đồng nhân dân'} được bầu",
            _people(_total(main, "seats")) + seats_note,
        ),
        ("Tổng số người ứng cử", _people(sum(len(r.candidates) for r in main))),
        *_turnout_rows(
            on_list=_total(main, "voters_on_list"),
            voted=_total(main, "voters_voted"),
            issued=_total(main, "ballots_issued"),
            received=_total(main, "ballots_received"),
            valid=_total(main, "valid_ballots"),
            invalid=_total(main, "invalid_ballots"),
        ),
        ("Số người trúng cử", _people(winners_total)),
    ]
    story += _items(rows)
    # 1. the constituencies and their communes
    story.append(para("1. Các đơn vị bầu cử", Styles.section))
    story.append(
        grid_table(
            ["STT", "Tên đơn vị bầu cử", "Xã, phường, đặc khu"],
            [
                [
                    str(i),
                    r.constituency_name,
                    ", ".join(
                        n
                        for n, _ in communes(
                            election, election.constituencies[(r.race_id, r.constituency_id)]
                        )
                    ),
                ]
                for i, r in enumerate(main, start=1)
            ],
            [11 * mm, 60 * mm, CONTENT_WIDTH - 71 * mm],
            align="cll",
            small=True,
        )
    )
    story.append(
        para(
            "2. Số lượng đơn vị bầu cử, tổng số cử tri, số cử tri đã tham gia bỏ phiếu, số phiếu "
            f"hợp lệ và không hợp lệ ({vn_int(len(main))} đơn vị bầu cử)",
            Styles.section,
        )
    )
    notes = {
        i: f"Thiếu {len(r.missing_area_ids)}/{r.areas_total} biên bản"
        for i, r in enumerate(main)
        if r.missing_area_ids
    }
    story.append(_turnout_table(main, notes))
    story.append(para("3. Các đơn vị bầu cử phải bầu cử lại", Styles.section))
    proposed = [r for r in main if r.status == "revote" and r.constituency_id not in
                {x.constituency_id for x in revotes}]  # fmt: skip
    if revotes:
        story.append(_turnout_table(revotes, {}))
    for r in proposed:
        story.append(
            para(f"{r.constituency_name}: {status_words(r.status).vi} (chưa tổ chức).", Styles.item)
        )
    if not revotes and not proposed:
        story.append(para("Không có.", Styles.item))
    story.append(
        para(
            f"4. Số phiếu bầu cho mỗi người ứng cử {deputies} ở {scope}",
            Styles.section,
        )
    )
    vote_rows: list[list[str]] = []
    for r in [*main, *revotes]:
        for c in r.candidates:
            vote_rows.append(
                [
                    str(len(vote_rows) + 1),
                    r.constituency_name + (f" ({ROUND[r.round].vi})" if r.round != "main" else ""),
                    c.full_name,
                    vn_int(c.votes),
                    _pct(c.pct),
                    "Trúng cử" if c.elected else "",
                ]
            )
    story.append(
        grid_table(
            [
                "STT",
                "Đơn vị bầu cử",
                "Họ và tên người ứng cử",
                "Số phiếu bầu",
                "Tỷ lệ % so với tổng số phiếu hợp lệ",
                "Ghi chú",
            ],  # fmt: skip
            vote_rows,
            [11 * mm, 52 * mm, 50 * mm, 20 * mm, 22 * mm, CONTENT_WIDTH - 155 * mm],
            align="cllrrc",
            small=True,
        )
    )
    story.append(
        para(
            f"5. Danh sách những người trúng cử {deputies} theo từng đơn vị bầu cử "
            "(xếp theo số phiếu bầu từ cao xuống thấp)",
            Styles.section,
        )
    )
    winner_rows = [
        [
            str(i),
            f.constituency_name,
            e.full_name,
            vn_int(e.votes),
            _pct(e.pct),
            ROUND[e.round].title().vi,
        ]  # fmt: skip
        for i, (f, e) in enumerate(((f, e) for f in won.values() for e in f.elected), start=1)
    ]
    if winner_rows:
        story.append(
            grid_table(
                [
                    "STT",
                    "Đơn vị bầu cử",
                    "Họ và tên",
                    "Số phiếu bầu",
                    "Tỷ lệ",
                    ELECTED_IN.title().vi,
                ],  # fmt: skip
                winner_rows,
                [11 * mm, 52 * mm, 50 * mm, 20 * mm, 18 * mm, CONTENT_WIDTH - 151 * mm],
                align="cllrrl",
                small=True,
            )
        )
    else:
        story.append(para("Chưa có người trúng cử.", Styles.item))
    story.append(para("6. Các đơn vị bầu cử phải bầu cử thêm", Styles.section))
    to_add = [
        r
        for r in main
        if r.status == "supplementary_proposed"
        and r.constituency_id not in {x.constituency_id for x in supplementary}
    ]
    if supplementary:
        story.append(_turnout_table(supplementary, {}))
        story.append(para("Kết quả bầu cử thêm như sau:", Styles.item))
        for r in supplementary:
            names = [c.full_name for c in r.candidates if c.id in r.winners]
            story.append(
                para(
                    f"{r.constituency_name}: "
                    + (", ".join(names) if names else "không có người trúng cử")
                    + f" ({status_words(r.status).vi}).",
                    Styles.item,
                )
            )
    for r in to_add:
        story.append(
            para(
                f"{r.constituency_name}: {status_words(r.status).vi}, còn thiếu "
                f"{r.seats - r.seats_filled} đại biểu (chưa tổ chức).",
                Styles.item,
            )
        )
    if not supplementary and not to_add:
        story.append(para("Không có.", Styles.item))
    others = [
        r
        for r in results
        if r.status in ("seats_left_empty", "unresolved_tie", "partial", "no_results")
    ]
    if others:
        story.append(para("Đơn vị bầu cử cần xử lý tiếp", Styles.section))
        for r in others:
            con = election.constituencies[(r.race_id, r.constituency_id)]
            lines = _outcome_lines(election, race, con, r, {c.id: c for c in r.candidates})
            story.append(rich(f"{b(r.constituency_name)}: " + escape(nfc(" ".join(lines)))))
    missing = [(r, a) for r in main for a in r.missing_area_ids]
    if missing:
        story.append(para("Khu vực bỏ phiếu chưa có biên bản kết quả kiểm phiếu", Styles.section))
        story.append(
            grid_table(
                ["STT", "Đơn vị bầu cử", "Số khu vực chưa có biên bản", "Mã khu vực bỏ phiếu"],
                [
                    [
                        str(i),
                        r.constituency_name,
                        f"{len(r.missing_area_ids)}/{r.areas_total}",
                        ", ".join(r.missing_area_ids),
                    ]  # fmt: skip
                    for i, r in enumerate((r for r in main if r.missing_area_ids), start=1)
                ],
                [11 * mm, 52 * mm, 28 * mm, CONTENT_WIDTH - 91 * mm],
                align="clrl",
                small=True,
            )
        )
    complaints = (
        f"các Tổ bầu cử đã nhận {vn_int(_total(main, 'complaints_received'))}, đã giải quyết "
        f"{vn_int(_total(main, 'complaints_resolved'))}, chuyển đến Ban bầu cử "
        f"{vn_int(_total(main, 'complaints_forwarded'))}"
    )
    tail = len(story)
    if nec:
        story += _blank_answer("7. Những việc quan trọng đã xảy ra:")
        story += _blank_answer(f"8. Những khiếu nại, tố cáo do {NEC} đã giải quyết ({complaints}):")
    elif na:
        story += _blank_answer(
            f"7. Những khiếu nại, tố cáo do các Tổ bầu cử, Ban bầu cử đã giải quyết ({complaints}):"
        )
        story += _blank_answer("8. Những việc quan trọng đã xảy ra và cách giải quyết:")
        story += _blank_answer(f"9. Những khiếu nại, tố cáo do {who} đã giải quyết:")
        story += _blank_answer(f"10. Những khiếu nại, tố cáo và kiến nghị chuyển đến {NEC}:")
    else:
        story.append(para(f"Khiếu nại, tố cáo: {complaints}.", Styles.item))
        story += _blank_answer("7. Những việc quan trọng đã xảy ra và kết quả giải quyết:")
        story += _blank_answer(f"8. Những khiếu nại, tố cáo do {who} đã giải quyết:")
    if nec:
        recipients = (
            f"Ủy ban thường vụ Quốc hội, Chính phủ, {FRONT_CENTRAL}, và trình Quốc hội khóa mới"
        )
        signers: list[Signer | None] = [
            (["Các Phó Chủ tịch", NEC], SIGN, None),
            (["TM. " + NEC, "Chủ tịch"], "(Ký, ghi rõ họ và tên, đóng dấu)", None),
        ]
    else:
        if na:
            recipients = f"{NEC}, Ủy ban thường vụ Quốc hội, {FRONT_CENTRAL}, {FRONT} {place}"
        elif committee.level == "province":
            recipients = (
                f"Thường trực Hội đồng nhân dân, Ủy ban nhân dân, Ban thường trực {FRONT} "
                f"{place}, Ủy ban thường vụ Quốc hội, Chính phủ, {FRONT_CENTRAL}"
            )
        else:
            recipients = (
                f"Thường trực Hội đồng nhân dân, Ủy ban nhân dân, Ban thường trực {FRONT} "
                f"{place}; Thường trực Hội đồng nhân dân, Ủy ban nhân dân, Ban thường trực "
                f"{FRONT} {province_place(election, committee.id)}"
            )
        signers = [
            (["Các Phó Chủ tịch", "Ủy ban bầu cử"], SIGN, None),
            (["TM. Ủy ban bầu cử", "Chủ tịch"], "(Ký, ghi rõ họ và tên, đóng dấu)", None),
        ]
    # the last two items of the form stay on the signatures' page
    last = [*_cut(story, max(tail, len(story) - 4)), para(_copies(form, recipients))]
    story.append(closing(last, signature_block([signers]), FOOTER_NOTE))
    return story


def _finals(
    election: Election, results: Sequence[ConstituencyResult]
) -> dict[tuple[str, str], FinalResult]:
    rounds: dict[tuple[str, str], list[ConstituencyResult]] = {}
    for r in results:
        rounds.setdefault((r.race_id, r.constituency_id), []).append(r)
    return {
        key: final_of(mine, election.constituencies[key].seats)
        for key, mine in rounds.items()
        if key in election.constituencies
    }
