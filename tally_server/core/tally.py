"""The tally as the law reads: the figures of the accepted counting minutes summed
over each constituency, and its result determined exactly as the law says
(DOMAIN.md, "Determining the result of one constituency"): turnout more than half
the voters on the list, a winner more than half the valid ballots, the most votes
first and the older first on equal votes, the seats to fill and what happens to
those left empty.

``recount`` is the reference: a plain pass over the minutes. The server, verify
and the sheets use ``fasttally.Tally``, which keeps running sums to take one
minutes in or out in time proportional to that sheet; it gives the same results
(tests/unit/test_tally_equivalence.py). Pure: no I/O, integers only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from schemas import codec
from schemas.errors import KiemphieuError
from schemas.models import Candidate, Constituency, CountingMinutes, RaceLevel, Round

# The result records are the read API's (schemas/read.py); named here as the tally's.
from schemas.read import STATUSES as STATUSES
from schemas.read import CandidateResult as CandidateResult
from schemas.read import ConstituencyResult as ConstituencyResult
from schemas.read import ElectedIn as ElectedIn
from schemas.read import FinalResult as FinalResult
from schemas.read import Rollup as Rollup
from schemas.read import RoundSummary as RoundSummary
from schemas.read import Status as Status
from tally_server.core.definition import Election
from tally_server.core.numbers import percent, shares, vn_int, vn_percent
from tally_server.core.rules import FirstRound

ROUNDS: tuple[Round, ...] = ("main", "revote", "supplementary")


class TallyError(KiemphieuError):
    """Minutes or a question the tally cannot place in the election."""

    code = "T100"


# --- determination -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Determination:
    status: Status
    seats: int
    winners: tuple[str, ...]
    unresolved_tie: tuple[str, ...]
    eligible: tuple[str, ...]
    """In the definition's order (a tuple: ~8 MB less than sets at national size)."""
    ranks: Mapping[str, int]
    notes_vi: str
    notes_en: str


def _who(c: Candidate) -> str:
    return f"{c.full_name} ({c.id})"


def _born(c: Candidate) -> str:
    return c.birth_date.strftime("%d/%m/%Y")


def determine(
    *,
    level: RaceLevel,
    round: Round,
    seats: int,
    candidates: Sequence[Candidate],
    votes: Mapping[str, int],
    voters_on_list: int,
    voters_voted: int,
    valid_ballots: int,
    areas_total: int,
    areas_reported: int,
) -> Determination:
    """The result of one constituency in one round, from its sums.

    ``seats`` is what this round fills: the constituency's seats, or for a
    supplementary round those the first round left empty. The comparisons are
    the law's strict "more than half", in integers: 2·T > V and 2·votes > B.
    """
    v, t, b = voters_on_list, voters_voted, valid_ballots

    def key(c: Candidate) -> tuple[int, dt.date]:
        return (-votes.get(c.id, 0), c.birth_date)

    ranked = sorted(candidates, key=key)
    eligible = tuple(c.id for c in candidates if 2 * votes.get(c.id, 0) > b)
    if areas_reported == 0:
        return Determination(
            "no_results",
            seats,
            (),
            (),
            (),
            {c.id: 0 for c in candidates},
            "Chưa có biên bản kiểm phiếu nào.",
            "No counting minutes yet.",
        )
    ranks: dict[str, int] = {}
    for i, c in enumerate(ranked):
        same = i > 0 and key(ranked[i - 1]) == key(c)
        ranks[c.id] = ranks[ranked[i - 1].id] if same else i + 1

    def done(
        status: Status,
        vi: list[str],
        en: list[str],
        winners: Sequence[Candidate] = (),
        tie: Sequence[Candidate] = (),
    ) -> Determination:
        return Determination(
            status,
            seats,
            tuple(c.id for c in winners),
            tuple(c.id for c in tie),
            eligible,
            ranks,
            " ".join(vi),
            " ".join(en),
        )

    turnout = f"{vn_int(t)}/{vn_int(v)} = {vn_percent(percent(t, v))}"
    if areas_reported < areas_total:
        return done(
            "partial",
            [
                f"Đã nhận {vn_int(areas_reported)}/{vn_int(areas_total)} khu vực bỏ phiếu; "
                "số liệu tạm tính, chưa xác định người trúng cử."
            ],
            [
                f"{vn_int(areas_reported)} of {vn_int(areas_total)} polling areas reported; "
                "provisional figures, no winners declared."
            ],
        )
    vi: list[str] = []
    en: list[str] = []
    if not 2 * t > v:
        if round != "revote":
            return done(
                "revote",
                [
                    f"Số cử tri đi bầu ({turnout}) chưa quá một nửa tổng số cử tri: "
                    "không có người trúng cử, phải bầu cử lại."
                ],
                [
                    f"Turnout ({turnout}) is not more than half of the voters on the list: "
                    "no one is elected and a re-vote is required."
                ],
            )
        vi.append(
            f"Bầu cử lại có số cử tri đi bầu ({turnout}) vẫn chưa quá một nửa: "
            "kết quả được công nhận, không bầu cử lại lần thứ hai."
        )
        en.append(
            f"The re-vote's turnout ({turnout}) is still not more than half: "
            "its result stands; there is no second re-vote."
        )
    el = [c for c in ranked if c.id in eligible]
    tie: list[Candidate] = []
    if seats <= 0:
        winners: list[Candidate] = []
    elif len(el) > seats and key(el[seats - 1]) == key(el[seats]):
        line = key(el[seats])
        tie = [c for c in el if key(c) == line]
        winners = [c for c in el[:seats] if key(c) != line]
    else:
        winners = el[:seats]
        if len(el) > seats and key(el[seats - 1])[0] == key(el[seats])[0]:
            # Equal votes across the seat line: the older win (dates differ here).
            edge = key(el[seats])[0]
            inside = [c for c in winners if key(c)[0] == edge]
            outside = [c for c in el[seats:] if key(c)[0] == edge]
            n = vn_int(-edge)
            names = ", ".join(f"{_who(c)} (sinh {_born(c)})" for c in inside + outside)
            names_en = ", ".join(f"{_who(c)} (born {_born(c)})" for c in inside + outside)
            won = ", ".join(_who(c) for c in inside)
            vi.append(
                f"Bằng phiếu ({n}) ở ghế cuối: {names}; người nhiều tuổi hơn trúng cử: {won}."
            )
            en.append(f"Tied on {n} votes for the last seat(s): {names_en}; the older win: {won}.")
    if winners:
        vi.append("Trúng cử: " + ", ".join(_who(c) for c in winners) + ".")
        en.append("Elected: " + ", ".join(_who(c) for c in winners) + ".")
    extra = len(el) - len(winners) - len(tie)
    if extra > 0 and not tie:
        vi.append(
            f"{extra} người khác được quá một nửa số phiếu hợp lệ nhưng không trúng cử "
            "vì đã đủ số đại biểu."
        )
        en.append(
            f"{extra} more candidate(s) had over half the valid ballots but all seats are filled."
        )
    if tie:
        born = _born(tie[0])
        n = vn_int(votes.get(tie[0].id, 0))
        vi.append(
            f"Bằng phiếu ({n}) và cùng ngày sinh ({born}) ở ghế cuối: "
            + ", ".join(_who(c) for c in tie)
            + "; luật không quy định cách xác định, cần cơ quan có thẩm quyền quyết định."
        )
        en.append(
            f"Tied on {n} votes with the same birth date ({born}) for the last seat(s): "
            + ", ".join(_who(c) for c in tie)
            + "; the law has no rule for this, the competent body must decide."
        )
        return done("unresolved_tie", vi, en, winners, tie)
    filled, empty = len(winners), seats - len(winners)
    if empty <= 0:
        vi.insert(0, f"Bầu đủ {filled}/{seats} đại biểu.")
        en.insert(0, f"All {seats} seat(s) filled.")
        return done("elected", vi, en, winners)
    short_vi = f"Mới bầu được {filled}/{seats} đại biểu, còn thiếu {empty}."
    short_en = f"Only {filled} of {seats} seat(s) filled; {empty} short."
    if round == "supplementary":
        return done(
            "seats_left_empty",
            [short_vi, *vi, "Không bầu cử thêm lần thứ hai: để trống số ghế còn thiếu."],
            [short_en, *en, "There is no second supplementary election: the seats stay empty."],
            winners,
        )
    if level == "national_assembly":
        return done(
            "supplementary_proposed",
            [short_vi, *vi, "Đề nghị Hội đồng bầu cử quốc gia xem xét tổ chức bầu cử thêm."],
            [
                short_en,
                *en,
                "A supplementary election is proposed; the National Election Council decides.",
            ],
            winners,
        )
    if 3 * filled < 2 * seats:
        return done(
            "supplementary_proposed",
            [short_vi, *vi, "Số người trúng cử chưa đạt hai phần ba số đại biểu: bầu cử thêm."],
            [short_en, *en, "Fewer than two thirds of the seats filled: a supplementary election."],
            winners,
        )
    return done(
        "seats_left_empty",
        [
            short_vi,
            *vi,
            "Đã đạt hai phần ba số đại biểu: không bầu cử thêm, để trống ghế còn thiếu.",
        ],
        [short_en, *en, "At least two thirds of the seats filled: the rest stay empty."],
        winners,
    )


def first_round(
    level: RaceLevel, con: Constituency, base: Round, sums: Sums, reported: int
) -> FirstRound:
    """The first round's result as a supplementary round's checks need it: ``base``
    is the re-vote if there is one, else the main round; ``reported`` its areas."""
    total = len(con.polling_area_ids)
    if reported == 0 or reported < total:
        status: Status = "no_results" if reported == 0 else "partial"
        return FirstRound(base, status, con.seats, (), reported, total)
    det = determine(
        level=level,
        round=base,
        seats=con.seats,
        candidates=con.candidates,
        votes=sums.votes,
        voters_on_list=sums.voters_on_list,
        voters_voted=sums.voters_voted,
        valid_ballots=sums.valid_ballots,
        areas_total=total,
        areas_reported=reported,
    )
    return FirstRound(base, det.status, con.seats, det.winners, reported, total)


def first_round_of(
    election: Election, race_id: str, constituency_id: str, minutes: Iterable[CountingMinutes]
) -> FirstRound:
    """The first round of a constituency from the minutes counted there now (one per
    polling area and round; supplementary ones are ignored): the re-vote if it has
    any, else the main round. What ``Tally.first_round`` gives for the same minutes."""
    con = election.constituencies[(race_id, constituency_id)]
    current = _current(m for m in minutes if m.round != "supplementary")
    base: Round = "revote" if (race_id, constituency_id, "revote") in current else "main"
    counted = current.get((race_id, constituency_id, base), {})
    sums = Sums.of(counted.values())
    return first_round(election.races[race_id].level, con, base, sums, len(counted))


# --- the sums and the result ---------------------------------------------------------


@dataclass(slots=True)
class Sums:
    """One constituency in one round: the figures of its current minutes, summed."""

    voters_on_list: int = 0
    voters_voted: int = 0
    ballots_issued: int = 0
    ballots_received: int = 0
    valid_ballots: int = 0
    invalid_ballots: int = 0
    complaints_received: int = 0
    complaints_resolved: int = 0
    complaints_forwarded: int = 0
    votes: dict[str, int] = field(default_factory=dict)
    """Each candidate named by a minutes: the votes summed."""

    @classmethod
    def of(cls, minutes: Iterable[CountingMinutes]) -> Sums:
        s = cls()
        for m in minutes:
            s.voters_on_list += m.voters_on_list
            s.voters_voted += m.voters_voted
            s.ballots_issued += m.ballots_issued
            s.ballots_received += m.ballots_received
            s.valid_ballots += m.valid_ballots
            s.invalid_ballots += m.invalid_ballots
            s.complaints_received += m.complaints.received
            s.complaints_resolved += m.complaints.resolved
            s.complaints_forwarded += m.complaints.forwarded
            for cid, n in m.candidate_votes.items():
                s.votes[cid] = s.votes.get(cid, 0) + n
        return s


def _pct(part: int, whole: int) -> str:
    return str(percent(part, whole))


def build_result(
    race_id: str,
    con: Constituency,
    rnd: Round,
    sums: Sums,
    reported: Collection[str],
    det: Determination,
    candidates: Sequence[Candidate],
    pct: Callable[[int, int], str] = _pct,
) -> ConstituencyResult:
    """One constituency's result in one round: its sums, the polling areas that
    ``reported``, the determination, and each candidate's figures."""
    valid_pct, invalid_pct = shares([sums.valid_ballots, sums.invalid_ballots])
    winners = set(det.winners)
    return ConstituencyResult(
        race_id=race_id,
        constituency_id=con.id,
        constituency_name=con.name,
        committee_id=con.committee_id,
        round=rnd,
        seats=det.seats,
        areas_total=len(con.polling_area_ids),
        areas_reported=len(reported),
        missing_area_ids=[a for a in con.polling_area_ids if a not in reported],
        voters_on_list=sums.voters_on_list,
        voters_voted=sums.voters_voted,
        ballots_issued=sums.ballots_issued,
        ballots_received=sums.ballots_received,
        valid_ballots=sums.valid_ballots,
        invalid_ballots=sums.invalid_ballots,
        turnout_pct=str(percent(sums.voters_voted, sums.voters_on_list)),
        valid_pct=str(valid_pct),
        invalid_pct=str(invalid_pct),
        candidates=[
            CandidateResult(
                id=c.id,
                full_name=c.full_name,
                birth_date=c.birth_date,
                votes=sums.votes.get(c.id, 0),
                pct=pct(sums.votes.get(c.id, 0), sums.valid_ballots),
                eligible=c.id in det.eligible,
                elected=c.id in winners,
                rank=det.ranks.get(c.id, 0),
            )
            for c in candidates
        ],
        winners=list(det.winners),
        status=det.status,
        seats_filled=len(det.winners),
        unresolved_tie=list(det.unresolved_tie),
        complaints_received=sums.complaints_received,
        complaints_resolved=sums.complaints_resolved,
        complaints_forwarded=sums.complaints_forwarded,
        notes_vi=det.notes_vi,
        notes_en=det.notes_en,
    )


def final_result(
    con: Constituency, race_id: str, rounds: Sequence[ConstituencyResult]
) -> FinalResult:
    """The constituency's result over its rounds (``rounds``: the main round's
    result, then those of its re-vote and supplementary round when they have
    minutes): who was elected in which round, and each round's own figures. The
    re-vote takes the main round's place; the supplementary round adds to it."""
    main = rounds[0]
    base = next((r for r in rounds if r.round == "revote"), main)
    counting = [base] + [r for r in rounds if r.round == "supplementary"]
    elected: list[ElectedIn] = []
    for r in counting:
        by_id = {c.id: c for c in r.candidates}
        elected += [
            ElectedIn(
                id=w,
                full_name=by_id[w].full_name,
                round=r.round,
                votes=by_id[w].votes,
                pct=by_id[w].pct,
            )
            for w in r.winners
        ]
    latest = counting[-1]
    filled = len(elected)
    words = {
        "main": ("vòng đầu", "main round"),
        "revote": ("bầu cử lại", "re-vote"),
        "supplementary": ("bầu cử thêm", "supplementary round"),
    }
    who_vi = ", ".join(f"{e.full_name} ({e.id}, {words[e.round][0]})" for e in elected)
    who_en = ", ".join(f"{e.full_name} ({e.id}, {words[e.round][1]})" for e in elected)
    return FinalResult(
        race_id=race_id,
        constituency_id=con.id,
        constituency_name=con.name,
        seats=con.seats,
        status=latest.status,
        seats_filled=filled,
        elected=elected,
        rounds=[
            RoundSummary(
                round=r.round,
                status=r.status,
                seats=r.seats,
                seats_filled=r.seats_filled,
                winners=r.winners,
                areas_reported=r.areas_reported,
                areas_total=r.areas_total,
                voters_on_list=r.voters_on_list,
                voters_voted=r.voters_voted,
                turnout_pct=r.turnout_pct,
                valid_ballots=r.valid_ballots,
                invalid_ballots=r.invalid_ballots,
            )
            for r in rounds
        ],
        notes_vi=f"Kết quả chung cuộc: {filled}/{con.seats} đại biểu"
        + (f": {who_vi}." if elected else "."),
        notes_en=f"Final result: {filled} of {con.seats} seat(s) filled"
        + (f": {who_en}." if elected else "."),
    )


# --- the reference tally -------------------------------------------------------------


def _current(
    minutes: Iterable[CountingMinutes],
) -> dict[tuple[str, str, Round], dict[str, CountingMinutes]]:
    """(race, constituency, round) -> polling area -> the minutes counted there: the
    latest of each (a correction replaces what it corrects)."""
    current: dict[tuple[str, str, Round], dict[str, CountingMinutes]] = {}
    for m in minutes:
        current.setdefault((m.race_id, m.constituency_id, m.round), {})[m.polling_area_id] = m
    return current


def recount(election: Election, minutes: Iterable[CountingMinutes]) -> list[ConstituencyResult]:
    """Every constituency's result from these minutes (checked by the law's rules;
    a later one replaces an earlier one of the same polling area, race and round):
    the main round, then its re-vote and supplementary round if they have minutes.

    A supplementary round fills the seats its first round (the re-vote if there
    was one, else the main round) left empty, among the candidates its minutes
    name. What ``fasttally.Tally.results`` gives for the same minutes."""
    current = _current(minutes)
    out: list[ConstituencyResult] = []
    for race in election.definition.races:
        for con in race.constituencies:
            base: Round = "revote" if (race.id, con.id, "revote") in current else "main"
            elected_first = 0
            for rnd in ROUNDS:
                counted = current.get((race.id, con.id, rnd))
                if counted is None and rnd != "main":
                    continue  # a re-vote or supplementary round is held only where needed
                counted = counted or {}
                sums = Sums.of(counted.values())
                candidates = list(con.candidates)
                seats = con.seats
                if rnd == "supplementary":
                    candidates = [c for c in con.candidates if c.id in sums.votes]
                    seats = con.seats - elected_first
                det = determine(
                    level=race.level,
                    round=rnd,
                    seats=seats,
                    candidates=candidates,
                    votes=sums.votes,
                    voters_on_list=sums.voters_on_list,
                    voters_voted=sums.voters_voted,
                    valid_ballots=sums.valid_ballots,
                    areas_total=len(con.polling_area_ids),
                    areas_reported=len(counted),
                )
                if rnd == base:
                    elected_first = len(det.winners)
                out.append(build_result(race.id, con, rnd, sums, counted, det, candidates))
    return out


def results_digest(results: Sequence[ConstituencyResult]) -> str:
    """SHA-256 (hex) of the deterministic JSON of the results list: what the server
    publishes and ``tally-server verify`` recomputes."""
    return hashlib.sha256(codec.encode(list(results))).hexdigest()
