"""Percentages as the minutes print them: exact, two decimals, rounded half up.

Integer arithmetic throughout; a float never touches a count or a share.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

_HUNDREDTH = Decimal("0.01")


def _hundredths_half_up(part: int, whole: int) -> tuple[int, int]:
    """(part / whole) in hundredths of a percent, rounded half up, and the remainder
    of the rounding in units of 1/whole hundredth (signed: negative when rounded up)."""
    scaled = part * 10_000
    q, r = divmod(scaled, whole)
    if 2 * r >= whole:
        return q + 1, r - whole
    return q, r


def percent(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole``: 2 decimals, half up (3.125 -> 3.13)."""
    if whole <= 0:
        return Decimal("0.00")
    units, _ = _hundredths_half_up(part, whole)
    return (Decimal(units) * _HUNDREDTH).quantize(_HUNDREDTH)


def percent_text(part: int, whole: int) -> str:
    """``str(percent(part, whole))`` ("12.34", "0.00", "100.00") without a Decimal: a
    national result writes some 210,000 of them."""
    units = _hundredths_half_up(part, whole)[0] if whole > 0 else 0
    return f"{units // 100}.{units % 100:02d}"


def shares(parts: Sequence[int]) -> list[Decimal]:
    """Percentages of parts of one whole, each half up, nudged so they sum to 100.00.

    Rounding every part half up can overshoot (two parts of x.xx5 both go up) or
    undershoot; the difference is taken from the parts whose rounding moved them
    furthest, one hundredth each, so every part stays within 0.01 of its exact value.
    """
    whole = sum(parts)
    if whole <= 0:
        return [Decimal("0.00") for _ in parts]
    rounded = [_hundredths_half_up(p, whole) for p in parts]
    units = [u for u, _ in rounded]
    gap = 10_000 - sum(units)
    if gap < 0:
        # Overshoot: take back from the parts rounded up the most (most negative remainder).
        order = sorted(range(len(parts)), key=lambda i: (rounded[i][1], i))
        for i in order[:-gap]:
            units[i] -= 1
    elif gap > 0:
        # Undershoot: give to the parts rounded down the most (largest remainder).
        order = sorted(range(len(parts)), key=lambda i: (-rounded[i][1], i))
        for i in order[:gap]:
            units[i] += 1
    return [(Decimal(u) * _HUNDREDTH).quantize(_HUNDREDTH) for u in units]


def vn_int(n: int) -> str:
    """293079 -> '293.079' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def en_int(n: int) -> str:
    """293079 -> '293,079': the English messages' figures."""
    return f"{n:,}"


def en_percent(value: Decimal) -> str:
    """Decimal('75.08') -> '75.08%'."""
    return f"{value:.2f}%"


def vn_percent(value: Decimal, *, whole_without_decimals: bool = False) -> str:
    """Decimal('75.08') -> '75,08%'; with ``whole_without_decimals``, 60.00 -> '60%'
    as the Council's published lists print it."""
    if whole_without_decimals and value == value.to_integral_value():
        return f"{int(value)}%"
    return f"{value:.2f}".replace(".", ",") + "%"
