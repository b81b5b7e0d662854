"""Percentages rounded as the law prints them."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tally_server.core.numbers import percent, percent_text, shares, vn_int, vn_percent


def test_half_up_rounding() -> None:
    assert percent(3125, 100_000) == Decimal("3.13")  # 3.125 -> 3.13
    assert percent(1, 3) == Decimal("33.33")
    assert percent(2, 3) == Decimal("66.67")
    assert percent(0, 0) == Decimal("0.00")


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=-1, max_value=10**9))
def test_percent_text_writes_what_percent_gives(part: int, whole: int) -> None:
    """The results' candidate shares are written without a Decimal: the same text."""
    assert percent_text(part, whole) == str(percent(part, whole))
    assert percent_text(min(part, max(whole, 0)), whole) == str(
        percent(min(part, max(whole, 0)), whole)
    )


def test_percent_text_at_the_edges() -> None:
    assert [percent_text(p, w) for p, w in [(0, 0), (1, 3), (5, 10_000), (4, 10_000), (7, 7)]] == [
        "0.00",
        "33.33",
        "0.05",
        "0.04",
        "100.00",
    ]


def test_two_halves_that_both_round_up_are_nudged_back_to_100() -> None:
    # exact shares 3.125% and 96.875%: half up gives 3.13 + 96.88 = 100.01
    parts = [3125, 96875]
    assert [percent(p, 100_000) for p in parts] == [Decimal("3.13"), Decimal("96.88")]
    result = shares(parts)
    assert sum(result) == Decimal("100.00")
    assert all(
        abs(r - Decimal(p) / 1000) <= Decimal("0.01") for r, p in zip(result, parts, strict=True)
    )


@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12))
def test_shares_of_one_whole_sum_to_exactly_100(parts: list[int]) -> None:
    result = shares(parts)
    if sum(parts) == 0:
        assert all(r == 0 for r in result)
        return
    assert sum(result) == Decimal("100.00")
    for r, p in zip(result, parts, strict=True):
        exact = Decimal(p) * 100 / Decimal(sum(parts))
        assert abs(r - exact) < Decimal("0.01")
        assert r.as_tuple().exponent == -2


def test_vietnamese_number_forms() -> None:
    assert vn_int(293079) == "293.079"
    assert vn_percent(Decimal("75.08")) == "75,08%"
    assert vn_percent(Decimal("60.00"), whole_without_decimals=True) == "60%"
    assert vn_percent(Decimal("60.60"), whole_without_decimals=True) == "60,60%"
