"""The three official sheets, laid out after the 2021 forms.

- ``constituency_sheet``: Biên bản xác định kết quả bầu cử ở đơn vị bầu cử
  (made by the election board, Ban bầu cử, of one constituency);
- ``polling_area_sheet``: Biên bản kết quả kiểm phiếu (one polling team, one race);
- ``summary_sheets``: Biên bản tổng kết cuộc bầu cử (one committee, per race).

Each returns platypus flowables; ``document.write_pdf`` puts them on pages
with the fingerprint footer. Figures are printed as the law's minutes print
them: ``vn_int`` (293.079) and ``vn_percent`` (75,08%), percentages rounded
half up by ``tally_server.core.numbers``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from schemas.models import CountingMinutes, Race
from tally_server.core.definition import Election
from tally_server.core.glossary import ELECTED_IN, FIELD, FINAL_RESULT, ROUND, status_words
from tally_server.core.numbers import percent, shares, vn_int, vn_percent
from tally_server.core.tally import CandidateResult, ConstituencyResult, FinalResult, final_of
from tui.errors import SheetError
from tui.pdf.document import (
    CONTENT_WIDTH,
    Styles,
    b,
    figures_table,
    grid_table,
    national_heading,
    nfc,
    para,
    rich,
    signature_block,
    title,
    upper,
)

SIGN_HINT = "(Ký, ghi rõ họ tên)"
ROUND_TITLE = {r: upper(ROUND[r].vi) for r in ("revote", "supplementary")}


def _pct(value: str | Decimal) -> str:
    return vn_percent(Decimal(value))


def _date_vi(day: dt.date) -> str:
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


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


def _committee_name(election: Election, committee_id: str) -> str:
    committee = election.committees.get(committee_id)
    return committee.name if committee else committee_id


def _majority_votes(valid: int) -> int:
    """The fewest votes that are more than half of ``valid`` (2·v > valid)."""
    return valid // 2 + 1


# --- constituency result minutes ----------------------------------------------------


def constituency_sheet(
    election: Election,
    result: ConstituencyResult,
    *,
    made_on: dt.date,
    final: FinalResult | None = None,
) -> list[Flowable]:
    """Biên bản xác định kết quả bầu cử ở đơn vị bầu cử, of one round. A later round
    (bầu cử lại, bầu cử thêm) is named under the title and opens with why it was
    held; given the constituency's ``final`` result, it ends with who was elected
    in which round."""
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
    board = f"Ban bầu cử {r.constituency_name}"
    story: list[Flowable] = [
        national_heading([_committee_name(election, r.committee_id), board], d.place, made_on)
    ]
    heading = [
        "BIÊN BẢN XÁC ĐỊNH KẾT QUẢ BẦU CỬ Ở ĐƠN VỊ BẦU CỬ",
        upper(f"Bầu cử {race.name}"),
        upper(r.constituency_name),
    ]
    if r.round in ROUND_TITLE:
        heading.append(f"({ROUND_TITLE[r.round]})")
    story += title(heading)
    if r.status in ("partial", "no_results"):
        story.append(
            para(
                "KẾT QUẢ TẠM THỜI — CHƯA ĐỦ BIÊN BẢN CỦA CÁC KHU VỰC BỎ PHIẾU, "
                "CHƯA XÁC ĐỊNH NGƯỜI TRÚNG CỬ",
                Styles.provisional,
            )
        )
    con = election.constituencies[key]
    held = ROUND[r.round].vi  # "vòng đầu", "bầu cử lại", "bầu cử thêm"
    if r.round != "main":
        story.append(para(_why_held(race, r, con.seats)))
    story.append(
        para(
            f"Cuộc bầu cử {d.name}, tổ chức {_date_vi(d.date)} tại {d.place}. "
            f"{board} đã tổng hợp {r.areas_reported}/{r.areas_total} biên bản kết quả kiểm "
            f"phiếu của các Tổ bầu cử và xác định kết quả "
            + ("bầu cử ở đơn vị bầu cử như sau:" if r.round == "main" else f"{held} như sau:")
        )
    )
    valid_pct, invalid_pct = r.valid_pct, r.invalid_pct
    seats_rows = [(f"{FIELD['seats'].vi} ở đơn vị bầu cử", vn_int(con.seats), "")]
    if r.round == "supplementary":
        seats_rows.append(("Số đại biểu bầu thêm (số ghế còn thiếu)", vn_int(r.seats), ""))
    story.append(
        figures_table(
            [
                *seats_rows,
                (
                    FIELD["candidates"].vi
                    + (" có tên trên phiếu bầu cử thêm" if r.round == "supplementary" else ""),
                    vn_int(len(r.candidates)),
                    "",
                ),
                (
                    FIELD["areas_reported"].vi,
                    f"{vn_int(r.areas_reported)}/{vn_int(r.areas_total)}",
                    "",
                ),
                (f"{FIELD['voters_on_list'].vi} của đơn vị bầu cử", vn_int(r.voters_on_list), ""),
                (
                    FIELD["voters_voted"].vi,
                    vn_int(r.voters_voted),
                    f"đạt {_pct(r.turnout_pct)} so với tổng số cử tri",
                ),
                (FIELD["ballots_issued"].vi, vn_int(r.ballots_issued), ""),
                (FIELD["ballots_received"].vi, vn_int(r.ballots_received), ""),
                (
                    FIELD["valid_ballots"].vi,
                    vn_int(r.valid_ballots),
                    f"bằng {_pct(valid_pct)} so với số phiếu thu vào",
                ),
                (
                    FIELD["invalid_ballots"].vi,
                    vn_int(r.invalid_ballots),
                    f"bằng {_pct(invalid_pct)} so với số phiếu thu vào",
                ),
            ]
        )
    )
    story.append(para("Số phiếu bầu cho mỗi người ứng cử", Styles.section))
    majority = _majority_votes(r.valid_ballots)
    story.append(
        para(
            f"Người trúng cử phải được quá một nửa (trên 50%) tổng số phiếu hợp lệ: "
            f"từ {vn_int(majority)} phiếu trở lên trên {vn_int(r.valid_ballots)} phiếu hợp lệ.",
            Styles.note,
        )
    )
    rows = []
    for i, c in enumerate(r.candidates, start=1):
        rows.append(
            [
                str(i),
                c.full_name,
                c.birth_date.strftime("%d/%m/%Y"),
                vn_int(c.votes),
                _pct(c.pct),
                "Có" if c.eligible else "Không",
                "Trúng cử" if c.elected else "",
            ]
        )
    story.append(
        grid_table(
            [
                "TT",
                "Họ và tên",
                "Ngày sinh",
                "Số phiếu bầu",
                "Tỷ lệ so với số phiếu hợp lệ",
                "Quá nửa số phiếu hợp lệ",
                "Kết quả",
            ],
            rows,
            [10 * mm, 46 * mm, 26 * mm, 20 * mm, 24 * mm, 24 * mm, CONTENT_WIDTH - 150 * mm],
            align="clcrrcc",
        )
    )
    story.append(para("Những người trúng cử", Styles.section))
    by_id = {c.id: c for c in r.candidates}
    if r.winners:
        story.append(
            para("Xếp theo số phiếu bầu từ cao xuống thấp:", Styles.note),
        )
        story.append(
            grid_table(
                ["TT", "Họ và tên", "Số phiếu bầu", "Tỷ lệ"],
                [
                    [str(i), by_id[w].full_name, vn_int(by_id[w].votes), _pct(by_id[w].pct)]
                    for i, w in enumerate(r.winners, start=1)
                    if w in by_id
                ],
                [10 * mm, 90 * mm, 35 * mm, CONTENT_WIDTH - 135 * mm],
                align="clrr",
            )
        )
    else:
        story.append(para("Không có người trúng cử.", Styles.body))
    story.append(para("Kết luận", Styles.section))
    for line in _outcome_lines(election, race, r, by_id):
        story.append(para(line))
    if final is not None and r.round != "main":
        story += _final_block(final)
    story.append(para("Khiếu nại, tố cáo", Styles.section))
    story.append(
        para(
            f"Các Tổ bầu cử đã nhận {vn_int(r.complaints_received)}, đã giải quyết "
            f"{vn_int(r.complaints_resolved)}, chuyển đến Ban bầu cử "
            f"{vn_int(r.complaints_forwarded)}. Ban bầu cử đã giải quyết: ……… ; "
            f"chuyển đến {_committee_name(election, r.committee_id)}: ……… ."
        )
    )
    story.append(
        para(
            "Biên bản được in từ hệ thống kiểm phiếu; dấu vân tay ở chân trang cho phép đối "
            "chiếu bản giấy với sổ cái điện tử.",
            Styles.note,
        )
    )
    story.append(
        signature_block(
            [("Trưởng ban", None), ("Phó Trưởng ban", None), ("Thư ký", None)], SIGN_HINT
        )
    )
    return story


def _decider(race: Race) -> str:
    """Who decides a re-vote or a supplementary round."""
    if race.level == "national_assembly":
        return "Hội đồng bầu cử quốc gia"
    return "cơ quan có thẩm quyền"


def _why_held(race: Race, r: ConstituencyResult, seats: int) -> str:
    """The sentence that opens a later round's minutes, after the form's (19/HĐBC-QH,
    24/HĐBC-HĐND): why the round was held, and what it was for."""
    if r.round == "revote":
        return (
            "Vì số cử tri đi bỏ phiếu chưa đạt quá nửa tổng số cử tri của đơn vị bầu cử, nên "
            "cuộc bầu cử ở vòng đầu tại đơn vị bầu cử không có giá trị; "
            f"{_decider(race)} đã quyết định việc bầu cử lại tại đơn vị bầu cử, với danh sách "
            "người ứng cử của vòng đầu. Kết quả bầu cử lại như sau:"
        )
    return (
        "Vì số người trúng cử chưa đủ số lượng đại biểu được bầu đã ấn định cho đơn vị bầu "
        f"cử ({seats - r.seats}/{seats}), {_decider(race)} đã quyết định việc bầu cử thêm "
        f"{r.seats} đại biểu tại đơn vị bầu cử; chỉ những người ứng cử chưa trúng cử có tên "
        "trên phiếu bầu. Kết quả bầu cử thêm như sau:"
    )


def _final_block(final: FinalResult) -> list[Flowable]:
    """The constituency's result over its rounds: who was elected in which round, and
    how many seats are filled (the form's "nay đã bầu được… đại biểu, còn thiếu…")."""
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
                ["TT", "Họ và tên", ELECTED_IN.title().vi, "Số phiếu bầu", "Tỷ lệ"],
                [
                    [str(i), e.full_name, ROUND[e.round].title().vi, vn_int(e.votes), _pct(e.pct)]
                    for i, e in enumerate(final.elected, start=1)
                ],
                [10 * mm, 70 * mm, 35 * mm, 30 * mm, CONTENT_WIDTH - 145 * mm],
                align="cllrr",
            )
        )
    return story


def _outcome_lines(
    election: Election, race: Race, r: ConstituencyResult, by_id: Mapping[str, CandidateResult]
) -> list[str]:
    lines = [f"{FIELD['status'].vi}: {status_words(r.status).vi}."]
    missing = r.seats - r.seats_filled
    if r.round == "supplementary" and r.status == "seats_left_empty":
        lines.append(
            f"Bầu cử thêm được {r.seats_filled}/{r.seats} đại biểu; không bầu cử thêm lần thứ "
            f"hai: {missing} ghế để trống."
        )
    elif r.status == "no_results":
        lines.append("Chưa có biên bản kết quả kiểm phiếu nào của các Tổ bầu cử.")
    elif r.status == "partial":
        names = [
            f"{a} ({election.polling_areas[a].name})" if a in election.polling_areas else a
            for a in r.missing_area_ids
        ]
        lines.append("Chưa có biên bản của khu vực bỏ phiếu: " + ", ".join(names) + ".")
    elif r.status == "elected":
        lines.append(f"Đã bầu đủ {r.seats_filled}/{r.seats} đại biểu.")
    elif r.status == "revote":
        lines.append(
            f"Số cử tri đã tham gia bỏ phiếu ({vn_int(r.voters_voted)}, {_pct(r.turnout_pct)}) "
            f"chưa quá một nửa tổng số cử tri ({vn_int(r.voters_on_list)}): "
            "đề nghị tổ chức bầu cử lại ở đơn vị bầu cử này."
        )
    elif r.status == "supplementary_proposed":
        lines.append(
            f"Số người trúng cử ({r.seats_filled}) ít hơn số đại biểu được bầu ({r.seats}): "
            f"đề nghị bầu cử thêm {missing} đại biểu ({_decider(race)} quyết định)."
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
    if r.notes_vi and r.notes_vi not in lines:
        lines.append(f"Ghi chú: {r.notes_vi}")
    return lines


# --- counting minutes of a polling team ---------------------------------------------


def polling_area_sheet(
    election: Election,
    minutes: CountingMinutes,
    *,
    made_on: dt.date,
    correction_note: str | None = None,
) -> list[Flowable]:
    """Biên bản kết quả kiểm phiếu of one polling team for one race."""
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
    team = f"Tổ bầu cử {area.name}"
    story: list[Flowable] = [
        national_heading([con.name, team, area.admin_unit], area.admin_unit, made_on)
    ]
    heading = ["BIÊN BẢN KẾT QUẢ KIỂM PHIẾU", upper(f"Bầu cử {race.name}")]
    if m.round in ROUND_TITLE:
        heading.append(f"({ROUND_TITLE[m.round]})")
    story += title(heading)
    story.append(
        para(
            f"{team} ({area.admin_unit}), thuộc {con.name}, đã kiểm phiếu cuộc bầu cử "
            f"{_date_vi(election.definition.date)}. Kết quả như sau:"
        )
    )
    if correction_note:
        story.append(para(correction_note, Styles.note))
    valid_pct, invalid_pct = shares([m.valid_ballots, m.invalid_ballots])
    if m.ballots_received == 0:
        valid_pct = invalid_pct = Decimal("0.00")
    story.append(
        figures_table(
            [
                (
                    f"{FIELD['voters_on_list'].vi} của khu vực bỏ phiếu",
                    vn_int(m.voters_on_list),
                    "",
                ),
                (
                    FIELD["voters_voted"].vi,
                    vn_int(m.voters_voted),
                    f"đạt {_pct(percent(m.voters_voted, m.voters_on_list))} so với tổng số cử tri",
                ),
                (FIELD["ballots_issued"].vi, vn_int(m.ballots_issued), ""),
                (FIELD["ballots_received"].vi, vn_int(m.ballots_received), ""),
                (
                    FIELD["valid_ballots"].vi,
                    vn_int(m.valid_ballots),
                    f"bằng {_pct(valid_pct)} so với số phiếu thu vào",
                ),
                (
                    FIELD["invalid_ballots"].vi,
                    vn_int(m.invalid_ballots),
                    f"bằng {_pct(invalid_pct)} so với số phiếu thu vào",
                ),
            ]
        )
    )
    story.append(para("Số phiếu bầu cho mỗi người ứng cử", Styles.section))
    rows = []
    names = {c.id: c.full_name for c in con.candidates}
    for i, (cid, votes) in enumerate(m.candidate_votes.items(), start=1):
        rows.append(
            [str(i), names.get(cid, cid), vn_int(votes), _pct(percent(votes, m.valid_ballots))]
        )
    story.append(
        grid_table(
            ["TT", "Họ và tên người ứng cử", "Số phiếu bầu", "Tỷ lệ so với số phiếu hợp lệ"],
            rows,
            [10 * mm, 95 * mm, 30 * mm, CONTENT_WIDTH - 135 * mm],
            align="clrr",
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
    story.append(para("Khiếu nại, tố cáo", Styles.section))
    story.append(
        para(
            f"Nhận được {vn_int(c.received)}; Tổ bầu cử đã giải quyết {vn_int(c.resolved)}; "
            f"chuyển đến Ban bầu cử {vn_int(c.forwarded)}."
        )
    )
    if m.explanations:
        story.append(para("Giải trình", Styles.section))
        for code, text in sorted(m.explanations.items()):
            story.append(rich(f"{b(code)}: {escape(nfc(text))}"))
    story.append(Spacer(1, 4))
    signed: dict[str, list[str | None]] = {"head": [], "secretary": [], "witness": []}
    for s in m.signatories:
        signed[s.role].append(s.full_name)
    witnesses = signed["witness"] + [None] * max(0, 2 - len(signed["witness"]))
    story.append(
        signature_block(
            [
                ("Tổ trưởng", (signed["head"] or [None])[0]),
                ("Thư ký", (signed["secretary"] or [None])[0]),
                *[("Cử tri chứng kiến", w) for w in witnesses[:2]],
            ],
            SIGN_HINT,
            per_row=4,
        )
    )
    return story


# --- summary minutes of a committee --------------------------------------------------


def summary_sheets(
    election: Election,
    committee_id: str,
    results: Sequence[ConstituencyResult],
    *,
    made_on: dt.date,
) -> list[list[Flowable]]:
    """Biên bản tổng kết cuộc bầu cử of one committee: one sheet per race whose
    constituencies the committee runs."""
    committee = election.committees.get(committee_id)
    if committee is None:
        raise SheetError(
            en=f"Committee {committee_id} is not in election {election.id}.",
            vi=f"Ủy ban bầu cử {committee_id} không có trong định nghĩa {election.id}.",
            fields=("committee_id",),
            figures={"committee_id": committee_id},
        )
    mine = [r for r in results if r.committee_id == committee_id]
    if not mine:
        raise SheetError(
            en=f"Committee {committee_id} runs no constituency with results.",
            vi=f"Ủy ban bầu cử {committee_id} không phụ trách đơn vị bầu cử nào có kết quả.",
            fields=("committee_id",),
            figures={"committee_id": committee_id},
        )
    sheets = []
    for race in election.definition.races:
        race_results = [r for r in mine if r.race_id == race.id]
        if race_results:
            sheets.append(_summary_for_race(election, committee_id, race, race_results, made_on))
    return sheets


def _summary_for_race(
    election: Election,
    committee_id: str,
    race: Race,
    results: Sequence[ConstituencyResult],
    made_on: dt.date,
) -> list[Flowable]:
    d = election.definition
    committee = election.committees[committee_id]
    parent = election.committees.get(committee.parent_id or "")
    body = [parent.name, committee.name] if parent else [committee.name]
    story: list[Flowable] = [national_heading(body, d.place, made_on)]
    story += title(
        ["BIÊN BẢN TỔNG KẾT CUỘC BẦU CỬ", upper(f"Bầu cử {race.name}"), upper(committee.name)]
    )
    main = [r for r in results if r.round == "main"]
    provisional = any(r.status in ("partial", "no_results") for r in results)
    if provisional:
        story.append(
            para(
                "KẾT QUẢ TẠM THỜI — CÒN ĐƠN VỊ BẦU CỬ CHƯA ĐỦ BIÊN BẢN",
                Styles.provisional,
            )
        )
    story.append(
        para(
            f"Cuộc bầu cử {d.name}, tổ chức {_date_vi(d.date)} tại {d.place}. "
            f"{committee.name} tổng kết kết quả bầu cử ở {len(main)} đơn vị bầu cử như sau:"
        )
    )

    def total(attr: str) -> int:
        return sum(int(getattr(r, attr)) for r in main)

    on_list, voted = total("voters_on_list"), total("voters_voted")
    valid, invalid = total("valid_ballots"), total("invalid_ballots")
    received = total("ballots_received")
    valid_pct, invalid_pct = shares([valid, invalid])
    if received == 0:
        valid_pct = invalid_pct = Decimal("0.00")
    winners_total = sum(len(r.winners) for r in results)
    story.append(
        figures_table(
            [
                ("Số đơn vị bầu cử", vn_int(len(main)), ""),
                ("Tổng số đại biểu được bầu", vn_int(total("seats")), ""),
                ("Tổng số người ứng cử", vn_int(sum(len(r.candidates) for r in main)), ""),
                (
                    "Số khu vực bỏ phiếu đã có biên bản",
                    f"{vn_int(total('areas_reported'))}/{vn_int(total('areas_total'))}",
                    "",
                ),
                (FIELD["voters_on_list"].vi, vn_int(on_list), ""),
                (
                    FIELD["voters_voted"].vi,
                    vn_int(voted),
                    f"đạt {_pct(percent(voted, on_list))} so với tổng số cử tri",
                ),
                (FIELD["ballots_issued"].vi, vn_int(total("ballots_issued")), ""),
                (FIELD["ballots_received"].vi, vn_int(received), ""),
                (
                    FIELD["valid_ballots"].vi,
                    vn_int(valid),
                    f"bằng {_pct(valid_pct)} so với số phiếu thu vào",
                ),
                (
                    FIELD["invalid_ballots"].vi,
                    vn_int(invalid),
                    f"bằng {_pct(invalid_pct)} so với số phiếu thu vào",
                ),
                ("Số người trúng cử", vn_int(winners_total), ""),
            ]
        )
    )
    story.append(para("Kết quả ở từng đơn vị bầu cử", Styles.section))
    story.append(
        grid_table(
            ["Đơn vị bầu cử", "Số ghế", "Cử tri", "Tỷ lệ đi bầu", "Trúng cử", FIELD["status"].vi],
            [
                [
                    r.constituency_name
                    + (f" ({ROUND_TITLE[r.round]})" if r.round != "main" else ""),
                    vn_int(r.seats),
                    vn_int(r.voters_on_list),
                    _pct(r.turnout_pct),
                    f"{r.seats_filled}/{r.seats}",
                    status_words(r.status).vi,
                ]
                for r in results
            ],
            [52 * mm, 15 * mm, 24 * mm, 22 * mm, 18 * mm, CONTENT_WIDTH - 131 * mm],
            align="lrrrcl",
        )
    )
    story.append(para("Danh sách những người trúng cử theo đơn vị bầu cử", Styles.section))
    rounds: dict[tuple[str, str], list[ConstituencyResult]] = {}
    for r in results:
        rounds.setdefault((r.race_id, r.constituency_id), []).append(r)
    finals = [
        final_of(mine, election.constituencies[key].seats)
        for key, mine in rounds.items()
        if key in election.constituencies
    ]
    winner_rows = [
        [f.constituency_name, e.full_name, ROUND[e.round].title().vi, vn_int(e.votes), _pct(e.pct)]
        for f in finals
        for e in f.elected
    ]
    if winner_rows:
        story.append(
            grid_table(
                ["Đơn vị bầu cử", "Họ và tên", ELECTED_IN.title().vi, "Số phiếu bầu", "Tỷ lệ"],
                winner_rows,
                [46 * mm, 54 * mm, 26 * mm, 24 * mm, CONTENT_WIDTH - 150 * mm],
                align="lllrr",
            )
        )
    else:
        story.append(para("Chưa có người trúng cử.", Styles.body))
    # Where the constituency stands is its latest round's outcome (a supplementary
    # round settles what the main round proposed).
    latest = {key: mine[-1] for key, mine in rounds.items()}
    action = [r for r in latest.values() if r.status not in ("elected",)]
    if action:
        story.append(para("Đơn vị bầu cử cần xử lý tiếp", Styles.section))
        for r in action:
            lines = _outcome_lines(election, race, r, {c.id: c for c in r.candidates})
            story.append(rich(f"{b(r.constituency_name)}: " + escape(nfc(" ".join(lines)))))
    story.append(para("Khiếu nại, tố cáo", Styles.section))
    story.append(
        para(
            f"Các Tổ bầu cử đã nhận {vn_int(total('complaints_received'))}, đã giải quyết "
            f"{vn_int(total('complaints_resolved'))}, chuyển đến Ban bầu cử "
            f"{vn_int(total('complaints_forwarded'))}."
        )
    )
    story.append(para("Những sự việc quan trọng", Styles.section))
    story.append(para("…………………………………………………………………………………………………………"))
    story.append(
        signature_block(
            [("Chủ tịch", None), ("Phó Chủ tịch", None), ("Thư ký", None)],
            "(Ký, ghi rõ họ tên và đóng dấu)",
        )
    )
    return story
