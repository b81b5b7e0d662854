"""The seeded sample elections and their counting minutes."""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.models import CountingMinutes, ElectionDefinition
from tally_server.core import rules
from tally_server.core.definition import Election
from tally_server.core.fasttally import tally_from_scratch
from tally_server.core.names import FAMILY_NAMES, sort_key
from tally_server.core.sample import (
    BUNDLED_FILE,
    BUNDLED_SEED,
    ELECTED,
    SHORTFALL,
    SUPPLEMENTARY,
    SURPLUS,
    bundled_election,
    hcmc2011,
    national,
    sample_minutes,
    sample_plan,
)
from tally_server.core.validate import validate_definition

ROOT = Path(__file__).resolve().parents[2]


@cache
def example() -> Election:
    path = ROOT / "tests" / "assets" / "examples" / "election.json"
    return Election.from_definition(codec.decode(path.read_bytes(), ElectionDefinition))


@cache
def hcmc() -> Election:
    return Election.from_definition(hcmc2011())


@cache
def hcmc_minutes(seed: int = 7) -> tuple[CountingMinutes, ...]:
    return tuple(sample_minutes(hcmc(), seed))


def _district(area_id: str) -> str:
    return area_id.split("-")[1]


# --- the definition --------------------------------------------------------------------


def test_hcmc2011_is_the_same_for_a_seed_and_differs_for_another() -> None:
    assert codec.encode(hcmc2011(5)) == codec.encode(hcmc2011(5))
    assert codec.encode(hcmc2011(5)) != codec.encode(hcmc2011(6))


def test_hcmc2011_has_the_races_and_counts_of_2011() -> None:
    d = hcmc().definition
    races = {r.id: r for r in d.races}
    assert [(r.id, r.level) for r in d.races] == [
        ("QH", "national_assembly"),
        ("HDND-TP", "province"),
        ("HDND-XA", "commune"),
    ]
    na = races["QH"].constituencies
    assert (len(na), sum(c.seats for c in na)) == (10, 30)
    assert all(len(c.candidates) == 5 for c in na)
    city = races["HDND-TP"].constituencies
    assert len(city) == 32
    assert sum(c.seats for c in city) == 95
    assert sum(len(c.candidates) for c in city) == 161
    assert Counter((c.seats, len(c.candidates)) for c in city) == {
        (3, 5): 28,
        (2, 4): 2,
        (4, 7): 1,
        (3, 6): 1,
    }
    assert 4_000 <= len(d.polling_areas) <= 5_000
    voters = sum(a.voters["QH"] for a in d.polling_areas)
    assert 4_700_000 <= voters <= 5_300_000


def test_hcmc2011_commune_councils_are_in_the_rural_districts_only() -> None:
    d = hcmc().definition
    communes = [c for c in d.committees if c.level == "commune"]
    assert 55 <= len(communes) <= 65
    assert all(c.parent_id == "UBBC-HCM" for c in communes)
    rural = {"CCH", "HMO", "BCH", "NBE", "CGI"}
    for area in d.polling_areas:
        assert ("HDND-XA" in area.voters) == (_district(area.id) in rural), area.id
    xa = next(r for r in d.races if r.id == "HDND-XA")
    for con in xa.constituencies:
        assert 3 <= con.seats <= 5
        # one commune's areas only
        assert len({a.rsplit("-", 1)[0] for a in con.polling_area_ids}) == 1


def test_na_constituencies_cover_whole_districts_and_council_ones_nest_inside() -> None:
    e = hcmc()
    na_of_district: dict[str, set[str]] = defaultdict(set)
    for area in e.definition.polling_areas:
        na_of_district[_district(area.id)].add(e.seats[(area.id, "QH")].constituency.id)
    assert all(len(cons) == 1 for cons in na_of_district.values())
    assert len(na_of_district) == 24
    for race_id in ("HDND-TP", "HDND-XA"):
        for con in e.definition.races[1 if race_id == "HDND-TP" else 2].constituencies:
            parents = {e.seats[(a, "QH")].constituency.id for a in con.polling_area_ids}
            assert len(parents) == 1, con.id


def test_every_area_votes_in_each_race_it_has_voters_for_and_lists_shrink_down_the_levels() -> None:
    e = hcmc()
    for area in e.definition.polling_areas:
        held = [s.race.id for s in e.races_at(area.id)]
        assert held == list(area.voters), area.id
        figures = list(area.voters.values())
        assert figures == sorted(figures, reverse=True), area.id


def test_hcmc2011_validates_with_only_the_small_area_warnings() -> None:
    issues = validate_definition(hcmc().definition)
    assert [i.code for i in issues] == ["D201"] * 4


def test_a_few_polling_areas_are_small_as_the_law_allows() -> None:
    small = [a for a in hcmc().definition.polling_areas if a.voters["QH"] < 300]
    assert 3 <= len(small) <= 6
    assert any("Bệnh viện" in a.name for a in small)
    assert all(a.voters["QH"] <= 4_000 for a in hcmc().definition.polling_areas)


def test_names_are_vietnamese_nfc_with_diacritics_and_birth_dates_plausible() -> None:
    d = hcmc().definition
    people = [c for r in d.races for con in r.constituencies for c in con.candidates]
    assert len({c.id for c in people}) == len(people)
    assert all(unicodedata.is_normalized("NFC", c.full_name) for c in people)
    assert all(c.full_name.split()[0] in FAMILY_NAMES for c in people)
    assert all(len(c.full_name.split()) >= 3 for c in people)
    families = Counter(c.full_name.split()[0] for c in people)
    assert families.most_common(1)[0][0] == "Nguyễn"
    assert all(dt.date(1945, 1, 1) <= c.birth_date <= dt.date(1990, 12, 31) for c in people)
    # the whole document survives the strict wire decoder (NFC, no control characters)
    assert codec.decode(codec.encode(d), ElectionDefinition) == d


def test_candidate_lists_are_in_vietnamese_alphabetical_order_of_given_names() -> None:
    for race in hcmc().definition.races:
        for con in race.constituencies:
            given = [sort_key(c.full_name.split()[-1]) for c in con.candidates]
            assert given == sorted(given), con.id


def test_vietnamese_order_puts_d_before_dj_and_tones_after_letters() -> None:
    words = ["Đức", "Dung", "Ánh", "An", "Ân", "Ăn", "Yến", "Ơn", "Ôn", "On"]
    assert sorted(words, key=sort_key) == [
        "An",
        "Ánh",
        "Ăn",
        "Ân",
        "Dung",
        "Đức",
        "On",
        "Ôn",
        "Ơn",
        "Yến",
    ]


# --- the minutes -------------------------------------------------------------------------


def test_minutes_cover_every_area_and_race_once_in_definition_order() -> None:
    e = hcmc()
    got = [(m.polling_area_id, m.race_id) for m in hcmc_minutes()]
    expected = [(a.id, s.race.id) for a in e.definition.polling_areas for s in e.races_at(a.id)]
    assert got == expected


def test_minutes_are_the_same_for_a_seed() -> None:
    e = hcmc()
    first = [codec.encode(m) for m in sample_minutes(e, 7)]
    assert first == [codec.encode(m) for m in hcmc_minutes(7)]
    assert first != [codec.encode(m) for m in sample_minutes(e, 8)]


def test_minutes_figures_are_consistent_with_their_piles() -> None:
    e = hcmc()
    for m in hcmc_minutes():
        con = e.constituencies[(m.race_id, m.constituency_id)]
        assert m.voters_on_list == e.polling_areas[m.polling_area_id].voters[m.race_id]
        assert m.voters_voted <= m.voters_on_list
        assert m.ballots_received <= m.ballots_issued
        assert m.valid_ballots + m.invalid_ballots == m.ballots_received
        assert list(m.candidate_votes) == [c.id for c in con.candidates]
        piles = m.ballots_by_names_kept
        assert piles is not None and len(piles) == con.seats
        assert sum(piles) == m.valid_ballots
        total = sum(m.candidate_votes.values())
        assert sum(k * n for k, n in enumerate(piles, start=1)) == total
        assert all(v <= m.valid_ballots for v in m.candidate_votes.values())
        assert [s.role for s in m.signatories] == ["head", "secretary", "witness", "witness"]


def test_turnout_is_about_99_percent_with_a_few_percent_invalid() -> None:
    ms = hcmc_minutes()
    on_list = sum(m.voters_on_list for m in ms)
    voted = sum(m.voters_voted for m in ms)
    invalid = sum(m.invalid_ballots for m in ms)
    received = sum(m.ballots_received for m in ms)
    assert 0.975 * on_list < voted < 0.995 * on_list
    assert 0.005 * received < invalid < 0.04 * received


def test_about_the_asked_number_of_sheets_are_unusual_and_explained() -> None:
    def unusual(m: CountingMinutes) -> bool:
        return (
            m.ballots_issued != m.voters_voted
            or m.ballots_received != m.voters_voted
            or 2 * m.voters_voted <= m.voters_on_list
        )

    for count in (0, 12, 30):
        ms = list(sample_minutes(hcmc(), 3, warnings=count))
        odd = [m for m in ms if unusual(m)]
        assert len(odd) == count
        assert all(m.explanations for m in odd)
        assert Counter(c for m in odd for c in m.explanations if c != "W202") == (
            Counter({"W200": count // 3, "W201": count // 3, "W206": count // 3})
            if count
            else Counter()
        )
        small = [m for m in ms if m.voters_on_list < 300]
        assert small and all("W202" in m.explanations for m in small)
        plain = [m for m in ms if not unusual(m) and m.voters_on_list >= 300]
        assert not any(m.explanations for m in plain)


def test_the_plan_exercises_every_outcome_the_law_knows() -> None:
    plan = sample_plan(hcmc(), 7)
    by_race = defaultdict(Counter)
    for (race_id, _), kind in plan.items():
        by_race[race_id][kind] += 1
    assert by_race["QH"] == {ELECTED: 8, SHORTFALL: 1, SURPLUS: 1}
    assert by_race["HDND-TP"] == {ELECTED: 30, SHORTFALL: 1, SURPLUS: 1}
    assert by_race["HDND-XA"][SUPPLEMENTARY] == 1
    for (race_id, con_id), kind in plan.items():
        if kind == SHORTFALL and race_id != "QH":
            # a council seat stays empty only when two thirds still fill
            assert hcmc().constituencies[(race_id, con_id)].seats >= 3


def test_candidates_pass_half_of_the_valid_ballots_as_planned() -> None:
    e = hcmc()
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    valid: Counter[tuple[str, str]] = Counter()
    for m in hcmc_minutes():
        key = (m.race_id, m.constituency_id)
        votes[key].update(m.candidate_votes)
        valid[key] += m.valid_ballots
    for key, kind in sample_plan(e, 7).items():
        seats = e.constituencies[key].seats
        passing = sum(1 for v in votes[key].values() if 2 * v > valid[key])
        expected = {
            ELECTED: seats,
            SHORTFALL: seats - 1,
            SURPLUS: seats + 1,
            SUPPLEMENTARY: (2 * seats - 1) // 3,
        }[kind]
        assert passing == expected, (key, kind)


# --- national scale ----------------------------------------------------------------------


@cache
def nation() -> Election:
    return Election.from_definition(national())


def test_national_has_the_scale_of_2011() -> None:
    d = nation().definition
    assert len(d.polling_areas) == 90_189
    races = {r.id: r for r in d.races}
    assert [r.level for r in d.races] == ["national_assembly", "province", "district", "commune"]
    na = races["QH"].constituencies
    assert len(na) == 183
    assert sum(c.seats for c in na) == 500
    assert sum(len(c.candidates) for c in na) == 866
    assert all(len(c.candidates) == c.seats + 2 for c in na)
    assert len({c.committee_id for c in races["HDND-TINH"].constituencies}) == 63
    voters = sum(a.voters["QH"] for a in d.polling_areas)
    assert 55_000_000 <= voters <= 70_000_000
    per_area = Counter(len(a.voters) for a in d.polling_areas)
    assert set(per_area) <= {2, 3, 4} and per_area[4] > 50_000


def test_national_validates_without_an_issue_quickly() -> None:
    start = time.perf_counter()
    assert validate_definition(nation().definition) == []
    assert time.perf_counter() - start < 10


def test_national_minutes_stream_and_start_with_the_first_area() -> None:
    e = nation()
    first = e.definition.polling_areas[0]
    stream = sample_minutes(e, 1)
    head = [next(stream) for _ in range(len(first.voters))]
    assert [m.polling_area_id for m in head] == [first.id] * len(first.voters)
    assert [m.race_id for m in head] == list(first.voters)


def test_every_sample_minutes_passes_the_rules_with_every_warning_explained() -> None:
    e = hcmc()
    warned = 0
    for m in hcmc_minutes():
        findings = rules.check_minutes(e, m)
        assert not rules.has_errors(findings), (m.polling_area_id, m.race_id, findings)
        assert rules.unexplained(findings, {m.race_id: m}) == []
        warned += bool(findings)
    # the 12 asked for, and every sheet of the few small polling areas
    assert 12 <= warned <= 12 + 15


def test_national_minutes_pass_the_rules() -> None:
    e = nation()
    for i, m in enumerate(sample_minutes(e, 2026, warnings=0)):
        if i == 20_000:
            break
        findings = rules.check_minutes(e, m)
        assert findings == [], (m.polling_area_id, m.race_id, findings)


def test_the_law_decides_each_constituency_as_the_plan_intends() -> None:
    e = hcmc()
    results = {
        (r.race_id, r.constituency_id): r for r in tally_from_scratch(e, hcmc_minutes()).results()
    }
    plan = sample_plan(e, 7)
    assert set(results) == set(plan)
    for key, kind in plan.items():
        r = results[key]
        eligible = sum(c.eligible for c in r.candidates)
        council = key[0] != "QH"
        expected = {
            ELECTED: ("elected", r.seats, r.seats),
            SURPLUS: ("elected", r.seats + 1, r.seats),
            SHORTFALL: (
                "seats_left_empty" if council else "supplementary_proposed",
                r.seats - 1,
                r.seats - 1,
            ),
            SUPPLEMENTARY: ("supplementary_proposed", eligible, eligible),
        }[kind]
        assert (r.status, eligible, r.seats_filled) == expected, (key, kind)
        assert r.areas_reported == r.areas_total
    statuses = Counter(r.status for r in results.values())
    assert statuses["supplementary_proposed"] == 2  # one NA, one commune council
    assert statuses["seats_left_empty"] == 2  # city and commune councils


def test_the_bundled_sample_is_the_seeded_generator_s_and_loads_fast() -> None:
    start = time.perf_counter()
    bundled = bundled_election()
    assert time.perf_counter() - start < 2
    assert bundled == hcmc2011(BUNDLED_SEED), (
        "the bundled sample differs from the generator: if the change is meant, "
        "regenerate it with: .venv/bin/python -c 'from pathlib import Path; "
        "from tally_server.core.sample import write_bundled; "
        'write_bundled(Path("tally_server/data/hcmc2011.json.gz"))\''
    )
    assert (ROOT / "tally_server" / "data" / BUNDLED_FILE).stat().st_size < 2_000_000


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), warnings=st.integers(0, 6))
def test_any_seed_gives_minutes_that_pass_the_rules(seed: int, warnings: int) -> None:
    e = example()
    for m in sample_minutes(e, seed, warnings=warnings):
        findings = rules.check_minutes(e, m)
        assert not rules.has_errors(findings), findings
        assert rules.unexplained(findings, {m.race_id: m}) == []
