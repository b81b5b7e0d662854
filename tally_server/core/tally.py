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
from tally_server.core import glossary
from tally_server.core.decision import Determination as Determination
from tally_server.core.decision import Follows, Reason, Shortfall, ShortfallRule, Tie
from tally_server.core.definition import Election
from tally_server.core.numbers import percent, shares
from tally_server.core.rules import FirstRound

ROUNDS: tuple[Round, ...] = ("main", "revote", "supplementary")


class TallyError(KiemphieuError):
    """Minutes or a question the tally cannot place in the election."""

    code = "T100"


# --- determination -------------------------------------------------------------------


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
    The reasons come in the order the notes word them (``glossary.notes``).
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
            (Reason("no_minutes", {}),),
        )
    ranks: dict[str, int] = {}
    for i, c in enumerate(ranked):
        same = i > 0 and key(ranked[i - 1]) == key(c)
        ranks[c.id] = ranks[ranked[i - 1].id] if same else i + 1
    reasons: list[Reason] = []

    def done(
        status: Status,
        winners: Sequence[Candidate] = (),
        tie: Tie | None = None,
        shortfall: Shortfall | None = None,
    ) -> Determination:
        return Determination(
            status,
            seats,
            tuple(c.id for c in winners),
            tie.tied if tie is not None and tie.resolved_by == "unresolved" else (),
            eligible,
            ranks,
            tuple(reasons),
            tie,
            shortfall,
        )

    turnout = {"voters_voted": t, "voters_on_list": v}
    if areas_reported < areas_total:
        reasons.append(
            Reason("areas_missing", {"areas_reported": areas_reported, "areas_total": areas_total})
        )
        return done("partial")
    if not 2 * t > v:
        if round != "revote":
            reasons.append(Reason("turnout_not_over_half", turnout))
            return done("revote")
        # A re-vote's result stands whatever its turnout: there is no second re-vote.
        reasons.append(Reason("revote_turnout_stands", turnout))
    el = [c for c in ranked if c.id in eligible]
    tie: Tie | None = None
    if seats <= 0:
        winners: list[Candidate] = []
    elif len(el) > seats and key(el[seats - 1]) == key(el[seats]):
        # Equal votes and the same birth date across the seat line: the law has no rule.
        line = key(el[seats])
        tied = [c for c in el if key(c) == line]
        tie = Tie(-line[0], tuple(c.id for c in tied), "unresolved", ())
        winners = [c for c in el[:seats] if key(c) != line]
    else:
        winners = el[:seats]
        if len(el) > seats and key(el[seats - 1])[0] == key(el[seats])[0]:
            # Equal votes across the seat line: the older win (dates differ here).
            edge = key(el[seats])[0]
            inside = [c.id for c in winners if key(c)[0] == edge]
            outside = [c.id for c in el[seats:] if key(c)[0] == edge]
            tie = Tie(-edge, (*inside, *outside), "older", tuple(inside))
            reasons.append(
                Reason("tie_older_elected", {"votes": -edge, "tied": len(inside) + len(outside)})
            )
    if winners:
        reasons.append(Reason("elected", {"elected": len(winners)}))
    if tie is not None and tie.resolved_by == "unresolved":
        reasons.append(Reason("tie_same_birth_date", {"votes": tie.votes, "tied": len(tie.tied)}))
        return done("unresolved_tie", winners, tie)
    extra = len(el) - len(winners)
    if extra > 0:
        reasons.append(Reason("majority_not_seated", {"candidates": extra}))
    filled, empty = len(winners), seats - len(winners)
    if empty <= 0:
        reasons.insert(0, Reason("all_seats_filled", {"seats_filled": filled, "seats": seats}))
        return done("elected", winners, tie)
    reasons.insert(
        0, Reason("seats_short", {"seats_filled": filled, "seats": seats, "seats_empty": empty})
    )
    follows: Follows
    rule: ShortfallRule
    if round == "supplementary":
        follows, rule = "seats_left_empty", "no_second_supplementary"
    elif level == "national_assembly":
        follows, rule = "supplementary_proposed", "council_decides"
    elif 3 * filled < 2 * seats:
        follows, rule = "supplementary_proposed", "under_two_thirds"
    else:
        follows, rule = "seats_left_empty", "two_thirds_reached"
    if rule in ("under_two_thirds", "two_thirds_reached"):
        reasons.append(Reason(rule, {"seats_filled": filled, "seats": seats}))
    else:
        reasons.append(Reason(rule, {"seats_empty": empty}))
    return done(follows, winners, tie, Shortfall(seats, filled, empty, follows, rule))


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
    winners, eligible = set(det.winners), set(det.eligible)
    votes = {c.id: sums.votes.get(c.id, 0) for c in candidates}
    notes = glossary.notes(det, candidates)
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
                votes=votes[c.id],
                pct=pct(votes[c.id], sums.valid_ballots),
                eligible=c.id in eligible,
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
        notes_vi=notes.vi,
        notes_en=notes.en,
    )


def final_of(rounds: Sequence[ConstituencyResult], seats: int) -> FinalResult:
    """A constituency's result over its rounds (``rounds``: the main round's result,
    then those of its re-vote and supplementary round when they have minutes;
    ``seats``: the constituency's): who was elected in which round, and each round's
    own figures. The re-vote takes the main round's place; the supplementary round
    adds to it. The tally, the sheets (from ``results.json``) and the offline tally
    all combine rounds here."""
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
    notes = glossary.final_notes(elected, seats)
    return FinalResult(
        race_id=main.race_id,
        constituency_id=main.constituency_id,
        constituency_name=main.constituency_name,
        seats=seats,
        status=counting[-1].status,
        seats_filled=len(elected),
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
        notes_vi=notes.vi,
        notes_en=notes.en,
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
