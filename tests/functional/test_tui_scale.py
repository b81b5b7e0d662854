"""The constituency table at national size (1,500 rows) against a real server:
a batch changes one row and only that row's cells are written; moving,
sorting and filtering stay quick. The figures are printed (pytest -s), not
asserted against tight limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from serverkit import RunningServer, ServerFolder
from tuikit import screen_text, until

from schemas import codec
from schemas.models import (
    ELECTION_SCHEMA,
    Candidate,
    Committee,
    Constituency,
    CountingMinutes,
    ElectionDefinition,
    PollingArea,
    Race,
)
from tui.app import DashboardApp
from tui.screens.constituencies import ConstituenciesScreen

N = 1500
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"]
GIVEN = ["Văn An", "Thị Bình", "Đức Cường", "Thị Dung", "Quốc Đạt", "Ngọc Hà"]


def big_election() -> ElectionDefinition:
    constituencies = []
    for i in range(1, N + 1):
        cands = [
            Candidate(
                id=f"DV{i:04d}-{k}",
                full_name=f"{FAMILY[(i + k) % 8]} {GIVEN[(i * 3 + k) % 6]}",
                birth_date=dt.date(1960 + k, 1 + i % 12, 1 + i % 28),
            )
            for k in range(1, 4)
        ]
        constituencies.append(
            Constituency(
                id=f"DV{i:04d}",
                name=f"Đơn vị bầu cử số {i}",
                committee_id="UBBC",
                seats=1,
                candidates=cands,
                polling_area_ids=[f"KV{i:04d}"],
            )
        )
    return ElectionDefinition(
        schema=ELECTION_SCHEMA,
        id="quy-mo",
        name="Bầu cử thử quy mô toàn quốc",
        date=dt.date(2026, 3, 15),
        place="Hà Nội",
        committees=[
            Committee(id="HDBCQG", name="Hội đồng bầu cử quốc gia", level="national"),
            Committee(id="UBBC", name="Ủy ban bầu cử thử", level="province", parent_id="HDBCQG"),
        ],
        races=[
            Race(
                id="QH",
                level="national_assembly",
                name="Đại biểu Quốc hội",
                constituencies=constituencies,
            )
        ],
        polling_areas=[
            PollingArea(
                id=f"KV{i:04d}",
                name=f"Khu vực bỏ phiếu số {i}",
                admin_unit="Phường thử",
                voters={"QH": 1000},
            )
            for i in range(1, N + 1)
        ],
    )


def minutes(i: int) -> CountingMinutes:
    return CountingMinutes(
        race_id="QH",
        constituency_id=f"DV{i:04d}",
        polling_area_id=f"KV{i:04d}",
        voters_on_list=1000,
        voters_voted=800,
        ballots_issued=800,
        ballots_received=800,
        valid_ballots=790,
        invalid_ballots=10,
        candidate_votes={f"DV{i:04d}-1": 500, f"DV{i:04d}-2": 200, f"DV{i:04d}-3": 90},
    )


async def test_constituency_table_at_1500_rows_updates_only_the_changed_row(
    tmp_path: Path,
) -> None:
    from tally_server.service.folder import init_folder

    election_path = tmp_path / "election.json"
    election_path.write_bytes(codec.encode(big_election()))
    folder = ServerFolder(tmp_path / "server", election_path, tmp_path / "keys")
    init_folder(folder.path, election_path)
    station = folder.enroll("KV0750", "KV0750")
    station.election_id = "quy-mo"
    server = RunningServer(folder, log_path=tmp_path / "server.log")
    server.tokens = {"viewer": folder.token("viewer")}
    server.start()
    figures: dict[str, float] = {}
    try:
        app = DashboardApp(server.url, server.tokens["viewer"])
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: len(app.store.rows) == N, "1,500 rows", timeout=30)
            start = time.perf_counter()
            await pilot.press("c")
            screen = app.screen
            assert isinstance(screen, ConstituenciesScreen)
            await until(pilot, lambda: screen.table.row_count == N, "the table", timeout=30)
            figures["open table (ms)"] = (time.perf_counter() - start) * 1000
            figures["rebuild 1,500 rows (ms)"] = screen.last_rebuild_ms or 0

            start = time.perf_counter()
            for _ in range(100):
                await pilot.press("down")
            figures["cursor move, per key (ms)"] = (time.perf_counter() - start) * 10

            status, _ = await asyncio.to_thread(
                server.request, "POST", "/api/v1/batches", station.envelope(1, [minutes(750)])
            )
            assert status == 200
            await until(
                pilot, lambda: app.store.rows["QH/DV0750"].status == "elected", "the new result"
            )
            await until(pilot, lambda: screen.last_cells_written > 0, "the row's update")
            figures["update after a batch (ms)"] = screen.last_update_ms or 0
            figures["cells written"] = screen.last_cells_written
            # seats, areas, turnout, status and winners of one row: not the whole table
            assert screen.last_cells_written <= 5
            assert screen.table.row_count == N

            start = time.perf_counter()
            await pilot.press("s")  # status filter: no results
            await until(pilot, lambda: screen.table.row_count == N - 1, "filter")
            figures["filter by status (ms)"] = (time.perf_counter() - start) * 1000
            await pilot.press("s", "s")  # partial, then elected
            await until(pilot, lambda: screen.table.row_count == 1, "the elected one")
            assert "DV0750" in screen_text(app)

            await pilot.press("s", "s", "s", "s", "s")  # back to all
            await until(pilot, lambda: screen.table.row_count == N, "all rows again")
            start = time.perf_counter()
            await pilot.press("slash", *"nguyen van an", "enter")
            await until(
                pilot,
                lambda: 0 < screen.table.row_count < N and screen.table.row_filter.text != "",
                "a search",
            )
            figures["search (ms, incl. 150 ms debounce)"] = (time.perf_counter() - start) * 1000
            # every word, without diacritics, in the name, a candidate's name or a winner's
            for key in list(screen.table.shown):
                words = app.store.rows[key].search_key.split()
                assert {"nguyen", "van", "an"} <= set(words)
    finally:
        server.stop()
    print("\nconstituency table, 1,500 rows:")
    for name, value in figures.items():
        print(f"  {name}: {value:.1f}")
