"""Every word the system shows for the law's decisions, in Vietnamese and English:
statuses, rounds, the reasons of a determination, the rules' titles and the
fields of the counting minutes, in the legal terms of the law and the 2026 forms
(Nghị quyết 40/NQ-HĐBCQG). The CLI, the server, the dashboard and the sheets word
a status from here and nowhere else.

A wording is a ``Words`` record with named fields: Vietnamese and English cannot
be swapped by position. ``notes`` words a ``Determination``; the tally keeps
those notes in each result (the published ``results_sha256`` covers them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from schemas.models import Candidate, Round
from tally_server.core.decision import (
    Determination,
    Reason,
    ReasonCode,
    Status,
)
from tally_server.core.numbers import percent, vn_int, vn_percent

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


@dataclass(frozen=True, slots=True)
class Words:
    """One wording in both languages."""

    vi: str
    en: str

    def of(self, lang: Lang) -> str:
        return self.vi if lang == "vi" else self.en

    def both(self, sep: str = " / ") -> str:
        """'Đã bầu đủ / All seats filled': how the command line prints a wording."""
        return f"{self.vi}{sep}{self.en}"

    def title(self) -> Words:
        """The first letter of each capitalised, for a label ('bầu cử thêm' → 'Bầu cử thêm')."""
        return Words(self.vi[:1].upper() + self.vi[1:], self.en[:1].upper() + self.en[1:])


# --- statuses and rounds --------------------------------------------------------------

STATUS: dict[Status, Words] = {
    "no_results": Words("Chưa có kết quả", "No results"),
    "partial": Words("Đang tổng hợp", "Partial"),
    "elected": Words("Đã bầu đủ", "All seats filled"),
    "revote": Words("Phải bầu cử lại", "Re-vote required"),
    "supplementary_proposed": Words("Đề nghị bầu cử thêm", "Supplementary election proposed"),
    "seats_left_empty": Words("Để trống ghế còn thiếu", "Seats left empty"),
    "unresolved_tie": Words("Bằng phiếu chưa xác định", "Unresolved tie"),
}

ROUND: dict[Round, Words] = {
    "main": Words("vòng đầu", "main round"),
    "revote": Words("bầu cử lại", "re-vote"),
    "supplementary": Words("bầu cử thêm", "supplementary round"),
}
"""As a sentence says it; ``.title()`` for a label."""

NO_SUPPLEMENTARY: dict[Status, Words] = {
    "elected": Words("đã bầu đủ số đại biểu", "every seat is filled"),
    "revote": Words(
        "số cử tri đi bầu chưa quá một nửa: phải bầu cử lại",
        "turnout was not more than half: a re-vote is required",
    ),
    "seats_left_empty": Words(
        "đã đạt hai phần ba số đại biểu: để trống ghế còn thiếu",
        "at least two thirds of the seats are filled: the rest stay empty",
    ),
    "unresolved_tie": Words(
        "còn bằng phiếu chưa xác định ở ghế cuối",
        "a tie for the last seat is unresolved",
    ),
    "supplementary_proposed": Words("không còn ghế trống", "no seat is open"),
}
"""Why a first round with this status admits no supplementary round (rule E109)."""


def status_words(status: str) -> Words:
    """A status's wording; an unknown one (a newer server) is shown as its code."""
    found = STATUS.get(status)  # type: ignore[call-overload]
    return found if found is not None else Words(status, status)


def round_words(round_: str) -> Words:
    """A round's label; an unknown one is shown as its code."""
    found = ROUND.get(round_)  # type: ignore[call-overload]
    return found.title() if found is not None else Words(round_, round_)


# --- fields of the counting minutes and of a result -----------------------------------

FIELD: dict[str, Words] = {
    "seats": Words("Số đại biểu được bầu", "Seats"),
    "candidates": Words("Số người ứng cử", "Candidates"),
    "areas_reported": Words("Số khu vực bỏ phiếu đã có biên bản", "Polling areas reported"),
    "voters_on_list": Words("Tổng số cử tri", "Voters on the list"),
    "voters_voted": Words("Số cử tri đã tham gia bỏ phiếu", "Voters who voted"),
    "turnout_pct": Words("Tỷ lệ cử tri đã tham gia bỏ phiếu", "Turnout"),
    "ballots_issued": Words("Số phiếu phát ra", "Ballots issued"),
    "ballots_received": Words("Số phiếu thu vào", "Ballots received"),
    "valid_ballots": Words("Số phiếu hợp lệ", "Valid ballots"),
    "invalid_ballots": Words("Số phiếu không hợp lệ", "Invalid ballots"),
    "votes": Words("Số phiếu bầu", "Votes"),
    "winners": Words("Người trúng cử", "Elected"),
    "unresolved_tie": Words("Bằng phiếu chưa xác định", "Unresolved tie"),
    "status": Words("Tình trạng", "Status"),
}
"""The labels of the minutes (forms 18 and 19/HĐBC-QH) and of a result's fields."""


# --- the reasons of a determination ---------------------------------------------------

REASON: dict[ReasonCode, Words] = {
    "no_minutes": Words("Chưa có biên bản kiểm phiếu nào.", "No counting minutes yet."),
    "areas_missing": Words(
        "Đã nhận {areas_reported}/{areas_total} khu vực bỏ phiếu; "
        "số liệu tạm tính, chưa xác định người trúng cử.",
        "{areas_reported} of {areas_total} polling areas reported; "
        "provisional figures, no winners declared.",
    ),
    "turnout_not_over_half": Words(
        "Số cử tri đi bầu ({turnout}) chưa quá một nửa tổng số cử tri: "
        "không có người trúng cử, phải bầu cử lại.",
        "Turnout ({turnout}) is not more than half of the voters on the list: "
        "no one is elected and a re-vote is required.",
    ),
    "revote_turnout_stands": Words(
        "Bầu cử lại có số cử tri đi bầu ({turnout}) vẫn chưa quá một nửa: "
        "kết quả được công nhận, không bầu cử lại lần thứ hai.",
        "The re-vote's turnout ({turnout}) is still not more than half: "
        "its result stands; there is no second re-vote.",
    ),
    "all_seats_filled": Words(
        "Bầu đủ {seats_filled}/{seats} đại biểu.", "All {seats} seat(s) filled."
    ),
    "seats_short": Words(
        "Mới bầu được {seats_filled}/{seats} đại biểu, còn thiếu {seats_empty}.",
        "Only {seats_filled} of {seats} seat(s) filled; {seats_empty} short.",
    ),
    "tie_older_elected": Words(
        "Bằng phiếu ({votes}) ở ghế cuối: {tied}; người nhiều tuổi hơn trúng cử: {older}.",
        "Tied on {votes} votes for the last seat(s): {tied}; the older win: {older}.",
    ),
    "elected": Words("Trúng cử: {winners}.", "Elected: {winners}."),
    "majority_not_seated": Words(
        "{candidates} người khác được quá một nửa số phiếu hợp lệ nhưng không trúng cử "
        "vì đã đủ số đại biểu.",
        "{candidates} more candidate(s) had over half the valid ballots but all seats are filled.",
    ),
    "tie_same_birth_date": Words(
        "Bằng phiếu ({votes}) và cùng ngày sinh ({born}) ở ghế cuối: {tied}; "
        "luật không quy định cách xác định, cần cơ quan có thẩm quyền quyết định.",
        "Tied on {votes} votes with the same birth date ({born}) for the last seat(s): "
        "{tied}; the law has no rule for this, the competent body must decide.",
    ),
    "no_second_supplementary": Words(
        "Không bầu cử thêm lần thứ hai: để trống số ghế còn thiếu.",
        "There is no second supplementary election: the seats stay empty.",
    ),
    "council_decides": Words(
        "Đề nghị Hội đồng bầu cử quốc gia xem xét tổ chức bầu cử thêm.",
        "A supplementary election is proposed; the National Election Council decides.",
    ),
    "under_two_thirds": Words(
        "Số người trúng cử chưa đạt hai phần ba số đại biểu: bầu cử thêm.",
        "Fewer than two thirds of the seats filled: a supplementary election.",
    ),
    "two_thirds_reached": Words(
        "Đã đạt hai phần ba số đại biểu: không bầu cử thêm, để trống ghế còn thiếu.",
        "At least two thirds of the seats filled: the rest stay empty.",
    ),
}
"""Templates: ``{figure}`` is the reason's figure (``decision.ReasonCode``), written
as the minutes write numbers; ``{turnout}``, ``{winners}``, ``{tied}``, ``{older}``
and ``{born}`` are worded from the determination."""


def _who(c: Candidate) -> str:
    return f"{c.full_name} ({c.id})"


def _born(c: Candidate) -> str:
    return c.birth_date.strftime("%d/%m/%Y")


def reason_words(reason: Reason, det: Determination, candidates: Mapping[str, Candidate]) -> Words:
    """One reason as a sentence in each language, with its figures."""
    f = reason.figures
    vi = {k: vn_int(n) for k, n in f.items()}
    en = dict(vi)
    if reason.code in ("turnout_not_over_half", "revote_turnout_stands"):
        t, v = f["voters_voted"], f["voters_on_list"]
        vi["turnout"] = en["turnout"] = f"{vn_int(t)}/{vn_int(v)} = {vn_percent(percent(t, v))}"
    elif reason.code == "elected":
        vi["winners"] = en["winners"] = ", ".join(_who(candidates[w]) for w in det.winners)
    elif reason.code in ("tie_older_elected", "tie_same_birth_date") and det.tie is not None:
        tied = [candidates[c] for c in det.tie.tied]
        if reason.code == "tie_older_elected":
            vi["tied"] = ", ".join(f"{_who(c)} (sinh {_born(c)})" for c in tied)
            en["tied"] = ", ".join(f"{_who(c)} (born {_born(c)})" for c in tied)
            vi["older"] = en["older"] = ", ".join(_who(candidates[c]) for c in det.tie.elected)
        else:
            vi["tied"] = en["tied"] = ", ".join(_who(c) for c in tied)
            vi["born"] = en["born"] = _born(tied[0])
    template = REASON[reason.code]
    return Words(template.vi.format(**vi), template.en.format(**en))


def notes(det: Determination, candidates: Iterable[Candidate]) -> Words:
    """The determination as the result's notes: its reasons, one sentence each."""
    by_id = {c.id: c for c in candidates} if det.winners or det.tie else {}
    said = [reason_words(r, det, by_id) for r in det.reasons]
    return Words(" ".join(w.vi for w in said), " ".join(w.en for w in said))


class _Elected(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def round(self) -> Round: ...


def final_notes(elected: Sequence[_Elected], seats: int) -> Words:
    """A constituency's result over its rounds: who was elected, in which round."""
    vi = ", ".join(f"{e.full_name} ({e.id}, {ROUND[e.round].vi})" for e in elected)
    en = ", ".join(f"{e.full_name} ({e.id}, {ROUND[e.round].en})" for e in elected)
    return Words(
        f"Kết quả chung cuộc: {len(elected)}/{seats} đại biểu" + (f": {vi}." if elected else "."),
        f"Final result: {len(elected)} of {seats} seat(s) filled"
        + (f": {en}." if elected else "."),
    )


# --- the rules' titles ----------------------------------------------------------------

RULE_TITLE: dict[str, Words] = {
    "E100": Words(
        "Mọi số liệu là số nguyên không âm",
        "Every figure is a non-negative whole number",
    ),
    "E101": Words(
        "Cuộc bầu cử có trong định nghĩa",
        "The race is in the election definition",
    ),
    "E102": Words(
        "Đơn vị bầu cử thuộc cuộc bầu cử đó",
        "The constituency is one of that race's constituencies",
    ),
    "E103": Words(
        "Khu vực bỏ phiếu có trong định nghĩa",
        "The polling area is in the election definition",
    ),
    "E104": Words(
        "Cuộc bầu cử được tổ chức tại khu vực bỏ phiếu",
        "The race is held at the polling area",
    ),
    "E105": Words(
        "Khu vực bỏ phiếu thuộc đơn vị bầu cử ghi trong biên bản",
        "The polling area votes in the constituency the minutes name",
    ),
    "E106": Words(
        "Danh sách người ứng cử đúng danh sách của đơn vị bầu cử "
        "(bầu cử thêm: một phần của danh sách)",
        "Candidates are exactly the constituency's list "
        "(supplementary round: a non-empty part of it)",
    ),
    "E107": Words(
        "Phiếu hợp lệ theo số tên giữ lại: một nhóm cho mỗi ghế "
        "(bầu cử thêm: không phiếu nào giữ nhiều tên hơn số ghế còn thiếu)",
        "Valid ballots by names kept: one pile per seat "
        "(supplementary round: no ballot keeps more names than the seats still open)",
    ),
    "E108": Words(
        "Bầu cử thêm chỉ có những người ứng cử không trúng cử ở vòng đầu",
        "A supplementary round lists only candidates the first round did not elect",
    ),
    "E109": Words(
        "Bầu cử thêm chỉ khi vòng đầu còn thiếu người trúng cử và đề nghị bầu cử thêm",
        "A supplementary round follows only a first round that proposes one (seats still open)",
    ),
    "E110": Words(
        "Số cử tri đã bỏ phiếu ≤ tổng số cử tri",
        "Voters who voted ≤ voters on the list",
    ),
    "E111": Words(
        "Số phiếu thu vào ≤ số phiếu phát ra",
        "Ballots received ≤ ballots issued",
    ),
    "E112": Words(
        "Phiếu hợp lệ + phiếu không hợp lệ = phiếu thu vào",
        "Valid + invalid ballots = ballots received",
    ),
    "E113": Words(
        "Số phiếu bầu của mỗi người ≤ số phiếu hợp lệ",
        "Each candidate's votes ≤ valid ballots",
    ),
    "E114": Words(
        "Số phiếu hợp lệ ≤ tổng số phiếu bầu cho các ứng cử viên",
        "Valid ballots ≤ sum of all candidates' votes",
    ),
    "E115": Words(
        "Tổng số phiếu bầu cho các ứng cử viên ≤ số ghế × số phiếu hợp lệ "
        "(bầu cử thêm: số ghế còn thiếu)",
        "Sum of all candidates' votes ≤ seats × valid ballots "
        "(supplementary round: the seats still open)",
    ),
    "E116": Words(
        "Tổng các nhóm phiếu theo số tên = số phiếu hợp lệ",
        "Sum of the by-names piles = valid ballots",
    ),
    "E117": Words(
        "Σ k × (phiếu giữ k tên) = tổng số phiếu bầu cho các ứng cử viên",
        "Σ k × (ballots keeping k names) = sum of all candidates' votes",
    ),
    "E118": Words(
        "Biên bản bầu cử thêm được kiểm khi vòng đầu đã nhận đủ biên bản",
        "Supplementary minutes are checked once the first round has every polling area in",
    ),
    "E120": Words(
        "Khu vực bỏ phiếu của biên bản trùng với của lô",
        "Each minutes' polling area is the batch's",
    ),
    "E121": Words(
        "Mỗi cuộc bầu cử (và vòng) chỉ một biên bản trong một lô",
        "At most one minutes per race and round in a batch",
    ),
    "E122": Words(
        "Cuộc bầu cử được tổ chức tại khu vực bỏ phiếu của lô",
        "The race is held at the batch's polling area",
    ),
    "E123": Words(
        "Lô thuộc cuộc bầu cử này",
        "The batch belongs to this election",
    ),
    "E124": Words(
        "Một biên bản cho mỗi khu vực, cuộc bầu cử và vòng (kiểm phiếu ngoại tuyến)",
        "One minutes per polling area, race and round (offline tally)",
    ),
    "W200": Words(
        "Số phiếu phát ra khác số cử tri đã bỏ phiếu",
        "Ballots issued differ from voters who voted",
    ),
    "W201": Words(
        "Số phiếu thu vào khác số cử tri đã bỏ phiếu",
        "Ballots received differ from voters who voted",
    ),
    "W202": Words(
        "Khu vực bỏ phiếu có số cử tri ngoài khoảng thông thường",
        "Polling area outside the usual number of voters",
    ),
    "W203": Words(
        "Số cử tri giữa các cuộc bầu cử không theo thứ tự (Quốc hội ≥ tỉnh ≥ huyện ≥ xã)",
        "Voters on the list out of order across races (NA ≥ province ≥ district ≥ commune)",
    ),
    "W204": Words(
        "Tổng số cử tri khác số trong định nghĩa",
        "Voters on the list differ from the election definition",
    ),
    "W205": Words(
        "Tỷ lệ cử tri đi bầu rất cao",
        "Turnout very high",
    ),
    "W206": Words(
        "Tỷ lệ cử tri đi bầu thấp",
        "Turnout low",
    ),
    "W207": Words(
        "Tỷ lệ phiếu không hợp lệ cao",
        "High share of invalid ballots",
    ),
    "W208": Words(
        "Biên bản đính chính làm thay đổi số liệu",
        "A correction changes the figures",
    ),
    "D101": Words(
        "Số đại biểu được bầu của đơn vị bầu cử trong giới hạn (Quốc hội ≤ 3, HĐND ≤ 5, ≥ 1)",
        "Seats of a constituency within the limit (NA ≤ 3, councils ≤ 5, at least 1)",
    ),
    "D102": Words(
        "Số người ứng cử nhiều hơn số đại biểu được bầu theo luật",
        "More candidates than seats by the margin the law requires",
    ),
    "D103": Words(
        "Khu vực bỏ phiếu có cử tri của cuộc bầu cử thuộc một đơn vị bầu cử của cuộc đó",
        "A polling area with voters for a race is in a constituency of that race",
    ),
    "D104": Words(
        "Khu vực bỏ phiếu chỉ thuộc một đơn vị bầu cử của mỗi cuộc bầu cử",
        "A polling area is in only one constituency of each race",
    ),
    "D105": Words(
        "Khu vực bỏ phiếu của đơn vị bầu cử có trong định nghĩa",
        "A constituency's polling areas exist",
    ),
    "D106": Words(
        "Khu vực bỏ phiếu của đơn vị bầu cử có số cử tri cho cuộc bầu cử đó",
        "A constituency's polling areas have a voters figure for its race",
    ),
    "D107": Words(
        "Mã cuộc bầu cử không trùng",
        "Race ids are unique",
    ),
    "D108": Words(
        "Mã đơn vị bầu cử không trùng trong một cuộc bầu cử",
        "Constituency ids are unique within a race",
    ),
    "D109": Words(
        "Mã người ứng cử không trùng",
        "Candidate ids are unique in the election",
    ),
    "D110": Words(
        "Mã khu vực bỏ phiếu không trùng",
        "Polling area ids are unique",
    ),
    "D111": Words(
        "Mã ủy ban bầu cử không trùng",
        "Committee ids are unique",
    ),
    "D112": Words(
        "Ủy ban bầu cử của đơn vị bầu cử có trong định nghĩa",
        "A constituency's committee exists",
    ),
    "D113": Words(
        "Ủy ban cấp trên có trong định nghĩa",
        "A committee's parent exists (and is not itself)",
    ),
    "D114": Words(
        "Người ứng cử đủ tuổi vào ngày bầu cử",
        "Candidates are old enough on election day",
    ),
    "D115": Words(
        "Ngày sinh của người ứng cử hợp lý",
        "Candidates' birth dates are plausible",
    ),
    "D116": Words(
        "Đơn vị bầu cử có ít nhất một khu vực bỏ phiếu",
        "A constituency has polling areas",
    ),
    "D117": Words(
        "Số cử tri chỉ ghi cho cuộc bầu cử có trong định nghĩa",
        "Voters figures name races of the definition",
    ),
    "D118": Words(
        "Cuộc bầu cử có ít nhất một đơn vị bầu cử",
        "A race has constituencies",
    ),
    "D201": Words(
        "Khu vực bỏ phiếu có số cử tri ngoài khoảng thông thường",
        "Polling area outside the usual number of voters",
    ),
    "D202": Words(
        "Số cử tri giữa các cuộc bầu cử theo thứ tự (Quốc hội ≥ tỉnh ≥ huyện ≥ xã)",
        "Voters on the lists in order across races (NA ≥ province ≥ district ≥ commune)",
    ),
    "D203": Words(
        "Cấp của ủy ban bầu cử phù hợp với cuộc bầu cử",
        "The committee's level fits the race",
    ),
    "D204": Words(
        "Khu vực bỏ phiếu có ít nhất một cuộc bầu cử",
        "A polling area holds at least one race",
    ),
    "D205": Words(
        "Người ứng cử không bị ghi hai lần trong một đơn vị bầu cử",
        "No candidate is listed twice in one constituency",
    ),
}
"""Each rule's title: E* errors and W* warnings on counting minutes (``rules.RULES``,
docs/rules.md); D* checks of an election definition (``validate.RULES``, docs/rosters.md)."""


def decisions_markdown() -> str:
    """The statuses and the reasons of a determination, as docs/rules.md prints them."""
    rows = ["| status | tiếng Việt | English |", "|---|---|---|"]
    rows += [f"| `{code}` | {w.vi} | {w.en} |" for code, w in STATUS.items()]
    rows += ["", "| reason | tiếng Việt | English |", "|---|---|---|"]
    rows += [f"| `{code}` | {w.vi} | {w.en} |" for code, w in REASON.items()]
    return "\n".join(rows) + "\n"
