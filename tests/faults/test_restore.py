"""A restored backup: the server's folder put back to an older, consistent copy.

Stations hold receipts for entries the restored ledger no longer has, and the
server has started handing out their indexes again. On their next sync the
stations notice (the loud alert), show the server their receipts (its alert,
its ``rollback_detected`` entries) and deliver those batches again; afterwards
every batch a station holds a receipt for is in the ledger exactly once, no
index a station showed was handed out again, and the ledger verifies with the
server's own results.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Record
from .kit import (
    ALERT_EN,
    ALERT_VI,
    FAST,
    ROOT,
    ServerProcess,
    Station,
    accepted_entries,
    area_ids,
    client,
    export_ledger,
    init_folder,
    read_ledger,
    start_server,
    verify,
    write_election,
)

CATEGORY = "crashes"


def backup(folder: Path, to: Path) -> None:
    """What an operator's backup does: SQLite's online backup of the live database
    (one consistent snapshot while the server writes), and the other files."""
    to.mkdir()
    for item in folder.iterdir():
        if item.is_file() and not item.name.startswith("tally.db"):
            shutil.copy2(item, to / item.name)
    src, dst = sqlite3.connect(folder / "tally.db"), sqlite3.connect(to / "tally.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def restore(copy: Path, folder: Path) -> None:
    for name in ("tally.db", "tally.db-wal", "tally.db-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.copy2(copy / "tally.db", folder / "tally.db")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    election = write_election(tmp_path / "election.json", 5)
    init_folder(tmp_path / "srv", election)
    server = start_server(tmp_path / "srv", tmp_path / "server.log", election)
    yield server
    server.stop()


def test_a_restored_backup_is_noticed_by_both_sides_and_nothing_acknowledged_stays_lost(
    served: ServerProcess, record: Record, tmp_path: Path
) -> None:
    server = served
    a, b, c, d, e = (Station(server, tmp_path, area) for area in area_ids(5))

    # Before the backup: A and B delivered.
    for st in (a, b):
        st.submit()
        assert st.sync()[0] == 0
    backup(server.folder, tmp_path / "backup")
    # After it: C and D delivered, and A a correction; all acknowledged.
    for st in (c, d):
        st.submit()
        assert st.sync()[0] == 0
    assert a.correct(3)[0] == 0
    assert a.sync()[0] == 0
    held_before = {st.area: st.receipts() for st in (a, b, c, d)}
    acked = {(area, seq) for area, r in held_before.items() for seq in r}
    assert len(acked) == 5

    server.stop()
    restore(tmp_path / "backup", server.folder)
    server.start()
    # The restored server hands out the first lost index again before anyone notices.
    e.submit()
    assert e.sync()[0] == 0
    [(e_index, e_head, _, _)] = e.receipts().values()
    c_index = held_before[c.area][1][0]
    assert e_index == c_index

    # Each station's next sync: A corrects again and sends at once (its first
    # correction lost: delivered again before the new one), C (its index taken by
    # E), D (its index beyond the head), B (nothing lost: a quiet sync).
    outputs = {a.area: a.correct(5, "--send", *FAST)}
    for st in (c, d, b):
        outputs[st.area] = st.sync()
    for st in (a, c, d):
        rc, out = outputs[st.area]
        assert rc == 5, out
        assert ALERT_VI in out and ALERT_EN in out, out
        assert out.index(ALERT_VI) < out.index(ALERT_EN)  # Vietnamese first
        assert "ĐÃ NHẬN / ACCEPTED" in out
    rc, out = outputs[b.area]
    assert rc == 0 and ALERT_VI not in out, out
    # Synced again: the evidence is kept, nothing alerts twice.
    rc, out = a.sync()
    assert rc == 0 and ALERT_VI not in out, out

    # The station keeps the old receipt beside the new one, and shows both.
    lost = {st.area: st.status()["lost_receipts"] for st in (a, c, d)}
    assert [(x["sequence"], x["ledger_index"]) for x in lost[a.area]] == [
        (2, held_before[a.area][2][0])
    ]
    assert all(x["reported_at"] and x["report"]["alert_id"] for xs in lost.values() for x in xs)
    rc, text = client("status", "--dir", str(a.folder))
    assert ALERT_VI in text and f"ledger #{held_before[a.area][2][0]}" in text

    # The committee sees it: one rollback_detected alert per receipt shown.
    alerts = server.get_json("/api/v1/alerts?kind=rollback_detected", role="operator")["alerts"]
    assert sorted(x["station_id"] for x in alerts) == sorted([a.area, c.area, d.area])
    by_station = {x["station_id"]: x["data"] for x in alerts}
    assert by_station[c.area]["held_hash"] == e_head  # another entry at C's index
    assert by_station[d.area]["held_hash"] is None
    assert ALERT_EN.capitalize() in by_station[a.area]["message_en"]

    results = server.results()
    server.stop()
    entries = read_ledger(export_ledger(server.folder, tmp_path / "ledger.jsonl"))
    at = {x["index"]: x for x in entries}
    # Every batch a station holds a receipt for is in the ledger exactly once, under
    # the receipt it holds now; the new receipts name new indexes.
    found = accepted_entries(entries)
    held_after = {st.area: st.receipts() for st in (a, b, c, d)}
    for area, receipts in held_after.items():
        for seq, (index, head, receipt, digest) in receipts.items():
            assert len(found[(area, seq)]) == 1, (area, seq)
            assert at[index]["hash"] == head
            assert base64.b64decode(at[index]["receipt"]) == receipt
            assert json.loads(at[index]["outcome"])["batch_digest"] == digest
            if (area, seq) in acked:  # kept, or a new receipt past every index shown
                old_index = held_before[area][seq][0]
                assert index == old_index or index > held_before[a.area][2][0]
    assert not [k for k in acked if len(found[k]) != 1]
    assert sorted(held_after[a.area]) == [1, 2, 3]  # the later correction went in after it
    assert held_after[a.area][2][0] < held_after[a.area][3][0]
    # The indexes A and D showed were never handed out again; C's had been, to E,
    # before anyone showed it.
    for st, seq in ((a, 2), (d, 1)):
        assert held_before[st.area][seq][0] not in at
    assert json.loads(at[c_index]["outcome"])["station_id"] == e.area
    shown = [x for x in entries if x["kind"] == "rollback_detected"]
    assert len(shown) == 3

    # The documented twenty-odd lines of Python accept the chain, skipped indexes and all.
    script = re.search(
        r"<!-- ledger-check -->\n```python\n(.*?)```",
        (ROOT / "docs" / "ledger.md").read_text("utf-8"),
        flags=re.S,
    )
    assert script is not None
    (tmp_path / "check.py").write_text(script.group(1))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "check.py"), str(tmp_path / "ledger.jsonl")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and entries[-1]["hash"] in done.stdout, done.stderr

    rc, report = verify(tmp_path / "ledger.jsonl", server.election)
    assert rc == 0 and report["ok"], report["first_bad_entry"]
    assert report["kinds"]["rollback_detected"] == 3
    assert report["results_sha256"] == results["results_sha256"]
    record.acknowledged(CATEGORY, len(acked), len([k for k in acked if not found[k]]))
    record.note(
        CATEGORY,
        f"restored backup: {len(acked)} acknowledged, 3 no longer held after the restore; "
        "all 3 stations alerted, 3 rollback_detected alerts on the server, re-delivered, "
        "0 lost, 0 twice, verify VALID",
    )
