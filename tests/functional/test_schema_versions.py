"""Every SQLite file carries its schema version, checked on every open through the real
commands: the server folder's tally.db (``meta.schema_version``) and the station's
outbox.sqlite (``PRAGMA user_version``). Newer, unknown or foreign files are refused
untouched, naming the file and both versions in both languages; older known ones are
upgraded, keeping every row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from serverkit import EXAMPLES, RunningServer, ServerFolder, Station, example_minutes

from schemas import SigningKey
from station_client.outbox import Outbox
from station_client.signer import sign_and_store
from tally_server.cli import main

KEPT = ("ledger", "keys", "batch_log", "minutes", "current", "alerts")
"""The record and the tables derived from it: an upgrade changes none of their rows."""


def export(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, str, str]:
    code = main(["ledger", "export", "--dir", str(folder), "--out", "-"])
    out = capsys.readouterr()
    return code, out.out, out.err


def serve(folder: Path) -> subprocess.CompletedProcess[str]:
    """`serve` that is expected to refuse before listening."""
    return subprocess.run(
        [sys.executable, "-m", "tally_server", "serve", "--dir", str(folder), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def sql(path: Path, script: str) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executescript(script)
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in KEPT}
    finally:
        conn.close()


def schema_version(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(
            conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        )
    finally:
        conn.close()


def assert_names(err: str, code: str, file: Path, found: str, expected: str) -> None:
    """The refusal names its rule, the file, and both versions, in each language."""
    assert f"[{code}]" in err
    assert str(file) in err
    assert f"phiên bản lược đồ tìm thấy {found}, cần {expected}" in err
    assert f"schema version found {found}, expected {expected}" in err


# -- the server folder --------------------------------------------------------------------


def test_a_server_database_of_a_newer_version_is_refused_untouched(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    db = server_folder.path / "tally.db"
    sql(db, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    before = digest(db)
    result = serve(server_folder.path)
    assert result.returncode == 1, result.stderr
    assert_names(result.stderr, "F111", db, "3", "2")
    assert "newer tally-server" in result.stderr and "mới hơn" in result.stderr
    assert "listening" not in result.stdout
    code, out, err = export(capsys, server_folder.path)
    assert code == 1 and out == ""
    assert_names(err, "F111", db, "3", "2")
    assert main(["check", "--dir", str(server_folder.path)]) == 1
    assert_names(capsys.readouterr().err, "F111", db, "3", "2")
    assert digest(db) == before and schema_version(db) == "3"


@pytest.mark.parametrize("version", ["0", "2.0", "hai"])
def test_a_server_database_of_an_unknown_version_is_refused(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    db = server_folder.path / "tally.db"
    sql(db, f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    code, _, err = export(capsys, server_folder.path)
    assert code == 1
    assert_names(err, "F112", db, version, "2")
    assert "restore the folder from a backup" in err and "khôi phục thư mục" in err
    result = serve(server_folder.path)
    assert result.returncode == 1 and "[F112]" in result.stderr
    assert schema_version(db) == version


def test_a_file_that_is_not_a_server_database_is_refused(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = server_folder.path / "tally.db"
    db.unlink()
    Outbox(db).close()  # a station's outbox where the server's database should be
    code, _, err = export(capsys, server_folder.path)
    assert code == 1
    assert_names(err, "F110", db, "-", "2")
    assert "is not a tally-server database" in err
    assert "không phải cơ sở dữ liệu của tally-server" in err
    db.unlink()
    db.write_bytes(b"not a database at all " * 100)
    result = serve(server_folder.path)
    assert result.returncode == 1
    assert_names(result.stderr, "F110", db, "-", "2")
    assert "is not a SQLite database" in result.stderr
    assert db.read_bytes() == b"not a database at all " * 100


def test_a_server_database_of_version_1_is_read_only_once_upgraded_keeping_every_row(
    tally_server: RunningServer,
    station: Station,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Version 1 (tokens without an expiry) is refused by a command that only reads,
    and upgraded by `serve` (with check workers, which only read) without changing a
    row of the ledger or of any table derived from it."""
    status, body = tally_server.request(
        "POST", "/api/v1/batches", station.envelope(1), tally_server.tokens["operator"]
    )
    assert status == 200, body
    tally_server.stop()
    db = tally_server.folder.path / "tally.db"
    sql(
        db,
        """
        CREATE TABLE old (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
            revoked_at TEXT);
        INSERT INTO old SELECT id, hash, role, name, created_at, revoked_at FROM tokens;
        DROP TABLE tokens;
        ALTER TABLE old RENAME TO tokens;
        CREATE TABLE old_alerts (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,
            at TEXT NOT NULL, station_id TEXT, polling_area_id TEXT, ledger_index INTEGER,
            codes TEXT NOT NULL, data BLOB NOT NULL, reviewed_at TEXT, review_note TEXT,
            reviewed_by TEXT, review_index INTEGER);
        INSERT INTO old_alerts SELECT id, kind, at, station_id, polling_area_id,
            ledger_index, codes, data, reviewed_at, review_note, reviewed_by, review_index
            FROM alerts;
        DROP TABLE alerts;
        ALTER TABLE old_alerts RENAME TO alerts;
        CREATE INDEX alerts_kind ON alerts (kind, reviewed_at);
        DELETE FROM meta WHERE key = 'election_date';
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
        """,
    )  # as version 1 left it (alerts before they were coalesced with a count)
    kept = tables(db)
    assert kept["minutes"] and kept["current"] and kept["keys"]
    code, out, err = export(capsys, tally_server.folder.path)
    assert code == 1 and out == ""
    assert_names(err, "F113", db, "1", "2")
    assert f"`tally-server token list --dir {tally_server.folder.path}`" in err
    assert "only reads" in err and "chỉ đọc" in err
    assert schema_version(db) == "1"

    tally_server.extra_args = ["--workers", "1"]
    tally_server.start()
    status, body = tally_server.request(
        "GET", "/api/v1/polling-areas/KV-01", token=tally_server.tokens["viewer"]
    )
    assert status == 200, body
    tally_server.stop()
    log = tally_server.log_path.read_text("utf-8")
    assert "checkers started" in log and "Traceback" not in log  # the workers opened it too
    assert schema_version(db) == "2" and tables(db) == kept
    conn = sqlite3.connect(db)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(alerts)")]
    conn.close()
    assert columns[-3:] == ["count", "last_at", "last_index"]
    code, out, err = export(capsys, tally_server.folder.path)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["kind"] for e in lines] == ["ledger_opened", "station_enrolled", "batch_accepted"]


# -- the station's outbox -----------------------------------------------------------------


def client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "station_client", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def station_dir(tmp_path: Path) -> Path:
    server_key = tmp_path / "server.pub.pem"
    server_key.write_bytes(SigningKey.generate().public.pem())
    folder = tmp_path / "st"
    result = client(
        "init", "--dir", str(folder), "--station-id", "KV-01", "--polling-area", "KV-01",
        "--election", str(EXAMPLES / "election.json"), "--server", "http://127.0.0.1:9",
        "--server-key", str(server_key),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


def user_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_an_outbox_of_a_newer_version_is_refused_by_status_and_sync(station_dir: Path) -> None:
    outbox = station_dir / "outbox.sqlite"
    sql(outbox, "PRAGMA user_version = 2")
    before = digest(outbox)
    for command in ("status", "sync"):
        result = client(command, "--dir", str(station_dir))
        assert result.returncode == 1, result.stdout + result.stderr
        assert_names(result.stderr, "P113", outbox, "2", "1")
        assert "newer station-client" in result.stderr and "mới hơn" in result.stderr
    assert digest(outbox) == before and user_version(outbox) == 2


@pytest.mark.parametrize(
    ("script", "found", "code"),
    [
        ("PRAGMA user_version = -1", "-1", "P114"),  # no version we ever wrote
        ("DROP TABLE batches; PRAGMA user_version = 0", "0", "P114"),  # not an outbox
    ],
)
def test_an_outbox_of_an_unknown_version_or_not_an_outbox_is_refused(
    station_dir: Path, script: str, found: str, code: str
) -> None:
    outbox = station_dir / "outbox.sqlite"
    sql(outbox, script)
    result = client("status", "--dir", str(station_dir))
    assert result.returncode == 1
    assert_names(result.stderr, code, outbox, found, "1")
    assert "do not delete or replace that file" in result.stderr
    assert "đừng xoá hay thay tệp đó" in result.stderr


def test_an_outbox_that_is_not_sqlite_is_refused_untouched(station_dir: Path) -> None:
    outbox = station_dir / "outbox.sqlite"
    for extra in ("-wal", "-shm"):
        outbox.with_name(outbox.name + extra).unlink(missing_ok=True)
    outbox.write_bytes(b"\x00garbage" * 512)
    result = client("sync", "--dir", str(station_dir))
    assert result.returncode == 1
    assert_names(result.stderr, "P112", outbox, "-", "1")
    assert "is not a SQLite database" in result.stderr
    assert outbox.read_bytes() == b"\x00garbage" * 512


def test_an_outbox_made_before_versions_is_upgraded_keeping_its_signed_batches(
    station_dir: Path,
) -> None:
    """A pre-version outbox (user_version 0), with or without the receipts-evidence
    tables added later, opens at version 1 with every signed batch as it was."""
    outbox = station_dir / "outbox.sqlite"
    key = SigningKey.load(station_dir / "station.key.pem")
    with Outbox(outbox) as box:
        stored = sign_and_store(
            box, key, election_id="vd-2011", station_id="KV-01", polling_area_id="KV-01",
            minutes=example_minutes(),
        )  # fmt: skip
    sql(outbox, "DROP TABLE lineage; DROP TABLE lost_receipts; PRAGMA user_version = 0")
    result = client("status", "--dir", str(station_dir), "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    [batch] = status["batches"]
    assert (batch["sequence"], batch["digest"], batch["state"]) == (1, stored.digest, "pending")
    assert status["lost_receipts"] == []
    assert user_version(outbox) == 1
    with Outbox(outbox) as box:
        assert box.get("KV-01", 1) == stored
        assert box.checked_up_to("KV-01") is None  # the new tables are there, and empty
