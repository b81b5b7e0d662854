"""The dashboard against a real server on 127.0.0.1: batches arrive and the
screens follow; drill-down to a polling area; a sheet printed from the screen;
an alert reviewed by an operator and recorded by the server."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import msgspec
import pypdf
from msgspec import structs
from serverkit import RunningServer, ServerFolder, Station, example_minutes
from textual.widgets import DataTable
from tuikit import screen_text, until

from schemas import read
from tui.app import DashboardApp
from tui.screens.alerts import AlertsScreen
from tui.screens.constituencies import ConstituenciesScreen
from tui.screens.constituency import ConstituencyScreen
from tui.screens.polling_area import PollingAreaScreen
from tui.widgets.overview.scope_card import ScopeCard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pdfkit import pdf_text, qr_payloads  # noqa: E402


async def post(server: RunningServer, envelope: bytes) -> int:
    status, _ = await asyncio.to_thread(server.request, "POST", "/api/v1/batches", envelope)
    return status


def card_text(app: DashboardApp, scope: str) -> str:
    """Areas reported; for the election, its batches accepted/flagged/rejected too."""
    for card in app.screen.query(ScopeCard):
        if card.scope == scope and card.progress is not None:
            p = card.progress
            areas = f"{p.areas_reported}/{p.areas_total}"
            return (
                f"{areas} {p.accepted}/{p.flagged}/{p.rejected}" if scope == "election" else areas
            )
    return ""


async def test_a_batch_moves_the_overview_and_drill_down_reaches_the_polling_area(
    tally_server: RunningServer, station: Station, tmp_path: Path
) -> None:
    app = DashboardApp(
        tally_server.url, tally_server.tokens["operator"], out_dir=tmp_path / "sheets"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        await until(pilot, lambda: card_text(app, "election") == "0/3 0/0/0", "empty progress")
        await until(pilot, lambda: "0/3 0,00%" in screen_text(app), "the empty bar")

        assert await post(tally_server, station.envelope(1)) == 200
        # KV-01 reports all three races: one of three areas, one batch accepted
        await until(pilot, lambda: card_text(app, "election") == "1/3 1/0/0", "the batch")
        await until(pilot, lambda: card_text(app, "QH") == "1/3", "the race's count")
        await until(pilot, lambda: "1/3 33,33%" in screen_text(app), "the bar's figure")
        text = screen_text(app)
        assert "Nhận 1" in text
        assert "Ủy ban bầu cử Thành phố Hồ Chí Minh" in text

        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, ConstituenciesScreen)
        await until(pilot, lambda: screen.table.row_count == 3, "three constituencies")
        await until(pilot, lambda: "Đang tổng hợp" in screen_text(app), "a partial status")
        await pilot.press("enter")  # the first row: the National Assembly's QH-10
        detail = app.screen
        assert isinstance(detail, ConstituencyScreen)
        assert detail.constituency_id == "QH-10"
        await until(pilot, lambda: "Nguyễn Thị Ánh" in screen_text(app), "the candidates")
        text = screen_text(app)
        assert "Nguyễn Thị Ánh" in text and "1.001" in text and "82,05%" in text
        assert "✗ chưa báo cáo" in text and "KV-02" in text

        await pilot.press("p")
        sheet = tmp_path / "sheets" / "ket-qua_QH_QH-10.pdf"
        await until(pilot, sheet.exists, "the constituency sheet", timeout=30)

        def commune_row() -> list[str]:
            try:
                text = "".join(page.extract_text() for page in pypdf.PdfReader(sheet).pages)
            except (OSError, pypdf.errors.PdfReadError):
                return []  # still being written
            start = text.find("Ghi chú\nXã Tân Thông Hội\n") + len("Ghi chú\n")
            return text[start:].split("\n")[:7] if start >= len("Ghi chú\n") else []

        # 19/HĐBC-QH's table per commune: the commune's own votes, from its areas' minutes
        await until(pilot, lambda: bool(commune_row()), "the sheet's commune row", timeout=30)
        assert [c.strip() for c in commune_row()] == [
            "Xã Tân Thông Hội", "3", "1.001", "874", "803", "455", "301",
        ]  # fmt: skip

        areas = detail.query_one("#areas", DataTable)
        areas.focus()
        # missing areas are listed first; KV-01 is the one reported
        while areas.coordinate_to_cell_key(areas.cursor_coordinate)[0].value != "KV-01":
            await pilot.press("down")
        await pilot.press("enter")
        area = app.screen
        assert isinstance(area, PollingAreaScreen)
        await until(pilot, lambda: "Số phiếu hợp lệ: 1.220" in screen_text(app), "the minutes")
        text = screen_text(app)
        assert "Khu vực bỏ phiếu số 1 (KV-01)" in text
        assert "Đại biểu Quốc hội khoá XIII — QH-10" in text
        assert "Số phiếu hợp lệ: 1.220" in text

        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ConstituenciesScreen)

    # the sheet carries the figures the server reports, and its ledger point
    status, body = tally_server.request(
        "GET", "/api/v1/results.json", token=tally_server.tokens["viewer"]
    )
    results = json.loads(body)
    qh = next(r for r in results["results"] if r["constituency_id"] == "QH-10")
    flat = " ".join(" ".join(pdf_text(sheet)).split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat
    assert "Tổng số cử tri của đơn vị bầu cử: 1.250 người" in flat
    assert "Số phiếu hợp lệ: 1.220 phiếu" in flat
    assert f"so với tổng số phiếu thu vào: {qh['valid_pct'].replace('.', ',')}%" in flat
    payload = qr_payloads(sheet)[0]
    assert f"head={results['ledger_head']}" in payload
    assert f"ledger={results['ledger_index']}" in payload


async def test_operator_marks_an_alert_reviewed_and_the_server_records_it(
    tally_server: RunningServer, station: Station
) -> None:
    good = example_minutes("KV-01")
    # valid + invalid no longer equal the ballots received: rule E112
    bad = [structs.replace(good[0], ballots_received=good[0].ballots_received + 1), *good[1:]]
    assert await post(tally_server, station.envelope(1, bad)) == 422
    app = DashboardApp(tally_server.url, tally_server.tokens["operator"])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await until(pilot, lambda: "E112" in screen_text(app), "the rejection")
        text = " ".join(screen_text(app).split())
        assert "Bị từ chối" in text and "KV-01" in text and "Trạm im lặng" in text
        assert (
            "phiếu hợp lệ (1.220) + phiếu không hợp lệ (18) = 1.238 ≠ phiếu thu vào (1.239)" in text
        )

        await pilot.press("v")
        await pilot.press(*"goi lai to")
        await pilot.press("enter")
        await until(pilot, lambda: app.store.open_alerts() == 0, "the review")

    status, body = tally_server.request(
        "GET", "/api/v1/alerts?reviewed=true", token=tally_server.tokens["operator"]
    )
    reviewed = json.loads(body)["alerts"]
    assert [(a["kind"], a["review_note"]) for a in reviewed] == [("rejected", "goi lai to")]


async def test_projector_mode_offers_no_operator_action_and_shows_big_progress(
    tally_server: RunningServer, station: Station
) -> None:
    good = example_minutes("KV-01")
    bad = [structs.replace(good[0], ballots_received=good[0].ballots_received + 1), *good[1:]]
    assert await post(tally_server, station.envelope(1, bad)) == 422
    app = DashboardApp(tally_server.url, tally_server.tokens["viewer"], projector=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.store.progress is not None, "progress")
        assert app.screen.query_one("#overall", ScopeCard).big
        assert "In biên bản" not in screen_text(app)  # nothing to print from the projector
        await pilot.press("a")
        await until(pilot, lambda: not app.store.alerts_allowed, "the alerts refused")
        # a viewer's token: said in words, not as "Lỗi: 401/403"
        await until(pilot, lambda: "Cần mã của người vận hành" in screen_text(app), "why")
        # as a status of its own: the server's port in the status line may hold the digits
        assert not re.search(r"(?<!\d)40[13](?!\d)", screen_text(app))
        assert "Đánh dấu đã xem xét" not in screen_text(app)
        await pilot.press("v")
        await pilot.pause(0.2)
        assert isinstance(app.screen, AlertsScreen)  # no review dialog opened


async def test_language_switch_relabels_the_screens(tally_server: RunningServer) -> None:
    app = DashboardApp(tally_server.url, tally_server.tokens["viewer"])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.store.progress is not None, "progress")
        await pilot.pause(0.2)
        assert "Tổng quan" in screen_text(app)
        await pilot.press("l")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Overview" in text and "Whole election" in text and "Turnout" in text
        assert "Tổng quan" not in text
        await pilot.press("c")
        await pilot.pause(0.3)
        assert "No results" in screen_text(app)


async def test_readable_at_80_by_24(tally_server: RunningServer, station: Station) -> None:
    assert await post(tally_server, station.envelope(1)) == 200
    app = DashboardApp(tally_server.url, tally_server.tokens["viewer"])
    async with app.run_test(size=(80, 24)) as pilot:
        expected = ["Toàn cuộc bầu cử", "1/3 33,33%", "Đại biểu Quốc hội khoá XIII"]
        # The changed rows are shown before the rest of the progress arrives, and a
        # frame drawn between the two can be half laid out: wait for every row and
        # the end of the refresh, let the widgets draw it, then judge the geometry.
        await until(
            pilot,
            lambda: all(e in screen_text(app) for e in expected) and not app._refreshing,
            "every row, the refresh done",
        )
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and max(len(line) for line in lines) <= 80


class Link:
    """A TCP relay to the server that can be cut, to drop the dashboard's connection."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.down = False
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def cut(self) -> None:
        self.down = True
        for w in self.writers:
            w.close()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_feed_reconnects_and_resumes_without_losing_or_repeating_events(
    tally_server: RunningServer, station: Station
) -> None:
    link = Link(tally_server.url)
    url = await link.start()
    second = tally_server.folder.new_station("KV-02", "KV-02")
    assert (await asyncio.to_thread(tally_server.enroll, second))[0] in (200, 201)
    app = DashboardApp(url, tally_server.tokens["operator"])
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.store.connection == "connected", "the feed")
            assert await post(tally_server, station.envelope(1)) == 200
            await until(pilot, lambda: card_text(app, "QH") == "1/3", "the first batch")

            link.cut()
            await until(pilot, lambda: app.store.connection == "disconnected", "the drop")
            await until(pilot, lambda: "Mất kết nối" in screen_text(app), "the drop shown")
            # sent while the dashboard is away
            assert await post(tally_server, second.envelope(1)) == 200
            await pilot.pause(0.5)
            assert card_text(app, "QH") == "1/3"

            link.down = False
            await until(pilot, lambda: app.store.connection == "connected", "the reconnect")
            await until(pilot, lambda: card_text(app, "QH") == "2/3", "the missed batch")
            await until(
                pilot, lambda: card_text(app, "election") == "2/3 2/0/0", "the election's count"
            )
            await pilot.pause(0.5)
            # each batch counted once, though the feed was opened twice
            assert card_text(app, "election") == "2/3 2/0/0"
    finally:
        await link.close()


async def test_command_palette_opens_a_constituency_by_candidate_name(
    tally_server: RunningServer,
) -> None:
    app = DashboardApp(tally_server.url, tally_server.tokens["viewer"])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        await pilot.press("ctrl+p")
        await pilot.press(*"ngo van loi")  # a commune council candidate, typed without marks
        await until(pilot, lambda: "TTH-1" in screen_text(app), "the match")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConstituencyScreen), "the screen")
        screen = app.screen
        assert isinstance(screen, ConstituencyScreen)
        assert (screen.race_id, screen.constituency_id) == ("HDND-XA", "TTH-1")


async def test_live_changes_keep_the_winners_column_in_names(
    tally_server: RunningServer, station: Station, server_folder: ServerFolder
) -> None:
    """Rows changed by batches sent while the app runs are read one by one (the full
    result of each); their winners column names the deputies, as a fresh read does."""
    app = DashboardApp(tally_server.url, tally_server.tokens["viewer"])
    async with app.run_test(size=(160, 36)) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, ConstituenciesScreen)
        await until(pilot, lambda: screen.table.row_count == 3, "three constituencies")

        assert await post(tally_server, station.envelope(1)) == 200
        # one area of three: nobody elected yet, who leads is named (marked ▸)
        await until(pilot, lambda: bool(app.store.rows["QH/QH-10"].leading), "who leads")
        leading = app.store.rows["QH/QH-10"].leading
        assert len(leading) == 3 and app.store.rows["QH/QH-10"].winners == ()
        assert str(screen.table.get_cell("QH/QH-10", "winners")) == "▸ " + ", ".join(leading)
        for area in ("KV-02", "KV-03"):
            other = server_folder.new_station(area)
            assert tally_server.enroll(other)[0] == 201
            assert await post(tally_server, other.envelope(1)) == 200
        await until(pilot, lambda: app.store.rows["QH/QH-10"].status == "elected", "QH-10")

        status, body = tally_server.request(
            "GET", "/api/v1/constituencies/QH/QH-10", token=tally_server.tokens["viewer"]
        )
        qh10 = msgspec.json.decode(body, type=read.ConstituencyDetail)
        names = {c.id: c.full_name for c in qh10.candidates}
        elected = [names[w] for w in qh10.winners]
        assert len(elected) == 3
        assert app.store.rows["QH/QH-10"].winners == tuple(elected)
        cell = str(screen.table.get_cell("QH/QH-10", "winners"))
        assert cell == ", ".join(elected)
        assert not any(w in cell for w in qh10.winners)  # no candidate id
