"""The constituency list of 1,500 rows against a real server, read a page at a
time: the screen holds one page, the cursor runs on to the next, a batch
changes one row and only that row's cells are written; filtering and search
are the server's. The figures are printed (pytest -s), not asserted against
tight limits."""

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
from tui.model import PAGE, fold
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
            await until(pilot, lambda: app.store.connection == "connected", "the feed")
            start = time.perf_counter()
            await pilot.press("c")
            screen = app.screen
            assert isinstance(screen, ConstituenciesScreen)
            await until(pilot, lambda: screen.table.row_count == PAGE, "the first page")
            figures["open table (ms)"] = (time.perf_counter() - start) * 1000
            figures["rebuild a page (ms)"] = screen.last_rebuild_ms or 0
            assert app.store.rows_page.total == N
            assert f"Dòng 1–{PAGE} / 1.500" in screen_text(app)

            start = time.perf_counter()
            for _ in range(PAGE - 1):
                await pilot.press("down")
            figures["cursor move, per key (ms)"] = (time.perf_counter() - start) * 1000 / (PAGE - 1)
            await pilot.press("down")  # past the page's last row: the next page
            page_two = f"Dòng {PAGE + 1}–{2 * PAGE} / 1.500"
            await until(pilot, lambda: page_two in screen_text(app), "page two")
            assert screen.table.cursor_row == 0
            assert screen.table.selected_key() == f"QH/DV{PAGE + 1:04d}"
            await pilot.press("up")  # and back, onto the first page's last row
            await until(pilot, lambda: f"Dòng 1–{PAGE} / 1.500" in screen_text(app), "page one")
            await until(pilot, lambda: screen.table.selected_key() == f"QH/DV{PAGE:04d}", "its end")

            await pilot.press("slash", *"dv0750", "enter")
            await until(pilot, lambda: screen.table.row_count == 1, "the search")
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
            # areas, status and winners of one row: not the whole table
            assert screen.last_cells_written <= 5
            winner = f"{FAMILY[751 % 8]} {GIVEN[(750 * 3 + 1) % 6]}"  # DV0750-1, 500 of 790
            assert str(screen.table.get_cell("QH/DV0750", "winners")) == winner

            await pilot.press("slash", *["backspace"] * 6, "enter")
            await until(pilot, lambda: app.store.rows_page.total == N, "all rows again")
            start = time.perf_counter()
            await pilot.press("s")  # status filter: no results
            await until(pilot, lambda: app.store.rows_page.total == N - 1, "filter")
            figures["filter by status (ms)"] = (time.perf_counter() - start) * 1000
            await pilot.press("s", "s")  # partial, then elected
            await until(pilot, lambda: app.store.rows_page.total == 1, "the elected one")
            assert "DV0750" in screen_text(app)

            await pilot.press("s", "s", "s", "s", "s")  # back to all
            await until(pilot, lambda: app.store.rows_page.total == N, "all rows again")
            start = time.perf_counter()
            await pilot.press("slash", *"nguyen van an", "enter")
            await until(
                pilot,
                lambda: 0 < app.store.rows_page.total < N and app.store.query.text,
                "a search",
            )
            figures["search (ms, incl. 150 ms debounce)"] = (time.perf_counter() - start) * 1000
            # every word, without diacritics, in the name or a candidate's name
            election = big_election()
            names = {
                c.id: fold(" ".join([c.name, *(x.full_name for x in c.candidates)]))
                for c in election.races[0].constituencies
            }
            for key in list(screen.table.shown):
                assert {"nguyen", "van", "an"} <= set(names[key.split("/")[1]].split())
    finally:
        server.stop()
    print(f"\nconstituency list, 1,500 rows, a page of {PAGE} at a time:")
    for name, value in figures.items():
        print(f"  {name}: {value:.1f}")
