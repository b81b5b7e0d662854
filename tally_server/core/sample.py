"""Seeded sample elections and plausible counting minutes for them.

Nothing here is real data: the districts and wards of Ho Chi Minh City and the
provinces of Vietnam are real names, every figure and every person is invented
by a seeded generator, so the same seed always gives the same election.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from schemas import codec
from schemas.models import (
    Candidate,
    Committee,
    Complaints,
    Constituency,
    CountingMinutes,
    ElectionDefinition,
    PollingArea,
    Race,
    RaceTerm,
    SheetFacts,
    Signatory,
)
from tally_server.core.definition import Election
from tally_server.core.names import full_name, given_name_key
from tally_server.core.validate import min_candidates

# --- building blocks -------------------------------------------------------------------


def _birth_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def _split(weights: Sequence[int], parts: int) -> list[list[int]]:
    """Split weights into ``parts`` contiguous, non-empty runs of about equal total;
    returns the indexes in each run."""
    n = len(weights)
    parts = max(1, min(parts, n))
    total = sum(weights) or 1
    runs: list[list[int]] = [[]]
    acc = 0
    for i, w in enumerate(weights):
        still_to_open = parts - len(runs)
        if runs[-1] and still_to_open > 0:
            # open the next run when this item sits mostly past the current run's share,
            # or when every remaining item is needed to fill the remaining runs
            past_share = (2 * acc + w) * parts > 2 * len(runs) * total
            if past_share or n - i <= still_to_open:
                runs.append([])
        runs[-1].append(i)
        acc += w
    return runs


@dataclass(slots=True)
class _Area:
    id: str
    name: str
    admin_unit: str
    voters: dict[str, int]


@dataclass(slots=True)
class _Builder:
    """Collects an election while it is generated, then freezes it."""

    rng: random.Random
    date: dt.date
    committees: list[Committee] = field(default_factory=list)
    constituencies: dict[str, list[Constituency]] = field(default_factory=dict)
    areas: list[_Area] = field(default_factory=list)

    def committee(self, id: str, name: str, level: str, parent_id: str | None) -> str:
        self.committees.append(
            codec.convert(
                {"id": id, "name": name, "level": level, "parent_id": parent_id}, Committee
            )
        )
        return id

    def constituency(
        self,
        race_id: str,
        id: str,
        name: str,
        committee_id: str,
        seats: int,
        n_candidates: int,
        area_ids: list[str],
    ) -> None:
        first = dt.date(self.date.year - 66, 1, 1)
        last = dt.date(self.date.year - 21, self.date.month, 1)
        people = [
            (full_name(self.rng), _birth_date(self.rng, first, last)) for _ in range(n_candidates)
        ]
        # ballots list candidates in alphabetical order of the given name
        people.sort(key=lambda p: (given_name_key(p[0]), p[1]))
        self.constituencies.setdefault(race_id, []).append(
            Constituency(
                id=id,
                name=name,
                committee_id=committee_id,
                seats=seats,
                candidates=[
                    Candidate(id=f"{id}-{i}", full_name=n, birth_date=b)
                    for i, (n, b) in enumerate(people, start=1)
                ],
                polling_area_ids=area_ids,
            )
        )


def _area_voters(rng: random.Random, na: int, races: Sequence[str]) -> dict[str, int]:
    """Voters per race at one polling area: the NA list is the longest, each lower
    council's list a little shorter (temporary residents, certificates to vote elsewhere)."""
    voters: dict[str, int] = {}
    n = na
    for i, race in enumerate(races):
        if i:
            n -= int(n * rng.uniform(0.0, 0.012))
        voters[race] = n
    return voters


# --- Ho Chi Minh City, 2011 --------------------------------------------------------------

_DATE_2011 = dt.date(2011, 5, 22)


def _numbered(n: int) -> tuple[str, ...]:
    return tuple(f"Phường {i}" for i in range(1, n + 1))


def _named(kind: str, names: str) -> tuple[str, ...]:
    return tuple(f"{kind} {n.strip()}" for n in names.split(","))


@dataclass(frozen=True, slots=True)
class _District:
    code: str
    name: str
    voters: int
    """Voters on the NA list, in thousands (invented, near the 2011 population)."""
    units: tuple[str, ...]
    rural: bool = False


_HCMC_DISTRICTS: tuple[_District, ...] = (
    _District(
        "Q01",
        "Quận 1",
        120,
        _named(
            "Phường",
            "Tân Định, Đa Kao, Bến Nghé, Bến Thành, Nguyễn Thái Bình, Phạm Ngũ Lão, "
            "Cầu Ông Lãnh, Cô Giang, Nguyễn Cư Trinh, Cầu Kho",
        ),
    ),
    _District(
        "Q02",
        "Quận 2",
        95,
        _named(
            "Phường",
            "Thảo Điền, An Phú, Bình An, Bình Trưng Đông, Bình Trưng Tây, Bình Khánh, "
            "An Khánh, Cát Lái, Thạnh Mỹ Lợi, An Lợi Đông, Thủ Thiêm",
        ),
    ),
    _District("Q03", "Quận 3", 130, _numbered(14)),
    _District("Q04", "Quận 4", 120, _numbered(15)),
    _District("Q05", "Quận 5", 120, _numbered(15)),
    _District("Q06", "Quận 6", 170, _numbered(14)),
    _District(
        "Q07",
        "Quận 7",
        180,
        _named(
            "Phường",
            "Tân Thuận Đông, Tân Thuận Tây, Tân Kiểng, Tân Hưng, Bình Thuận, Tân Quy, "
            "Phú Thuận, Tân Phú, Tân Phong, Phú Mỹ",
        ),
    ),
    _District("Q08", "Quận 8", 275, _numbered(16)),
    _District(
        "Q09",
        "Quận 9",
        175,
        _named(
            "Phường",
            "Long Bình, Long Thạnh Mỹ, Tân Phú, Hiệp Phú, Tăng Nhơn Phú A, Tăng Nhơn Phú B, "
            "Phước Long A, Phước Long B, Trường Thạnh, Long Phước, Long Trường, "
            "Phước Bình, Phú Hữu",
        ),
    ),
    _District("Q10", "Quận 10", 160, _numbered(15)),
    _District("Q11", "Quận 11", 155, _numbered(16)),
    _District(
        "Q12",
        "Quận 12",
        290,
        _named(
            "Phường",
            "Thạnh Xuân, Thạnh Lộc, Hiệp Thành, Thới An, Tân Chánh Hiệp, An Phú Đông, "
            "Tân Thới Hiệp, Trung Mỹ Tây, Tân Hưng Thuận, Đông Hưng Thuận, Tân Thới Nhất",
        ),
    ),
    _District("GVA", "Quận Gò Vấp", 370, _numbered(16)),
    _District("TBI", "Quận Tân Bình", 290, _numbered(15)),
    _District(
        "TPH",
        "Quận Tân Phú",
        285,
        _named(
            "Phường",
            "Tân Sơn Nhì, Tây Thạnh, Sơn Kỳ, Tân Quý, Tân Thành, Phú Thọ Hòa, Phú Thạnh, "
            "Phú Trung, Hòa Thạnh, Hiệp Tân, Tân Thới Hòa",
        ),
    ),
    _District("BTH", "Quận Bình Thạnh", 310, _numbered(20)),
    _District("PNH", "Quận Phú Nhuận", 118, _numbered(15)),
    _District(
        "TDU",
        "Quận Thủ Đức",
        315,
        _named(
            "Phường",
            "Linh Xuân, Bình Chiểu, Linh Trung, Tam Bình, Tam Phú, Hiệp Bình Phước, "
            "Hiệp Bình Chánh, Linh Chiểu, Linh Tây, Linh Đông, Bình Thọ, Trường Thọ",
        ),
    ),
    _District(
        "BTA",
        "Quận Bình Tân",
        410,
        _named(
            "Phường",
            "Bình Hưng Hòa, Bình Hưng Hòa A, Bình Hưng Hòa B, Bình Trị Đông, "
            "Bình Trị Đông A, Bình Trị Đông B, Tân Tạo, Tân Tạo A, An Lạc, An Lạc A",
        ),
    ),
    _District(
        "CCH",
        "Huyện Củ Chi",
        245,
        ("Thị trấn Củ Chi",)
        + _named(
            "Xã",
            "Phú Mỹ Hưng, An Phú, Trung Lập Thượng, An Nhơn Tây, Nhuận Đức, Phạm Văn Cội, "
            "Phú Hòa Đông, Trung Lập Hạ, Trung An, Phước Thạnh, Phước Hiệp, Tân An Hội, "
            "Phước Vĩnh An, Thái Mỹ, Tân Thạnh Tây, Hòa Phú, Tân Thạnh Đông, Bình Mỹ, "
            "Tân Phú Trung, Tân Thông Hội",
        ),
        rural=True,
    ),
    _District(
        "HMO",
        "Huyện Hóc Môn",
        250,
        ("Thị trấn Hóc Môn",)
        + _named(
            "Xã",
            "Tân Hiệp, Nhị Bình, Đông Thạnh, Tân Thới Nhì, Thới Tam Thôn, Xuân Thới Sơn, "
            "Tân Xuân, Xuân Thới Đông, Trung Chánh, Xuân Thới Thượng, Bà Điểm",
        ),
        rural=True,
    ),
    _District(
        "BCH",
        "Huyện Bình Chánh",
        305,
        ("Thị trấn Tân Túc",)
        + _named(
            "Xã",
            "Phạm Văn Hai, Vĩnh Lộc A, Vĩnh Lộc B, Bình Lợi, Lê Minh Xuân, Tân Nhựt, "
            "Tân Kiên, Bình Hưng, Phong Phú, An Phú Tây, Hưng Long, Đa Phước, Tân Quý Tây, "
            "Bình Chánh, Quy Đức",
        ),
        rural=True,
    ),
    _District(
        "NBE",
        "Huyện Nhà Bè",
        75,
        ("Thị trấn Nhà Bè",)
        + _named("Xã", "Phước Kiển, Phước Lộc, Nhơn Đức, Phú Xuân, Long Thới, Hiệp Phước"),
        rural=True,
    ),
    _District(
        "CGI",
        "Huyện Cần Giờ",
        48,
        ("Thị trấn Cần Thạnh",)
        + _named("Xã", "Bình Khánh, Tam Thôn Hiệp, An Thới Đông, Thạnh An, Long Hòa, Lý Nhơn"),
        rural=True,
    ),
)

# NA constituencies of whole districts, and how each district splits into city-council
# constituencies: (district codes, [council constituencies as (districts, parts, seats,
# candidates)]).
_HCMC_NA: tuple[tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], int, int, int], ...]], ...] = (
    (("Q01", "Q03", "Q04"), ((("Q01",), 1, 3, 5), (("Q03",), 1, 3, 5), (("Q04",), 1, 3, 5))),
    (("Q05", "Q06", "Q11"), ((("Q05",), 1, 3, 5), (("Q06",), 1, 3, 5), (("Q11",), 1, 3, 5))),
    (("Q10", "TBI"), ((("Q10",), 1, 3, 5), (("TBI",), 2, 3, 5))),
    (("TPH", "PNH"), ((("TPH",), 2, 3, 5), (("PNH",), 1, 3, 5))),
    (("BTH", "Q02"), ((("BTH",), 2, 3, 5), (("Q02",), 1, 2, 4))),
    (("GVA", "Q12"), ((("GVA",), 2, 3, 5), (("Q12",), 2, 3, 5))),
    (("TDU", "Q09"), ((("TDU",), 2, 3, 5), (("Q09",), 1, 3, 5))),
    (("BTA",), ((("BTA",), 2, 3, 5),)),
    (
        ("Q07", "Q08", "NBE", "CGI"),
        ((("Q07",), 1, 3, 5), (("Q08",), 2, 3, 5), (("NBE", "CGI"), 1, 2, 4)),
    ),
    (("CCH", "HMO", "BCH"), ((("CCH",), 1, 4, 7), (("HMO",), 1, 3, 6), (("BCH",), 2, 3, 5))),
)

# Polling areas with few voters, as the law allows (unit, name, NA voters).
_HCMC_SMALL: dict[tuple[str, str], tuple[str, int]] = {
    ("Q05", "Phường 12"): ("Khu vực bỏ phiếu Bệnh viện Chợ Rẫy", 186),
    ("Q10", "Phường 7"): ("Khu vực bỏ phiếu Trại tạm giam Chí Hòa", 243),
    ("GVA", "Phường 15"): ("Khu vực bỏ phiếu đơn vị lực lượng vũ trang", 212),
    ("CGI", "Xã Thạnh An"): ("Khu vực bỏ phiếu ấp Thiềng Liềng", 268),
}

_AVERAGE_AREA = 1120


def hcmc2011(seed: int = 2011) -> ElectionDefinition:
    """An election modelled on Ho Chi Minh City, 22 May 2011: the NA race (10
    constituencies, 30 seats), the city council (32 constituencies, 95 seats, 161
    candidates) and the councils of the rural communes and townships."""
    rng = random.Random(seed)
    b = _Builder(rng, _DATE_2011)
    b.committee("HDBCQG", "Hội đồng bầu cử quốc gia", "national", None)
    city = b.committee("UBBC-HCM", "Ủy ban bầu cử Thành phố Hồ Chí Minh", "province", "HDBCQG")

    districts = {d.code: d for d in _HCMC_DISTRICTS}
    # district -> unit -> polling area ids
    units: dict[str, list[tuple[str, list[str]]]] = {}
    for d in _HCMC_DISTRICTS:
        held = ("QH", "HDND-TP", "HDND-XA") if d.rural else ("QH", "HDND-TP")
        n_areas = round(d.voters * 1000 / _AVERAGE_AREA)
        weights = [rng.uniform(0.6, 1.4) for _ in d.units]
        counts = _apportion(n_areas, weights)
        units[d.code] = []
        for ui, (unit, count) in enumerate(zip(d.units, counts, strict=True), start=1):
            ids: list[str] = []
            admin = f"{unit}, {d.name if not d.rural else d.name[0].lower() + d.name[1:]}"
            for k in range(1, max(1, count) + 1):
                area_id = f"KV-{d.code}-{ui:02d}-{k:02d}"
                na = round(d.voters * 1000 / n_areas * rng.uniform(0.45, 1.55))
                na = min(3950, max(320, na))
                b.areas.append(
                    _Area(area_id, f"Khu vực bỏ phiếu số {k}", admin, _area_voters(rng, na, held))
                )
                ids.append(area_id)
            small = _HCMC_SMALL.get((d.code, unit))
            if small is not None:
                area_id = f"KV-{d.code}-{ui:02d}-{len(ids) + 1:02d}"
                b.areas.append(_Area(area_id, small[0], admin, _area_voters(rng, small[1], held)))
                ids.append(area_id)
            units[d.code].append((unit, ids))

    city_no = 0
    for na_no, (na_districts, councils) in enumerate(_HCMC_NA, start=1):
        names = ", ".join(districts[c].name for c in na_districts)
        area_ids = [a for c in na_districts for _, ids in units[c] for a in ids]
        b.constituency(
            "QH",
            f"QH-{na_no:02d}",
            f"Đơn vị bầu cử số {na_no} ({names})",
            city,
            3,
            5,
            area_ids,
        )
        for council_districts, parts, seats, n_candidates in councils:
            unit_list = [u for c in council_districts for u in units[c]]
            for run in _split([len(ids) for _, ids in unit_list], parts):
                city_no += 1
                where = (
                    ", ".join(districts[c].name for c in council_districts)
                    if parts == 1
                    else f"{districts[council_districts[0]].name}: "
                    + ", ".join(unit_list[i][0] for i in run)
                )
                b.constituency(
                    "HDND-TP",
                    f"TP-{city_no:02d}",
                    f"Đơn vị bầu cử số {city_no} ({where})",
                    city,
                    seats,
                    n_candidates,
                    [a for i in run for a in unit_list[i][1]],
                )

    for d in _HCMC_DISTRICTS:
        if not d.rural:
            continue
        for ui, (unit, ids) in enumerate(units[d.code], start=1):
            code = f"{d.code}{ui:02d}"
            committee = b.committee(
                f"UBBC-{code}", f"Ủy ban bầu cử {unit[0].lower()}{unit[1:]}", "commune", city
            )
            runs = _split([1] * len(ids), rng.randint(3, 5))
            for no, run in enumerate(runs, start=1):
                seats = rng.randint(3, 5)
                extra = 1 if rng.random() < 0.2 else 0
                b.constituency(
                    "HDND-XA",
                    f"XA-{code}-{no}",
                    f"Đơn vị bầu cử số {no} {unit[0].lower()}{unit[1:]}",
                    committee,
                    seats,
                    min_candidates("commune", seats) + extra,
                    [ids[i] for i in run],
                )

    races = [
        ("QH", "national_assembly", "Đại biểu Quốc hội khoá XIII"),
        (
            "HDND-TP",
            "province",
            "Đại biểu Hội đồng nhân dân Thành phố Hồ Chí Minh nhiệm kỳ 2011–2016",
        ),
        ("HDND-XA", "commune", "Đại biểu Hội đồng nhân dân xã, thị trấn nhiệm kỳ 2011–2016"),
    ]
    return _freeze(
        b,
        id="hcmc-2011",
        name="Bầu cử đại biểu Quốc hội khoá XIII và đại biểu Hội đồng nhân dân các cấp "
        "nhiệm kỳ 2011–2016 tại Thành phố Hồ Chí Minh (dữ liệu mẫu)",
        place="Thành phố Hồ Chí Minh",
        races=races,
        # the city council elected in 2011 was its khóa VIII; the NA's khóa XIII and the
        # term 2011-2016 the sheets read from the races' names
        sheets=SheetFacts(races=[RaceTerm(race_id="HDND-TP", term="VIII")]),
    )


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainders)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _freeze(
    b: _Builder,
    *,
    id: str,
    name: str,
    place: str,
    races: Sequence[tuple[str, str, str]],
    sheets: SheetFacts | None = None,
) -> ElectionDefinition:
    return ElectionDefinition(
        schema="kiemphieu/election/v1",
        id=id,
        name=name,
        date=b.date,
        place=place,
        committees=b.committees,
        races=[
            Race(id=rid, level=level, name=rname, constituencies=b.constituencies[rid])  # type: ignore[arg-type]
            for rid, level, rname in races
            if rid in b.constituencies
        ],
        polling_areas=[
            PollingArea(id=a.id, name=a.name, admin_unit=a.admin_unit, voters=a.voters)
            for a in b.areas
        ],
        sheets=sheets,
    )


# --- national scale ----------------------------------------------------------------------

# The 63 provinces of 2011 with their population in tens of thousands (rounded, for
# weighting only) and whether they piloted having no district and ward councils.
_PROVINCES: tuple[tuple[str, int, bool], ...] = (
    ("Thành phố Hà Nội", 670, False),
    ("Thành phố Hồ Chí Minh", 750, True),
    ("Thành phố Hải Phòng", 190, True),
    ("Thành phố Đà Nẵng", 95, True),
    ("Thành phố Cần Thơ", 120, False),
    ("Tỉnh Hà Giang", 75, False),
    ("Tỉnh Cao Bằng", 51, False),
    ("Tỉnh Bắc Kạn", 30, False),
    ("Tỉnh Tuyên Quang", 73, False),
    ("Tỉnh Lào Cai", 63, True),
    ("Tỉnh Điện Biên", 50, False),
    ("Tỉnh Lai Châu", 38, False),
    ("Tỉnh Sơn La", 110, False),
    ("Tỉnh Yên Bái", 75, False),
    ("Tỉnh Hòa Bình", 80, False),
    ("Tỉnh Thái Nguyên", 113, False),
    ("Tỉnh Lạng Sơn", 74, False),
    ("Tỉnh Quảng Ninh", 116, False),
    ("Tỉnh Bắc Giang", 157, False),
    ("Tỉnh Phú Thọ", 133, False),
    ("Tỉnh Vĩnh Phúc", 101, True),
    ("Tỉnh Bắc Ninh", 105, False),
    ("Tỉnh Hải Dương", 170, False),
    ("Tỉnh Hưng Yên", 113, False),
    ("Tỉnh Thái Bình", 178, False),
    ("Tỉnh Hà Nam", 79, False),
    ("Tỉnh Nam Định", 183, True),
    ("Tỉnh Ninh Bình", 90, False),
    ("Tỉnh Thanh Hóa", 340, False),
    ("Tỉnh Nghệ An", 293, False),
    ("Tỉnh Hà Tĩnh", 123, False),
    ("Tỉnh Quảng Bình", 85, False),
    ("Tỉnh Quảng Trị", 60, True),
    ("Tỉnh Thừa Thiên Huế", 109, False),
    ("Tỉnh Quảng Nam", 143, False),
    ("Tỉnh Quảng Ngãi", 122, False),
    ("Tỉnh Bình Định", 149, False),
    ("Tỉnh Phú Yên", 87, True),
    ("Tỉnh Khánh Hòa", 117, False),
    ("Tỉnh Ninh Thuận", 57, False),
    ("Tỉnh Bình Thuận", 117, False),
    ("Tỉnh Kon Tum", 44, False),
    ("Tỉnh Gia Lai", 130, False),
    ("Tỉnh Đắk Lắk", 175, False),
    ("Tỉnh Đắk Nông", 52, False),
    ("Tỉnh Lâm Đồng", 120, False),
    ("Tỉnh Bình Phước", 90, False),
    ("Tỉnh Tây Ninh", 108, False),
    ("Tỉnh Bình Dương", 160, False),
    ("Tỉnh Đồng Nai", 260, False),
    ("Tỉnh Bà Rịa – Vũng Tàu", 100, True),
    ("Tỉnh Long An", 144, False),
    ("Tỉnh Tiền Giang", 168, False),
    ("Tỉnh Bến Tre", 126, False),
    ("Tỉnh Trà Vinh", 100, False),
    ("Tỉnh Vĩnh Long", 103, False),
    ("Tỉnh Đồng Tháp", 167, False),
    ("Tỉnh An Giang", 215, False),
    ("Tỉnh Kiên Giang", 170, True),
    ("Tỉnh Hậu Giang", 76, False),
    ("Tỉnh Sóc Trăng", 130, False),
    ("Tỉnh Bạc Liêu", 87, False),
    ("Tỉnh Cà Mau", 121, False),
)

NATIONAL_POLLING_AREAS = 90_189
NATIONAL_NA_CONSTITUENCIES = 183
NATIONAL_NA_SEATS = 500

_PLACE_FIRST = (
    "Tân Phú Bình An Long Hòa Thạnh Vĩnh Đông Tây Hưng Phước Mỹ Thuận Quảng Yên Đức Kim "
    "Thanh Xuân Gia Hải Lộc Cẩm"
).split()
_PLACE_SECOND = (
    "Lợi Hòa Thạnh Phú An Bình Hưng Lộc Thành Tiến Sơn Lâm Điền Xuân Trung Đông Tây Hải "
    "Phong Khánh Thủy Lạc Định Nghĩa Minh"
).split()


def _place(rng: random.Random) -> str:
    return f"{rng.choice(_PLACE_FIRST)} {rng.choice(_PLACE_SECOND)}"


def national(seed: int = 2026) -> ElectionDefinition:
    """An election at the scale of the whole country in 2011: 90,189 polling areas,
    183 NA constituencies electing 500 deputies (seats + 2 candidates each), a council
    for each of the 63 provinces, district councils outside the ten provinces that
    piloted without them, and commune councils: up to four races per polling area.

    Names of provinces are real; districts, communes, people and figures are invented.
    """
    rng = random.Random(seed)
    b = _Builder(rng, _DATE_2011)
    b.committee("HDBCQG", "Hội đồng bầu cử quốc gia", "national", None)
    weights = [pop for _, pop, _ in _PROVINCES]
    extra = NATIONAL_NA_CONSTITUENCIES - 2 * len(_PROVINCES)
    na_counts = [2 + n for n in _apportion(extra, weights)]
    area_counts = _apportion(NATIONAL_POLLING_AREAS, weights)
    two_seats = set(
        rng.sample(
            range(NATIONAL_NA_CONSTITUENCIES), 3 * NATIONAL_NA_CONSTITUENCIES - NATIONAL_NA_SEATS
        )
    )
    na_no = 0
    for p_no, ((p_name, _, pilot), n_na, n_areas) in enumerate(
        zip(_PROVINCES, na_counts, area_counts, strict=True), start=1
    ):
        pc = f"{p_no:02d}"
        city = p_name.startswith("Thành phố")
        province = b.committee(
            f"UBBC-{pc}", f"Ủy ban bầu cử {p_name[0].lower()}{p_name[1:]}", "province", "HDBCQG"
        )
        n_districts = max(n_na + 1, round(n_areas / 140))
        district_areas = _apportion(n_areas, [rng.uniform(0.5, 1.5) for _ in range(n_districts)])
        # district -> communes -> polling area ids
        tree: list[list[list[str]]] = []
        for d_no, d_areas in enumerate(district_areas, start=1):
            urban = d_no == 1 or (city and d_no <= n_districts // 2)
            if urban:
                d_name = f"Quận {d_no}" if city else f"Thành phố {_place(rng)}"
            else:
                d_name = f"Huyện {_place(rng)}"
            held_district = not pilot
            district = (
                b.committee(
                    f"UBBC-{pc}-{d_no:02d}",
                    f"Ủy ban bầu cử {d_name[0].lower()}{d_name[1:]}",
                    "district",
                    province,
                )
                if held_district
                else province
            )
            n_communes = max(1, round(d_areas / 8))
            commune_areas = _apportion(d_areas, [rng.uniform(0.6, 1.4) for _ in range(n_communes)])
            communes: list[list[str]] = []
            for c_no, c_areas in enumerate(commune_areas, start=1):
                if urban:
                    c_name = f"Phường {c_no}"
                elif c_no == 1:
                    c_name = f"Thị trấn {_place(rng)}"
                else:
                    c_name = f"Xã {_place(rng)}"
                held_commune = not (pilot and urban)
                held = ["QH", "HDND-TINH"]
                if held_district:
                    held.append("HDND-HUYEN")
                if held_commune:
                    held.append("HDND-XA")
                code = f"{pc}-{d_no:02d}-{c_no:02d}"
                admin = f"{c_name}, {d_name}, {p_name}"
                ids = []
                for k in range(1, max(1, c_areas) + 1):
                    area_id = f"KV-{code}-{k:02d}"
                    na = round(rng.triangular(320, 1300, 450))
                    b.areas.append(
                        _Area(
                            area_id, f"Khu vực bỏ phiếu số {k}", admin, _area_voters(rng, na, held)
                        )
                    )
                    ids.append(area_id)
                communes.append(ids)
                if held_commune:
                    committee = b.committee(
                        f"UBBC-{code}",
                        f"Ủy ban bầu cử {c_name[0].lower()}{c_name[1:]}, {d_name}",
                        "commune",
                        district,
                    )
                    for no, run in enumerate(_split([1] * len(ids), rng.randint(2, 4)), start=1):
                        seats = rng.randint(2, 5)
                        b.constituency(
                            "HDND-XA",
                            f"XA-{code}-{no}",
                            f"Đơn vị bầu cử số {no} {c_name[0].lower()}{c_name[1:]}",
                            committee,
                            seats,
                            min_candidates("commune", seats) + int(rng.random() < 0.2),
                            [ids[i] for i in run],
                        )
            if held_district:
                sizes = [len(c) for c in communes]
                for no, run in enumerate(_split(sizes, rng.randint(4, 8)), start=1):
                    seats = rng.randint(2, 4)
                    b.constituency(
                        "HDND-HUYEN",
                        f"HUYEN-{pc}-{d_no:02d}-{no}",
                        f"Đơn vị bầu cử số {no} {d_name[0].lower()}{d_name[1:]}",
                        district,
                        seats,
                        min_candidates("district", seats) + int(rng.random() < 0.2),
                        [a for i in run for a in communes[i]],
                    )
            tree.append(communes)

        council_no = 0
        for d_communes in tree:
            sizes = [len(c) for c in d_communes]
            for run in _split(sizes, 1 if sum(sizes) < 150 else 2):
                council_no += 1
                seats = rng.choice((2, 3, 3, 3, 4, 5))
                b.constituency(
                    "HDND-TINH",
                    f"TINH-{pc}-{council_no}",
                    f"Đơn vị bầu cử số {council_no}",
                    province,
                    seats,
                    min_candidates("province", seats) + int(rng.random() < 0.2),
                    [a for i in run for a in d_communes[i]],
                )
        for no, run in enumerate(_split([sum(map(len, d)) for d in tree], n_na), start=1):
            seats = 2 if na_no in two_seats else 3
            na_no += 1
            b.constituency(
                "QH",
                f"QH-{pc}-{no}",
                f"Đơn vị bầu cử số {no}, {p_name}",
                province,
                seats,
                seats + 2,
                [a for i in run for c in tree[i] for a in c],
            )

    races = [
        ("QH", "national_assembly", "Đại biểu Quốc hội khoá XIII"),
        ("HDND-TINH", "province", "Đại biểu Hội đồng nhân dân tỉnh, thành phố nhiệm kỳ 2011–2016"),
        (
            "HDND-HUYEN",
            "district",
            "Đại biểu Hội đồng nhân dân huyện, quận, thị xã, thành phố thuộc tỉnh "
            "nhiệm kỳ 2011–2016",
        ),
        (
            "HDND-XA",
            "commune",
            "Đại biểu Hội đồng nhân dân xã, phường, thị trấn nhiệm kỳ 2011–2016",
        ),
    ]
    return _freeze(
        b,
        id="vn-2011",
        name="Bầu cử đại biểu Quốc hội khoá XIII và đại biểu Hội đồng nhân dân các cấp "
        "nhiệm kỳ 2011–2016 trên cả nước (dữ liệu mẫu, quy mô toàn quốc)",
        place="Việt Nam",
        races=races,
    )


# --- the bundled sample -----------------------------------------------------------------

BUNDLED_SEED = 2011
BUNDLED_FILE = "hcmc2011.json.gz"
"""``hcmc2011(BUNDLED_SEED)`` as shipped in tally_server/data, so the sample everyone
uses stays the same even when the generator changes (a test keeps the two equal)."""


def bundled_election() -> ElectionDefinition:
    """The sample election shipped with the package: Ho Chi Minh City 2011."""
    data = resources.files("tally_server").joinpath("data", BUNDLED_FILE).read_bytes()
    return codec.decode(gzip.decompress(data), ElectionDefinition)


def write_bundled(path: Path) -> None:
    """Regenerate the bundled file (gzip is written without a timestamp: reproducible)."""
    path.write_bytes(gzip.compress(codec.encode(hcmc2011(BUNDLED_SEED)), 9, mtime=0))


# --- counting minutes --------------------------------------------------------------------

# Planned outcome of a constituency, by how many candidates pass half of the valid ballots.
ELECTED = "elected"
"""Exactly ``seats`` candidates pass 50%."""
SHORTFALL = "shortfall"
"""One fewer than ``seats`` pass: NA -> supplementary election proposed; a council with
3 or more seats -> the seat stays empty (3·winners ≥ 2·seats)."""
SUPPLEMENTARY = "supplementary"
"""A council where under two thirds of the seats fill: supplementary election proposed."""
SURPLUS = "surplus"
"""More candidates than seats pass 50%; the extra ones are not elected."""

_PASS = (0.56, 0.92)  # planned shares of valid ballots for a candidate who passes half
_FAIL = (0.06, 0.42)  # ... and for one who does not; the gaps absorb per-area noise

# Warnings the sample trips on purpose, with the rule codes of docs/rules.md.
_W_ISSUED, _W_RECEIVED, _W_AREA_SIZE, _W_LOW_TURNOUT = "W200", "W201", "W202", "W206"


def _shares(rng: random.Random, seats: int, n: int, n_pass: int) -> tuple[float, ...]:
    """Planned shares of valid ballots, one per candidate: ``n_pass`` of them above half.
    They sum to the mean number of names a valid ballot keeps: a little under ``seats``
    when enough candidates are liked, fewer when most are not."""
    n_fail = n - n_pass
    most = n_pass * _PASS[1] + n_fail * _FAIL[1]
    least = n_pass * _PASS[0] + n_fail * _FAIL[0]
    low, high = max(1.0, seats - 0.4), seats - 0.08
    if seats == 1:
        low = high = 1.0
    elif not least < low <= high < most:
        low, high = max(1.0, least + 0.3 * (most - least)), min(high, least + 0.7 * (most - least))
        if low > high:
            # a surplus in a two-seat constituency: the mean must stay under the seats
            low, high = least + 0.3 * (high - least), least + 0.7 * (high - least)
    for _ in range(100_000):
        mean = rng.uniform(low, high)
        passing = [rng.uniform(*_PASS) for _ in range(n_pass)]
        rest = mean - sum(passing)
        if n_fail == 0:
            passing = [p * mean / sum(passing) for p in passing]
            failing: list[float] = []
        else:
            weights = [rng.uniform(0.5, 1.5) for _ in range(n_fail)]
            failing = [rest * w / sum(weights) for w in weights]
        if all(_PASS[0] <= p <= _PASS[1] for p in passing) and all(
            _FAIL[0] <= f <= _FAIL[1] for f in failing
        ):
            shares = passing + failing
            rng.shuffle(shares)
            return tuple(shares)
    raise ValueError(f"cannot plan {n_pass} of {n} candidates over half for {seats} seats")


def sample_plan(election: Election, seed: int) -> dict[tuple[str, str], str]:
    """The outcome ``sample_minutes`` plans for every constituency: (race id,
    constituency id) -> ELECTED, SHORTFALL, SUPPLEMENTARY or SURPLUS.

    Every race gets one SHORTFALL (in a council, a constituency of 3 or more seats, so
    the seat stays empty) and one SURPLUS constituency; the lowest council race also
    gets one SUPPLEMENTARY; all others elect every seat."""
    return {key: kind for key, (kind, _) in _plan(election, seed).items()}


def _plan(election: Election, seed: int) -> dict[tuple[str, str], tuple[str, tuple[float, ...]]]:
    rng = random.Random(f"plan:{seed}")
    plan: dict[tuple[str, str], tuple[str, tuple[float, ...]]] = {}
    races = election.definition.races
    councils = [r for r in races if r.level != "national_assembly"]
    lowest = councils[-1].id if councils else None
    for race in races:
        cons = race.constituencies
        council = race.level != "national_assembly"
        special: dict[int, str] = {}
        short = [i for i, c in enumerate(cons) if c.seats >= (3 if council else 2)]
        if short and len(cons) >= 2:
            special[rng.choice(short)] = SHORTFALL
            rest = [i for i in range(len(cons)) if i not in special]
            special[rng.choice(rest)] = SURPLUS
            supp = [i for i in short if i not in special]
            if council and race.id == lowest and supp:
                special[rng.choice(supp)] = SUPPLEMENTARY
        for i, con in enumerate(cons):
            kind = special.get(i, ELECTED)
            n_pass = {
                ELECTED: con.seats,
                SHORTFALL: con.seats - 1,
                SURPLUS: con.seats + 1,
                # the largest number of winners that still falls under two thirds
                SUPPLEMENTARY: (2 * con.seats - 1) // 3,
            }[kind]
            plan[(race.id, con.id)] = (kind, _shares(rng, con.seats, len(con.candidates), n_pass))
    return plan


def _fill(rng: random.Random, shares: Sequence[float], k: int) -> list[float]:
    """How often each candidate is kept on ballots keeping ``k`` names: close to the
    planned shares, each at most 1 (a ballot names a person once), summing to k."""
    noisy = [s * rng.uniform(0.96, 1.04) for s in shares]
    out = [0.0] * len(noisy)
    free = list(range(len(noisy)))
    need = float(k)
    while free:
        scale = need / sum(noisy[i] for i in free)
        capped = [i for i in free if noisy[i] * scale >= 1.0]
        if not capped:
            for i in free:
                out[i] = noisy[i] * scale
            break
        for i in capped:
            out[i] = 1.0
        need -= len(capped)
        free = [i for i in free if i not in capped]
    return out


def _deal(ballots: int, k: int, fill: Sequence[float]) -> list[int]:
    """Split the k·ballots names on a pile of ``ballots`` ballots among the candidates:
    nobody more than once per ballot, rounded so the total is exact."""
    exact = [f * ballots for f in fill]
    votes = [min(ballots, int(x)) for x in exact]
    short = k * ballots - sum(votes)
    by_remainder = sorted(range(len(fill)), key=lambda i: (votes[i] - exact[i], i))
    for i in by_remainder[:short]:
        votes[i] += 1
    return votes


def _piles(rng: random.Random, valid: int, seats: int, mean: float) -> list[int]:
    """Valid ballots by names kept (element k-1 keeps k names) with about ``mean``
    names per ballot: mostly the two whole numbers around it, a few keep fewer."""
    if seats == 1:
        return [valid]
    j = min(seats - 1, max(1, int(mean)))  # most ballots keep j or j + 1 names
    low = [rng.uniform(0.0, 0.015) for _ in range(j - 1)]
    # the few that keep fewer names pull the mean down; keep room for that in the top pile
    gap = j + 1 - mean
    weight = sum((j + 1 - k) * f for k, f in enumerate(low, start=1))
    if weight > gap / 2:
        low = [f * gap / (2 * weight) for f in low]
    rest = 1.0 - sum(low)
    top = mean - sum(k * f for k, f in enumerate(low, start=1)) - j * rest
    fractions = [*low, rest - top, top] + [0.0] * (seats - j - 1)
    piles = [round(f * valid) for f in fractions]
    piles[j] = valid - sum(piles) + piles[j]
    return piles


def _team(rng: random.Random) -> list[Signatory]:
    roles = ("head", "secretary", "witness", "witness")
    return [Signatory(role=role, full_name=full_name(rng)) for role in roles]  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Odd:
    """A sheet that trips a warning on purpose."""

    kind: str
    amount: int


def _odd_sheets(election: Election, seed: int, count: int) -> dict[tuple[str, str], _Odd]:
    """Pick ``count`` (polling area, race) sheets to make unusual, deterministically."""
    rng = random.Random(f"odd:{seed}")
    areas = [
        a for a in election.definition.polling_areas if 300 <= max(a.voters.values(), default=0)
    ]
    picked: dict[tuple[str, str], _Odd] = {}
    kinds = (_W_ISSUED, _W_RECEIVED, _W_LOW_TURNOUT)
    for _ in range(count * 20):
        if len(picked) >= count or not areas:
            break
        area = rng.choice(areas)
        seats = election.races_at(area.id)
        if not seats:
            continue
        seat = rng.choice(seats)
        key = (area.id, seat.race.id)
        kind = kinds[len(picked) % len(kinds)]
        # a low turnout at one area must not send the whole constituency to a re-vote
        if kind == _W_LOW_TURNOUT and len(seat.constituency.polling_area_ids) < 8:
            kind = _W_ISSUED
        if key not in picked:
            picked[key] = _Odd(kind, rng.randint(1, 3))
    return picked


_EXPLAIN = {
    _W_ISSUED: "Có {n} cử tri gạch hỏng phiếu, tổ bầu cử đã đổi phiếu khác và huỷ phiếu hỏng "
    "/ {n} voters spoiled a ballot and were given a new one; the spoiled ballots were cancelled.",
    _W_RECEIVED: "Có {n} cử tri nhận phiếu nhưng không bỏ vào hòm phiếu "
    "/ {n} voters took a ballot but did not put it in the box.",
    _W_LOW_TURNOUT: "Nhiều công nhân tạm trú đã về quê, không nhận giấy chứng nhận đi bầu "
    "/ many temporary-resident workers had gone home without a certificate to vote here.",
    _W_AREA_SIZE: "Khu vực bỏ phiếu riêng theo Điều 11 Luật Bầu cử, ít cử tri "
    "/ a separate polling area as the law allows, with few voters.",
}


def sample_minutes(
    election: Election, seed: int, *, warnings: int = 12
) -> Iterator[CountingMinutes]:
    """Plausible counting minutes for every polling area and every race held there,
    in definition order (polling area, then race), that break no error rule.

    Turnout is about 99%, a few percent of ballots are invalid, and candidate votes
    come from by-names piles so Σ k·pile_k = Σ votes and nobody exceeds the valid
    ballots. About ``warnings`` sheets trip a warning on purpose (ballots issued or
    received differ from voters who voted, turnout at or under half), as do the few
    polling areas with under 300 voters; each such sheet carries an explanation.
    The outcomes follow ``sample_plan``. Deterministic for a seed; streams, so it
    serves the national-scale election too."""
    plan = _plan(election, seed)
    odd = _odd_sheets(election, seed, warnings)
    for area in election.definition.polling_areas:
        rng = random.Random(f"area:{seed}:{area.id}")
        team = _team(rng)
        base_turnout = rng.uniform(0.982, 0.997)
        for seat in election.races_at(area.id):
            race, con = seat.race, seat.constituency
            on_list = area.voters.get(race.id, 0)
            sheet = odd.get((area.id, race.id))
            explain: dict[str, str] = {}
            if not 300 <= on_list <= 4000:
                explain[_W_AREA_SIZE] = _EXPLAIN[_W_AREA_SIZE]

            turnout = base_turnout + rng.uniform(-0.002, 0.002)
            voted = min(round(on_list * turnout), (999 * on_list - 1) // 1000)
            if sheet is not None and sheet.kind == _W_LOW_TURNOUT:
                voted = min(voted, round(on_list * rng.uniform(0.40, 0.49)))
            voted = max(voted, 0)
            issued = received = voted
            if sheet is not None:
                if sheet.kind == _W_ISSUED:
                    issued = voted + sheet.amount
                elif sheet.kind == _W_RECEIVED:
                    received = max(0, voted - sheet.amount)
                explain[sheet.kind] = _EXPLAIN[sheet.kind].format(n=sheet.amount)
            invalid = round(received * rng.uniform(0.004, 0.035))
            valid = received - invalid

            shares = plan[(race.id, con.id)][1]
            piles = _piles(rng, valid, con.seats, sum(shares))
            votes = [0] * len(con.candidates)
            for k, pile in enumerate(piles, start=1):
                if pile:
                    dealt = _deal(pile, k, _fill(rng, shares, k))
                    votes = [v + d for v, d in zip(votes, dealt, strict=True)]
            complaints = Complaints()
            if rng.random() < 0.02:
                complaints = Complaints(received=1, resolved=1)
            yield CountingMinutes(
                race_id=race.id,
                constituency_id=con.id,
                polling_area_id=area.id,
                voters_on_list=on_list,
                voters_voted=voted,
                ballots_issued=issued,
                ballots_received=received,
                valid_ballots=valid,
                invalid_ballots=invalid,
                candidate_votes={c.id: v for c, v in zip(con.candidates, votes, strict=True)},
                ballots_by_names_kept=piles,
                complaints=complaints,
                signatories=team,
                explanations=explain,
            )
