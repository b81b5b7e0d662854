"""The incremental tally: the same sums, results and rollups whatever the order and
however often a polling area corrects itself, and the same as counting afresh."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lawkit import make_election, make_multi_election, replace, sheet, valid_minutes

from schemas import codec
from schemas.models import CountingMinutes, ResultBatch, Round
from tally_server.core.definition import load_election
from tally_server.core.fasttally import Tally, tally_from_scratch
from tally_server.core.rules import check_minutes, has_errors
from tally_server.core.tally import ConstituencyResult, TallyError, first_round_of, results_digest

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
MULTI = make_multi_election()
SLOTS = sorted(MULTI.seats)  # (area, race)


@st.composite
def sheets(draw: st.DrawFn) -> list[CountingMinutes]:
    """A night of minutes: some slots report, some twice or more with other figures,
    now and then a re-vote or a supplementary round."""
    out: list[CountingMinutes] = []
    for _ in range(draw(st.integers(1, 30))):
        area, race = draw(st.sampled_from(SLOTS))
        rnd: Round = draw(st.sampled_from(["main"] * 8 + ["revote", "supplementary"]))
        out.append(draw(valid_minutes(MULTI, area, race, rnd, max_pile=400)))
    return out


def latest(minutes: list[CountingMinutes]) -> list[CountingMinutes]:
    last: dict[tuple[str, str, str], CountingMinutes] = {}
    for m in minutes:
        last.pop((m.polling_area_id, m.race_id, m.round), None)
        last[(m.polling_area_id, m.race_id, m.round)] = m
    return list(last.values())


@settings(max_examples=120, deadline=None)
@given(sheets(), st.randoms(use_true_random=False))
def test_incremental_equals_from_scratch_in_any_order(
    night: list[CountingMinutes], rnd: random.Random
) -> None:
    for m in night:
        assert not has_errors(check_minutes(MULTI, m))
    incremental = Tally(MULTI)
    for m in night:
        incremental.apply(m)
        incremental.results()  # reading in between must not disturb anything
    final = latest(night)
    rnd.shuffle(final)
    fresh = tally_from_scratch(MULTI, final)
    assert incremental.state() == fresh.state()
    assert incremental.results() == fresh.results()
    assert incremental.rollups() == fresh.rollups()
    assert results_digest(incremental.results()) == results_digest(fresh.results())
    check_rollups_against_a_recount(incremental, final)
    check_first_rounds_and_finals(incremental, final)
    # The server's tally keeps no sheets: each correction brings what it replaces.
    lean = Tally(MULTI, sheets=False)
    counted: dict[tuple[str, str, str], CountingMinutes] = {}
    for m in night:
        key = (m.polling_area_id, m.race_id, m.round)
        lean.apply(m, counted.get(key))
        counted[key] = m
    assert lean.results() == fresh.results()
    assert lean.rollups() == fresh.rollups()


def check_rollups_against_a_recount(tally: Tally, final: list[CountingMinutes]) -> None:
    """The running totals equal what a plain recount of the results gives."""
    results = tally.results()
    by_con: dict[tuple[str, str], dict[str, ConstituencyResult]] = {}
    for r in results:
        by_con.setdefault((r.race_id, r.constituency_id), {})[r.round] = r
    status: Counter[str] = Counter()
    filled = 0
    for rounds in by_con.values():
        base = rounds.get("revote", rounds["main"])
        supp = rounds.get("supplementary")
        status[(supp or base).status] += 1
        filled += base.seats_filled + (supp.seats_filled if supp else 0)
    roll = tally.rollup()
    assert roll.seats_filled == filled
    assert {k: v for k, v in roll.by_status.items() if v} == dict(status)
    assert roll.constituencies_total == len(by_con) == 5
    assert roll.seats == 2 + 4 + 6
    main_qh = [m for m in final if m.round == "main" and m.race_id == "QH"]
    assert roll.voters_race_id == "QH"
    assert roll.voters_on_list == sum(m.voters_on_list for m in main_qh)
    assert roll.voters_voted == sum(m.voters_voted for m in main_qh)
    assert roll.valid_ballots == sum(m.valid_ballots for m in main_qh)
    in_main = Counter(m.polling_area_id for m in final if m.round == "main")
    assert roll.areas_reported == sum(1 for n in in_main.values() if n == 3)
    for race in ("QH", "TP", "XA"):
        per_race = tally.rollup(race_id=race)
        mains = [m for m in final if m.round == "main" and m.race_id == race]
        assert per_race.areas_reported == len(mains)
        assert per_race.voters_on_list == sum(m.voters_on_list for m in mains)
        assert per_race.invalid_ballots == sum(m.invalid_ballots for m in mains)


def check_first_rounds_and_finals(tally: Tally, final: list[CountingMinutes]) -> None:
    """What a supplementary minutes is checked against is the same from the tally and
    from the minutes alone (the server's ledger); each final result is its rounds'."""
    filled = 0
    for race in MULTI.definition.races:
        for con in race.constituencies:
            mine = [m for m in final if (m.race_id, m.constituency_id) == (race.id, con.id)]
            fr = tally.first_round(race.id, con.id)
            assert fr == first_round_of(MULTI, race.id, con.id, mine)
            base = tally.result(race.id, con.id, fr.round)
            assert fr.complete == (base.areas_reported == base.areas_total > 0)
            assert fr.elected == (tuple(base.winners) if fr.complete else ())
            f = tally.final(race.id, con.id)
            rounds = [r.round for r in f.rounds]
            assert rounds == [
                r
                for r in ("main", "revote", "supplementary")
                if r == "main" or any(m.round == r for m in mine)
            ]
            supp = [m for m in mine if m.round == "supplementary"]
            counting = [base] + ([tally.result(race.id, con.id, "supplementary")] if supp else [])
            assert [(e.id, e.round) for e in f.elected] == [
                (w, r.round) for r in counting for w in r.winners
            ]
            assert f.status == counting[-1].status
            filled += f.seats_filled
    assert filled == tally.rollup().seats_filled


def test_the_list_gains_a_later_round_as_its_first_minutes_arrive() -> None:
    """What the constituency list reads (``round_keys``) follows ``results``, read before
    and after the supplementary round's first minutes."""
    election = make_election(seats=2, births=4, areas=2)
    t = Tally(election)
    assert t.round_keys() == (("R", "C", "main"),)
    for area in ("A1", "A2"):
        t.apply(sheet([80, 30, 45, 20], valid=100, area=area, on_list=150))
    assert t.round_keys() == (("R", "C", "main"),)
    t.apply(sheet({"C-2": 40, "C-3": 60}, valid=100, area="A1", on_list=150, round="supplementary"))
    assert t.round_keys() == (("R", "C", "main"), ("R", "C", "supplementary"))
    assert [(r.race_id, r.constituency_id, r.round) for r in t.results()] == list(t.round_keys())


def test_the_final_result_names_the_round_of_each_deputy() -> None:
    """Two seats: C-1 elected in the main round, C-3 in the supplementary round."""
    election = make_election(seats=2, births=4, areas=2)
    t = Tally(election)
    for area in ("A1", "A2"):
        t.apply(sheet([80, 30, 45, 20], valid=100, area=area, on_list=150))
    fr = t.first_round("R", "C")
    assert (fr.status, fr.elected, fr.open_seats) == ("supplementary_proposed", ("C-1",), 1)
    t.apply(sheet({"C-2": 40, "C-3": 60}, valid=100, area="A1", on_list=150, round="supplementary"))
    assert t.final("R", "C").status == "partial"
    t.apply(sheet({"C-2": 45, "C-3": 55}, valid=100, area="A2", on_list=150, round="supplementary"))
    f = t.final("R", "C")
    assert (f.status, f.seats, f.seats_filled) == ("elected", 2, 2)
    assert [(e.id, e.round, e.votes, e.pct) for e in f.elected] == [
        ("C-1", "main", 160, "80.00"),
        ("C-3", "supplementary", 115, "57.50"),
    ]
    assert [(r.round, r.seats, r.seats_filled, r.valid_ballots) for r in f.rounds] == [
        ("main", 2, 1, 200),
        ("supplementary", 1, 1, 200),
    ]
    assert "C-3, bầu cử thêm" in f.notes_vi and "C-3, supplementary round" in f.notes_en
    assert t.rollup().seats_filled == 2


def test_a_correction_replaces_the_figures_it_corrects() -> None:
    election = load_election(EXAMPLES / "election.json")
    batch = codec.decode((EXAMPLES / "batch.json").read_bytes(), ResultBatch)
    tally = Tally(election)
    for m in batch.minutes:
        assert tally.apply(m) == (m.race_id, m.constituency_id)
    qh = batch.minutes[0]
    before = tally.result("QH", "QH-10")
    assert before.status == "partial" and before.valid_ballots == 1220
    assert before.candidates[0].votes == 1001
    fixed = replace(qh, candidate_votes={**qh.candidate_votes, "QH-10-1": 1000, "QH-10-4": 456})
    tally.apply(fixed)
    after = tally.result("QH", "QH-10")
    assert [c.votes for c in after.candidates][:4] == [1000, 874, 803, 456]
    assert after.areas_reported == 1
    # The same state as if only the corrected minutes had ever been counted.
    assert tally.state() == tally_from_scratch(election, [fixed, *batch.minutes[1:]]).state()
    assert tally.rollup(race_id="QH").voters_voted == 1238  # counted once, not twice


def test_without_kept_sheets_a_correction_must_bring_the_minutes_it_replaces() -> None:
    election = load_election(EXAMPLES / "election.json")
    batch = codec.decode((EXAMPLES / "batch.json").read_bytes(), ResultBatch)
    qh = batch.minutes[0]
    fixed = replace(qh, candidate_votes={**qh.candidate_votes, "QH-10-1": 1000, "QH-10-4": 456})
    tally = Tally(election, sheets=False)
    tally.apply(qh)
    before = tally.results()
    with pytest.raises(TallyError, match="not handed over"):
        tally.apply(fixed)  # nothing said of the minutes counted there
    with pytest.raises(TallyError, match="not handed over"):
        tally.apply(fixed, batch.minutes[1])  # another race's minutes
    with pytest.raises(TallyError, match="not handed over"):
        tally.apply(batch.minutes[1], qh)  # the first of its race: nothing to replace
    assert tally.results() == before  # a refused apply changes no sum
    tally.apply(fixed, qh)
    kept = tally_from_scratch(election, [fixed])
    assert tally.result("QH", "QH-10") == kept.result("QH", "QH-10")
    assert tally.rollup(race_id="QH") == kept.rollup(race_id="QH")


def test_the_example_election_to_the_end() -> None:
    election = load_election(EXAMPLES / "election.json")
    batch = codec.decode((EXAMPLES / "batch.json").read_bytes(), ResultBatch)
    tally = Tally(election)
    for area in ("KV-01", "KV-02", "KV-03"):
        for m in batch.minutes:
            area_m = replace(m, polling_area_id=area)
            assert not has_errors(check_minutes(election, area_m))
            tally.apply(area_m)
    qh = tally.result("QH", "QH-10")
    assert qh.status == "elected" and qh.winners == ["QH-10-1", "QH-10-2", "QH-10-3"]
    assert (qh.voters_on_list, qh.voters_voted, qh.valid_ballots) == (3750, 3714, 3660)
    assert qh.turnout_pct == "99.04"
    assert (qh.valid_pct, qh.invalid_pct) == ("98.55", "1.45")
    assert qh.candidates[0].pct == "82.05"  # 3003 / 3660
    tp = tally.result("HDND-TP", "TP-25")
    assert tp.winners == ["TP-25-1", "TP-25-2"] and tp.status == "elected"
    xa = tally.result("HDND-XA", "TTH-1")
    assert xa.winners == ["TTH-1-1", "TTH-1-2", "TTH-1-3"]
    roll = tally.rollup()
    assert (roll.areas_reported, roll.areas_total) == (3, 3)
    assert (roll.constituencies_complete, roll.seats, roll.seats_filled) == (3, 8, 8)
    assert roll.voters_race_id == "QH" and roll.voters_on_list == 3750
    council = tally.rollup(committee_id="HDBCQG")  # the council sees everything below it
    assert council.constituencies_total == 3 and council.seats_filled == 8
    assert tally.rollup(committee_id="UBBC-TTH").constituencies_total == 1
    assert tally.rollup(committee_id="UBBC-HCM").constituencies_total == 3


def test_partial_progress_per_scope() -> None:
    tally = Tally(MULTI)
    tally.apply(
        sheet([500, 400, 300, 100], valid=700, area="A1", race="QH", constituency="Q1", on_list=900)
    )
    roll = tally.rollup()
    assert (roll.areas_reported, roll.areas_total) == (0, 4)  # A1 still owes TP and XA
    assert tally.rollup(race_id="QH").areas_reported == 1
    assert roll.by_status["partial"] == 1 and roll.by_status["no_results"] == 4
    assert roll.turnout_pct == "77.78"  # 700 of 900
    assert tally.rollup(committee_id="X").voters_race_id == "XA"
    assert tally.rollup(committee_id="X").voters_on_list == 0


def test_applying_one_sheet_leaves_other_constituencies_cached() -> None:
    tally = Tally(MULTI)
    untouched = tally.result("TP", "T2")
    tally.apply(sheet([500, 400, 300], valid=600, area="A1", race="TP", constituency="T1"))
    assert tally.result("TP", "T2") is untouched
    assert tally.result("TP", "T1").areas_reported == 1


def test_results_list_every_constituency_and_extra_rounds() -> None:
    tally = Tally(MULTI)
    assert [(r.race_id, r.constituency_id, r.round) for r in tally.results()] == [
        ("QH", "Q1", "main"),
        ("TP", "T1", "main"),
        ("TP", "T2", "main"),
        ("XA", "X1", "main"),
        ("XA", "X2", "main"),
    ]
    tally.apply(
        sheet([300, 300, 0], valid=400, area="A2", race="TP", constituency="T1", round="revote")
    )
    assert [(r.constituency_id, r.round) for r in tally.results()][1:3] == [
        ("T1", "main"),
        ("T1", "revote"),
    ]


def test_minutes_that_do_not_fit_the_election_are_refused() -> None:
    tally = Tally(MULTI)
    with pytest.raises(TallyError) as err:
        tally.apply(sheet([1], valid=1, area="A1", race="TP", constituency="T2"))
    assert err.value.code == "T100" and "T2" in err.value.message_en
    with pytest.raises(TallyError):
        tally.result("TP", "T9")
    with pytest.raises(TallyError):
        tally.rollup(committee_id="nope")


def test_results_digest_is_the_sha256_of_the_deterministic_json() -> None:
    import hashlib

    tally = Tally(MULTI)
    results = tally.results()
    digest = results_digest(results)
    assert digest == hashlib.sha256(codec.encode(results)).hexdigest()
    tally.apply(sheet([500, 400, 300], valid=600, area="A1", race="TP", constituency="T1"))
    assert results_digest(tally.results()) != digest
    decoded = codec.decode(codec.encode(tally.results()), list[ConstituencyResult])
    assert results_digest(decoded) == results_digest(tally.results())
