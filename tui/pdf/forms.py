"""What the legal forms name, read from the election definition: the bodies as the
forms name them, each council's place, khóa and nhiệm kỳ, the constituency's number,
its communes, and the meeting (time, place, members) a body's minutes open with.

Each comes from ``definition.sheets`` when given there, else from the names the
definition already holds ("Đại biểu Quốc hội khoá XIII", "nhiệm kỳ 2011–2016",
"Ủy ban bầu cử xã Tân Thông Hội"); what neither holds is printed as a blank to
fill by hand, never guessed (docs/dashboard.md, "The sheets").
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.models import Committee, Constituency, Race
from tally_server.core.definition import Election
from tui.pdf.document import keep, nfc

BLANK = "……"
COMMITTEE_PREFIX = "Ủy ban bầu cử "

_TERM = re.compile(r"kho[aá]\s+([IVXLCDM]+)\b", re.IGNORECASE)
_PERIOD = re.compile(r"nhiệm kỳ\s+(\d{4})\s*[-–]\s*(\d{4})", re.IGNORECASE)
_NUMBER = re.compile(r"\bsố\s+([0-9A-Za-z]+)")


@dataclass(frozen=True, slots=True)
class Meeting:
    """A body's meeting as its minutes open: "Vào hồi … giờ … phút, ngày …" and who
    was there. Given by the print command; anything left out stays a blank."""

    day: dt.date | None = None
    time: dt.time | None = None
    place: str | None = None
    members: tuple[tuple[str, str], ...] = ()
    """(role, full name), as the minutes write them."""

    def opening(self, year: int) -> str:
        """ "Vào hồi 14 giờ 00 phút, ngày 25 tháng 5 năm 2011" (blanks for what is not known;
        the year is the election's, never the printing day's)."""
        hour = f"{self.time.hour}" if self.time else BLANK
        minute = f"{self.time.minute:02d}" if self.time else BLANK
        return f"Vào hồi {hour} giờ {minute} phút, {day_words(self.day, year)}"


def day_words(day: dt.date | None, year: int) -> str:
    if day is None:
        return f"ngày {BLANK} tháng {BLANK} năm {year}"
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def capital_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def race_term(election: Election, race: Race, committee_id: str | None = None) -> str | None:
    """The khóa: the council's own, the race's, or the one its name carries."""
    facts = election.definition.sheets
    if facts is not None:
        if committee_id is not None:
            for c in facts.councils:
                if c.committee_id == committee_id and c.term:
                    return c.term
        for r in facts.races:
            if r.race_id == race.id and r.term:
                return r.term
    found = _TERM.search(race.name)
    # a commune race's name cannot carry the khóa of each commune's council
    if found and (race.level in ("national_assembly", "province") or committee_id is None):
        return found.group(1).upper()
    return None


def race_period(election: Election, race: Race) -> str:
    facts = election.definition.sheets
    if facts is not None:
        for r in facts.races:
            if r.race_id == race.id and r.period:
                return r.period
    for text in (race.name, election.definition.name):
        found = _PERIOD.search(text)
        if found:
            return f"{found.group(1)}-{found.group(2)}"
    year = election.definition.date.year
    return f"{year}-{year + 5}"


def seats_basis(election: Election, race: Race) -> str | None:
    facts = election.definition.sheets
    if facts is not None:
        for r in facts.races:
            if r.race_id == race.id and r.seats_basis:
                return r.seats_basis
    return None


def place_of(election: Election, committee_id: str) -> str:
    """The place a committee serves, as the forms' "(1)" writes it inside a sentence:
    "thành phố Hồ Chí Minh", "xã Tân Thông Hội"."""
    facts = election.definition.sheets
    if facts is not None:
        for c in facts.councils:
            if c.committee_id == committee_id and c.place:
                return nfc(c.place)
    committee = election.committees.get(committee_id)
    if committee is None:
        return BLANK
    name = nfc(committee.name)
    if name.startswith(COMMITTEE_PREFIX):
        name = name[len(COMMITTEE_PREFIX) :]
    return lower_first(name)


def province_of(election: Election, committee_id: str) -> Committee | None:
    """The provincial committee over ``committee_id`` (itself if it is one)."""
    seen: set[str] = set()
    current = election.committees.get(committee_id)
    while current is not None and current.id not in seen:
        if current.level == "province":
            return current
        seen.add(current.id)
        current = election.committees.get(current.parent_id or "")
    return None


def province_place(election: Election, committee_id: str) -> str:
    province = province_of(election, committee_id)
    return place_of(election, province.id) if province else lower_first(election.definition.place)


def number_of(constituency_name: str) -> str:
    """ "Đơn vị bầu cử số 10 (Quận 1, …)" -> "10"; the whole name if it has no number."""
    found = _NUMBER.search(constituency_name)
    return found.group(1) if found else constituency_name


def commune_of(admin_unit: str) -> str:
    """ "Xã Tân Thông Hội, huyện Củ Chi" -> "Xã Tân Thông Hội"."""
    return nfc(admin_unit).split(",", 1)[0].strip()


def communes(election: Election, con: Constituency) -> list[tuple[str, list[str]]]:
    """The communes (xã, phường, thị trấn) of a constituency in the order of its polling
    areas, each with its areas. A commune is its administrative unit: "Phường 1" of two
    districts are two rows, named with their district ("Phường 1 (Quận 3)")."""
    units: dict[str, list[str]] = {}
    for area_id in con.polling_area_ids:
        area = election.polling_areas.get(area_id)
        units.setdefault(nfc(area.admin_unit) if area else BLANK, []).append(area_id)
    short = Counter(commune_of(unit) for unit in units)
    return [
        (
            commune_of(unit)
            if short[commune_of(unit)] == 1
            else f"{commune_of(unit)} ({keep(capital_first(unit.split(',', 1)[-1].strip()))})",
            ids,
        )
        for unit, ids in units.items()
    ]


def council_words(election: Election, race: Race, committee_id: str) -> tuple[str, str, str]:
    """(the council's name in a sentence, its khóa, its nhiệm kỳ): ("Hội đồng nhân dân
    thành phố Hồ Chí Minh", "khóa VIII", "nhiệm kỳ 2011-2016"); the last two never
    break across lines."""
    term = race_term(election, race, committee_id) or BLANK
    return (
        f"Hội đồng nhân dân {place_of(election, committee_id)}",
        keep(f"khóa {term}"),
        keep(f"nhiệm kỳ {race_period(election, race)}"),
    )


def deputies_of(election: Election, race: Race, committee_id: str) -> str:
    """ "đại biểu Quốc hội khóa XIII" or "đại biểu Hội đồng nhân dân xã Tân Thông Hội
    khóa …, nhiệm kỳ 2011-2016", for a sentence."""
    if race.level == "national_assembly":
        return f"đại biểu Quốc hội khóa {race_term(election, race) or BLANK}"
    council, term, period = council_words(election, race, committee_id)
    return f"đại biểu {council} {term}, {period}"


def meeting_for(election: Election, body: str, given: Meeting | None) -> Meeting:
    """The print command's meeting, completed from the definition's record of the body."""
    given = given or Meeting()
    facts = election.definition.sheets
    record = next((b for b in facts.bodies if b.body == body), None) if facts else None
    if record is None:
        return given
    return Meeting(
        day=given.day,
        time=given.time,
        place=given.place or record.place,
        members=given.members or tuple((m.role, m.full_name) for m in record.members),
    )


def members_lines(meeting: Meeting, roles: Sequence[str]) -> list[str]:
    """ "Ông/Bà …, Trưởng ban" for each member present, or a blank line per role of the form."""
    if meeting.members:
        return [f"Ông/Bà {name}, {role}" for role, name in meeting.members]
    return [f"Ông/Bà {BLANK}{BLANK}{BLANK}, {role}" for role in roles]
