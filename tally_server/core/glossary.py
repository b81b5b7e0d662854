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
from tally_server.core.numbers import en_int, en_percent, percent, vn_int, vn_percent

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


@dataclass(frozen=True, slots=True, kw_only=True)
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
        return Words(vi=self.vi[:1].upper() + self.vi[1:], en=self.en[:1].upper() + self.en[1:])


# --- statuses and rounds --------------------------------------------------------------

STATUS: dict[Status, Words] = {
    "no_results": Words(vi="Chưa có kết quả", en="No results"),
    "partial": Words(vi="Đang tổng hợp", en="Partial"),
    "elected": Words(vi="Đã bầu đủ", en="All seats filled"),
    "revote": Words(vi="Phải bầu cử lại", en="Re-vote required"),
    "supplementary_proposed": Words(vi="Đề nghị bầu cử thêm", en="Supplementary election proposed"),
    "seats_left_empty": Words(vi="Để trống ghế còn thiếu", en="Seats left empty"),
    "unresolved_tie": Words(vi="Bằng phiếu chưa xác định", en="Unresolved tie"),
}

ENROLMENT: dict[str, Words] = {
    "enrolled": Words(vi="đã đăng ký", en="enrolled"),
    "unchanged": Words(vi="đã đăng ký từ trước, không đổi", en="already enrolled (unchanged)"),
}
"""What enrolling a station did, as the committee's command prints it."""

ROUND: dict[Round, Words] = {
    "main": Words(vi="vòng đầu", en="main round"),
    "revote": Words(vi="bầu cử lại", en="re-vote"),
    "supplementary": Words(vi="bầu cử thêm", en="supplementary round"),
}
"""As a sentence says it; ``.title()`` for a label."""

FINAL_RESULT = Words(vi="kết quả chung cuộc", en="final result")
"""A constituency's result over its rounds (who was elected in which round)."""
ELECTED_IN = Words(vi="trúng cử ở", en="elected in")
"""Before a round's name: 'trúng cử ở bầu cử thêm'."""

NO_SUPPLEMENTARY: dict[Status, Words] = {
    "elected": Words(vi="đã bầu đủ số đại biểu", en="every seat is filled"),
    "revote": Words(
        vi="số cử tri đi bầu chưa quá một nửa: phải bầu cử lại",
        en="turnout was not more than half: a re-vote is required",
    ),
    "seats_left_empty": Words(
        vi="đã đạt hai phần ba số đại biểu: để trống ghế còn thiếu",
        en="at least two thirds of the seats are filled: the rest stay empty",
    ),
    "unresolved_tie": Words(
        vi="còn bằng phiếu chưa xác định ở ghế cuối",
        en="a tie for the last seat is unresolved",
    ),
    "supplementary_proposed": Words(vi="không còn ghế trống", en="no seat is open"),
}
"""Why a first round with this status admits no supplementary round (rule E109)."""


def status_words(status: str) -> Words:
    """A status's wording; an unknown one (a newer server) is shown as its code."""
    found = STATUS.get(status)  # type: ignore[call-overload]
    return found if found is not None else Words(vi=status, en=status)


def round_words(round_: str) -> Words:
    """A round's label; an unknown one is shown as its code."""
    found = ROUND.get(round_)  # type: ignore[call-overload]
    return found.title() if found is not None else Words(vi=round_, en=round_)


# --- fields of the counting minutes and of a result -----------------------------------

FIELD: dict[str, Words] = {
    "seats": Words(vi="Số đại biểu được bầu", en="Seats"),
    "candidates": Words(vi="Số người ứng cử", en="Candidates"),
    "areas_reported": Words(vi="Số khu vực bỏ phiếu đã có biên bản", en="Polling areas reported"),
    "voters_on_list": Words(vi="Tổng số cử tri", en="Voters on the list"),
    "voters_voted": Words(vi="Số cử tri đã tham gia bỏ phiếu", en="Voters who voted"),
    "turnout_pct": Words(vi="Tỷ lệ cử tri đã tham gia bỏ phiếu", en="Turnout"),
    "ballots_issued": Words(vi="Số phiếu phát ra", en="Ballots issued"),
    "ballots_received": Words(vi="Số phiếu thu vào", en="Ballots received"),
    "valid_ballots": Words(vi="Số phiếu hợp lệ", en="Valid ballots"),
    "invalid_ballots": Words(vi="Số phiếu không hợp lệ", en="Invalid ballots"),
    "votes": Words(vi="Số phiếu bầu", en="Votes"),
    "winners": Words(vi="Người trúng cử", en="Elected"),
    "unresolved_tie": Words(vi="Bằng phiếu chưa xác định", en="Unresolved tie"),
    "status": Words(vi="Tình trạng", en="Status"),
}
"""The labels of the minutes (forms 18 and 19/HĐBC-QH) and of a result's fields."""


# --- the reasons of a determination ---------------------------------------------------

REASON: dict[ReasonCode, Words] = {
    "no_minutes": Words(vi="Chưa có biên bản kiểm phiếu nào.", en="No counting minutes yet."),
    "areas_missing": Words(
        vi="Đã nhận {areas_reported}/{areas_total} khu vực bỏ phiếu; "
        "số liệu tạm tính, chưa xác định người trúng cử.",
        en="{areas_reported} of {areas_total} polling areas reported; "
        "provisional figures, no winners declared.",
    ),
    "turnout_not_over_half": Words(
        vi="Số cử tri đi bầu ({turnout}) chưa quá một nửa tổng số cử tri: "
        "không có người trúng cử, phải bầu cử lại.",
        en="Turnout ({turnout}) is not more than half of the voters on the list: "
        "no one is elected and a re-vote is required.",
    ),
    "revote_turnout_stands": Words(
        vi="Bầu cử lại có số cử tri đi bầu ({turnout}) vẫn chưa quá một nửa: "
        "kết quả được công nhận, không bầu cử lại lần thứ hai.",
        en="The re-vote's turnout ({turnout}) is still not more than half: "
        "its result stands; there is no second re-vote.",
    ),
    "all_seats_filled": Words(
        vi="Bầu đủ {seats_filled}/{seats} đại biểu.", en="All {seats} seat(s) filled."
    ),
    "seats_short": Words(
        vi="Mới bầu được {seats_filled}/{seats} đại biểu, còn thiếu {seats_empty}.",
        en="Only {seats_filled} of {seats} seat(s) filled; {seats_empty} short.",
    ),
    "tie_older_elected": Words(
        vi="Bằng phiếu ({votes}) ở ghế cuối: {tied}; người nhiều tuổi hơn trúng cử: {older}.",
        en="Tied on {votes} votes for the last seat(s): {tied}; the older win: {older}.",
    ),
    "elected": Words(vi="Trúng cử: {winners}.", en="Elected: {winners}."),
    "majority_not_seated": Words(
        vi="{candidates} người khác được quá một nửa số phiếu hợp lệ nhưng không trúng cử "
        "vì đã đủ số đại biểu.",
        en="{candidates} more candidate(s) had over half the valid ballots "
        "but all seats are filled.",
    ),
    "tie_same_birth_date": Words(
        vi="Bằng phiếu ({votes}) và cùng ngày sinh ({born}) ở ghế cuối: {tied}; "
        "luật không quy định cách xác định, cần cơ quan có thẩm quyền quyết định.",
        en="Tied on {votes} votes with the same birth date ({born}) for the last seat(s): "
        "{tied}; the law has no rule for this, the competent body must decide.",
    ),
    "no_second_supplementary": Words(
        vi="Không bầu cử thêm lần thứ hai: để trống số ghế còn thiếu.",
        en="There is no second supplementary election: the seats stay empty.",
    ),
    "council_decides": Words(
        vi="Đề nghị Hội đồng bầu cử quốc gia xem xét tổ chức bầu cử thêm.",
        en="A supplementary election is proposed; the National Election Council decides.",
    ),
    "under_two_thirds": Words(
        vi="Số người trúng cử chưa đạt hai phần ba số đại biểu: bầu cử thêm.",
        en="Fewer than two thirds of the seats filled: a supplementary election.",
    ),
    "two_thirds_reached": Words(
        vi="Đã đạt hai phần ba số đại biểu: không bầu cử thêm, để trống ghế còn thiếu.",
        en="At least two thirds of the seats filled: the rest stay empty.",
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
    en = {k: en_int(n) for k, n in f.items()}
    if reason.code in ("turnout_not_over_half", "revote_turnout_stands"):
        t, v = f["voters_voted"], f["voters_on_list"]
        vi["turnout"] = f"{vn_int(t)}/{vn_int(v)} = {vn_percent(percent(t, v))}"
        en["turnout"] = f"{en_int(t)}/{en_int(v)} = {en_percent(percent(t, v))}"
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
    return Words(vi=template.vi.format(**vi), en=template.en.format(**en))


def notes(det: Determination, candidates: Iterable[Candidate]) -> Words:
    """The determination as the result's notes: its reasons, one sentence each."""
    by_id = {c.id: c for c in candidates} if det.winners or det.tie else {}
    said = [reason_words(r, det, by_id) for r in det.reasons]
    return Words(vi=" ".join(w.vi for w in said), en=" ".join(w.en for w in said))


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
    head = FINAL_RESULT.title()
    return Words(
        vi=f"{head.vi}: {len(elected)}/{seats} đại biểu" + (f": {vi}." if elected else "."),
        en=f"{head.en}: {len(elected)} of {seats} seat(s) filled"
        + (f": {en}." if elected else "."),
    )


# --- the rules' titles ----------------------------------------------------------------

RULE_TITLE: dict[str, Words] = {
    "E100": Words(
        vi="Mọi số liệu là số nguyên không âm",
        en="Every figure is a non-negative whole number",
    ),
    "E101": Words(
        vi="Cuộc bầu cử có trong định nghĩa",
        en="The race is in the election definition",
    ),
    "E102": Words(
        vi="Đơn vị bầu cử thuộc cuộc bầu cử đó",
        en="The constituency is one of that race's constituencies",
    ),
    "E103": Words(
        vi="Khu vực bỏ phiếu có trong định nghĩa",
        en="The polling area is in the election definition",
    ),
    "E104": Words(
        vi="Cuộc bầu cử được tổ chức tại khu vực bỏ phiếu",
        en="The race is held at the polling area",
    ),
    "E105": Words(
        vi="Khu vực bỏ phiếu thuộc đơn vị bầu cử ghi trong biên bản",
        en="The polling area votes in the constituency the minutes name",
    ),
    "E106": Words(
        vi="Danh sách người ứng cử đúng danh sách của đơn vị bầu cử "
        "(bầu cử thêm: một phần của danh sách)",
        en="Candidates are exactly the constituency's list "
        "(supplementary round: a non-empty part of it)",
    ),
    "E107": Words(
        vi="Phiếu hợp lệ theo số tên giữ lại: một nhóm cho mỗi ghế "
        "(bầu cử thêm: không phiếu nào giữ nhiều tên hơn số ghế còn thiếu)",
        en="Valid ballots by names kept: one pile per seat "
        "(supplementary round: no ballot keeps more names than the seats still open)",
    ),
    "E108": Words(
        vi="Bầu cử thêm chỉ có những người ứng cử không trúng cử ở vòng đầu",
        en="A supplementary round lists only candidates the first round did not elect",
    ),
    "E109": Words(
        vi="Bầu cử thêm chỉ khi vòng đầu còn thiếu người trúng cử và đề nghị bầu cử thêm",
        en="A supplementary round follows only a first round that proposes one (seats still open)",
    ),
    "E110": Words(
        vi="Số cử tri đã bỏ phiếu ≤ tổng số cử tri",
        en="Voters who voted ≤ voters on the list",
    ),
    "E111": Words(
        vi="Số phiếu thu vào ≤ số phiếu phát ra",
        en="Ballots received ≤ ballots issued",
    ),
    "E112": Words(
        vi="Phiếu hợp lệ + phiếu không hợp lệ = phiếu thu vào",
        en="Valid + invalid ballots = ballots received",
    ),
    "E113": Words(
        vi="Số phiếu bầu của mỗi người ≤ số phiếu hợp lệ",
        en="Each candidate's votes ≤ valid ballots",
    ),
    "E114": Words(
        vi="Số phiếu hợp lệ ≤ tổng số phiếu bầu cho các ứng cử viên",
        en="Valid ballots ≤ sum of all candidates' votes",
    ),
    "E115": Words(
        vi="Tổng số phiếu bầu cho các ứng cử viên ≤ số ghế × số phiếu hợp lệ "
        "(bầu cử thêm: số ghế còn thiếu)",
        en="Sum of all candidates' votes ≤ seats × valid ballots "
        "(supplementary round: the seats still open)",
    ),
    "E116": Words(
        vi="Tổng các nhóm phiếu theo số tên = số phiếu hợp lệ",
        en="Sum of the by-names piles = valid ballots",
    ),
    "E117": Words(
        vi="Σ k × (phiếu giữ k tên) = tổng số phiếu bầu cho các ứng cử viên",
        en="Σ k × (ballots keeping k names) = sum of all candidates' votes",
    ),
    "E118": Words(
        vi="Biên bản bầu cử thêm được kiểm khi vòng đầu đã nhận đủ biên bản",
        en="Supplementary minutes are checked once the first round has every polling area in",
    ),
    "E120": Words(
        vi="Khu vực bỏ phiếu của biên bản trùng với của lô",
        en="Each minutes' polling area is the batch's",
    ),
    "E121": Words(
        vi="Mỗi cuộc bầu cử (và vòng) chỉ một biên bản trong một lô",
        en="At most one minutes per race and round in a batch",
    ),
    "E122": Words(
        vi="Cuộc bầu cử được tổ chức tại khu vực bỏ phiếu của lô",
        en="The race is held at the batch's polling area",
    ),
    "E123": Words(
        vi="Lô thuộc cuộc bầu cử này",
        en="The batch belongs to this election",
    ),
    "E124": Words(
        vi="Một biên bản cho mỗi khu vực, cuộc bầu cử và vòng (kiểm phiếu ngoại tuyến)",
        en="One minutes per polling area, race and round (offline tally)",
    ),
    "W200": Words(
        vi="Số phiếu phát ra khác số cử tri đã bỏ phiếu",
        en="Ballots issued differ from voters who voted",
    ),
    "W201": Words(
        vi="Số phiếu thu vào khác số cử tri đã bỏ phiếu",
        en="Ballots received differ from voters who voted",
    ),
    "W202": Words(
        vi="Khu vực bỏ phiếu có số cử tri ngoài khoảng thông thường",
        en="Polling area outside the usual number of voters",
    ),
    "W203": Words(
        vi="Số cử tri giữa các cuộc bầu cử không theo thứ tự (Quốc hội ≥ tỉnh ≥ huyện ≥ xã)",
        en="Voters on the list out of order across races (NA ≥ province ≥ district ≥ commune)",
    ),
    "W204": Words(
        vi="Tổng số cử tri khác số trong định nghĩa",
        en="Voters on the list differ from the election definition",
    ),
    "W205": Words(
        vi="Tỷ lệ cử tri đi bầu rất cao",
        en="Turnout very high",
    ),
    "W206": Words(
        vi="Tỷ lệ cử tri đi bầu thấp",
        en="Turnout low",
    ),
    "W207": Words(
        vi="Tỷ lệ phiếu không hợp lệ cao",
        en="High share of invalid ballots",
    ),
    "W208": Words(
        vi="Biên bản đính chính làm thay đổi số liệu",
        en="A correction changes the figures",
    ),
    "D101": Words(
        vi="Số đại biểu được bầu của đơn vị bầu cử trong giới hạn (Quốc hội ≤ 3, HĐND ≤ 5, ≥ 1)",
        en="Seats of a constituency within the limit (NA ≤ 3, councils ≤ 5, at least 1)",
    ),
    "D102": Words(
        vi="Số người ứng cử nhiều hơn số đại biểu được bầu theo luật",
        en="More candidates than seats by the margin the law requires",
    ),
    "D103": Words(
        vi="Khu vực bỏ phiếu có cử tri của cuộc bầu cử thuộc một đơn vị bầu cử của cuộc đó",
        en="A polling area with voters for a race is in a constituency of that race",
    ),
    "D104": Words(
        vi="Khu vực bỏ phiếu chỉ thuộc một đơn vị bầu cử của mỗi cuộc bầu cử",
        en="A polling area is in only one constituency of each race",
    ),
    "D105": Words(
        vi="Khu vực bỏ phiếu của đơn vị bầu cử có trong định nghĩa",
        en="A constituency's polling areas exist",
    ),
    "D106": Words(
        vi="Khu vực bỏ phiếu của đơn vị bầu cử có số cử tri cho cuộc bầu cử đó",
        en="A constituency's polling areas have a voters figure for its race",
    ),
    "D107": Words(
        vi="Mã cuộc bầu cử không trùng",
        en="Race ids are unique",
    ),
    "D108": Words(
        vi="Mã đơn vị bầu cử không trùng trong một cuộc bầu cử",
        en="Constituency ids are unique within a race",
    ),
    "D109": Words(
        vi="Mã người ứng cử không trùng",
        en="Candidate ids are unique in the election",
    ),
    "D110": Words(
        vi="Mã khu vực bỏ phiếu không trùng",
        en="Polling area ids are unique",
    ),
    "D111": Words(
        vi="Mã ủy ban bầu cử không trùng",
        en="Committee ids are unique",
    ),
    "D112": Words(
        vi="Ủy ban bầu cử của đơn vị bầu cử có trong định nghĩa",
        en="A constituency's committee exists",
    ),
    "D113": Words(
        vi="Ủy ban cấp trên có trong định nghĩa",
        en="A committee's parent exists (and is not itself)",
    ),
    "D114": Words(
        vi="Người ứng cử đủ tuổi vào ngày bầu cử",
        en="Candidates are old enough on election day",
    ),
    "D115": Words(
        vi="Ngày sinh của người ứng cử hợp lý",
        en="Candidates' birth dates are plausible",
    ),
    "D116": Words(
        vi="Đơn vị bầu cử có ít nhất một khu vực bỏ phiếu",
        en="A constituency has polling areas",
    ),
    "D117": Words(
        vi="Số cử tri chỉ ghi cho cuộc bầu cử có trong định nghĩa",
        en="Voters figures name races of the definition",
    ),
    "D118": Words(
        vi="Cuộc bầu cử có ít nhất một đơn vị bầu cử",
        en="A race has constituencies",
    ),
    "D119": Words(
        vi="Thông tin in biên bản chỉ nêu cuộc bầu cử, ủy ban, đơn vị bầu cử có trong định nghĩa",
        en="The sheets' facts name races, committees and constituencies of the definition",
    ),
    "D201": Words(
        vi="Khu vực bỏ phiếu có số cử tri ngoài khoảng thông thường",
        en="Polling area outside the usual number of voters",
    ),
    "D202": Words(
        vi="Số cử tri giữa các cuộc bầu cử theo thứ tự (Quốc hội ≥ tỉnh ≥ huyện ≥ xã)",
        en="Voters on the lists in order across races (NA ≥ province ≥ district ≥ commune)",
    ),
    "D203": Words(
        vi="Cấp của ủy ban bầu cử phù hợp với cuộc bầu cử",
        en="The committee's level fits the race",
    ),
    "D204": Words(
        vi="Khu vực bỏ phiếu có ít nhất một cuộc bầu cử",
        en="A polling area holds at least one race",
    ),
    "D205": Words(
        vi="Người ứng cử không bị ghi hai lần trong một đơn vị bầu cử",
        en="No candidate is listed twice in one constituency",
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
