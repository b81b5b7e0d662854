"""Who is elected: every branch of the law's determination, at its exact edges."""

from __future__ import annotations

import datetime as dt

from lawkit import make_election, sheet

from schemas.models import Candidate, CountingMinutes, Round
from tally_server.core.definition import Election
from tally_server.core.fasttally import Tally
from tally_server.core.rules import check_minutes, has_errors
from tally_server.core.tally import ConstituencyResult, Determination, determine


def run(election: Election, *sheets: CountingMinutes, round: Round = "main") -> ConstituencyResult:
    tally = Tally(election)
    for m in sheets:
        findings = check_minutes(election, m)
        assert not has_errors(findings), findings
        tally.apply(m)
    return tally.result("R", "C", round)


def elected(r: ConstituencyResult) -> list[str]:
    return [c.id for c in r.candidates if c.elected]


# --- turnout: more than half, strictly ----------------------------------------------


def test_turnout_of_exactly_half_means_a_revote() -> None:
    e = make_election(seats=1, births=2, areas=1)
    r = run(e, sheet([400, 100], valid=500, on_list=1000))  # 2·500 = 1000: not more
    assert r.status == "revote"
    assert r.winners == [] and elected(r) == [] and r.seats_filled == 0
    assert r.turnout_pct == "50.00"
    assert "500/1.000" in r.notes_vi and "re-vote" in r.notes_en


def test_turnout_one_voter_over_half_elects() -> None:
    e = make_election(seats=1, births=2, areas=1)
    r = run(e, sheet([400, 101], valid=501, on_list=1000))
    assert r.status == "elected" and r.winners == ["C-1"]
    assert r.turnout_pct == "50.10"


def test_turnout_is_summed_over_the_constituency_not_per_area() -> None:
    e = make_election(seats=1, births=2, areas=2)
    low = sheet([250, 50], valid=300, area="A1", on_list=1000)  # 30% here
    high = sheet([601, 100], valid=701, area="A2", on_list=1000)  # 70.1% there
    r = run(e, low, high)
    assert (r.voters_voted, r.voters_on_list) == (1001, 2000)
    assert r.status == "elected" and r.winners == ["C-1"]


def test_a_revote_whose_turnout_is_still_low_is_accepted() -> None:
    e = make_election(seats=1, births=2, areas=1)
    main = sheet([300, 100], valid=400, on_list=1000)
    revote = sheet([350, 50], valid=400, on_list=1000, round="revote")
    tally = Tally(e)
    tally.apply(main)
    tally.apply(revote)
    assert tally.result("R", "C").status == "revote"
    r = tally.result("R", "C", "revote")
    assert r.status == "elected" and r.winners == ["C-1"]
    assert "no second re-vote" in r.notes_en and "không bầu cử lại lần thứ hai" in r.notes_vi
    assert tally.rollup().by_status["elected"] == 1 and tally.rollup().seats_filled == 1


# --- votes: more than half of the valid ballots, strictly ----------------------------


def test_exactly_half_the_valid_ballots_is_not_enough() -> None:
    e = make_election(seats=2, births=3, areas=1, level="commune")
    r = run(e, sheet([900, 500, 400], valid=1000))  # 2·500 = 1000: not more
    by_id = {c.id: c for c in r.candidates}
    assert by_id["C-1"].eligible and not by_id["C-2"].eligible
    assert by_id["C-2"].pct == "50.00"
    assert r.winners == ["C-1"]


def test_one_vote_over_half_is_enough() -> None:
    e = make_election(seats=2, births=3, areas=1, level="commune")
    r = run(e, sheet([900, 501, 399], valid=1000))
    assert r.status == "elected" and r.winners == ["C-1", "C-2"]


def test_a_plurality_without_a_majority_across_areas_elects_no_one() -> None:
    # C-1 has a majority in A1 and the most votes overall, but not over half of all
    e = make_election(seats=1, births=3, areas=3, level="commune")
    a1 = sheet([600, 300, 100], valid=1000, area="A1")
    a2 = sheet([300, 400, 300], valid=1000, area="A2")
    a3 = sheet([390, 310, 300], valid=1000, area="A3")
    r = run(e, a1, a2, a3)
    assert [c.votes for c in r.candidates] == [1290, 1010, 700]
    assert r.candidates[0].rank == 1 and not r.candidates[0].eligible
    assert r.winners == []
    assert r.status == "supplementary_proposed"  # council: 0 of 1, 3·0 < 2·1


def test_more_candidates_over_half_than_seats_the_extra_are_not_elected() -> None:
    e = make_election(seats=3, births=5, areas=1)
    r = run(e, sheet([900, 700, 800, 600, 0], valid=1000))
    assert [c.eligible for c in r.candidates] == [True, True, True, True, False]
    assert r.winners == ["C-1", "C-3", "C-2"]  # in elected order
    assert [c.rank for c in r.candidates] == [1, 3, 2, 4, 5]
    assert r.status == "elected" and r.seats_filled == 3
    assert "1 more candidate(s)" in r.notes_en


# --- ties at the seat line -----------------------------------------------------------


def test_a_tie_for_the_last_seat_goes_to_the_older() -> None:
    e = make_election(seats=2, births=["1970-01-01", "1965-05-05", "1958-12-31"], areas=1)
    r = run(e, sheet([800, 600, 600], valid=1000))
    assert r.status == "elected"
    assert r.winners == ["C-1", "C-3"]  # C-3 born 1958 is older than C-2
    assert [c.rank for c in r.candidates] == [1, 3, 2]
    assert "31/12/1958" in r.notes_vi and "the older win" in r.notes_en


def test_a_tie_with_the_same_birth_date_across_the_seat_line_is_unresolved() -> None:
    e = make_election(seats=2, births=["1970-01-01", "1965-05-05", "1965-05-05"], areas=1)
    r = run(e, sheet([800, 600, 600], valid=1000))
    assert r.status == "unresolved_tie"
    assert r.unresolved_tie == ["C-2", "C-3"]
    assert r.winners == ["C-1"] and r.seats_filled == 1
    assert [c.rank for c in r.candidates] == [1, 2, 2]
    assert "05/05/1965" in r.notes_en


def test_the_same_birth_date_on_one_side_of_the_seat_line_is_no_tie() -> None:
    births = ["1970-01-01", "1971-01-01", "1972-01-01", "1965-05-05", "1965-05-05"]
    e = make_election(seats=3, births=births, areas=1)
    below = run(e, sheet([600, 560, 540, 510, 510], valid=1000))  # both eligible, both out
    assert below.status == "elected" and below.winners == ["C-1", "C-2", "C-3"]
    assert below.unresolved_tie == [] and [c.rank for c in below.candidates][3:] == [4, 4]
    births = ["1970-01-01", "1965-05-05", "1965-05-05", "1972-01-01", "1973-01-01"]
    e = make_election(seats=3, births=births, areas=1)
    inside = run(e, sheet([600, 560, 560, 510, 505], valid=1000))  # both in
    assert inside.status == "elected" and inside.winners == ["C-1", "C-2", "C-3"]


def test_same_votes_where_age_decides_inside_an_identical_pair() -> None:
    # three tie on 600 for two seats: the oldest takes one; the other two share a
    # birth date and straddle the last seat
    births = ["1970-01-01", "1960-01-01", "1960-01-01", "1950-01-01"]
    e = make_election(seats=3, births=births, areas=1)
    r = run(e, sheet([900, 600, 600, 600], valid=1000, piles=[0, 300, 700]))
    assert r.status == "unresolved_tie"
    assert r.winners == ["C-1", "C-4"] and r.unresolved_tie == ["C-2", "C-3"]


# --- shortfall: supplementary election or empty seats --------------------------------


def test_national_assembly_short_by_one_proposes_a_supplementary_election() -> None:
    e = make_election(seats=3, births=5, areas=1, level="national_assembly")
    r = run(e, sheet([800, 700, 400, 300, 200], valid=1000))
    assert r.winners == ["C-1", "C-2"]
    assert r.status == "supplementary_proposed"
    assert "National Election Council" in r.notes_en


def test_three_seat_council_two_filled_leaves_one_empty() -> None:
    e = make_election(seats=3, births=5, areas=1, level="province")
    r = run(e, sheet([800, 700, 400, 300, 200], valid=1000))
    assert r.winners == ["C-1", "C-2"]
    assert r.status == "seats_left_empty"  # 3·2 = 6 ≥ 2·3


def test_three_seat_council_one_filled_needs_a_supplementary_election() -> None:
    e = make_election(seats=3, births=5, areas=1, level="district")
    r = run(e, sheet([800, 500, 400, 300, 200], valid=1000))
    assert r.winners == ["C-1"]
    assert r.status == "supplementary_proposed"  # 3·1 = 3 < 6


def test_five_seat_council_four_filled_leaves_one_empty() -> None:
    e = make_election(seats=5, births=8, areas=1, level="commune")
    votes = [900, 800, 700, 600, 500, 400, 300, 200]  # four over 500
    r = run(e, sheet(votes, valid=1000, piles=[0, 0, 0, 600, 400]))
    assert len(r.winners) == 4 and r.status == "seats_left_empty"  # 12 ≥ 10


def test_five_seat_council_three_filled_needs_a_supplementary_election() -> None:
    e = make_election(seats=5, births=8, areas=1, level="commune")
    votes = [900, 800, 700, 500, 500, 400, 300, 200]
    r = run(e, sheet(votes, valid=1000, piles=[0, 0, 0, 700, 300]))
    assert len(r.winners) == 3 and r.status == "supplementary_proposed"  # 9 < 10


def test_a_supplementary_round_fills_what_is_left_and_is_final() -> None:
    e = make_election(seats=3, births=5, areas=1, level="national_assembly")
    tally = Tally(e)
    tally.apply(sheet([800, 700, 400, 300, 200], valid=1000))
    assert tally.result("R", "C").status == "supplementary_proposed"
    supp = sheet({"C-3": 450, "C-4": 550}, valid=1000, round="supplementary", piles=[1000])
    assert not has_errors(check_minutes(e, supp))
    tally.apply(supp)
    r = tally.result("R", "C", "supplementary")
    assert r.seats == 1 and [c.id for c in r.candidates] == ["C-3", "C-4"]
    assert r.status == "elected" and r.winners == ["C-4"]
    roll = tally.rollup()
    assert (roll.seats, roll.seats_filled, roll.by_status["elected"]) == (3, 3, 1)

    tally.apply(sheet({"C-3": 500, "C-4": 500}, valid=1000, round="supplementary", piles=[1000]))
    r = tally.result("R", "C", "supplementary")
    assert r.status == "seats_left_empty" and r.winners == []
    assert "no second supplementary" in r.notes_en
    assert tally.rollup().seats_filled == 2


def test_a_supplementary_round_for_a_council_short_of_two_seats() -> None:
    e = make_election(seats=3, births=6, areas=1, level="province")
    tally = Tally(e)
    tally.apply(sheet([800, 500, 400, 300, 200, 100], valid=1000))
    assert tally.result("R", "C").status == "supplementary_proposed"
    tally.apply(
        sheet(
            {"C-2": 600, "C-3": 550, "C-4": 200},
            valid=1000,
            round="supplementary",
            piles=[650, 350],
        )
    )
    r = tally.result("R", "C", "supplementary")
    assert r.seats == 2 and r.winners == ["C-2", "C-3"] and r.status == "elected"
    assert [x.round for x in tally.results()] == ["main", "supplementary"]


# --- progress and figures ------------------------------------------------------------


def test_no_minutes_yet() -> None:
    e = make_election(seats=1, births=2, areas=2)
    r = Tally(e).result("R", "C")
    assert r.status == "no_results" and r.areas_reported == 0
    assert r.missing_area_ids == ["A1", "A2"]
    assert r.turnout_pct == "0.00" and [c.rank for c in r.candidates] == [0, 0]


def test_partial_shows_provisional_figures_but_no_winner() -> None:
    e = make_election(seats=1, births=2, areas=2)
    r = run(e, sheet([700, 300], valid=1000, on_list=1200, area="A2"))
    assert r.status == "partial"
    assert (r.areas_reported, r.areas_total, r.missing_area_ids) == (1, 2, ["A1"])
    assert r.winners == [] and elected(r) == []
    assert r.candidates[0].pct == "70.00" and r.candidates[0].eligible
    assert r.turnout_pct == "83.33"
    assert "1 of 2 polling areas" in r.notes_en


def test_percentages_round_half_up_and_valid_invalid_make_100() -> None:
    e = make_election(seats=1, births=2, areas=1)
    # 125 of 4000 valid = 3.125% -> 3.13; 3875 = 96.875% -> 96.88
    r = run(e, sheet([125, 3875], valid=4000, invalid=3, on_list=5000))
    assert [c.pct for c in r.candidates] == ["3.13", "96.88"]
    # valid 4000/4003 = 99.925...%, invalid 0.0749..%: 99.93 + 0.07 = 100.00
    assert (r.valid_pct, r.invalid_pct) == ("99.93", "0.07")


def test_valid_and_invalid_shares_are_nudged_to_sum_to_100() -> None:
    e = make_election(seats=1, births=2, areas=1)
    # exact 96.875% and 3.125%: both round up alone (100.01), so one is nudged
    r = run(e, sheet([30000, 1000], valid=31000, invalid=1000, on_list=40000))
    assert (r.valid_pct, r.invalid_pct) == ("96.87", "3.13")


def test_determine_is_a_pure_function_of_the_sums() -> None:
    cands = [
        Candidate(id="a", full_name="A", birth_date=dt.date(1960, 1, 1)),
        Candidate(id="b", full_name="B", birth_date=dt.date(1960, 1, 1)),
    ]

    def det(a: int, b: int, round: Round = "main") -> Determination:
        return determine(
            level="commune",
            round=round,
            seats=1,
            candidates=cands,
            votes={"a": a, "b": b},
            voters_on_list=100,
            voters_voted=60,
            valid_ballots=50,
            areas_total=1,
            areas_reported=1,
        )

    assert (det(26, 24).status, det(26, 24).winners) == ("elected", ("a",))
    assert det(26, 24).eligible == ("a",)
    assert (det(25, 25).status, det(25, 25).winners) == ("supplementary_proposed", ())
    assert (det(26, 26).status, det(26, 26).unresolved_tie) == ("unresolved_tie", ("a", "b"))
    assert (det(20, 30, "supplementary").status, det(20, 30).winners) == ("elected", ("b",))
    assert det(25, 25, "supplementary").status == "seats_left_empty"
