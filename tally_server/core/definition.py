"""Election definitions: loading, and the look-up tables every other part uses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from schemas import codec
from schemas.models import (
    Candidate,
    Committee,
    Constituency,
    ElectionDefinition,
    PollingArea,
    Race,
)
from tally_server.core.numbers import vn_int


@dataclass(frozen=True, slots=True)
class Seat:
    """Where one polling area votes in one race."""

    race: Race
    constituency: Constituency


class Seats(Mapping[tuple[str, str], Seat]):
    """(polling area id, race id) -> the seat, kept as one dict per race: a national
    definition has ~336,000 of them, whose tuple keys alone took ~17 MB."""

    __slots__ = ("_by_race", "_len")

    def __init__(self) -> None:
        self._by_race: dict[str, dict[str, Seat]] = {}
        self._len = 0

    def __getitem__(self, key: tuple[str, str]) -> Seat:
        area_id, race_id = key
        return self._by_race[race_id][area_id]

    def get(self, key: tuple[str, str], default: Seat | None = None) -> Seat | None:  # type: ignore[override]
        by_area = self._by_race.get(key[1])
        return default if by_area is None else by_area.get(key[0], default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        by_area = self._by_race.get(key[1])
        return by_area is not None and key[0] in by_area

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for race_id, by_area in self._by_race.items():
            for area_id in by_area:
                yield area_id, race_id

    def __len__(self) -> int:
        return self._len

    def setdefault(self, key: tuple[str, str], seat: Seat) -> Seat:
        area_id, race_id = key
        by_area = self._by_race.setdefault(race_id, {})
        if area_id not in by_area:
            by_area[area_id] = seat
            self._len += 1
        return by_area[area_id]


# repr=False: a national election would print as megabytes.
@dataclass(slots=True, repr=False)
class Election:
    """An election definition with indexes built once, for O(1) look-ups."""

    definition: ElectionDefinition
    races: dict[str, Race] = field(default_factory=dict)
    constituencies: dict[tuple[str, str], Constituency] = field(default_factory=dict)
    """(race id, constituency id) -> constituency."""
    polling_areas: dict[str, PollingArea] = field(default_factory=dict)
    committees: dict[str, Committee] = field(default_factory=dict)
    candidates: dict[tuple[str, str], dict[str, Candidate]] = field(default_factory=dict)
    """(race id, constituency id) -> candidate id -> candidate."""
    seats: Seats = field(default_factory=Seats)
    """(polling area id, race id) -> the constituency it votes in."""

    @classmethod
    def from_definition(cls, definition: ElectionDefinition) -> Election:
        self = cls(definition)
        self.committees = {c.id: c for c in definition.committees}
        self.polling_areas = areas = {p.id: p for p in definition.polling_areas}
        _share_values(definition)
        for race in definition.races:
            self.races[race.id] = race
            for con in race.constituencies:
                key = (race.id, con.id)
                self.constituencies[key] = con
                self.candidates[key] = {c.id: c for c in con.candidates}
                seat = Seat(race, con)
                ids = con.polling_area_ids
                for i, area_id in enumerate(ids):
                    area = areas.get(area_id)
                    if area is not None:
                        ids[i] = area_id = area.id  # one string per area, not one per race
                    self.seats.setdefault((area_id, race.id), seat)
        return self

    @property
    def id(self) -> str:
        return self.definition.id

    def races_at(self, polling_area_id: str) -> list[Seat]:
        """Every race held at a polling area, in the definition's race order."""
        return [
            self.seats[(polling_area_id, race.id)]
            for race in self.definition.races
            if (polling_area_id, race.id) in self.seats
        ]


def _share_values(definition: ElectionDefinition) -> None:
    """Make equal values one object: names, administrative units, birth dates, the
    race ids keying each area's voters and the voter counts. A national definition
    repeats them across ~90,000 polling areas and ~210,000 candidates (~60 MB as
    decoded); every value is unchanged (all are immutable), so no reader can tell."""
    seen: dict[object, object] = {race.id: race.id for race in definition.races}

    def one(value: object) -> object:
        return seen.setdefault(value, value)

    force = msgspec.structs.force_setattr
    for area in definition.polling_areas:
        for name in ("name", "admin_unit"):
            force(area, name, one(getattr(area, name)))
        voters = {one(race_id): one(n) for race_id, n in area.voters.items()}
        area.voters.clear()
        area.voters.update(voters)  # type: ignore[arg-type]
    for race in definition.races:
        for con in race.constituencies:
            for c in con.candidates:
                force(c, "full_name", one(c.full_name))
                force(c, "birth_date", one(c.birth_date))


def load_definition(path: Path) -> ElectionDefinition:
    return codec.decode(path.read_bytes(), ElectionDefinition)


def load_election(path: Path) -> Election:
    return Election.from_definition(load_definition(path))


def summarise(election: Election) -> str:
    d = election.definition
    lines = [f"{d.name}", f"{d.place} — {d.date.isoformat()} — id {d.id}"]
    lines.append(f"Khu vực bỏ phiếu / polling areas: {vn_int(len(d.polling_areas))}")
    for race in d.races:
        seats = sum(c.seats for c in race.constituencies)
        cands = sum(len(c.candidates) for c in race.constituencies)
        voters = sum(p.voters.get(race.id, 0) for p in d.polling_areas)
        lines.append(
            f"  {race.id:<10} {race.name}: {len(race.constituencies)} đơn vị bầu cử, "
            f"{seats} ghế, {cands} ứng cử viên, {vn_int(voters)} cử tri"
        )
    return "\n".join(lines)
