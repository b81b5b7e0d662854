"""A constituency with a later round on the dashboard, against a real server on
127.0.0.1: the main round leaves a seat open, a lawful supplementary round fills
it, and the committee sees who was elected in which round, each round's own
figures, and where the constituency stands — live, and readable at 80×24."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import RunningServer, ServerFolder, Station
from tuikit import screen_text, until

from schemas import codec
from schemas.models import CountingMinutes
from tui.app import DashboardApp
from tui.screens.constituencies import ConstituenciesScreen
from tui.screens.constituency import ConstituencyScreen

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from lawkit import make_election, sheet  # noqa: E402

AREAS = ("A1", "A2")
MAIN = [800, 700, 400, 300, 200]
"""Of 900 valid ballots at each area: C-1 and C-2 are elected, C-3 (400) is not."""
SUPPLEMENTARY = {
    "A1": {"C-3": 500, "C-4": 250, "C-5": 150},
    "A2": {"C-3": 450, "C-4": 300, "C-5": 150},
}


def main_minutes(area: str) -> CountingMinutes:
    return sheet(MAIN, valid=900, area=area, piles=[0, 300, 600])


def supplementary_minutes(area: str) -> CountingMinutes:
    votes = SUPPLEMENTARY[area]
    return sheet(votes, valid=900, area=area, round="supplementary", piles=[sum(votes.values())])


@pytest.fixture
def three_seats(tmp_path: Path) -> tuple[ServerFolder, dict[str, Station]]:
    """A National Assembly constituency of 3 seats, candidates C-1..C-5, areas A1, A2."""
    from tally_server.service.folder import init_folder

    election = tmp_path / "election.json"
    election.write_bytes(codec.encode(make_election(seats=3, areas=2).definition))
    folder = ServerFolder(tmp_path / "server", election, tmp_path / "keys")
    init_folder(folder.path, election)
    stations = {a: folder.enroll(a, a) for a in AREAS}
    for s in stations.values():
        s.election_id = "law"
    return folder, stations


@pytest.fixture
def server(
    three_seats: tuple[ServerFolder, dict[str, Station]], tmp_path: Path
) -> Iterator[RunningServer]:
    folder, _ = three_seats
    running = RunningServer(folder, log_path=tmp_path / "server.log")
    running.tokens = {"viewer": folder.token("viewer")}
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def post(server: RunningServer, station: Station, seq: int, m: CountingMinutes) -> int:
    envelope = station.envelope(seq, [m])
    status, _ = await asyncio.to_thread(server.request, "POST", "/api/v1/batches", envelope)
    return status


async def test_the_deputy_of_the_supplementary_round_is_shown_as_such_at_80_by_24(
    server: RunningServer, three_seats: tuple[ServerFolder, dict[str, Station]]
) -> None:
    _, stations = three_seats
    for area in AREAS:
        assert await post(server, stations[area], 1, main_minutes(area)) == 200
    app = DashboardApp(server.url, server.tokens["viewer"])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        await pilot.press("c")
        assert isinstance(app.screen, ConstituenciesScreen)
        await until(
            pilot,
            lambda: getattr(app.store.rows.get("R/C"), "status", "") == "supplementary_proposed",
            "the main round's row",
        )
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ConstituencyScreen)
        await until(pilot, lambda: "Ứng cử viên 1" in screen_text(app), "the main round")
        # One round so far: no final result over rounds, no round to switch to.
        assert "Kết quả chung cuộc" not in screen_text(app)
        assert not detail.check_action("next_round", ("vi",))

        # The supplementary round arrives while the committee looks at the main round.
        for area in AREAS:
            assert await post(server, stations[area], 2, supplementary_minutes(area)) == 200
        await until(
            pilot,
            lambda: "Ứng cử viên 3 (C-3) — Trúng cử ở Bầu cử thêm" in screen_text(app),
            "the supplementary round's deputy",
        )
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and max(len(line) for line in lines) <= 80
        assert "Kết quả chung cuộc: 3/3 ghế · " in text and " Đã bầu đủ " in text
        # 800 + 800 of 1.800 valid ballots in the main round; 950 in the supplementary one
        assert "Ứng cử viên 1 (C-1) — Trúng cử ở Vòng đầu: 1.600 (88,89%)" in text
        assert "Ứng cử viên 2 (C-2) — Trúng cử ở Vòng đầu: 1.400 (77,78%)" in text
        assert "Ứng cử viên 3 (C-3) — Trúng cử ở Bầu cử thêm: 950 (52,78%)" in text
        # Each round's own line: the main round filled 2 of 3, the supplementary 1 of 1.
        assert "Đề nghị bầu cử thêm  2/3" in text
        assert "Đã bầu đủ            1/1" in text
        assert detail.round == "main" and "Đang xem: Vòng đầu" in text

        # Switch to the supplementary round's own figures: its ballot, its seat.
        await pilot.press("v")
        await until(pilot, lambda: "Đang xem: Bầu cử thêm" in screen_text(app), "the switch")
        assert detail.round == "supplementary"
        table = detail.query_one("#candidates")
        await until(pilot, lambda: table.row_count == 3, "the supplementary ballot")  # type: ignore[attr-defined]
        assert "Ghế: 1" in screen_text(app)
        assert [str(k.value) for k in table.rows] == ["C-3", "C-4", "C-5"]  # type: ignore[attr-defined]

        # The list: both rows of the constituency say where it stands.
        await pilot.press("escape")
        rows = app.screen
        assert isinstance(rows, ConstituenciesScreen)
        await until(pilot, lambda: rows.table.row_count == 2, "both rounds' rows")
        for key, own in (("R/C", "Đề nghị bầu cử thêm"), ("R/C/supplementary", "Đã bầu đủ")):
            assert own in str(rows.table.get_cell(key, "status"))
            final = app.store.rows[key].final
            assert final is not None and (final.seats_filled, final.seats) == (3, 3)
        # The round is named before the name (no column of its own).
        assert str(rows.table.get_cell("R/C/supplementary", "name")).startswith(
            "[b]Bầu cử thêm[/] · "
        )
        assert str(rows.table.get_cell("R/C", "name")).startswith("[b]Vòng đầu[/] · ")
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and max(len(line) for line in lines) <= 80
        # From 160 columns the final result over the rounds has a column of its own.
        await pilot.resize_terminal(160, 40)
        await until(pilot, lambda: "final" in [k for k, _ in rows.table.column_layout], "wide")
        for key in ("R/C", "R/C/supplementary"):
            assert rows.table.get_cell(key, "final") == "3/3 [green]Đã bầu đủ[/]"
        assert str(rows.table.get_cell("R/C", "name")).startswith("[b]Vòng đầu[/] · ")
