"""Builders for the law's tests: small elections and counting minutes whose figures
agree with each other (and Hypothesis strategies that make random ones)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from hypothesis import strategies as st

from schemas.models import (
    Candidate,
    Committee,
    Constituency,
    CountingMinutes,
    ElectionDefinition,
    PollingArea,
    Race,
    RaceLevel,
    Round,
)
from tally_server.core.definition import Election


def make_election(
    seats: int = 3,
    births: Sequence[str] | int = 5,
    areas: int = 2,
    level: RaceLevel = "national_assembly",
    voters: int = 1000,
) -> Election:
    """One race "R" with one constituency "C" of ``seats`` seats, candidates C-1..C-n
    (born on the given dates, or 1960-01-01 plus i days), polling areas A1..An."""
    if isinstance(births, int):
        births = [(dt.date(1960, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(births)]
    con = Constituency(
        id="C",
        name="Đơn vị bầu cử số 1",
        committee_id="K",
        seats=seats,
        candidates=[
            Candidate(
                id=f"C-{i}", full_name=f"Ứng cử viên {i}", birth_date=dt.date.fromisoformat(b)
            )
            for i, b in enumerate(births, start=1)
        ],
        polling_area_ids=[f"A{i}" for i in range(1, areas + 1)],
    )
    definition = ElectionDefinition(
        schema="kiemphieu/election/v1",
        id="law",
        name="Bầu cử thử",
        date=dt.date(2026, 3, 15),
        place="Hà Nội",
        committees=[Committee(id="K", name="Ủy ban bầu cử", level="province")],
        races=[Race(id="R", level=level, name="Cuộc bầu cử", constituencies=[con])],
        polling_areas=[
            PollingArea(
                id=f"A{i}", name=f"Khu vực {i}", admin_unit="Phường 1", voters={"R": voters}
            )
            for i in range(1, areas + 1)
        ],
    )
    return Election.from_definition(definition)


def sheet(
    votes: Mapping[str, int] | Sequence[int],
    *,
    valid: int,
    area: str = "A1",
    on_list: int = 1000,
    voted: int | None = None,
    invalid: int = 0,
    round: Round = "main",
    race: str = "R",
    constituency: str = "C",
    piles: list[int] | None = None,
) -> CountingMinutes:
    """Minutes whose ballot figures agree: received = issued = valid + invalid, and
    (unless given) voters who voted = ballots received."""
    if not isinstance(votes, Mapping):
        votes = {f"{constituency}-{i}": v for i, v in enumerate(votes, start=1)}
    received = valid + invalid
    return CountingMinutes(
        race_id=race,
        constituency_id=constituency,
        polling_area_id=area,
        round=round,
        voters_on_list=on_list,
        voters_voted=received if voted is None else voted,
        ballots_issued=received,
        ballots_received=received,
        valid_ballots=valid,
        invalid_ballots=invalid,
        candidate_votes=dict(votes),
        ballots_by_names_kept=piles,
    )


S = TypeVar("S", bound=msgspec.Struct)


def replace(record: S, **changes: Any) -> S:
    return msgspec.structs.replace(record, **changes)


def votes_from_piles(piles: Sequence[int], n: int, offsets: Sequence[int]) -> list[int]:
    """Votes that ballots in these piles could really give n candidates: each ballot of
    pile k keeps k consecutive names round a circle starting at that pile's offset."""
    votes = [0] * n
    for k, (pile, start) in enumerate(zip(piles, offsets, strict=True), start=1):
        q, r = divmod(k * pile, n)
        for i in range(n):
            votes[(start + i) % n] += q + (1 if i < r else 0)
    return votes


@st.composite
def valid_minutes(
    draw: st.DrawFn,
    election: Election,
    area: str,
    race: str = "R",
    round: Round = "main",
    max_pile: int = 700,
) -> CountingMinutes:
    """Random minutes with no error for ``area`` in ``race`` (warnings may occur)."""
    con = election.seats[(area, race)].constituency
    n = len(con.candidates)
    piles = draw(st.lists(st.integers(0, max_pile), min_size=con.seats, max_size=con.seats))
    offsets = draw(st.lists(st.integers(0, n - 1), min_size=con.seats, max_size=con.seats))
    votes = votes_from_piles(piles, n, offsets)
    valid = sum(piles)
    invalid = draw(st.integers(0, 150))
    received = valid + invalid
    issued = received + draw(st.integers(0, 5))
    voted = issued - draw(st.integers(0, 3)) if issued >= 3 else issued
    on_list = voted + draw(st.integers(0, 1500))
    return CountingMinutes(
        race_id=race,
        constituency_id=con.id,
        polling_area_id=area,
        round=round,
        voters_on_list=on_list,
        voters_voted=voted,
        ballots_issued=issued,
        ballots_received=received,
        valid_ballots=valid,
        invalid_ballots=invalid,
        candidate_votes={c.id: v for c, v in zip(con.candidates, votes, strict=True)},
        ballots_by_names_kept=piles if draw(st.booleans()) else None,
    )


def make_multi_election() -> Election:
    """Three races over four polling areas, with a committee tree:
    NA "QH" (one 2-seat constituency, A1–A4, committee P), province "TP" (two 2-seat
    constituencies, committee P), commune "XA" (two 3-seat constituencies, committee
    X under P); P sits under the national council N."""

    def con(cid: str, committee: str, seats: int, n: int, areas: list[str]) -> Constituency:
        return Constituency(
            id=cid,
            name=f"Đơn vị {cid}",
            committee_id=committee,
            seats=seats,
            candidates=[
                Candidate(
                    id=f"{cid}-{i}",
                    full_name=f"Người {cid}-{i}",
                    birth_date=dt.date(1950 + i, 1 + i % 12, 1 + i),
                )
                for i in range(1, n + 1)
            ],
            polling_area_ids=areas,
        )

    definition = ElectionDefinition(
        schema="kiemphieu/election/v1",
        id="multi",
        name="Bầu cử nhiều cấp",
        date=dt.date(2026, 3, 15),
        place="Tỉnh thử",
        committees=[
            Committee(id="N", name="Hội đồng bầu cử quốc gia", level="national"),
            Committee(id="P", name="Ủy ban bầu cử tỉnh", level="province", parent_id="N"),
            Committee(id="X", name="Ủy ban bầu cử xã", level="commune", parent_id="P"),
        ],
        races=[
            Race(
                id="QH",
                level="national_assembly",
                name="Quốc hội",
                constituencies=[con("Q1", "P", 2, 4, ["A1", "A2", "A3", "A4"])],
            ),
            Race(
                id="TP",
                level="province",
                name="HĐND tỉnh",
                constituencies=[
                    con("T1", "P", 2, 3, ["A1", "A2"]),
                    con("T2", "P", 2, 4, ["A3", "A4"]),
                ],
            ),
            Race(
                id="XA",
                level="commune",
                name="HĐND xã",
                constituencies=[
                    con("X1", "X", 3, 5, ["A1", "A3"]),
                    con("X2", "X", 3, 4, ["A2", "A4"]),
                ],
            ),
        ],
        polling_areas=[
            PollingArea(
                id=f"A{i}",
                name=f"Khu vực {i}",
                admin_unit="Xã thử",
                voters={"QH": 900, "TP": 890, "XA": 880},
            )
            for i in range(1, 5)
        ],
    )
    return Election.from_definition(definition)
