"""The server's derived tables edited with sqlite3 while it was stopped: ``serve`` refuses
to start and names what disagrees, ``tally-server check`` lists it, and ``tally-server
rebuild`` writes the tables again from the ledger, after which the server starts and
publishes what ``tally-server verify`` computes from the export."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tally_server.service import integrity
from tally_server.store import db

from .kit import (
    ROOT,
    ServerProcess,
    Signer,
    area_ids,
    enroll_offline,
    export_ledger,
    init_folder,
    start_server,
    tally_cli,
    verify,
    write_election,
)
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


# -- unsigned refusals, coalesced alerts, reviews with `by`, rollback evidence ---------------


@dataclass
class Lively:
    """A folder whose last entries, after its last checkpoint, are of every kind added
    since the checkpoints: killed with -9 (``killed``) and the same started and stopped
    cleanly (``stopped``)."""

    killed: Path
    stopped: Path
    election: Path
    published: dict[str, Any]
    checkpoint: int
    """The entry of the killed folder's last checkpoint."""


def _junk(server: ServerProcess, n: int) -> None:
    """Envelopes under a key nobody enrolled: refused before any signature holds."""
    for _ in range(n):
        assert server.post_batch(Signer("KV-0009", "KV-0004").envelope(1))[0] == 401


def _checkpoint_index(folder: Path) -> int:
    db = sqlite3.connect(folder / "tally.db")
    try:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
    finally:
        db.close()
    return int(json.loads(json.loads(text)["payload"])["index"])


@pytest.fixture(scope="module")
def lively(tmp_path_factory: pytest.TempPathFactory) -> Lively:
    tmp = tmp_path_factory.mktemp("lively")
    election = write_election(tmp / "election.json", 4)
    folder = tmp / "server"
    init_folder(folder, election)
    s = {a: Signer(a, a) for a in area_ids(3)}
    enroll_offline(folder, s.values())
    server = start_server(folder, tmp / "a.log", election)
    try:
        assert server.post_batch(s["KV-0001"].envelope(1))[0] == 200
    finally:
        server.stop()
    backup = tmp / "backup"
    shutil.copytree(folder, backup)
    sent = [(a, n) for n in (1, 2) for a in ("KV-0002", "KV-0003")]
    server = start_server(folder, tmp / "b.log", election)
    try:
        shown = [server.post_batch(s[a].envelope(n)) for a, n in sent]
        assert [status for status, _ in shown] == [200] * 4
    finally:
        server.stop()
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)  # an older copy put back: 4 receipts no longer held

    server = start_server(folder, tmp / "c.log", election)
    try:
        _junk(server, 2)  # their indexes handed out again
    finally:
        server.stop()
    server = start_server(folder, tmp / "d.log", election)
    checkpoint = _checkpoint_index(folder)
    try:
        # The last receipt: past the head, its evidence passes over two indexes; one
        # now held by other bytes; one passed over.
        for i in (3, 1, 2):
            status, _ = server.request("POST", "/api/v1/receipts", shown[i][1])
            assert status == 201
        _junk(server, 1)  # joins the alert open at the checkpoint
        [alert] = server.get_json("/api/v1/alerts?kind=rejected", "operator")["alerts"]
        note = json.dumps({"note": "Khoá lạ, đã báo công an"}).encode()
        path = f"/api/v1/alerts/{alert['id']}/review"
        assert server.request("POST", path, note, token=server.tokens["operator"])[0] == 200
        _junk(server, 2)  # a new alert: the first was reviewed
        for a, n in sent:  # delivered again, as the stations do
            assert server.post_batch(s[a].envelope(n))[0] == 200
        published = server.results()
    finally:
        server.kill()
    killed = tmp / "killed"
    shutil.copytree(folder, killed)
    server = start_server(folder, tmp / "e.log", election)
    server.stop()
    return Lively(killed, folder, election, published, checkpoint)


def _tables(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    from tally_server.service.integrity import TABLES

    db = sqlite3.connect(folder / "tally.db")
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}
    finally:
        db.close()


def test_unsigned_refusals_coalesced_alerts_and_rollback_evidence_replay_and_rebuild(
    lively: Lively, tmp_path: Path
) -> None:
    db = sqlite3.connect(lively.killed / "tally.db")
    try:
        indexes = [i for (i,) in db.execute("SELECT idx FROM ledger ORDER BY idx")]
        (unsigned,) = db.execute(
            "SELECT COUNT(*) FROM ledger WHERE kind = 'batch_rejected' AND length(envelope) = 0"
        ).fetchone()
        evidence = [
            i for (i,) in db.execute("SELECT idx FROM ledger WHERE kind = 'rollback_detected'")
        ]
        alerts = db.execute(
            "SELECT kind, count, reviewed_by, review_index FROM alerts ORDER BY id"
        ).fetchall()
        (outcome,) = db.execute(
            "SELECT outcome FROM ledger WHERE kind = 'alert_reviewed'"
        ).fetchone()
    finally:
        db.close()
    assert unsigned == 5
    assert [(k, n) for k, n, _, _ in alerts] == [
        ("rejected", 3),
        ("rollback_detected", 1),
        ("rollback_detected", 1),
        ("rollback_detected", 1),
        ("rejected", 2),
    ]
    assert json.loads(outcome)["by"] == alerts[0][2] and "faults-operator" in alerts[0][2]
    # The first evidence passed over the two indexes the last receipts name.
    assert evidence[0] == indexes[indexes.index(evidence[0]) - 1] + 3 == lively.checkpoint + 3
    assert len(indexes) == indexes[-1] - 1

    # kill -9: the next start replays the entries after the checkpoint, the same tables.
    before = _tables(lively.killed)
    done = tally_cli("check", "--dir", str(lively.killed))
    assert done.returncode == 0, done.stdout
    assert f"{len(indexes)} ledger entries, {len(indexes)} replayed" in done.stdout
    copy = tmp_path / "killed"
    shutil.copytree(lively.killed, copy)
    server = start_server(copy, tmp_path / "server.log", lively.election)
    try:
        published = server.results()
        # The shown receipts are still known: showing one again records nothing new.
        assert server.get_json("/api/v1/alerts?kind=rollback_detected", "operator")["alerts"]
    finally:
        server.stop()
    assert published["results_sha256"] == lively.published["results_sha256"]
    log = (tmp_path / "server.log").read_text("utf-8")
    [checked] = [json.loads(x) for x in log.splitlines() if "derived tables checked" in x]
    after = [i for i in indexes if i > lively.checkpoint]
    assert checked["checkpoint"] == lively.checkpoint and checked["replayed"] == len(after)
    assert len(after) == 11  # 3 pieces of evidence, 3 refusals, a review, 4 batches

    # rebuild: the same rows, from the ledger alone.
    for folder in (lively.killed, lively.stopped):
        copy = tmp_path / f"rebuilt-{folder.name}"
        shutil.copytree(folder, copy)
        done = tally_cli("rebuild", "--dir", str(copy))
        assert done.returncode == 0, done.stderr
        assert f"rebuilt from {len(indexes)} ledger entries" in done.stdout
        assert _tables(copy) == before
        assert tally_cli("check", "--dir", str(copy)).returncode == 0
    rc, report = verify(export_ledger(lively.stopped, tmp_path / "export.jsonl"), lively.election)
    assert rc == 0 and report["results_sha256"] == lively.published["results_sha256"]


def bump_a_coalesced_count(db: sqlite3.Connection) -> None:
    assert db.execute("UPDATE alerts SET count = count + 1 WHERE count = 3").rowcount == 1


def forget_a_shown_receipt(db: sqlite3.Connection) -> None:
    n = db.execute(
        "DELETE FROM alerts WHERE id = (SELECT MIN(id) FROM alerts "
        "WHERE kind = 'rollback_detected')"
    ).rowcount
    assert n == 1


LIVELY_EDITS = [
    ("a coalesced alert's count", bump_a_coalesced_count),
    ("a rollback_detected alert deleted", forget_a_shown_receipt),
]


@pytest.mark.parametrize("state", ["killed", "stopped"])
@pytest.mark.parametrize(("what", "edit"), LIVELY_EDITS, ids=[w for w, _ in LIVELY_EDITS])
def test_an_edited_alert_stops_the_start(
    what: str,
    edit: Callable[[sqlite3.Connection], None],
    state: str,
    lively: Lively,
    tmp_path: Path,
) -> None:
    """Killed, the alert was changed by entries after the checkpoint (the replay names it);
    stopped, before it (the digest does)."""
    folder = tmp_path / "server"
    shutil.copytree(getattr(lively, state), folder)
    db = sqlite3.connect(folder / "tally.db", isolation_level=None)
    try:
        edit(db)
    finally:
        db.close()
    message = refused(folder)
    assert "F501" in message and "alerts" in message, message
    done = tally_cli("check", "--dir", str(folder))
    assert done.returncode == 1 and "alerts" in done.stdout, done.stdout
    assert tally_cli("rebuild", "--dir", str(folder)).returncode == 0
    assert tally_cli("check", "--dir", str(folder)).returncode == 0
    server = start_server(folder, tmp_path / "server.log", lively.election)
    try:
        assert server.results()["results_sha256"] == lively.published["results_sha256"]
    finally:
        server.stop()


def test_an_old_ledger_enrolling_a_weak_key_is_refused_clearly(tmp_path: Path) -> None:
    """Written before S320 (here by hand): the start's replay names the entry and why."""
    from schemas.signing import VerifyKey
    from tally_server.service.journal import canonical
    from tally_server.store import db as store
    from tally_server.store.ledger import Entry

    election = write_election(tmp_path / "election.json", 2)
    folder = tmp_path / "server"
    init_folder(folder, election)
    weak = VerifyKey(b"\x01" + bytes(31))  # the identity point
    conn = store.connect(folder / "tally.db")
    try:
        index, head = store.head(conn)
        outcome = canonical(
            {
                "station_id": "KV-0001",
                "polling_area_id": "KV-0001",
                "public_key": weak.b64,
                "fingerprint": weak.fingerprint,
            }
        )
        entry = Entry.make(
            index, head, "2011-05-22T20:00:00.000000Z", "station_enrolled", "KV-0001", b"", outcome
        )
        writes = store.Writes()
        writes.add(store.INSERT_LEDGER, store.ledger_row(entry))
        writes.add(
            store.INSERT_KEY,
            (weak.fingerprint, "KV-0001", "KV-0001", weak.raw, entry.time, entry.index),
        )
        store.write(conn, writes)
    finally:
        conn.close()
    message = refused(folder)
    assert "F502" in message and f"entry {index} enrolls a weak public key (S320" in message
    assert "khoá công khai yếu" in message
    done = tally_cli("rebuild", "--dir", str(folder))
    assert done.returncode == 1 and "S320" in done.stderr, done.stderr


def test_the_running_servers_checkpoint_taken_apart_is_the_one_taken_in_process(
    recorded: Recorded,
) -> None:
    """The periodic checkpoint's digests come from a child process (the GIL stays with
    the stations): the same entry and the same bytes as the in-process reading."""
    path = recorded.folder / "tally.db"
    conn = db.connect(path, readonly=True)
    try:
        here = integrity.checkpoint_payload(conn)
    finally:
        conn.close()
    apart = asyncio.run(integrity.checkpoint_payload_apart(path))
    assert apart == here
    assert here[0] == len(recorded.entries) - 1
    assert json.loads(here[1])["tables"]["batch_log"][0] > 0
