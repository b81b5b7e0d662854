"""The equivalence tests of the fast tally (core/fasttally.py): it gives the
results of the law's plain reference (``tally.recount``) however it is fed, and
its bulk path (``tally_of_sheets``, behind ``tally_from_scratch`` and ``verify``:
the whole night in one go, corrections included) leaves what ``apply`` one by
one leaves, and the tally goes on from there. The lean tallies (no rollups, no
sheets) give the same results."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from lawkit import replace, valid_minutes
from test_tally import MULTI, sheets

from schemas.models import CountingMinutes
from tally_server.core.fasttally import Tally, sheet_of, tally_from_scratch, tally_of_sheets
from tally_server.core.tally import TallyError, recount, results_digest


@settings(max_examples=150, deadline=None)
@given(sheets())
def test_the_fast_tally_gives_the_reference_results(night: list[CountingMinutes]) -> None:
    reference = recount(MULTI, night)
    assert tally_from_scratch(MULTI, night).results() == reference
    one_by_one = Tally(MULTI)
    for m in night:
        one_by_one.apply(m)
    assert one_by_one.results() == reference
    assert results_digest(one_by_one.results()) == results_digest(reference)


@settings(max_examples=120, deadline=None)
@given(sheets(), sheets())
def test_the_night_at_once_equals_one_by_one(
    night: list[CountingMinutes], later: list[CountingMinutes]
) -> None:
    one_by_one = Tally(MULTI)
    for m in night:
        one_by_one.apply(m)
    # Resends and corrections inside the night: the last of each key counts.
    at_once = tally_from_scratch(MULTI, night)
    assert at_once.state() == one_by_one.state()
    assert at_once.results() == one_by_one.results()
    assert at_once.rollups() == one_by_one.rollups()
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    from_sheets = tally_of_sheets(MULTI, [sheet_of(m, names) for m in night])
    assert results_digest(from_sheets.results()) == results_digest(one_by_one.results())
    # And the tally goes on as if it had been built one by one.
    for m in later:
        one_by_one.apply(m)
        at_once.apply(m)
    assert at_once.state() == one_by_one.state()
    assert at_once.rollups() == one_by_one.rollups()


@settings(max_examples=60, deadline=None)
@given(sheets())
def test_a_tally_for_results_only_gives_the_same_results(night: list[CountingMinutes]) -> None:
    full = tally_from_scratch(MULTI, night)
    lean = Tally(MULTI, rollups=False)
    for i, m in enumerate(night):
        key, sheet = sheet_of(m)
        lean.add_sheet(key, sheet)
        if i % 3 == 2:  # settled early, some touched again after
            lean.settle_reported([key[:2], ("QH", "Q1")])
    lean.settle()
    assert lean.results() == full.results()
    with pytest.raises(TallyError):
        lean.rollups()


@settings(max_examples=20, deadline=None)
@given(valid_minutes(MULTI, "A1", "TP", "main"))
def test_minutes_of_an_area_outside_the_constituency_are_refused(m: CountingMinutes) -> None:
    here = MULTI.seats[("A1", "TP")].constituency.id
    other = next(c.id for c in MULTI.races["TP"].constituencies if c.id != here)
    with pytest.raises(TallyError) as caught:
        tally_from_scratch(MULTI, [m, replace(m, constituency_id=other)])
    assert caught.value.figures == {
        "polling_area_id": "A1",
        "race_id": "TP",
        "constituency_id": other,
    }
