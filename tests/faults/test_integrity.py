"""The server's derived tables edited with sqlite3 while it was stopped: ``serve`` refuses
to start and names what disagrees, ``tally-server check`` lists it, and ``tally-server
rebuild`` writes the tables again from the ledger, after which the server starts and
publishes what ``tally-server verify`` computes from the export."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .kit import ROOT, Signer, area_ids, export_ledger, start_server, tally_cli, verify
from .test_tampering import Recorded, recorded

__all__ = ["recorded"]  # the module's fixture, shared with the tampering tests

CATEGORY = "tampering"

Edit = Callable[[sqlite3.Connection, Recorded], None]


def refused(folder: Path) -> str:
    """``serve`` on the folder must exit without listening; its standard error."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tally_server", "serve", "--dir", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # the listening line, or nothing when it exits
    if b"listening" in first:
        proc.terminate()
        proc.communicate(timeout=30)
        pytest.fail("the server started on tables that disagree with the ledger")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    text = err.decode("utf-8")
    assert "Traceback" not in text, text
    return text


def edited(r: Recorded, tmp: Path, edit: Edit) -> Path:
    copy = tmp / "server"
    shutil.copytree(r.folder, copy)
    db = sqlite3.connect(copy / "tally.db", isolation_level=None)
    try:
        db.execute("BEGIN")
        edit(db, r)
        db.execute("COMMIT")
    finally:
        db.close()
    return copy


def delete_accepted_batch(db: sqlite3.Connection, r: Recorded) -> None:
    db.execute("DELETE FROM batch_log WHERE ledger_index = ?", (r.at["batch_accepted"],))


def insert_unenrolled_key(db: sqlite3.Connection, r: Recorded) -> None:
    key = Signer("KV-0005", "KV-0005").key.public
    db.execute(
        "INSERT INTO keys VALUES (?, 'KV-0005', 'KV-0005', ?, '2011-05-22T20:00:00.000000Z', ?, "
        "NULL, NULL)",
        (key.fingerprint, key.raw, r.at["station_enrolled"]),
    )


def delete_one_area(db: sqlite3.Connection, r: Recorded) -> None:
    for table in ("minutes", "current"):
        assert db.execute(f"DELETE FROM {table} WHERE polling_area_id = 'KV-0003'").rowcount > 0


def delete_last_entries(db: sqlite3.Connection, r: Recorded) -> None:
    db.execute("DELETE FROM ledger WHERE idx >= ?", (r.at["last"] - 1,))


def point_back_a_correction(db: sqlite3.Connection, r: Recorded) -> None:
    """The counted minutes of KV-0002 moved back to the batch its correction replaced."""
    (old,) = db.execute(
        "SELECT MIN(ledger_index) FROM minutes WHERE polling_area_id = 'KV-0002'"
    ).fetchone()
    n = db.execute(
        "UPDATE current SET ledger_index = ? WHERE ledger_index = ?", (old, r.at["correction"])
    ).rowcount
    assert n > 0


def delete_an_alert(db: sqlite3.Connection, r: Recorded) -> None:
    assert db.execute("DELETE FROM alerts WHERE kind = 'conflict'").rowcount == 1


def change_a_sequence(db: sqlite3.Connection, r: Recorded) -> None:
    db.execute("UPDATE batch_log SET sequence = 9 WHERE ledger_index = ?", (r.at["correction"],))


EDITS: list[tuple[str, Edit, list[str]]] = [
    ("an accepted batch's row deleted", delete_accepted_batch, ["F501", "batch_log"]),
    ("a key the ledger never enrolled", insert_unenrolled_key, ["F501", "keys"]),
    ("one area's rows deleted", delete_one_area, ["F501", "minutes", "current"]),
    ("the ledger's last entries deleted", delete_last_entries, ["F502", "bị xoá", "removed"]),
    ("a counted minutes pointed back", point_back_a_correction, ["F501", "current"]),
    ("an alert deleted", delete_an_alert, ["F501", "alerts"]),
    ("a stored sequence changed", change_a_sequence, ["F501", "batch_log"]),
]


@pytest.mark.parametrize(("what", "edit", "named"), EDITS, ids=[w for w, _, _ in EDITS])
def test_an_edited_table_stops_the_start_until_rebuilt_from_the_ledger(
    what: str,
    edit: Edit,
    named: list[str],
    recorded: Recorded,
    tmp_path: Path,
) -> None:
    folder = edited(recorded, tmp_path, edit)
    message = refused(folder)
    for word in [*named, "tally-server rebuild --dir", "máy chủ không khởi động"]:
        assert word in message, (word, message)

    done = tally_cli("check", "--dir", str(folder))
    assert done.returncode == 1, done.stdout
    assert "KHÔNG KHỚP / INCONSISTENT" in done.stdout
    for word in named[1:]:
        assert word in done.stdout, (word, done.stdout)

    done = tally_cli("rebuild", "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    backups = list(folder.glob("tally.db.before-rebuild-*"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0
    if edit is delete_last_entries:
        assert "entries" in done.stderr and "lost" in done.stderr
    done = tally_cli("check", "--dir", str(folder))
    assert done.returncode == 0 and "KHỚP / CONSISTENT" in done.stdout, done.stdout

    server = start_server(folder, tmp_path / "server.log", recorded.election)
    try:
        published = server.results()
    finally:
        server.stop()
    rc, report = verify(export_ledger(folder, tmp_path / "export.jsonl"), recorded.election)
    assert rc == 0
    assert (published["ledger_index"], published["results_sha256"]) == (
        report["head_index"],
        report["results_sha256"],
    )
    if edit is not delete_last_entries:
        assert published["results_sha256"] == recorded.published["results_sha256"]


def test_a_consistent_folder_checks_out(recorded: Recorded, tmp_path: Path) -> None:
    copy = tmp_path / "server"
    shutil.copytree(recorded.folder, copy)
    done = tally_cli("check", "--dir", str(copy))
    assert done.returncode == 0, done.stdout
    entries = len(recorded.entries)
    assert f"{entries} ledger entries, {entries} replayed" in done.stdout


def test_a_forged_checkpoint_stops_the_start(recorded: Recorded, tmp_path: Path) -> None:
    """Rewriting the checkpoint to match an edit needs the server's key."""

    def forge(db: sqlite3.Connection, r: Recorded) -> None:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
        stored = json.loads(text)
        payload = json.loads(stored["payload"])
        payload["tables"]["batch_log"][0] -= 1
        stored["payload"] = json.dumps(payload, separators=(",", ":"))
        db.execute("UPDATE meta SET value = ? WHERE key = 'checkpoint'", (json.dumps(stored),))
        delete_accepted_batch(db, r)

    message = refused(edited(recorded, tmp_path, forge))
    assert "F502" in message and "checkpoint" in message and "signature" in message


def test_entries_after_the_checkpoint_are_replayed_and_checked(tmp_path: Path) -> None:
    """Killed with -9, the server left entries after its last checkpoint: the next start
    decides them again; a row they wrote, deleted, is named."""
    from .kit import enroll_offline, init_folder, write_election

    election = write_election(tmp_path / "election.json", 3)
    folder = tmp_path / "server"
    init_folder(folder, election)
    s = [Signer(a, a) for a in area_ids(3)]
    enroll_offline(folder, s)
    server = start_server(folder, tmp_path / "server.log", election)
    try:
        for signer in s:
            assert server.post_batch(signer.envelope(1))[0] == 200
        published = server.results()
    finally:
        server.kill()
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    server = start_server(clean, tmp_path / "clean.log", election)
    try:
        assert server.results()["results_sha256"] == published["results_sha256"]
    finally:
        server.stop()
    log = (tmp_path / "clean.log").read_text("utf-8")
    checked = [json.loads(x) for x in log.splitlines() if "derived tables checked" in x]
    assert checked[-1]["replayed"] == 3, checked

    db = sqlite3.connect(folder / "tally.db", isolation_level=None)
    try:
        (last,) = db.execute("SELECT MAX(ledger_index) FROM batch_log").fetchone()
        db.execute("DELETE FROM minutes WHERE ledger_index = ? AND race_id = 'QH'", (last,))
    finally:
        db.close()
    message = refused(folder)
    assert "F501" in message and f"minutes KV-0003/QH/main/{last}" in message, message
