"""The station moves on to the standby when the primary stops answering.

Two real ``serve`` processes over 127.0.0.1: the primary, and a standby started on
a copy of the primary's folder taken mid-night (what a restore from its replica
gives: everything up to some entry, nothing after). Stations are set up from the
committee's pack naming both addresses, primary first.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import free_port
from test_client_delivery import Station, client, election_with_many_areas, minutes_for
from test_client_netkit import ServerProcess, serve_folder, start_server, tally_server

EXIT_NOT_ACCEPTED, EXIT_LOST = 4, 5
STANDBY_SENT = "ĐÃ GỬI TỚI MÁY CHỦ DỰ PHÒNG"


def copy_folder(folder: Path, to: Path) -> None:
    """One consistent snapshot of the live database (SQLite's online backup, as a
    replica restores it) and the folder's other files (key, election)."""
    to.mkdir()
    for item in folder.iterdir():
        if item.is_file() and not item.name.startswith(("tally.db", "server.lock", "serve.log")):
            shutil.copy2(item, to / item.name)
    src, dst = sqlite3.connect(folder / "tally.db"), sqlite3.connect(to / "tally.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[ServerProcess]:
    running = start_server(tmp_path / "primary", election_with_many_areas(tmp_path / "e.json"))
    yield running
    running.stop()


async def packed(
    primary: ServerProcess, tmp_path: Path, area: str, standby_url: str, *, enroll: bool = True
) -> Station:
    """A station set up from its pack (primary, then standby), enrolled on the primary."""
    packs = tmp_path / "packs"
    await asyncio.to_thread(
        tally_server, "station", "pack", "--dir", str(primary.folder), "--out", str(packs),
        "--server", primary.url, "--server", standby_url, "--area", area,
    )  # fmt: skip
    folder = tmp_path / area
    rc, out, err = await client("init", "--dir", str(folder), "--pack", str(packs / f"{area}.json"))
    assert rc == 0, out + err
    assert standby_url in out
    if enroll:
        primary.enroll(area, area, (folder / "station.pub.pem").read_bytes())
    return Station(folder, area, primary)


def ledger_of(server: ServerProcess, kind: str, station_id: str) -> list[dict[str, object]]:
    return [e for e in server.ledger() if e["kind"] == kind and e.get("station") == station_id]


async def test_primary_killed_the_station_moves_on_and_nothing_acknowledged_is_lost(
    primary: ServerProcess, tmp_path: Path
) -> None:
    port = free_port()
    standby_url = f"http://127.0.0.1:{port}"
    a, b, d = [await packed(primary, tmp_path, x, standby_url) for x in ("KV-01", "KV-02", "KV-03")]
    status = await a.status()
    assert (status["server_url"], status["standby_urls"]) == (primary.url, [standby_url])

    # The primary answers: it is used, and the station says nothing of a standby.
    await a.submit()
    rc, out, err = await a.sync()
    assert rc == 0 and "ĐÃ NHẬN / ACCEPTED" in out and "dự phòng" not in out, out + err
    assert len(await a.recorded()) == 1

    # The replica has everything up to here; B is acknowledged after it.
    copy_folder(primary.folder, tmp_path / "standby")
    await b.submit()
    rc, out, err = await b.sync()
    assert rc == 0, out + err
    [(_, _, b_envelope, b_receipt, _)] = b.rows()
    assert b_receipt is not None

    primary.process.kill()  # kill -9, mid-night
    primary.process.wait()
    standby = serve_folder(tmp_path / "standby", primary.token, port=port)
    try:
        assert standby.url == standby_url
        # D signs after the takeover: it moves on within its first turn and lands once.
        await d.submit()
        started = time.monotonic()
        rc, out, err = await d.sync()
        moved_in = time.monotonic() - started
        assert rc == 0, out + err
        assert "chuyển sang máy chủ dự phòng" in out and STANDBY_SENT in out, out
        assert [e["kind"] for e in ledger_of(standby, "batch_accepted", d.area)] == [
            "batch_accepted"
        ]

        # B's receipt names an entry the standby never received: B shows it, the
        # standby records a rollback_detected entry, and B delivers the same bytes again.
        rc, out, err = await b.sync()
        assert rc == EXIT_LOST, out + err
        assert "ALERT: the server no longer holds what it acknowledged" in out, out
        assert STANDBY_SENT in out, out
        [shown] = ledger_of(standby, "rollback_detected", b.area)
        [again] = ledger_of(standby, "batch_accepted", b.area)
        assert base64.b64decode(str(again["envelope"])) == bytes(b_envelope)
        lost = (await b.status())["lost_receipts"]
        assert len(lost) == 1 and lost[0]["reported_at"] is not None
        assert int(str(shown["index"])) < int(str(again["index"]))

        # A's receipt is in the copy: nothing to show, nothing sent twice.
        rc, out, err = await a.sync()
        assert rc == 0 and "ALERT" not in out, out + err
        assert len(ledger_of(standby, "batch_accepted", a.area)) == 1
        for st in (a, b, d):
            assert {x["state"] for x in (await st.status())["races"]} == {"delivered"}
        print(
            f"failover: primary killed; D moved on and was accepted by the standby in "
            f"{moved_in:.2f} s (one sync); B's 1 receipt the replica lacked shown and "
            f"re-delivered once; A, B, D each on the standby's ledger exactly once"
        )
    finally:
        standby.stop()


async def test_a_refusal_from_the_primary_does_not_move_the_station_on(
    primary: ServerProcess, tmp_path: Path
) -> None:
    """A 4xx is an answer: the primary refused this key; the standby, which would
    accept it, is never asked."""
    port = free_port()
    standby_url = f"http://127.0.0.1:{port}"
    st = await packed(primary, tmp_path, "KV-04", standby_url, enroll=False)
    copy_folder(primary.folder, tmp_path / "standby")
    standby = serve_folder(tmp_path / "standby", primary.token, port=port)
    try:
        standby.enroll(st.area, st.area, (st.folder / "station.pub.pem").read_bytes())
        await st.submit(minutes_for(st.area))
        rc, out, err = await st.sync()
        assert rc == EXIT_NOT_ACCEPTED, out + err
        assert "MÁY CHỦ KHÔNG NHẬN / REFUSED" in out and "dự phòng" not in out, out
        [(_, state, _, receipt, _)] = st.rows()
        assert (state, receipt) == ("refused", None)
        assert ledger_of(standby, "batch_accepted", st.area) == []
    finally:
        standby.stop()
