"""Checks on an election definition before anything is counted against it.

Errors (D1xx) are structures the law does not allow or that cannot be tallied
(too many seats, too few candidates, a polling area in two constituencies of one
race, a reference to nothing); warnings (D2xx) are plausible but unusual and
worth a second look (a polling area of 120 voters, lists out of order).

Every check is a pass over the definition with dictionaries: linear in its size,
so the national election (90,189 polling areas) validates in about a second.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.errors import DefinitionError
from schemas.models import Candidate, ElectionDefinition, Finding, RaceLevel
from tally_server.core.definition import Election
from tally_server.core.glossary import RULE_TITLE
from tally_server.core.numbers import vn_int
from tally_server.core.rules import Rule

Issue = Finding
"""One broken rule of a definition: code, severity, where (``fields``), figures,
and the message in Vietnamese and English."""


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    """Thresholds that are judgement or that the law leaves to guidance."""

    min_age: int = 18
    """Youngest candidate on election day (the law says 18 for candidacy: keep it
    configurable, practice nominates older)."""
    max_age: int = 100
    """Older than this on election day is taken as a typing error in the birth date."""
    min_voters: int = 300
    max_voters: int = 4000
    na_max_seats: int = 3
    council_max_seats: int = 5


DEFAULT_VALIDATION = ValidationConfig()


RULES: dict[str, Rule] = {
    code: Rule(code, "error" if code.startswith("D1") else "warning", title)
    for code, title in RULE_TITLE.items()
    if code.startswith("D")
}

LEVEL_ORDER: dict[str, int] = {"national_assembly": 0, "province": 1, "district": 2, "commune": 3}
_LEVEL_VI = {
    "national_assembly": "Quốc hội",
    "province": "HĐND tỉnh",
    "district": "HĐND huyện",
    "commune": "HĐND xã",
}
# The committees that run a race's constituencies (the province's for the NA).
_COMMITTEE_LEVELS: dict[str, tuple[str, ...]] = {
    "national_assembly": ("province", "national"),
    "province": ("province",),
    "district": ("district",),
    "commune": ("commune",),
}


def min_candidates(level: RaceLevel | str, seats: int) -> int:
    """The shortest list the law allows: NA seats + 2; councils 1–2 seats +1,
    3 seats +2, 4–5 seats +3."""
    if level == "national_assembly":
        return seats + 2
    if seats <= 2:
        return seats + 1
    if seats == 3:
        return seats + 2
    return seats + 3


def max_seats(level: RaceLevel | str, config: ValidationConfig = DEFAULT_VALIDATION) -> int:
    return config.na_max_seats if level == "national_assembly" else config.council_max_seats


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _issue(
    code: str,
    where: list[str],
    figures: dict[str, int | str],
    vi: str,
    en: str,
    race_id: str | None = None,
) -> Finding:
    rule = RULES[code]
    return Finding(
        code=code,
        severity=rule.severity,
        race_id=race_id,
        fields=where,
        figures=figures,
        message_vi=f"{code}: {vi}",
        message_en=f"{code}: {en}",
    )


def _duplicates(ids: Iterable[str]) -> list[tuple[str, int]]:
    return [(i, n) for i, n in Counter(ids).items() if n > 1]


def validate_definition(
    d: ElectionDefinition, config: ValidationConfig = DEFAULT_VALIDATION
) -> list[Issue]:
    """Every issue of a definition, errors first, each in definition order."""
    out: list[Issue] = []

    # --- unique ids ---
    for rid, n in _duplicates(r.id for r in d.races):
        out.append(
            _issue(
                "D107",
                [f"races[{rid}]"],
                {"race_id": rid, "count": n},
                f"mã cuộc bầu cử {rid} xuất hiện {n} lần",
                f"race id {rid} appears {n} times",
                rid,
            )
        )
    for aid, n in _duplicates(a.id for a in d.polling_areas):
        out.append(
            _issue(
                "D110",
                [f"polling_areas[{aid}]"],
                {"polling_area_id": aid, "count": n},
                f"mã khu vực bỏ phiếu {aid} xuất hiện {n} lần",
                f"polling area id {aid} appears {n} times",
            )
        )
    for cid, n in _duplicates(c.id for c in d.committees):
        out.append(
            _issue(
                "D111",
                [f"committees[{cid}]"],
                {"committee_id": cid, "count": n},
                f"mã ủy ban bầu cử {cid} xuất hiện {n} lần",
                f"committee id {cid} appears {n} times",
            )
        )
    candidate_ids = (c.id for r in d.races for con in r.constituencies for c in con.candidates)
    for cid, n in _duplicates(candidate_ids):
        out.append(
            _issue(
                "D109",
                [f"candidates[{cid}]"],
                {"candidate_id": cid, "count": n},
                f"mã người ứng cử {cid} xuất hiện {n} lần",
                f"candidate id {cid} appears {n} times",
            )
        )

    # --- committees ---
    committees = {c.id: c for c in d.committees}
    for c in d.committees:
        if c.parent_id is not None and (c.parent_id not in committees or c.parent_id == c.id):
            out.append(
                _issue(
                    "D113",
                    [f"committees[{c.id}].parent_id"],
                    {"committee_id": c.id, "parent_id": c.parent_id},
                    f"ủy ban {c.id} có ủy ban cấp trên {c.parent_id} không tồn tại",
                    f"committee {c.id} names a parent {c.parent_id} that does not exist",
                )
            )

    areas = {a.id: a for a in d.polling_areas}
    race_ids = {r.id for r in d.races}
    warnings: list[Issue] = []
    # race id -> polling area -> the constituencies of that race that list it
    by_race: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    # --- races and constituencies ---
    for race in d.races:
        rid = race.id
        where_race = f"races[{rid}]"
        if not race.constituencies:
            out.append(
                _issue(
                    "D118",
                    [f"{where_race}.constituencies"],
                    {"race_id": rid},
                    f"cuộc bầu cử {rid} không có đơn vị bầu cử nào",
                    f"race {rid} has no constituency",
                    rid,
                )
            )
        for con_id, n in _duplicates(c.id for c in race.constituencies):
            out.append(
                _issue(
                    "D108",
                    [f"{where_race}.constituencies[{con_id}]"],
                    {"race_id": rid, "constituency_id": con_id, "count": n},
                    f"mã đơn vị bầu cử {con_id} xuất hiện {n} lần trong cuộc bầu cử {rid}",
                    f"constituency id {con_id} appears {n} times in race {rid}",
                    rid,
                )
            )
        listed = by_race[rid]
        top = max_seats(race.level, config)
        for con in race.constituencies:
            where = f"{where_race}.constituencies[{con.id}]"
            if not 1 <= con.seats <= top:
                out.append(
                    _issue(
                        "D101",
                        [f"{where}.seats"],
                        {"constituency_id": con.id, "seats": con.seats, "max": top},
                        f"đơn vị bầu cử {con.id} bầu {con.seats} đại biểu; "
                        f"{_LEVEL_VI[race.level]} cho phép từ 1 đến {top}",
                        f"constituency {con.id} elects {con.seats}; "
                        f"a {race.level} race allows 1 to {top}",
                        rid,
                    )
                )
            need = min_candidates(race.level, con.seats)
            if len(con.candidates) < need:
                out.append(
                    _issue(
                        "D102",
                        [f"{where}.candidates"],
                        {
                            "constituency_id": con.id,
                            "seats": con.seats,
                            "candidates": len(con.candidates),
                            "min": need,
                        },
                        f"đơn vị bầu cử {con.id} có {len(con.candidates)} người ứng cử cho "
                        f"{con.seats} đại biểu; luật đòi hỏi ít nhất {need}",
                        f"constituency {con.id} has {len(con.candidates)} candidates for "
                        f"{con.seats} seats; the law requires at least {need}",
                        rid,
                    )
                )
            if con.committee_id not in committees:
                out.append(
                    _issue(
                        "D112",
                        [f"{where}.committee_id"],
                        {"constituency_id": con.id, "committee_id": con.committee_id},
                        f"đơn vị bầu cử {con.id} thuộc ủy ban {con.committee_id} không tồn tại",
                        f"constituency {con.id} names committee {con.committee_id}, "
                        "which does not exist",
                        rid,
                    )
                )
            elif committees[con.committee_id].level not in _COMMITTEE_LEVELS[race.level]:
                level = committees[con.committee_id].level
                warnings.append(
                    _issue(
                        "D203",
                        [f"{where}.committee_id"],
                        {
                            "constituency_id": con.id,
                            "committee_id": con.committee_id,
                            "committee_level": level,
                            "race_level": race.level,
                        },
                        f"đơn vị bầu cử {con.id} ({_LEVEL_VI[race.level]}) thuộc ủy ban "
                        f"{con.committee_id} cấp {level}",
                        f"constituency {con.id} of a {race.level} race is run by "
                        f"{con.committee_id}, a {level} committee",
                        rid,
                    )
                )
            if not con.polling_area_ids:
                out.append(
                    _issue(
                        "D116",
                        [f"{where}.polling_area_ids"],
                        {"constituency_id": con.id},
                        f"đơn vị bầu cử {con.id} không có khu vực bỏ phiếu nào",
                        f"constituency {con.id} lists no polling area",
                        rid,
                    )
                )
            for aid in con.polling_area_ids:
                listed[aid].append(con.id)
                area = areas.get(aid)
                if area is None:
                    out.append(
                        _issue(
                            "D105",
                            [f"{where}.polling_area_ids"],
                            {"constituency_id": con.id, "polling_area_id": aid},
                            f"đơn vị bầu cử {con.id} ghi khu vực bỏ phiếu {aid} không tồn tại",
                            f"constituency {con.id} lists polling area {aid}, which does not exist",
                            rid,
                        )
                    )
                elif rid not in area.voters:
                    out.append(
                        _issue(
                            "D106",
                            [f"{where}.polling_area_ids", f"polling_areas[{aid}].voters"],
                            {"constituency_id": con.id, "polling_area_id": aid},
                            f"đơn vị bầu cử {con.id} ghi khu vực bỏ phiếu {aid}, nhưng khu vực "
                            f"này không có số cử tri cho cuộc bầu cử {rid}",
                            f"constituency {con.id} lists polling area {aid}, which has no "
                            f"voters figure for race {rid}",
                            rid,
                        )
                    )
            out.extend(_candidates(d, race.level, rid, where, con.candidates, config, warnings))
    for rid, listed in by_race.items():
        for aid, cons in listed.items():
            if len(cons) > 1:
                out.append(
                    _issue(
                        "D104",
                        [f"polling_areas[{aid}]"],
                        {
                            "polling_area_id": aid,
                            "count": len(cons),
                            "constituencies": ", ".join(cons),
                        },
                        f"khu vực bỏ phiếu {aid} thuộc {len(cons)} đơn vị bầu cử của cuộc "
                        f"bầu cử {rid}: {', '.join(cons)}",
                        f"polling area {aid} is in {len(cons)} constituencies of race {rid}: "
                        f"{', '.join(cons)}",
                        rid,
                    )
                )
    for area in d.polling_areas:
        for rid, voters in area.voters.items():
            if rid in race_ids and area.id not in by_race[rid]:
                out.append(
                    _issue(
                        "D103",
                        [f"polling_areas[{area.id}].voters.{rid}"],
                        {"polling_area_id": area.id, "voters": voters},
                        f"khu vực bỏ phiếu {area.id} có {vn_int(voters)} cử tri của "
                        f"cuộc bầu cử {rid} nhưng không thuộc đơn vị bầu cử nào của cuộc đó",
                        f"polling area {area.id} has {vn_int(voters)} voters for "
                        f"race {rid} but is in none of its constituencies",
                        rid,
                    )
                )

    # --- polling areas ---
    levels = {r.id: LEVEL_ORDER[r.level] for r in d.races}
    for area in d.polling_areas:
        where = f"polling_areas[{area.id}]"
        for rid in area.voters:
            if rid not in race_ids:
                out.append(
                    _issue(
                        "D117",
                        [f"{where}.voters.{rid}"],
                        {"polling_area_id": area.id, "race_id": rid},
                        f"khu vực bỏ phiếu {area.id} ghi số cử tri cho cuộc bầu cử {rid} "
                        "không có trong định nghĩa",
                        f"polling area {area.id} has voters for race {rid}, "
                        "which is not in the definition",
                    )
                )
        if not area.voters:
            warnings.append(
                _issue(
                    "D204",
                    [f"{where}.voters"],
                    {"polling_area_id": area.id},
                    f"khu vực bỏ phiếu {area.id} không tổ chức cuộc bầu cử nào",
                    f"polling area {area.id} holds no race",
                )
            )
            continue
        largest = max(area.voters.values())
        if not config.min_voters <= largest <= config.max_voters:
            warnings.append(
                _issue(
                    "D201",
                    [f"{where}.voters"],
                    {
                        "polling_area_id": area.id,
                        "voters": largest,
                        "min": config.min_voters,
                        "max": config.max_voters,
                    },
                    f"khu vực bỏ phiếu {area.id} có {vn_int(largest)} cử tri, ngoài khoảng "
                    f"{vn_int(config.min_voters)}–{vn_int(config.max_voters)} "
                    "(được phép ở miền núi, hải đảo, bệnh viện, đơn vị vũ trang, nơi tạm giam)",
                    f"polling area {area.id} has {vn_int(largest)} voters, outside the usual "
                    f"{vn_int(config.min_voters)}–{vn_int(config.max_voters)} "
                    "(allowed in mountains, on islands, in hospitals, armed units, "
                    "detention centres)",
                )
            )
        ranked = sorted(
            ((levels[rid], rid, n) for rid, n in area.voters.items() if rid in levels),
        )
        for (la, ra, na), (lb, rb, nb) in zip(ranked, ranked[1:], strict=False):
            if la < lb and na < nb:
                warnings.append(
                    _issue(
                        "D202",
                        [f"{where}.voters.{ra}", f"{where}.voters.{rb}"],
                        {"polling_area_id": area.id, ra: na, rb: nb},
                        f"khu vực bỏ phiếu {area.id}: cử tri cuộc bầu cử {ra} "
                        f"({vn_int(na)}) ít hơn cuộc bầu cử cấp dưới {rb} ({vn_int(nb)})",
                        f"polling area {area.id}: voters for {ra} ({vn_int(na)}) fewer than for "
                        f"the lower-level race {rb} ({vn_int(nb)})",
                    )
                )
    out += _sheet_facts(d)
    return out + warnings


def _sheet_facts(d: ElectionDefinition) -> list[Finding]:
    """D119: what the sheets print for a race, a council or a body must name one of the
    definition's (a misspelt id would leave the form's blank silently unfilled)."""
    if d.sheets is None:
        return []
    races = {r.id for r in d.races}
    committees = {c.id for c in d.committees}
    boards = {f"{r.id}/{con.id}" for r in d.races for con in r.constituencies}
    named = [
        *((f"sheets.races[{i}].race_id", t.race_id, races) for i, t in enumerate(d.sheets.races)),
        *(
            (f"sheets.councils[{i}].committee_id", t.committee_id, committees)
            for i, t in enumerate(d.sheets.councils)
        ),
        *(
            (f"sheets.bodies[{i}].body", b.body, committees | boards)
            for i, b in enumerate(d.sheets.bodies)
        ),
    ]
    return [
        _issue(
            "D119",
            [where],
            {"id": value},
            f"{where} nêu {value}, không có trong định nghĩa",
            f"{where} names {value}, which is not in the definition",
        )
        for where, value, known in named
        if value not in known
    ]


def _candidates(
    d: ElectionDefinition,
    level: str,
    rid: str,
    where: str,
    candidates: Iterable[Candidate],
    config: ValidationConfig,
    warnings: list[Issue],
) -> list[Issue]:
    out: list[Issue] = []
    seen: dict[tuple[str, dt.date], str] = {}
    for c in candidates:
        age = age_on(c.birth_date, d.date)
        born = c.birth_date.isoformat()
        if age < config.min_age:
            out.append(
                _issue(
                    "D114",
                    [f"{where}.candidates[{c.id}].birth_date"],
                    {"candidate_id": c.id, "birth_date": born, "age": age, "min": config.min_age},
                    f"người ứng cử {c.id} ({c.full_name}) sinh ngày {born}, {age} tuổi vào "
                    f"ngày bầu cử, chưa đủ {config.min_age} tuổi",
                    f"candidate {c.id} ({c.full_name}) born {born} is {age} on election day, "
                    f"under {config.min_age}",
                    rid,
                )
            )
        elif age > config.max_age:
            out.append(
                _issue(
                    "D115",
                    [f"{where}.candidates[{c.id}].birth_date"],
                    {"candidate_id": c.id, "birth_date": born, "age": age, "max": config.max_age},
                    f"người ứng cử {c.id} ({c.full_name}) sinh ngày {born}, {age} tuổi vào "
                    "ngày bầu cử: hãy kiểm tra ngày sinh",
                    f"candidate {c.id} ({c.full_name}) born {born} would be {age} on election "
                    "day: check the birth date",
                    rid,
                )
            )
        key = (c.full_name.casefold(), c.birth_date)
        if key in seen:
            warnings.append(
                _issue(
                    "D205",
                    [f"{where}.candidates[{seen[key]}]", f"{where}.candidates[{c.id}]"],
                    {"candidate_id": c.id, "same_as": seen[key], "birth_date": born},
                    f"người ứng cử {c.id} và {seen[key]} cùng tên {c.full_name} và ngày sinh "
                    f"{born}: có phải ghi hai lần?",
                    f"candidates {c.id} and {seen[key]} share the name {c.full_name} and the "
                    f"birth date {born}: listed twice?",
                    rid,
                )
            )
        else:
            seen[key] = c.id
    return out


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


class InvalidDefinition(DefinitionError):
    """A definition with errors; ``issues`` holds every one (and the warnings)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        bad = errors(issues)
        lines_vi = "\n".join(f"  {i.message_vi}" for i in bad)
        lines_en = "\n".join(f"  {i.message_en}" for i in bad)
        super().__init__(
            en=f"The election definition has {len(bad)} error(s):\n{lines_en}",
            vi=f"Định nghĩa cuộc bầu cử có {len(bad)} lỗi:\n{lines_vi}",
            code=bad[0].code if len(bad) == 1 else "D100",
            fields=tuple(f for i in bad for f in i.fields),
            figures={"errors": len(bad), "codes": ", ".join(sorted({i.code for i in bad}))},
        )


def check_definition(
    d: ElectionDefinition, config: ValidationConfig = DEFAULT_VALIDATION
) -> Election:
    """The indexed election, or ``InvalidDefinition`` (a ``DefinitionError``) listing
    every error."""
    issues = validate_definition(d, config)
    if errors(issues):
        raise InvalidDefinition(issues)
    return Election.from_definition(d)


def rules_markdown() -> str:
    """The table of definition rules, as docs/rosters.md prints it."""
    rows = ["| code | severity | rule (tiếng Việt) | rule (English) |", "|---|---|---|---|"]
    rows += [f"| {r.code} | {r.severity} | {r.title_vi} | {r.title_en} |" for r in RULES.values()]
    return "\n".join(rows)
