"""Finding and ordering constituencies in a list: search without diacritics and
the list's sort orders. The server pages its constituency list with these (a
national list is too long to send whole to a screen); the dashboard folds what
is typed the same way."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from decimal import Decimal

from schemas.models import Constituency
from schemas.read import STATUSES, ConstituencyResult

SORTS = ("key", "name", "reported", "status", "turnout")
"""key: the definition's order (race, then constituency); reported: least
reported first (where the night is slowest); status: in ``STATUSES``' order."""

_STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}


def fold(text: str) -> str:
    """Lower case without diacritics, for search: 'Nguyễn Đức' -> 'nguyen duc'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_text(race_id: str, con: Constituency) -> str:
    """What a search looks in: ids, the constituency's name, every candidate's name."""
    return fold(" ".join([race_id, con.id, con.name, *(c.full_name for c in con.candidates)]))


def matches(text: str, words: list[str]) -> bool:
    """Every folded word of the query is in ``text``."""
    return all(w in text for w in words)


def sort_value(r: ConstituencyResult, sort: str, position: Mapping[tuple[str, str], int]) -> object:
    """``r``'s place under ``sort``; ties keep the definition's order (``position``)."""
    at = position.get((r.race_id, r.constituency_id), 0)
    if sort == "name":
        return (fold(r.constituency_name), at)
    if sort == "reported":
        done = r.areas_reported * 10_000 // r.areas_total if r.areas_total else 0
        return (done, at)
    if sort == "status":
        return (_STATUS_ORDER.get(r.status, len(STATUSES)), at)
    if sort == "turnout":
        return (Decimal(r.turnout_pct or "0"), at)
    return at
