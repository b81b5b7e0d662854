"""A standby from the replica: the primary replicates with Litestream, dies by SIGKILL
(the replica's last seconds with it), and a standby restored from the replica on
another address takes the stations' next sync.

What the replica held is there exactly once; what it had not received comes back
from the stations themselves: their receipts name entries the standby lacks, so they
get ``held: false`` and a ``rollback_detected`` alert, and deliver those batches
again. At the end every batch any station holds a receipt for is in the standby's
ledger exactly once and ``verify`` finds it VALID with the standby's results.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tally_server.service.replica import litestream_path, replica_url

from .conftest import Record
from .kit import (
    ALERT_EN,
    ALERT_VI,
    FAST,
    ServerProcess,
    Station,
    accepted_entries,
    area_ids,
    await_gone,
    client,
    export_ledger,
    init_folder,
    litestream_pid,
    make_token,
    read_ledger,
    start_server,
    tally_cli,
    verify,
    write_election,
)

CATEGORY = "crashes"
DEADLINE = 60.0


def replica_head(replica: Path, scratch: Path) -> int:
    """The last ledger index the replica holds now (-1: nothing yet), by restoring it
    as a standby would."""
    out = scratch / f"probe-{time.monotonic_ns()}.db"
    done = subprocess.run(
        [str(litestream_path()), "restore", "-o", str(out), replica_url(str(replica), "tally.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        return -1
    conn = sqlite3.connect(out)
    try:
        (head,) = conn.execute("SELECT coalesce(max(idx), -1) FROM ledger").fetchone()
    finally:
        conn.close()
    return int(head)


def await_replica(replica: Path, scratch: Path, index: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while (head := replica_head(replica, scratch)) < index:
        assert time.monotonic() < deadline, f"the replica holds up to {head}, not {index}"
        time.sleep(0.2)


def sync_to(station: Station, url: str) -> tuple[int, str]:
    return client("sync", "--dir", str(station.folder), "--server", url, *FAST)


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[ServerProcess]:
    election = write_election(tmp_path / "election.json", 5)
    init_folder(tmp_path / "primary", election)
    replicate = ["--replicate", str(tmp_path / "replica")]
    server = start_server(
        tmp_path / "primary", tmp_path / "primary.log", election, serve_args=replicate
    )
    yield server
    server.stop()


def test_a_standby_from_the_replica_takes_over_and_nothing_acknowledged_is_lost(
    primary: ServerProcess, record: Record, tmp_path: Path
) -> None:
    replica, scratch = tmp_path / "replica", tmp_path / "scratch"
    scratch.mkdir()
    a, b, c, d, e = (Station(primary, tmp_path, area) for area in area_ids(5))
    for st in (a, b, c):
        st.submit()
        assert st.sync()[0] == 0
    shipped = primary.results()["ledger_index"]
    await_replica(replica, scratch, shipped)

    # The link to the replica stalls; D and E deliver and are acknowledged meanwhile,
    # then the host dies (the server and Litestream by SIGKILL).
    pid = litestream_pid(primary.log_path)
    os.kill(pid, signal.SIGSTOP)
    for st in (d, e):
        st.submit()
        assert st.sync()[0] == 0
    held_before = {st.area: st.receipts() for st in (a, b, c, d, e)}
    acked = {(area, seq) for area, r in held_before.items() for seq in r}
    unshipped = {st.area for st in (d, e)}
    assert all(i > shipped for r in (held_before[x] for x in unshipped) for i, *_ in r.values())
    primary.kill()
    os.kill(pid, signal.SIGKILL)
    await_gone(pid)

    started = time.monotonic()
    standby_dir = tmp_path / "standby"
    reason = "máy chính mất điện / primary lost power"
    done = tally_cli(
        "standby", "restore", "--from", str(replica), "--dir", str(standby_dir), "--reason", reason
    )
    assert done.returncode == 0, done.stderr
    assert "KHỚP / CONSISTENT" in done.stdout and f"head {shipped} " in done.stdout, done.stdout
    took_at = shipped + 1  # the takeover follows what the replica held
    assert f"takeover: mục / entry {took_at} " in done.stdout, done.stdout
    # The key and the definition came with it, the key owner-only.
    for name in ("server.pub.pem", "election.json"):
        assert (standby_dir / name).read_bytes() == (primary.folder / name).read_bytes()
    assert (standby_dir / "server.key").stat().st_mode & 0o777 == 0o600
    assert not (standby_dir / "replica-files.db").exists()
    standby = ServerProcess(standby_dir, tmp_path / "standby.log", election=primary.election)
    standby.tokens = {r: make_token(standby_dir, r) for r in ("viewer", "operator", "admin")}
    standby.start()
    took_over = time.monotonic() - started
    try:
        # Every batch the replica held is there exactly once, under the same receipt,
        # then the takeover, signed, naming the head it continues from.
        standby_ledger = standby.ledger()
        on_standby = accepted_entries(standby_ledger)
        [on_standby_took] = [x for x in standby_ledger if x["kind"] == "server_takeover"]
        head = next(x["hash"] for x in standby_ledger if x["index"] == shipped)
        assert on_standby_took["index"] == took_at and on_standby_took["prev"] == head
        assert json.loads(on_standby_took["outcome"]) == {
            "head_index": shipped,
            "head_hash": head,
            "replica": str(replica),
            "restored_to": None,
            "reason": reason,
            "by": json.loads(on_standby_took["outcome"])["by"],
        }
        assert json.loads(on_standby_took["outcome"])["by"].startswith("cli:")
        for area in {a.area, b.area, c.area}:
            for seq, (index, head, receipt, _) in held_before[area].items():
                [entry] = on_standby[(area, seq)]
                assert (entry["index"], entry["hash"]) == (index, head)
                assert base64.b64decode(entry["receipt"]) == receipt

        # The stations' next sync, to the standby's address: A, B and C quietly; D and E
        # find their receipts' entries missing, show them, and deliver again.
        outputs = {st.area: sync_to(st, standby.url) for st in (a, b, c, d, e)}
        for area, (rc, out) in outputs.items():
            if area in unshipped:
                assert rc == 5, out
                assert ALERT_VI in out and ALERT_EN in out, out
                assert "ĐÃ NHẬN / ACCEPTED" in out
            else:
                assert rc == 0 and ALERT_VI not in out, out
        alerts = standby.get_json("/api/v1/alerts?kind=rollback_detected", role="operator")
        assert sorted(x["station_id"] for x in alerts["alerts"]) == sorted(unshipped)
        # At each receipt's index the standby held nothing or another entry, never that
        # one: the first index past the replica's head is the takeover's own.
        for x in alerts["alerts"]:
            assert x["data"]["held_hash"] != x["data"]["receipt_ledger_head"]
        shown_at = {
            x["data"]["receipt_ledger_index"]: x["data"]["held_hash"] for x in alerts["alerts"]
        }
        # D was acknowledged at the index just past the replica's head.
        assert shown_at[took_at] == on_standby_took["hash"]
        results = standby.results()
    finally:
        standby.stop()

    entries = read_ledger(export_ledger(standby_dir, tmp_path / "ledger.jsonl"))
    found = accepted_entries(entries)
    held_after = {st.area: st.receipts() for st in (a, b, c, d, e)}
    assert {(area, seq) for area, r in held_after.items() for seq in r} == acked
    lost = [k for k in acked if not found[k]]
    assert lost == [] and [k for k in acked if len(found[k]) != 1] == []
    at = {x["index"]: x for x in entries}
    for receipts in held_after.values():
        for index, head, _, _ in receipts.values():
            assert at[index]["hash"] == head
    rc, report = verify(tmp_path / "ledger.jsonl", primary.election)
    assert rc == 0 and report["ok"], report["first_bad_entry"]
    assert report["kinds"]["rollback_detected"] == len(unshipped)
    # verify explains every index: the receipts the old primary signed past the
    # replica's head were shown back after the takeover, and delivered again.
    [took] = report["takeovers"]
    assert (took["index"], took["head_index"], took["reason"]) == (took_at, shipped, reason)
    assert took["receipts_shown_back"] == took["redelivered"] == len(unshipped)
    assert report["rollbacks_without_takeover"] == 0
    said = tally_cli(
        "verify", str(tmp_path / "ledger.jsonl"), "--election", str(primary.election)
    ).stdout
    assert f"takeover at entry {took_at}" in said and reason in said, said
    assert f"{len(unshipped)} receipt(s) of the old primary beyond entry {shipped}" in said
    # `tally-server check` replays the whole ledger, the takeover with it.
    checked = tally_cli("check", "--dir", str(standby_dir))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert report["results_sha256"] == results["results_sha256"]
    record.acknowledged(CATEGORY, len(acked), len(lost))
    record.note(
        CATEGORY,
        f"standby from the Litestream replica: {len(acked)} acknowledged, the replica held "
        f"up to entry {shipped}, {len(unshipped)} re-delivered from the stations' outboxes "
        f"({len(unshipped)} rollback_detected), 0 lost, 0 twice, verify VALID; restore and "
        f"start {took_over:.1f} s",
    )


def test_a_server_killed_leaves_no_litestream_behind_and_the_replica_has_every_entry(
    primary: ServerProcess, record: Record, tmp_path: Path
) -> None:
    """The server process dies (SIGKILL), the host lives: Litestream is told by the
    kernel (SIGTERM), ships what it has and exits; no orphan replicates a folder nobody
    serves, and a standby would have everything acknowledged."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    stations = [Station(primary, tmp_path, area) for area in area_ids(3)]
    for st in stations:
        st.submit()
        assert st.sync()[0] == 0
    head = primary.results()["ledger_index"]
    pid = litestream_pid(primary.log_path)
    primary.kill()
    await_gone(pid)
    assert replica_head(tmp_path / "replica", scratch) == head
    record.note(CATEGORY, f"server SIGKILLed: Litestream exited after shipping up to {head}")


def test_replication_and_restore_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    election = write_election(tmp_path / "election.json", 2)
    init_folder(tmp_path / "srv", election)
    done = tally_cli("serve", "--dir", str(tmp_path / "srv"), "--replicate", "s3://")
    assert done.returncode == 1 and "[F602]" in done.stderr, done.stderr
    assert "không phải địa chỉ bản sao" in done.stderr and "is not a replica URL" in done.stderr
    # Nothing was ever replicated there.
    done = tally_cli(
        "standby", "restore", "--from", str(tmp_path / "none"), "--dir", str(tmp_path / "sb")
    )
    assert done.returncode == 1 and "[F605]" in done.stderr, done.stderr
    assert "litestream restore" in done.stderr
    # A standby folder is a new one: never restored over a folder in use.
    done = tally_cli(
        "standby", "restore", "--from", str(tmp_path / "none"), "--dir", str(tmp_path / "srv")
    )
    assert done.returncode == 1 and "[F100]" in done.stderr, done.stderr
    assert (tmp_path / "srv" / "tally.db").is_file()
