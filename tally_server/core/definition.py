"""Election definitions: loading, and the look-up tables every other part uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
    definition has hundreds of thousands, whose tuple keys alone took much memory."""

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
    def from_definition(cls, definition: ElectionDefinition, *, shared: bool = False) -> Election:
        """``shared``: the definition's equal values are one object already
        (``decode_definition``), so they are not shared again."""
        self = cls(definition)
        self.committees = {c.id: c for c in definition.committees}
        self.polling_areas = areas = {p.id: p for p in definition.polling_areas}
        if not shared:
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
    repeats them across every polling area and candidate; every value is unchanged
    (all are immutable), so no reader can tell."""
    seen: dict[object, object] = {race.id: race.id for race in definition.races}
    one = seen.setdefault
    for area in definition.polling_areas:
        _share_area(area, one)
    for race in definition.races:
        for con in race.constituencies:
            _share_constituency(con, one, None)


_One = Callable[[object, object], object]


def _share_area(area: PollingArea, one: _One) -> None:
    force = msgspec.structs.force_setattr
    for name in ("name", "admin_unit"):
        value = getattr(area, name)
        force(area, name, one(value, value))
    voters = {one(race_id, race_id): one(n, n) for race_id, n in area.voters.items()}
    area.voters.clear()
    area.voters.update(voters)  # type: ignore[arg-type]


def _share_constituency(con: Constituency, one: _One, area_ids: dict[str, str] | None) -> None:
    """Its name and committee id, its candidates' names and birth dates; its area ids
    the areas' own strings."""
    force = msgspec.structs.force_setattr
    for name in ("name", "committee_id"):
        value = getattr(con, name)
        force(con, name, one(value, value))
    for c in con.candidates:
        force(c, "full_name", one(c.full_name, c.full_name))
        force(c, "birth_date", one(c.birth_date, c.birth_date))
    if area_ids is not None:
        ids = con.polling_area_ids
        for i, area_id in enumerate(ids):
            ids[i] = area_ids.get(area_id, area_id)


def _parts(kind: type[msgspec.Struct], **raw: type) -> type[msgspec.Struct]:
    """``kind`` with the fields named in ``raw`` given other types (their JSON kept
    undecoded as ``msgspec.Raw``), every other field checked as ``kind`` checks it."""
    fields: list[tuple[str, object] | tuple[str, object, object]] = []
    for f in msgspec.structs.fields(kind):
        if f.required:
            fields.append((f.name, raw.get(f.name, f.type)))
        else:  # an optional field (the definition's ``sheets``) stays optional
            assert f.default_factory is msgspec.NODEFAULT, f"{kind.__name__}.{f.name}"
            fields.append((f.name, raw.get(f.name, f.type), f.default))
    return msgspec.defstruct(
        f"_{kind.__name__}Parts", fields, kw_only=True, forbid_unknown_fields=True
    )


_RaceParts = _parts(Race, constituencies=list[msgspec.Raw])
_DefinitionParts = _parts(
    ElectionDefinition,
    races=list[_RaceParts],  # type: ignore[valid-type]
    polling_areas=list[msgspec.Raw],
)
_area_decoder = msgspec.json.Decoder(PollingArea, strict=True)
_constituency_decoder = msgspec.json.Decoder(Constituency, strict=True)


def decode_definition(raw: bytes, *, ijson: bool = True) -> ElectionDefinition:
    """``codec.decode(raw, ElectionDefinition)``, with equal values shared as each
    polling area and constituency is decoded rather than afterwards: the copies are
    freed while the next are made, so their memory is used again (decoding the whole
    national definition first, then sharing, left holes the process kept).
    Anything wrong is reported by ``codec.decode`` itself, in its words. ``ijson``:
    refuse a key given twice or an integer beyond 2^53 − 1 (``codec.check_ijson``;
    a caller that knows these very bytes passed the check may leave it out)."""
    if not codec.plain_text(raw):
        return codec.decode(raw, ElectionDefinition)
    try:
        head = msgspec.json.decode(raw, type=_DefinitionParts, strict=True)
        races_in = head.races  # type: ignore[attr-defined]
        seen: dict[object, object] = {part.id: part.id for part in races_in}
        one = seen.setdefault
        areas: list[PollingArea] = []
        for piece in head.polling_areas:  # type: ignore[attr-defined]
            area = _area_decoder.decode(piece)
            _share_area(area, one)
            areas.append(area)
        ids = {area.id: area.id for area in areas}
        races: list[Race] = []
        for part in races_in:
            constituencies = []
            for piece in part.constituencies:
                con = _constituency_decoder.decode(piece)
                _share_constituency(con, one, ids)
                constituencies.append(con)
            fields = msgspec.structs.asdict(part)
            races.append(Race(**{**fields, "constituencies": constituencies}))
        fields = msgspec.structs.asdict(head)
        definition = ElectionDefinition(**{**fields, "races": races, "polling_areas": areas})
    except (msgspec.ValidationError, msgspec.DecodeError):
        return codec.decode(raw, ElectionDefinition)
    if ijson:
        codec.check_ijson(raw, definition)
    return definition


def load_definition(path: Path) -> ElectionDefinition:
    return decode_definition(path.read_bytes())


def load_election(path: Path) -> Election:
    return Election.from_definition(load_definition(path), shared=True)


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
