"""The dashboard's screens as a committee sees them at 80×24 and 200×50, against a
real server after a night with a fault (KV-01 reported, KV-02 refused, KV-03
with no station): the screen's text is compared with the plain-text snapshot in
tests/assets/snapshots/ (readable in review). Times, the port and "seconds ago"
are masked. ``KIEMPHIEU_UPDATE_SNAPSHOTS=1`` writes them anew; read the diff."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from msgspec import structs
from serverkit import RunningServer, ServerFolder, Station, example_minutes
from tuikit import screen_text, until

from tui.app import DashboardApp

SNAPSHOTS = Path(__file__).resolve().parents[1] / "assets" / "snapshots"
MASKS = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\d\d/\d\d \d\d:\d\d:\d\d"), "dd/mm hh:mm:ss"),
    (re.compile(r"\d\d:\d\d:\d\d"), "hh:mm:ss"),
    (re.compile(r"\b\d+ (s|min)\b"), "N s"),
)
# Words of the English wording that must not show through in Vietnamese mode.
ENGLISH = re.compile(
    r"\b(rejected|accepted|Accepted|Rejected|Overview|Alerts|Search|Status|Winners|"
    r"Turnout|Missing|Quit|Back|Ledger|silent|none yet|law_error)\b"
)


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("KIEMPHIEU_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path}"


@pytest.fixture
def night(tally_server: RunningServer, station: Station, server_folder: ServerFolder) -> None:
    status, _ = tally_server.request("POST", "/api/v1/batches", station.envelope(1))
    assert status == 200
    refused = server_folder.new_station("KV-02")
    assert tally_server.enroll(refused)[0] == 201
    good = example_minutes("KV-02")
    bad = [structs.replace(good[0], ballots_received=good[0].ballots_received + 1), *good[1:]]
    status, _ = tally_server.request("POST", "/api/v1/batches", refused.envelope(1, bad))
    assert status == 422


SCREENS = {
    "overview": ("o", "Ủy ban bầu cử xã Tân Thông Hội"),
    "constituencies": ("c", "Dòng 1–3 / 3"),
    "alerts": ("a", "E112"),
    "missing": ("m", "KV-03"),
}


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_each_screen_at_80x24_and_200x50_matches_its_snapshot(
    tally_server: RunningServer, night: None, size: tuple[int, int]
) -> None:
    width, height = size
    app = DashboardApp(tally_server.url, tally_server.tokens["operator"])
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.store.connection == "connected", "the feed")
        for name, (key, shown) in SCREENS.items():
            await pilot.press(key)
            await until(
                pilot,
                lambda shown=shown: shown in screen_text(app) and not app._refreshing,
                f"the {name} screen",
            )
            await pilot.pause(0.1)
            text = masked(screen_text(app))
            lines = text.splitlines()
            assert len(lines) == height and max(map(len, lines)) <= width
            # what the committee must always see, whatever the width
            assert "q Thoát" in text and "l English" in text, name
            assert not ENGLISH.search(text), (name, ENGLISH.findall(text))
            check(f"dashboard_{name}_{width}x{height}", text)
        await asyncio.sleep(0)

    # The points of the issue, on the snapshots themselves.
    lists = (SNAPSHOTS / f"dashboard_constituencies_{width}x{height}.txt").read_text("utf-8")
    assert "Đang tổng hợp" in lists and "1/3" in lists  # status and areas reported
    assert "▸ " in lists  # who leads, while partial
    alerts = (SNAPSHOTS / f"dashboard_alerts_{width}x{height}.txt").read_text("utf-8")
    assert "Bị từ chối 1" in alerts and "Trạm im lặng 1" in alerts  # counts per kind
    assert ("Đã xem" if width < 120 else "Đã xem xét") in alerts  # the reviewed column
    missing = (SNAPSHOTS / f"dashboard_missing_{width}x{height}.txt").read_text("utf-8")
    assert "Chưa báo cáo: 2" in missing and "Chưa có trạm" in missing and "im lặng" in missing
