"""The election the demo runs: the bundled Ho Chi Minh City 2011 sample, or a
slice of it small enough for a test, built from the same definition."""

from __future__ import annotations

import msgspec

from schemas.models import ElectionDefinition
from tally_server.core.sample import bundled_election
from tally_server.core.validate import check_definition
from tally_server.demo.errors import DemoError

SCRIPTED = 3
"""Polling areas the demo's own stations take (rejected then fixed, conflict,
revoked then re-enrolled); the simulator takes the rest."""

MIN_AREAS = SCRIPTED + 2


def demo_election(areas: int | None = None) -> ElectionDefinition:
    """The bundled sample, or its first ⌈n/2⌉ and last ⌊n/2⌋ polling areas.

    Both ends, so an urban district (two races) and a rural one (three, with
    the commune councils) are in the slice. Constituencies keep only their
    polling areas in the slice; those left with none, and races left with no
    constituency, are dropped; committees are kept if they run a constituency
    that stays (or are the parent of one that does)."""
    full = bundled_election()
    total = len(full.polling_areas)
    if areas is None or areas >= total:
        return full
    if areas < MIN_AREAS:
        raise DemoError(
            en=f"--stations must be at least {MIN_AREAS} (the demo's own {SCRIPTED} stations "
            f"and some for the simulator), or at most {total}; got {areas}.",
            vi=f"--stations phải từ {MIN_AREAS} (gồm {SCRIPTED} trạm của bản trình diễn và "
            f"vài trạm mô phỏng) đến {total}; đã nhập {areas}.",
            code="X101",
            fields=("stations",),
            figures={"stations": areas, "minimum": MIN_AREAS, "maximum": total},
        )
    head = (areas + 1) // 2
    kept = full.polling_areas[:head] + full.polling_areas[total - (areas - head) :]
    kept_ids = {a.id for a in kept}

    races = []
    for race in full.races:
        constituencies = []
        for con in race.constituencies:
            ids = [a for a in con.polling_area_ids if a in kept_ids]
            if ids:
                constituencies.append(msgspec.structs.replace(con, polling_area_ids=ids))
        if constituencies:
            races.append(msgspec.structs.replace(race, constituencies=constituencies))
    race_ids = {r.id for r in races}
    kept = [
        msgspec.structs.replace(a, voters={r: n for r, n in a.voters.items() if r in race_ids})
        for a in kept
    ]

    parent = {c.id: c.parent_id for c in full.committees}
    running: set[str] = set()
    for race in races:
        for con in race.constituencies:
            committee: str | None = con.committee_id
            while committee is not None and committee not in running:
                running.add(committee)
                committee = parent.get(committee)
    committees = [c for c in full.committees if c.id in running]
    sheets = full.sheets
    if sheets is not None:  # the sheets' facts name only what the slice keeps (D119)
        boards = {f"{r.id}/{c.id}" for r in races for c in r.constituencies}
        sheets = msgspec.structs.replace(
            sheets,
            races=[t for t in sheets.races if t.race_id in race_ids],
            councils=[t for t in sheets.councils if t.committee_id in running],
            bodies=[b for b in sheets.bodies if b.body in running | boards],
        )

    sliced = msgspec.structs.replace(
        full,
        id=f"{full.id}-n{areas}",
        name=full.name.replace("(dữ liệu mẫu)", f"(dữ liệu mẫu, {areas} khu vực bỏ phiếu)"),
        committees=committees,
        races=races,
        polling_areas=kept,
        sheets=sheets,
    )
    check_definition(sliced)  # the slice must pass the law's structure like the whole
    return sliced
