"""The fast tally: the results of ``tally.recount``, kept as the minutes arrive.

``Tally.apply`` takes in or replaces one minutes in time proportional to that
sheet: each constituency's determination is redone from its running sums only
(a handful of integers per candidate), and the running totals of every rollup
scope (the election, each race, each committee and the committees above it)
move by the difference. For a whole night at once (``tally_of_sheets``,
``verify``) ``add_sheet`` keeps the sheets and ``settle`` sums and determines
each constituency once.

Speed and memory, not law: each minutes is kept packed (``_Sheet``), the tuples
of candidate ids and the percentage strings are shared, a lean tally keeps no
rollups (``rollups=False``) or no sheets (``sheets=False``). The law's part
(``determine``, the sums, the result records) is tally.py's; the equivalence
tests (tests/unit/test_tally_equivalence.py, test_tally.py) hold this tally to
the reference and to itself built one way or another.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from schemas.models import Candidate, Constituency, CountingMinutes, RaceLevel, Round
from tally_server.core.definition import Election
from tally_server.core.numbers import percent, percent_text
from tally_server.core.rules import FirstRound
from tally_server.core.tally import (
    ROUNDS,
    STATUSES,
    ConstituencyResult,
    Determination,
    FinalResult,
    Rollup,
    Status,
    Sums,
    TallyError,
    build_result,
    determine,
    final_of,
    first_round,
)

_LEVEL_ORDER = {"national_assembly": 0, "province": 1, "district": 2, "commune": 3}

# --- the running sums ----------------------------------------------------------------

_Sheet = tuple[tuple[str, ...], bytes]
"""The figures of one counted minutes that the sums need to take it out again: the
candidate ids named (one tuple shared by every sheet that names the same ones) and,
packed as 64-bit integers, voters on the list, voted, ballots issued, received,
valid, invalid, complaints received, resolved, forwarded, then each candidate's
votes. A national night holds hundreds of thousands of these, each a small
fraction of the decoded minutes."""
_REPORTED: _Sheet = ((), b"")
"""What stands for an area's figures when the tally does not keep them."""

_FIXED = 9
_packers: dict[int, struct.Struct] = {}


def _packer(n: int) -> struct.Struct:
    p = _packers.get(n)
    if p is None:
        p = _packers[n] = struct.Struct(f"<{_FIXED + n}q")
    return p


def _sheet(m: CountingMinutes, names: dict[tuple[str, ...], tuple[str, ...]]) -> _Sheet:
    c = m.complaints
    votes = m.candidate_votes
    ids = tuple(votes)
    ids = names.setdefault(ids, ids)
    packed = _packer(len(ids)).pack(
        m.voters_on_list,
        m.voters_voted,
        m.ballots_issued,
        m.ballots_received,
        m.valid_ballots,
        m.invalid_ballots,
        c.received,
        c.resolved,
        c.forwarded,
        *votes.values(),
    )
    return ids, packed


def _figures(sheet: _Sheet) -> tuple[int, ...]:
    return _packer(len(sheet[0])).unpack(sheet[1])


SheetKey = tuple[str, str, str, str]
"""(race, constituency, round, polling area): what one counted minutes stands for."""


def sheet_of(
    minutes: CountingMinutes, names: dict[tuple[str, ...], tuple[str, ...]] | None = None
) -> tuple[SheetKey, _Sheet]:
    """The compact figures of one minutes and where they count, for
    ``tally_of_sheets`` (cheap to send between processes). ``names`` shares one
    tuple of candidate ids among the sheets that name the same candidates."""
    m = minutes
    key = (m.race_id, m.constituency_id, m.round, sys.intern(m.polling_area_id))
    return key, _sheet(m, {} if names is None else names)


@dataclass(slots=True)
class _Sums(Sums):
    """``Sums`` kept running: the sheets they sum, to take one out again."""

    sheets: dict[str, _Sheet] = field(default_factory=dict)
    """Polling area -> the figures of its current minutes."""
    mentions: dict[str, int] = field(default_factory=dict)
    """How many sheets name each candidate (a supplementary round lists only some)."""
    det: Determination | None = None
    result: ConstituencyResult | None = None

    def recount(self) -> None:
        """Work the sums out again from ``sheets``: each group of sheets naming the
        same candidates is summed column by column at once (in bulk, faster than
        ``add`` one sheet at a time)."""
        groups: dict[tuple[str, ...], list[bytes]] = {}
        for ids, packed in self.sheets.values():
            groups.setdefault(ids, []).append(packed)
        totals = [0] * _FIXED
        votes: dict[str, int] = {}
        mentions: dict[str, int] = {}
        for ids, packs in groups.items():
            rows = _packer(len(ids)).iter_unpack(b"".join(packs))
            columns = [sum(column) for column in zip(*rows, strict=True)]
            for i in range(_FIXED):
                totals[i] += columns[i]
            for cid, n in zip(ids, columns[_FIXED:], strict=True):
                votes[cid] = votes.get(cid, 0) + n
                mentions[cid] = mentions.get(cid, 0) + len(packs)
        (
            self.voters_on_list,
            self.voters_voted,
            self.ballots_issued,
            self.ballots_received,
            self.valid_ballots,
            self.invalid_ballots,
            self.complaints_received,
            self.complaints_resolved,
            self.complaints_forwarded,
        ) = totals
        self.votes, self.mentions = votes, mentions

    def add(self, sheet: _Sheet, sign: int) -> None:
        m = _figures(sheet)
        self.voters_on_list += sign * m[0]
        self.voters_voted += sign * m[1]
        self.ballots_issued += sign * m[2]
        self.ballots_received += sign * m[3]
        self.valid_ballots += sign * m[4]
        self.invalid_ballots += sign * m[5]
        self.complaints_received += sign * m[6]
        self.complaints_resolved += sign * m[7]
        self.complaints_forwarded += sign * m[8]
        for cid, n in zip(sheet[0], m[_FIXED:], strict=True):
            self.votes[cid] = self.votes.get(cid, 0) + sign * n
            left = self.mentions.get(cid, 0) + sign
            if left:
                self.mentions[cid] = left
            else:
                del self.mentions[cid]
                del self.votes[cid]

    def snapshot(self) -> tuple[object, ...]:
        return (
            tuple(sorted(self.sheets.items())),
            self.voters_on_list,
            self.voters_voted,
            self.ballots_issued,
            self.ballots_received,
            self.valid_ballots,
            self.invalid_ballots,
            self.complaints_received,
            self.complaints_resolved,
            self.complaints_forwarded,
            tuple(sorted(self.votes.items())),
            tuple(sorted(self.mentions.items())),
        )


@dataclass(frozen=True, slots=True)
class _Final:
    """What a constituency contributes to the rollups: its latest round's outcome."""

    status: Status = "no_results"
    filled: int = 0

    @property
    def complete(self) -> bool:
        return self.status not in ("no_results", "partial")


@dataclass(slots=True)
class _Scope:
    name: str
    lead_race: str | None
    left: dict[str, int] = field(default_factory=dict)
    """Polling area -> how many races of this scope it has still to report. An area
    leaves once it has reported them all, so a finished night holds none (counts
    of expected and reported areas per scope were a national night's largest cost)."""
    areas_total: int = 0
    areas_reported: int = 0
    _left_at_copy: int = 0
    """``len(left)`` when it was last copied (a dict keeps its room when emptied)."""
    constituencies_total: int = 0
    constituencies_complete: int = 0
    voters_on_list: int = 0
    voters_voted: int = 0
    valid_ballots: int = 0
    invalid_ballots: int = 0
    seats: int = 0
    seats_filled: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def expect(self, area: str) -> None:
        """One more race of this scope is held in ``area`` (before any arrives)."""
        self.left[area] = self.left.get(area, 0) + 1
        self.areas_total = self._left_at_copy = len(self.left)

    def arrive(self, area: str) -> None:
        """The first minutes of one of the scope's races in ``area``."""
        n = self.left.get(area)
        if n is None:
            return
        if n > 1:
            self.left[area] = n - 1
            return
        del self.left[area]
        self.areas_reported += 1
        if 4 * len(self.left) < self._left_at_copy:
            self.left = dict(self.left)
            self._left_at_copy = len(self.left)

    def count(self, sheet: _Sheet, sign: int) -> None:
        m = _figures(sheet)
        self.voters_on_list += sign * m[0]
        self.voters_voted += sign * m[1]
        self.valid_ballots += sign * m[4]
        self.invalid_ballots += sign * m[5]

    def settle(self, final: _Final, sign: int) -> None:
        self.by_status[final.status] = self.by_status.get(final.status, 0) + sign
        self.seats_filled += sign * final.filled
        self.constituencies_complete += sign * int(final.complete)

    def rollup(self) -> Rollup:
        return Rollup(
            scope=self.name,
            areas_total=self.areas_total,
            areas_reported=self.areas_reported,
            constituencies_total=self.constituencies_total,
            constituencies_complete=self.constituencies_complete,
            voters_on_list=self.voters_on_list,
            voters_voted=self.voters_voted,
            valid_ballots=self.valid_ballots,
            invalid_ballots=self.invalid_ballots,
            turnout_pct=str(percent(self.voters_voted, self.voters_on_list)),
            seats=self.seats,
            seats_filled=self.seats_filled,
            by_status={s: self.by_status.get(s, 0) for s in STATUSES},
            voters_race_id=self.lead_race,
        )

    def snapshot(self) -> tuple[object, ...]:
        return (
            tuple(sorted(self.left.items())),
            self.rollup(),
        )


def _lead(race_ids: Iterable[str], position: Mapping[str, tuple[int, int]]) -> str | None:
    """The widest race: National Assembly first, then province, district, commune."""
    return min(race_ids, key=lambda r: position[r], default=None)


class Tally:
    """Incremental sums and results of one election."""

    def __init__(self, election: Election, *, rollups: bool = True, sheets: bool = True) -> None:
        """``rollups=False``: results only, no running totals kept (``verify``: less
        work). ``sheets=False``: each polling area's figures are not kept, only that
        it reported (less memory); whoever applies a correction then hands over the minutes it
        replaces (the server reads them back from its ledger to decide anyway)."""
        self.election = election
        self.keeps_rollups = rollups
        self.keeps_sheets = sheets
        self._sums: dict[tuple[str, str, str], _Sums] = {}
        self._round_keys: tuple[int, tuple[tuple[str, str, Round], ...]] = (-1, ())
        self._finals: dict[tuple[str, str], _Final] = {}
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}
        """One tuple of candidate ids for every sheet that names the same ones."""
        self._unsettled: dict[tuple[str, str], None] = {}
        """Constituencies ``add_sheet`` changed since the last ``settle``."""
        self._stale: dict[tuple[str, str, str], _Sums] = {}
        """Their sums, not yet worked out again from the sheets."""
        d = election.definition
        position = {r.id: (_LEVEL_ORDER[r.level], i) for i, r in enumerate(d.races)}
        self._election_scope = _Scope("election", _lead(position, position))
        self._race_scopes = {r.id: _Scope(f"race:{r.id}", r.id) for r in d.races}
        # A committee's scope covers the committees under it too.
        chains: dict[str, list[str]] = {}
        for c in d.committees:
            chain: list[str] = []
            seen: set[str] = set()
            at = c.id
            while at in election.committees and at not in seen:
                seen.add(at)
                chain.append(at)
                parent = election.committees[at].parent_id
                if parent is None:
                    break
                at = parent
            chains[c.id] = chain
        races_of: dict[str, set[str]] = {c.id: set() for c in d.committees}
        self._scopes_of: dict[tuple[str, str], list[_Scope]] = {}
        for race in d.races:
            for con in race.constituencies:
                for cid in chains.get(con.committee_id, [con.committee_id]):
                    races_of.setdefault(cid, set()).add(race.id)
        self._committee_scopes = {
            cid: _Scope(
                f"committee:{cid}",
                _lead(races_of[cid], position),
            )
            for cid in races_of
        }
        for race in d.races:
            for con in race.constituencies:
                scopes: list[_Scope] = []
                if rollups:
                    scopes = [self._election_scope, self._race_scopes[race.id]]
                    scopes += [
                        self._committee_scopes[cid]
                        for cid in chains.get(con.committee_id, [con.committee_id])
                    ]
                self._scopes_of[(race.id, con.id)] = scopes
                self._finals[(race.id, con.id)] = _Final()
                # Sheets naming the candidates in the definition's order share its ids.
                ids = tuple(c.id for c in con.candidates)
                self._names.setdefault(ids, ids)
                # The main round always has sums (maybe empty), so its result is cached too.
                self._sums[(race.id, con.id, "main")] = _Sums()
                for scope in scopes:
                    scope.constituencies_total += 1
                    scope.seats += con.seats
                    scope.by_status["no_results"] = scope.by_status.get("no_results", 0) + 1
                    for area in con.polling_area_ids:
                        scope.expect(area)

    # -- accepting minutes --

    def apply(
        self, minutes: CountingMinutes, replaced: CountingMinutes | None = None
    ) -> tuple[str, str]:
        """Accept the minutes of (polling area, race, round), replacing any earlier
        one: the old figures are taken out and the new put in. The caller has
        checked them (rules.check_minutes). Without kept sheets, ``replaced`` must be
        the minutes counted there until now (None if the area had not reported)."""
        m = minutes
        r, c, a = m.race_id, m.constituency_id, m.polling_area_id
        area = self.election.polling_areas.get(a)
        a = area.id if area is not None else a  # kept as a key: the definition's string
        self._check_seat(r, c, a)
        sums = self._sums.setdefault((r, c, m.round), _Sums())
        new = _sheet(m, self._names)
        old = sums.sheets.get(a)
        if not self.keeps_sheets:
            old = self._replaced(m, old is not None, replaced)
        if old is not None:
            sums.add(old, -1)
        sums.add(new, +1)
        sums.sheets[a] = new if self.keeps_sheets else _REPORTED
        if m.round == "main":
            self._roll(r, c, a, old, new)
        self._redetermine(r, c)
        return r, c

    def _replaced(
        self, m: CountingMinutes, reported: bool, replaced: CountingMinutes | None
    ) -> _Sheet | None:
        """The figures ``m`` replaces, from the caller's ``replaced`` (sheets not kept)."""
        same = replaced is not None and (
            replaced.race_id,
            replaced.constituency_id,
            replaced.round,
            replaced.polling_area_id,
        ) == (m.race_id, m.constituency_id, m.round, m.polling_area_id)
        if reported != (replaced is not None) or (replaced is not None and not same):
            # A bug of the caller's, not the minutes': the sums would go wrong.
            raise TallyError(
                en=f"The minutes replaced in polling area {m.polling_area_id} (race "
                f"{m.race_id}, round {m.round}) were not handed over with the new ones.",
                vi=f"Biên bản bị thay thế ở khu vực bỏ phiếu {m.polling_area_id} (cuộc bầu cử "
                f"{m.race_id}, vòng {m.round}) không được chuyển kèm biên bản mới.",
                fields=("polling_area_id", "race_id", "round"),
                figures={
                    "polling_area_id": m.polling_area_id,
                    "race_id": m.race_id,
                    "round": m.round,
                    "reported": reported,
                    "handed_over": replaced is not None,
                },
            )
        return None if replaced is None else _sheet(replaced, self._names)

    def _check_seat(self, r: str, c: str, a: str) -> None:
        seat = self.election.seats.get((a, r))
        if seat is None or seat.constituency.id != c:
            raise TallyError(
                en=f"Polling area {a} does not vote in constituency {c} of race {r}.",
                vi=f"Khu vực bỏ phiếu {a} không bầu ở đơn vị bầu cử {c} của cuộc bầu cử {r}.",
                fields=("polling_area_id", "race_id", "constituency_id"),
                figures={"polling_area_id": a, "race_id": r, "constituency_id": c},
            )

    def _roll(self, r: str, c: str, a: str, old: _Sheet | None, new: _Sheet) -> None:
        """Move the running totals of the scopes over (r, c) from ``old`` to ``new``
        (a main-round sheet of area ``a``)."""
        for scope in self._scopes_of[(r, c)]:
            if old is None:
                scope.arrive(a)
            if scope.lead_race == r:
                if old is not None:
                    scope.count(old, -1)
                scope.count(new, +1)

    # -- in bulk --

    def add_sheet(self, key: SheetKey, sheet: _Sheet) -> None:
        """``apply`` for ``sheet_of`` figures, in bulk: the sheet is kept (and the
        running totals move on) but the constituency is summed and determined only
        by ``settle()``, which must come before anything is read or applied. For a
        whole night at once (``tally_of_sheets``, ``verify``): each constituency is
        summed and determined once, not after every sheet."""
        r, c, rnd, a = key
        if not self.keeps_sheets:
            raise TypeError("add_sheet sums from kept sheets: Tally(sheets=True)")
        self._check_seat(r, c, a)
        sums = self._sums.get((r, c, rnd))
        if sums is None:
            sums = self._sums[(r, c, rnd)] = _Sums()
        old = sums.sheets.get(a)
        sums.sheets[a] = sheet
        self._stale[(r, c, rnd)] = sums
        if rnd == "main":
            self._roll(r, c, a, old, sheet)
        self._unsettled[(r, c)] = None

    def settle(self) -> None:
        """Determine the constituencies ``add_sheet`` touched, each once."""
        for sums in self._stale.values():
            sums.recount()
        self._stale.clear()
        for r, c in self._unsettled:
            self._redetermine(r, c)
        self._unsettled.clear()

    def settle_reported(self, constituencies: Iterable[tuple[str, str]]) -> None:
        """Settle now, and build the results of, those of these constituencies whose
        main round every polling area has reported; the others wait for ``settle()``.
        For a long bulk load: the work is done as the night goes, not all at the end
        (a constituency ``add_sheet`` touches again is settled again)."""
        for key in constituencies:
            if key not in self._unsettled:
                continue
            r, c = key
            con = self.election.constituencies[key]
            if len(self._sums[(r, c, "main")].sheets) < len(con.polling_area_ids):
                continue
            del self._unsettled[key]
            for rnd in ROUNDS:
                stale = self._stale.pop((r, c, rnd), None)
                if stale is not None:
                    stale.recount()
            self._redetermine(r, c)
            for rnd in ROUNDS:
                if rnd == "main" or (r, c, rnd) in self._sums:
                    self.result(r, c, rnd)

    def _redetermine(self, race_id: str, constituency_id: str) -> None:
        """Settle the constituency's outcome in the rollups. The full determination runs
        only once every polling area of a round has reported: before that it is "no
        results" or "partial" with no winners, which the counts alone say (the result
        itself is built when read)."""
        con = self.election.constituencies[(race_id, constituency_id)]
        base_round: Round = (
            "revote" if (race_id, constituency_id, "revote") in self._sums else "main"
        )
        rounds = [
            (rnd, sums)
            for rnd in ROUNDS
            if (sums := self._sums.get((race_id, constituency_id, rnd))) is not None
        ]
        for _, sums in rounds:
            sums.result = None
            sums.det = None
        areas_total = len(con.polling_area_ids)
        latest = base_round
        filled = 0
        status_of: dict[str, Status] = {}
        for rnd, sums in rounds:
            reported = len(sums.sheets)
            status: Status
            if reported == 0:
                status, won = "no_results", 0
            elif reported < areas_total:
                status, won = "partial", 0
            else:
                det = self._det(race_id, con, rnd, sums)
                status, won = det.status, len(det.winners)
            status_of[rnd] = status
            if rnd in (base_round, "supplementary"):
                filled += won
            if rnd == "supplementary":
                latest = rnd
        new = _Final(status_of.get(latest, "no_results"), filled)
        old = self._finals[(race_id, constituency_id)]
        if new != old:
            for scope in self._scopes_of[(race_id, constituency_id)]:
                scope.settle(old, -1)
                scope.settle(new, +1)
            self._finals[(race_id, constituency_id)] = new

    def _det(self, race_id: str, con: Constituency, rnd: Round, sums: _Sums) -> Determination:
        """The round's determination, worked out on first need after a change."""
        if sums.det is None:
            level = self.election.races[race_id].level
            sums.det = self._determine(level, race_id, con, rnd, sums)
        return sums.det

    def first_round(self, race_id: str, constituency_id: str) -> FirstRound:
        """What a supplementary minutes of this constituency is checked against."""
        con = self.election.constituencies[(race_id, constituency_id)]
        base: Round = "revote" if (race_id, con.id, "revote") in self._sums else "main"
        sums = self._sums.get((race_id, con.id, base), _Sums())
        if (race_id, con.id, base) in self._stale:
            sums.recount()
        return first_round(self.election.races[race_id].level, con, base, sums, len(sums.sheets))

    def final(self, race_id: str, constituency_id: str) -> FinalResult:
        """The constituency's result over its rounds: who was elected in which round,
        and each round's own figures."""
        con = self.election.constituencies[(race_id, constituency_id)]
        return final_of(
            [self.result(race_id, con.id, rnd) for rnd in self.rounds(race_id, con.id)], con.seats
        )

    def rounds(self, race_id: str, constituency_id: str) -> list[Round]:
        """The constituency's rounds with minutes, in order (the main round always)."""
        return [
            rnd for rnd in ROUNDS if rnd == "main" or (race_id, constituency_id, rnd) in self._sums
        ]

    def _seats(self, con: Constituency, race_id: str, rnd: str) -> int:
        if rnd != "supplementary":
            return con.seats
        base: Round = "revote" if (race_id, con.id, "revote") in self._sums else "main"
        sums = self._sums.get((race_id, con.id, base))
        won = len(self._det(race_id, con, base, sums).winners) if sums is not None else 0
        return con.seats - won

    def _candidates(self, con: Constituency, rnd: str, sums: _Sums) -> list[Candidate]:
        if rnd != "supplementary":
            return list(con.candidates)
        return [c for c in con.candidates if c.id in sums.mentions]

    def _determine(
        self, level: RaceLevel, race_id: str, con: Constituency, rnd: Round, sums: _Sums
    ) -> Determination:
        return determine(
            level=level,
            round=rnd,
            seats=self._seats(con, race_id, rnd),
            candidates=self._candidates(con, rnd, sums),
            votes=sums.votes,
            voters_on_list=sums.voters_on_list,
            voters_voted=sums.voters_voted,
            valid_ballots=sums.valid_ballots,
            areas_total=len(con.polling_area_ids),
            areas_reported=len(sums.sheets),
        )

    # -- reading --

    def result(
        self, race_id: str, constituency_id: str, round: Round = "main"
    ) -> ConstituencyResult:
        """One constituency's result in one round (built once per change, then cached)."""
        sums = self._sums.get((race_id, constituency_id, round))
        if sums is not None and sums.result is not None:
            return sums.result  # a list filtered by status reads every row's
        con = self.election.constituencies.get((race_id, constituency_id))
        if con is None or round not in ROUNDS:
            raise TallyError(
                en=f"No constituency {constituency_id} in race {race_id} (round {round}).",
                vi=f"Không có đơn vị bầu cử {constituency_id} trong cuộc bầu cử {race_id} "
                f"(vòng {round}).",
                fields=("race_id", "constituency_id", "round"),
                figures={"race_id": race_id, "constituency_id": constituency_id, "round": round},
            )
        level = self.election.races[race_id].level
        if sums is None:  # a re-vote or supplementary round with no minutes yet
            empty = _Sums()
            det = self._determine(level, race_id, con, round, empty)
            return build_result(
                race_id, con, round, empty, empty.sheets, det, self._candidates(con, round, empty)
            )
        det = self._det(race_id, con, round, sums)
        candidates = self._candidates(con, round, sums)
        sums.result = build_result(
            race_id, con, round, sums, sums.sheets, det, candidates, _pct_text
        )
        return sums.result

    def round_keys(self) -> tuple[tuple[str, str, Round], ...]:
        """What ``results`` lists, as (race, constituency, round), without building any
        result: a page of the list builds only its own rows. Kept until a round appears
        (``_sums`` only grows, and only by a re-vote or supplementary round)."""
        if self._round_keys[0] != len(self._sums):
            out: list[tuple[str, str, Round]] = []
            for race in self.election.definition.races:
                for con in race.constituencies:
                    for rnd in ROUNDS:
                        if rnd == "main" or (race.id, con.id, rnd) in self._sums:
                            out.append((race.id, con.id, rnd))
            self._round_keys = (len(self._sums), tuple(out))
        return self._round_keys[1]

    def results(self) -> list[ConstituencyResult]:
        """Every constituency's main round, each followed by its re-vote and
        supplementary rounds when minutes for them exist; in definition order."""
        out: list[ConstituencyResult] = []
        for race in self.election.definition.races:
            for con in race.constituencies:
                for rnd in ROUNDS:
                    if rnd == "main" or (race.id, con.id, rnd) in self._sums:
                        out.append(self.result(race.id, con.id, rnd))
        return out

    def rollup(self, race_id: str | None = None, committee_id: str | None = None) -> Rollup:
        """The running totals of the election, of one race or of one committee."""
        self._need_rollups()
        if race_id is not None and committee_id is not None:
            raise TallyError(
                en="Ask for a race or a committee, not both.",
                vi="Chỉ chọn một cuộc bầu cử hoặc một ủy ban bầu cử.",
                fields=("race_id", "committee_id"),
            )
        if race_id is not None:
            scope = self._race_scopes.get(race_id)
        elif committee_id is not None:
            scope = self._committee_scopes.get(committee_id)
        else:
            scope = self._election_scope
        if scope is None:
            what = f"race {race_id}" if race_id is not None else f"committee {committee_id}"
            what_vi = (
                f"cuộc bầu cử {race_id}" if race_id is not None else f"ủy ban bầu cử {committee_id}"
            )
            raise TallyError(
                en=f"No {what} in the election.",
                vi=f"Không có {what_vi} trong cuộc bầu cử.",
                fields=("race_id" if race_id is not None else "committee_id",),
            )
        return scope.rollup()

    def missing(self, committee_id: str | None = None) -> list[str]:
        """The polling areas of the election (or of one committee) that have still to
        report one of the scope's races, in the order they were expected."""
        self._need_rollups()
        scope = (
            self._election_scope
            if committee_id is None
            else self._committee_scopes.get(committee_id)
        )
        return [] if scope is None else list(scope.left)

    def rollups(self) -> list[Rollup]:
        """The election, then each race, then each committee, in definition order."""
        self._need_rollups()
        return [
            self._election_scope.rollup(),
            *(s.rollup() for s in self._race_scopes.values()),
            *(s.rollup() for s in self._committee_scopes.values()),
        ]

    def _need_rollups(self) -> None:
        if not self.keeps_rollups:
            raise TallyError(
                en="This tally was made for results only and keeps no running totals.",
                vi="Bảng kiểm này chỉ tính kết quả, không giữ số tổng hợp.",
            )

    def state(self) -> object:
        """A comparable snapshot of every sum, outcome and running total."""
        return {
            "sums": {k: s.snapshot() for k, s in sorted(self._sums.items())},
            "finals": dict(sorted(self._finals.items())),
            "scopes": [
                s.snapshot()
                for s in (
                    self._election_scope,
                    *self._race_scopes.values(),
                    *self._committee_scopes.values(),
                )
            ],
        }


_pct_texts: dict[str, str] = {}


def _pct_text(part: int, whole: int) -> str:
    """``str(percent(part, whole))``, one string per value (at most 10,001 of them)
    for every candidate of the cached results."""
    text = percent_text(part, whole)
    return _pct_texts.setdefault(text, text)


def tally_of_sheets(election: Election, sheets: Iterable[tuple[SheetKey, _Sheet]]) -> Tally:
    """The tally ``tally_from_scratch`` gives, from ``sheet_of`` figures in order (a
    later one replaces an earlier one of the same key).

    Each constituency is determined once at the end rather than after every sheet;
    the sums, outcomes and running totals are those ``apply`` one by one would
    leave (the ``state()`` snapshots are equal), so the tally can go on with
    ``apply``."""
    tally = Tally(election)
    for key, sheet in sheets:
        tally.add_sheet(key, sheet)
    tally.settle()
    return tally


def tally_from_scratch(election: Election, minutes: Iterable[CountingMinutes]) -> Tally:
    """A new tally of these minutes, in order (a later one replaces an earlier one
    for the same polling area, race and round)."""
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    return tally_of_sheets(election, (sheet_of(m, names) for m in minutes))
