"""The failover drill (bench/failover_drill.py) with one seed, as the operator runs it:
stations reporting, the primary and its Litestream killed mid-night, the standby
restored from the replica and served on the standby's address, the stations
carrying on. Then, from the folders the drill leaves, the checks again on their
own: every batch a station holds a receipt for is in the standby's ledger exactly
once under that very receipt, and the ledger verifies with the standby's results.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from .conftest import Record
from .kit import ROOT, accepted_entries, check_acks, read_ledger, verify

CATEGORY = "crashes"
SEED = 3


def test_the_failover_drill_loses_nothing_acknowledged(record: Record, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "failover_drill.py"), "--seed", str(SEED),
         "--stations", "6", "--work", str(tmp_path), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary, line = done.stdout.rsplit("\n", 2)[:2]
    figures = json.loads(line)
    assert "PASSED" in summary and "acknowledged lost 0" in summary, summary
    assert (figures["lost"], figures["twice"], figures["problems"]) == ([], [], [])
    assert figures["verify_valid"] and figures["results_equal"]
    # Every batch signed was acknowledged in the end, by one server or the other.
    assert figures["acknowledged"] == figures["batches"] == 12
    # Only what the dead primary had accepted after the replica's last entry came back.
    assert figures["redelivered"] <= figures["beyond_replica"]

    # The same, from the stations' outboxes and the standby's exported ledger.
    entries = read_ledger(tmp_path / "ledger.jsonl")
    acks: dict[tuple[str, int], bytes] = {}
    shown = 0
    for outbox in sorted((tmp_path / "stations").glob("*/outbox.sqlite")):
        db = sqlite3.connect(outbox)
        try:
            rows = db.execute("SELECT station_id, sequence, receipt FROM batches").fetchall()
            (lost,) = db.execute("SELECT count(*) FROM lost_receipts").fetchone()
        finally:
            db.close()
        assert all(r is not None for _, _, r in rows), outbox
        acks |= {(s, q): bytes(r) for s, q, r in rows}
        shown += lost
    check = check_acks(entries, acks)
    assert check.ok, check
    assert len(acks) == 12 and len(accepted_entries(entries)) == 12
    assert shown == figures["redelivered"]
    rc, report = verify(tmp_path / "ledger.jsonl", tmp_path / "election.json")
    assert rc == 0 and report["ok"], report["first_bad_entry"]
    assert report["kinds"].get("rollback_detected", 0) >= (1 if shown else 0)

    record.acknowledged(CATEGORY, len(acks), len(check.lost))
    record.note(
        CATEGORY,
        f"failover drill seed {SEED}: primary and Litestream killed after "
        f"{figures['killed_after']} accepted, standby answering in "
        f"{figures['take_over_s']:.1f} s, {figures['redelivered']} re-delivered, 0 lost, "
        f"0 twice, verify VALID",
    )
