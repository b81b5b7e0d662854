"""The checks on a counting minutes: every rule trips on its own figures, and names them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lawkit import make_election, replace, sheet, valid_minutes, votes_from_piles

from schemas import codec
from schemas.models import Complaints, CountingMinutes, Finding, ResultBatch
from tally_server.core.definition import Election, load_election
from tally_server.core.rules import (
    DEFAULT_RULES,
    RULES,
    FirstRound,
    RulesConfig,
    check_batch,
    check_minutes,
    has_errors,
    rules_markdown,
    unexplained,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"


@pytest.fixture(scope="module")
def example() -> Election:
    return load_election(EXAMPLES / "election.json")


def example_minutes() -> CountingMinutes:
    return codec.decode((EXAMPLES / "minutes.json").read_bytes(), CountingMinutes)


def example_batch() -> ResultBatch:
    return codec.decode((EXAMPLES / "batch.json").read_bytes(), ResultBatch)


def codes(findings: list[Finding], severity: str | None = None) -> set[str]:
    return {f.code for f in findings if severity is None or f.severity == severity}


def errors(findings: list[Finding]) -> set[str]:
    return codes(findings, "error")


# --- the examples pass ---------------------------------------------------------------


def test_example_minutes_pass_with_no_finding(example: Election) -> None:
    assert check_minutes(example, example_minutes()) == []


def test_example_batch_passes_with_no_finding(example: Election) -> None:
    assert check_batch(example, example_batch()) == []


# --- each mutated figure trips exactly its rule --------------------------------------

M = example_minutes()  # QH-10, 3 seats; valid 1220, votes total 3434, piles [6, 214, 1000]
V = dict(M.candidate_votes)

ERROR_CASES: dict[str, CountingMinutes] = {
    "E100": replace(M, invalid_ballots=-1),
    "E101": replace(M, race_id="QH-X"),
    "E102": replace(M, constituency_id="QH-99"),
    "E103": replace(M, polling_area_id="KV-99"),
    "E106": replace(
        M, candidate_votes={**{k: v for k, v in V.items() if k != "QH-10-5"}, "X": 301}
    ),
    "E107": replace(M, ballots_by_names_kept=[6, 214, 1000, 0]),
    "E110": replace(M, voters_voted=1251),
    "E111": replace(M, ballots_issued=1237),
    "E112": replace(M, invalid_ballots=19),
    # 1221 > valid; the others give back what it took, so the totals still agree
    "E113": replace(M, candidate_votes={**V, "QH-10-1": 1221, "QH-10-5": 81}),
    "E114": replace(
        M,
        candidate_votes={
            "QH-10-1": 600,
            "QH-10-2": 300,
            "QH-10-3": 200,
            "QH-10-4": 100,
            "QH-10-5": 19,
        },
        ballots_by_names_kept=None,
    ),
    "E115": replace(
        M,
        candidate_votes={
            "QH-10-1": 1220,
            "QH-10-2": 1220,
            "QH-10-3": 1220,
            "QH-10-4": 1,
            "QH-10-5": 0,
        },
        ballots_by_names_kept=None,
    ),
    "E116": replace(M, ballots_by_names_kept=[8, 213, 1000]),
    "E117": replace(M, ballots_by_names_kept=[5, 215, 1000]),
}


@pytest.mark.parametrize("code", sorted(ERROR_CASES))
def test_each_mutation_trips_exactly_its_rule(example: Election, code: str) -> None:
    findings = check_minutes(example, ERROR_CASES[code])
    assert errors(findings) == {code}
    assert has_errors(findings)
    (f,) = [f for f in findings if f.code == code]
    assert f.severity == "error"
    assert f.message_en.startswith(f"{code}: ") and f.message_vi.startswith(f"{code}: ")
    assert f.race_id == ERROR_CASES[code].race_id


def test_race_not_held_at_the_area_and_area_of_another_constituency() -> None:
    # two races, area A2 votes only in the first; A1 and A2 in different constituencies
    base = make_election(seats=1, births=2, areas=2)
    d = base.definition
    race = d.races[0]
    c1 = replace(race.constituencies[0], polling_area_ids=["A1"])
    c2 = replace(
        race.constituencies[0],
        id="D",
        polling_area_ids=["A2"],
        candidates=[replace(c, id=c.id.replace("C", "D")) for c in c1.candidates],
    )
    other = replace(race, id="S", constituencies=[replace(c1, id="S1")])
    election = Election.from_definition(
        replace(d, races=[replace(race, constituencies=[c1, c2]), other])
    )
    wrong_con = sheet([600, 400], valid=1000, area="A2")
    assert errors(check_minutes(election, wrong_con)) == {"E105"}
    not_held = sheet([600, 400], valid=1000, area="A2", race="S", constituency="S1")
    assert errors(
        check_minutes(election, replace(not_held, candidate_votes={"C-1": 600, "C-2": 400}))
    ) == {"E104"}


def test_message_carries_the_figures_in_both_languages_each_in_its_own_format(
    example: Election,
) -> None:
    m = replace(M, ballots_issued=1240, ballots_received=1240, voters_voted=1240)
    (f,) = [f for f in check_minutes(example, m) if f.code == "E112"]
    assert f.message_en == "E112: valid (1,220) + invalid (18) = 1,238 ≠ ballots received (1,240)"
    assert f.message_vi == (
        "E112: phiếu hợp lệ (1.220) + phiếu không hợp lệ (18) = 1.238 ≠ phiếu thu vào (1.240)"
    )
    assert f.figures == {
        "valid_ballots": 1220,
        "invalid_ballots": 18,
        "sum": 1238,
        "ballots_received": 1240,
    }
    assert set(f.fields) == {"valid_ballots", "invalid_ballots", "ballots_received"}


def test_a_candidate_over_valid_is_named(example: Election) -> None:
    (f,) = [f for f in check_minutes(example, ERROR_CASES["E113"]) if f.code == "E113"]
    assert f.figures == {"candidate_id": "QH-10-1", "votes": 1221, "valid_ballots": 1220}
    assert "QH-10-1" in f.message_en and "1.221" in f.message_vi


def test_candidate_list_names_the_missing_and_the_unknown(example: Election) -> None:
    (f,) = check_minutes(example, ERROR_CASES["E106"])
    assert f.figures["missing"] == "QH-10-5" and f.figures["unknown"] == "X"


def test_supplementary_round_may_list_part_of_the_candidates_but_not_none(
    example: Election,
) -> None:
    part = sheet(
        {"QH-10-4": 700, "QH-10-5": 500},
        valid=1200,
        area="KV-01",
        on_list=1250,
        round="supplementary",
        race="QH",
        constituency="QH-10",
        piles=[1200, 0],
    )
    assert errors(check_minutes(example, part)) == set()
    as_main = replace(part, round="main")
    assert errors(check_minutes(example, as_main)) == {"E106", "E107"}  # and 2 piles for 3 seats
    none = replace(
        part,
        candidate_votes={},
        valid_ballots=0,
        ballots_received=0,
        ballots_issued=0,
        voters_voted=0,
        ballots_by_names_kept=None,
    )
    assert errors(check_minutes(example, none)) == {"E106"}


def test_negative_figures_anywhere_are_caught_and_stop_the_arithmetic(example: Election) -> None:
    for m in (
        replace(M, candidate_votes={**V, "QH-10-2": -1}),
        replace(M, ballots_by_names_kept=[6, -214, 1000]),
        replace(M, complaints=Complaints(received=-2)),
        replace(M, voters_on_list=-1250),
    ):
        assert errors(check_minutes(example, m)) == {"E100"}


def test_a_count_that_is_not_an_int_is_caught(example: Election) -> None:
    assert errors(check_minutes(example, replace(M, valid_ballots="1220"))) == {"E100"}
    assert errors(check_minutes(example, replace(M, valid_ballots=True))) == {"E100"}


# --- warnings ------------------------------------------------------------------------

WARNING_CASES: dict[str, CountingMinutes] = {
    "W200": replace(M, ballots_issued=1240),
    "W201": replace(M, voters_voted=1239, ballots_issued=1239),  # received 1238
    "W202": replace(
        M,
        voters_on_list=4001,
        voters_voted=2001,
        ballots_issued=2001,
        ballots_received=2001,
        invalid_ballots=781,
    ),
    "W205": replace(
        M, voters_voted=1249, ballots_issued=1249, ballots_received=1249, invalid_ballots=29
    ),
    "W206": replace(M, voters_on_list=2476),
    "W207": replace(
        M,
        voters_on_list=1400,
        voters_voted=1368,
        ballots_issued=1368,
        ballots_received=1368,
        invalid_ballots=148,
    ),
}


@pytest.mark.parametrize("code", sorted(WARNING_CASES))
def test_each_unusual_figure_warns_without_an_error(example: Election, code: str) -> None:
    findings = check_minutes(example, WARNING_CASES[code])
    assert not has_errors(findings)
    assert code in codes(findings)
    (f,) = [f for f in findings if f.code == code]
    assert f.severity == "warning" and f.race_id == "QH"


def test_exact_turnout_and_invalid_thresholds(example: Election) -> None:
    def warn(m: CountingMinutes) -> set[str]:
        return codes(check_minutes(example, replace(m, voters_on_list=1000)), "warning")

    base = sheet(
        {"QH-10-1": 500, "QH-10-2": 0, "QH-10-3": 0, "QH-10-4": 0, "QH-10-5": 0},
        valid=500,
        race="QH",
        constituency="QH-10",
        area="KV-01",
    )
    assert "W206" in warn(base)  # exactly 50% warns
    assert "W206" not in warn(
        replace(base, voters_voted=501, ballots_issued=501, ballots_received=501, invalid_ballots=1)
    )
    high = replace(
        base, voters_voted=999, ballots_issued=999, ballots_received=999, invalid_ballots=499
    )
    assert "W205" in warn(high)  # exactly 99.9% warns
    assert "W205" not in warn(
        replace(
            high, voters_voted=998, ballots_issued=998, ballots_received=998, invalid_ballots=498
        )
    )
    ten = replace(
        base,
        voters_voted=600,
        ballots_issued=600,
        ballots_received=600,
        valid_ballots=540,
        invalid_ballots=60,
        candidate_votes={**base.candidate_votes, "QH-10-2": 40},
    )
    assert "W207" not in warn(ten)  # exactly 10% does not
    assert "W207" in warn(
        replace(ten, invalid_ballots=61, ballots_received=601, ballots_issued=601, voters_voted=601)
    )


def test_voters_differ_from_the_definition(example: Election) -> None:
    m = replace(M, voters_on_list=1260)
    (f,) = check_minutes(example, m)
    assert f.code == "W204"
    assert f.figures == {"voters_on_list": 1260, "defined": 1250}
    assert "1.260" in f.message_vi and "1.250" in f.message_vi
    assert "1,260" in f.message_en and "1,250" in f.message_en


def test_thresholds_come_from_the_config(example: Election) -> None:
    m = example_minutes()
    assert check_minutes(example, m) == []
    strict = RulesConfig(max_voters=1200, high_invalid_percent=1)
    assert codes(check_minutes(example, m, strict)) == {"W202", "W207"}
    assert DEFAULT_RULES.min_voters == 300


def test_turnout_warning_prints_the_percentage(example: Election) -> None:
    (f,) = [f for f in check_minutes(example, WARNING_CASES["W206"]) if f.code == "W206"]
    assert "50,00%" in f.message_vi and "1.238/2.476" in f.message_vi
    assert "50.00%" in f.message_en and "1,238/2,476" in f.message_en


# --- batches -------------------------------------------------------------------------


def test_voters_out_of_order_across_races_of_one_area(example: Election) -> None:
    b = example_batch()
    xa = replace(b.minutes[2], voters_on_list=1251)  # commune 1251 > NA 1250
    findings = check_batch(example, replace(b, minutes=[b.minutes[0], b.minutes[1], xa]))
    assert not has_errors(findings)
    w203 = [f for f in findings if f.code == "W203"]
    assert [(f.race_id, f.figures["other_race_id"]) for f in w203] == [("HDND-XA", "HDND-TP")]


def test_a_correction_that_changes_figures_warns(example: Election) -> None:
    b = example_batch()
    old = {m.race_id: m for m in b.minutes}
    assert check_batch(example, b, previous=old) == []
    qh = replace(
        b.minutes[0],
        candidate_votes={**b.minutes[0].candidate_votes, "QH-10-4": 456, "QH-10-5": 300},
    )
    findings = check_batch(example, replace(b, minutes=[qh, *b.minutes[1:]]), previous=old)
    (f,) = findings
    assert f.code == "W208" and f.race_id == "QH"
    assert f.figures == {
        "candidate_votes.QH-10-4": "455 → 456",
        "candidate_votes.QH-10-5": "301 → 300",
    }


def test_batch_level_errors(example: Election) -> None:
    b = example_batch()
    other_area = replace(b.minutes[1], polling_area_id="KV-02")
    assert errors(check_batch(example, replace(b, minutes=[b.minutes[0], other_area]))) == {"E120"}
    twice = replace(b, minutes=[b.minutes[0], b.minutes[0]])
    assert errors(check_batch(example, twice)) == {"E121"}
    assert errors(check_batch(example, replace(b, election_id="khac"))) == {"E123"}


def test_race_not_held_at_the_batch_area() -> None:
    base = make_election(seats=1, births=2, areas=2)
    d = base.definition
    race = d.races[0]
    # race R only at A1; the batch is from A2 but carries minutes naming A1
    election = Election.from_definition(
        replace(
            d,
            races=[
                replace(
                    race, constituencies=[replace(race.constituencies[0], polling_area_ids=["A1"])]
                )
            ],
        )
    )
    m = sheet([600, 400], valid=1000, area="A1")
    batch = ResultBatch(
        schema="kiemphieu/batch/v1",
        election_id="law",
        station_id="A2",
        polling_area_id="A2",
        sequence=1,
        created_at=dt.datetime(2026, 3, 15, 20, 0, tzinfo=dt.UTC),
        minutes=[m],
    )
    assert errors(check_batch(election, batch)) == {"E120", "E122"}


def test_unexplained_warnings(example: Election) -> None:
    m = WARNING_CASES["W200"]
    findings = check_minutes(example, m)
    assert [f.code for f in unexplained(findings, {"QH": m})] == ["W200"]
    explained = replace(m, explanations={"W200": "Hai cử tri nhận phiếu rồi không bỏ vào hòm."})
    assert unexplained(check_minutes(example, explained), {"QH": explained}) == []
    blank = replace(m, explanations={"W200": "  "})
    assert [f.code for f in unexplained(findings, {"QH": blank})] == ["W200"]
    assert [f.code for f in unexplained(findings, {})] == ["W200"]


# --- the rule table ------------------------------------------------------------------


def test_codes_are_stable_in_form_and_severity() -> None:
    for code, rule in RULES.items():
        assert rule.code == code and re.fullmatch(r"[EW][0-9]{3}", code)
        assert rule.severity == ("error" if code.startswith("E") else "warning")
        assert rule.title_vi and rule.title_en


def test_docs_rules_table_matches_the_code() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    start, end = "<!-- rules-table:start -->\n", "<!-- rules-table:end -->"
    assert start in text and end in text
    table = text.split(start, 1)[1].split(end, 1)[0]
    assert table == rules_markdown(), (
        "docs/rules.md drifted from RULES: paste in the output of "
        "tally_server.core.rules.rules_markdown()"
    )


# --- properties ----------------------------------------------------------------------

PROP = make_election(seats=3, births=5, areas=1)
PROP1 = make_election(seats=1, births=3, areas=1)
PROP5 = make_election(seats=5, births=8, areas=1, level="commune")


@settings(max_examples=150)
@given(
    st.sampled_from([PROP, PROP1, PROP5]).flatmap(
        lambda e: st.tuples(st.just(e), valid_minutes(e, "A1"))
    )
)
def test_random_valid_minutes_have_no_error(case: tuple[Election, CountingMinutes]) -> None:
    election, m = case
    assert errors(check_minutes(election, m)) == set()


def _shift(votes: dict[str, int], up: str, amount: int) -> dict[str, int] | None:
    """Raise one candidate by ``amount`` and take as much from the others."""
    out = dict(votes)
    out[up] += amount
    need = amount
    for cid in out:
        if cid == up or need == 0:
            continue
        take = min(out[cid], need)
        out[cid] -= take
        need -= take
    return None if need else out


def _fill(ids: list[str], total: int, cap: int) -> dict[str, int] | None:
    if total > cap * len(ids):
        return None
    out = {}
    for cid in ids:
        out[cid] = min(cap, total)
        total -= out[cid]
    return out


Mutation = Callable[[int, CountingMinutes, int, int], CountingMinutes | None]
"""(seats, valid minutes, delta >= 1, a free choice) -> minutes breaking one rule, or None
when these figures cannot break it alone (for example no 2-name pile to move)."""


def _piles(m: CountingMinutes, new: list[int] | None) -> CountingMinutes | None:
    return None if new is None else replace(m, ballots_by_names_kept=new)


def _move_piles(p: list[int] | None, same_sum: bool) -> list[int] | None:
    if p is None or len(p) < 2:
        return None
    p = list(p)
    if same_sum and p[0] >= 1:  # one ballot from 1 name to 2: names +1, ballots same
        p[0] -= 1
        p[1] += 1
        return p
    if not same_sum and p[1] >= 1:  # one 2-name ballot into two 1-name: names same
        p[1] -= 1
        p[0] += 2
        return p
    return None


def _votes(
    m: CountingMinutes, votes: dict[str, int] | None, **more: object
) -> CountingMinutes | None:
    return None if votes is None else replace(m, candidate_votes=votes, **more)


def _rename(m: CountingMinutes, i: int) -> CountingMinutes:
    ids = list(m.candidate_votes)
    gone = ids[i % len(ids)]
    return replace(
        m, candidate_votes={("Z" if k == gone else k): v for k, v in m.candidate_votes.items()}
    )


MUTATIONS: dict[str, Mutation] = {
    "E100": lambda s, m, d, i: replace(m, valid_ballots=-d),
    "E101": lambda s, m, d, i: replace(m, race_id="Z"),
    "E102": lambda s, m, d, i: replace(m, constituency_id="Z"),
    "E103": lambda s, m, d, i: replace(m, polling_area_id="Z"),
    "E106": lambda s, m, d, i: _rename(m, i),
    "E107": lambda s, m, d, i: _piles(
        m, None if m.ballots_by_names_kept is None else [*m.ballots_by_names_kept, 0]
    ),
    "E110": lambda s, m, d, i: replace(m, voters_voted=m.voters_on_list + d),
    "E111": lambda s, m, d, i: (
        replace(m, ballots_issued=m.ballots_received - d) if m.ballots_received >= d else None
    ),
    "E112": lambda s, m, d, i: replace(m, invalid_ballots=m.invalid_ballots + d),
    "E113": lambda s, m, d, i: _votes(
        m, _shift(m.candidate_votes, "C-1", m.valid_ballots + d - m.candidate_votes["C-1"])
    ),
    "E114": lambda s, m, d, i: (
        None
        if m.valid_ballots < d
        else _votes(
            m,
            _fill(list(m.candidate_votes), m.valid_ballots - d, m.valid_ballots),
            ballots_by_names_kept=None,
        )
    ),
    "E115": lambda s, m, d, i: _votes(
        m,
        _fill(list(m.candidate_votes), s * m.valid_ballots + d, m.valid_ballots),
        ballots_by_names_kept=None,
    ),
    "E116": lambda s, m, d, i: _piles(m, _move_piles(m.ballots_by_names_kept, same_sum=False)),
    "E117": lambda s, m, d, i: _piles(m, _move_piles(m.ballots_by_names_kept, same_sum=True)),
}


def test_every_error_of_one_minutes_has_a_mutation() -> None:
    batch_only = {"E104", "E105", "E120", "E121", "E122", "E123", "E124"}
    first_round = {"E108", "E109", "E118"}  # need the first round: the later-round tests
    assert set(MUTATIONS) == {c for c in RULES if c.startswith("E")} - batch_only - first_round
    assert set(ERROR_CASES) == set(MUTATIONS)


@pytest.mark.parametrize("code", sorted(MUTATIONS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    case=st.sampled_from([PROP, PROP1, PROP5]).flatmap(
        lambda e: st.tuples(st.just(e), valid_minutes(e, "A1"))
    ),
    delta=st.integers(1, 50),
    which=st.integers(0, 7),
)
def test_mutating_one_figure_trips_exactly_its_rule(
    code: str, case: tuple[Election, CountingMinutes], delta: int, which: int
) -> None:
    election, m = case
    seats = election.constituencies[("R", "C")].seats
    mutated = MUTATIONS[code](seats, m, delta, which)
    assume(mutated is not None)
    assert mutated is not None
    assert errors(check_minutes(election, mutated)) == {code}


# --- later rounds: the supplementary round against its first round ---------------------


def first(
    seats: int, elected: tuple[str, ...], status: str = "supplementary_proposed", areas: int = 1
) -> FirstRound:
    return FirstRound("main", status, seats, elected, areas, areas)


@st.composite
def supplementary_case(
    draw: st.DrawFn,
) -> tuple[Election, FirstRound, CountingMinutes, list[int]]:
    """A constituency of 2–5 seats, a first round that elected fewer, and supplementary
    minutes whose ballots keep 1..seats names (piles), naming any candidates."""
    seats = draw(st.integers(2, 5))
    n = seats + draw(st.integers(1, 3))
    election = make_election(seats=seats, births=n, areas=1, level="province")
    ids = [f"C-{i}" for i in range(1, n + 1)]
    won = draw(st.integers(0, seats - 1))
    elected = tuple(draw(st.permutations(ids))[:won])
    named = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
    k_max = min(seats, len(named))
    piles = draw(st.lists(st.integers(0, 300), min_size=k_max, max_size=k_max))
    assume(sum(piles) > 0)
    offsets = draw(st.lists(st.integers(0, len(named) - 1), min_size=k_max, max_size=k_max))
    votes = votes_from_piles(piles, len(named), offsets)
    m = sheet(
        dict(zip(named, votes, strict=True)),
        valid=sum(piles),
        on_list=2 * sum(piles) + 10,
        round="supplementary",
        piles=piles + [0] * (seats - k_max) if draw(st.booleans()) else None,
    )
    return election, first(seats, elected), m, piles


@settings(max_examples=200)
@given(case=supplementary_case())
def test_supplementary_minutes_by_the_law(
    case: tuple[Election, FirstRound, CountingMinutes, list[int]],
) -> None:
    """E108 exactly when an elected candidate is named (each named by name and id);
    E115 exactly when the votes exceed open seats × valid; E107 exactly when piles
    are given and a ballot keeps more names than the seats still open."""
    election, fr, m, piles = case
    found = check_minutes(election, m, first_round=fr)
    again = [cid for cid in m.candidate_votes if cid in fr.elected]
    open_seats = fr.seats - len(fr.elected)
    total = sum(m.candidate_votes.values())
    expected = set()
    if again:
        expected.add("E108")
    if total > open_seats * m.valid_ballots:
        expected.add("E115")
    if m.ballots_by_names_kept is not None and any(piles[open_seats:]):
        expected.add("E107")
    assert errors(found) == expected
    for f in found:
        if f.code == "E108":
            assert sorted(f.figures["elected_before"].split(",")) == sorted(again)
            for cid in again:
                name = f"Ứng cử viên {cid[2:]} ({cid})"
                assert name in f.message_vi and name in f.message_en
            assert f.figures["open_seats"] == open_seats
        if f.code == "E115":
            assert f.figures["seats"] == open_seats
            assert f.figures["cap"] == open_seats * m.valid_ballots
            assert f"{open_seats} seat(s) still open" in f.message_en
            assert f"{open_seats} ghế còn thiếu" in f.message_vi
    # Without the first round (a station) only the constituency's seats bound them.
    alone = errors(check_minutes(election, m))
    assert "E108" not in alone and ("E115" in alone) == (total > fr.seats * m.valid_ballots)


def test_the_two_faults_of_issue_14() -> None:
    """Two seats, C-1 elected: naming C-1 again is refused (E108); with one seat open a
    ballot keeping two names is refused (E115, and E107 when the piles say so)."""
    election = make_election(seats=2, births=4, areas=1)
    fr = first(2, ("C-1",))
    again = sheet({"C-1": 70, "C-2": 30}, valid=100, round="supplementary", piles=[100, 0])
    (f,) = [f for f in check_minutes(election, again, first_round=fr) if f.severity == "error"]
    assert f.code == "E108" and f.fields == ["candidate_votes.C-1"]
    assert f.message_en.startswith("E108: Ứng cử viên 1 (C-1) already elected in the main round")
    assert "(1 of 2 seats)" in f.message_en and "1 seat(s) still open" in f.message_en
    assert f.message_vi.startswith("E108: Ứng cử viên 1 (C-1) đã trúng cử ở vòng đầu")
    both = sheet({"C-2": 100, "C-3": 100}, valid=100, round="supplementary", piles=[0, 100])
    found = check_minutes(election, both, first_round=fr)
    assert errors(found) == {"E107", "E115"}
    e115 = next(f for f in found if f.code == "E115")
    assert e115.figures == {
        "votes_total": 200,
        "seats": 1,
        "constituency_seats": 2,
        "valid_ballots": 100,
        "cap": 100,
    }
    assert "(200) > 1 seat(s) still open × 100 valid ballots = 100" in e115.message_en
    # Without piles the bound alone says it; the lawful ballot passes.
    assert errors(
        check_minutes(election, replace(both, ballots_by_names_kept=None), first_round=fr)
    ) == {"E115"}
    lawful = sheet({"C-2": 70, "C-3": 30}, valid=100, round="supplementary", piles=[100, 0])
    assert errors(check_minutes(election, lawful, first_round=fr)) == set()


@pytest.mark.parametrize(
    ("status", "elected"),
    [
        ("elected", ("C-1", "C-2")),
        ("revote", ()),
        ("seats_left_empty", ("C-1",)),
        ("unresolved_tie", ("C-1",)),
    ],
)
def test_no_supplementary_round_after_a_first_round_that_does_not_call_one(
    status: str, elected: tuple[str, ...]
) -> None:
    election = make_election(seats=2, births=4, areas=1)
    m = sheet({"C-3": 60, "C-4": 40}, valid=100, round="supplementary")
    (f,) = [
        f
        for f in check_minutes(election, m, first_round=first(2, elected, status))
        if f.severity == "error"
    ]
    assert f.code == "E109" and f.figures["first_round_status"] == status
    assert f.figures["seats_filled"] == len(elected)
    assert f"filled {len(elected)} of 2 seat(s)" in f.message_en
    assert "không có bầu cử thêm" in f.message_vi


@pytest.mark.parametrize(("reported", "status"), [(0, "no_results"), (2, "partial")])
def test_a_supplementary_minutes_waits_for_a_complete_first_round(
    reported: int, status: str
) -> None:
    election = make_election(seats=2, births=4, areas=3)
    m = sheet({"C-3": 60, "C-4": 40}, valid=100, round="supplementary")
    fr = FirstRound("main", status, 2, (), reported, 3)
    (f,) = [f for f in check_minutes(election, m, first_round=fr) if f.severity == "error"]
    assert f.code == "E118"
    assert f.figures["areas_reported"] == reported and f.figures["areas_total"] == 3
    assert f"has {reported} of 3 polling areas in" in f.message_en
    assert "send the supplementary minutes again once it is complete" in f.message_en
    assert f"mới nhận {reported}/3 khu vực bỏ phiếu" in f.message_vi


def test_a_batch_takes_each_constituency_s_first_round() -> None:
    election = make_election(seats=2, births=4, areas=1)
    m = sheet({"C-1": 60, "C-4": 40}, valid=100, round="supplementary")
    batch = ResultBatch(
        schema="kiemphieu/batch/v1",
        election_id="law",
        station_id="S1",
        polling_area_id="A1",
        sequence=1,
        created_at=dt.datetime(2026, 3, 15, 20, 0, tzinfo=dt.UTC),
        minutes=[m],
    )
    assert "E108" in codes(
        check_batch(election, batch, first_rounds={("R", "C"): first(2, ("C-1",))})
    )
    assert "E108" not in codes(check_batch(election, batch))
