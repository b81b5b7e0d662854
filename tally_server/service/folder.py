"""The server's folder: its database, its key, and the lock that keeps one writer.

DIR/tally.db         SQLite (WAL): the ledger and everything derived from it
DIR/server.key       the Ed25519 key receipts are signed with (owner-only)
DIR/server.pub.pem   its public half, to hand to stations and observers
DIR/election.json    the election definition as loaded (indented, for people)
DIR/election.canonical.json  the same in canonical JSON: GET /api/v1/election
                     serves it from disk, and its SHA-256 is the one the ledger names
DIR/server.lock      held while a process writes (serve, enroll, revoke)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from schemas import codec
from schemas.errors import KiemphieuError
from schemas.models import ElectionDefinition
from schemas.signing import SigningKey
from tally_server.core.definition import Election, decode_definition
from tally_server.service.decide import utc_now
from tally_server.service.journal import Journal, Prepared, load_journal
from tally_server.store import db, ledger, tokens

DB_NAME = "tally.db"
KEY_NAME = "server.key"
PUB_NAME = "server.pub.pem"
ELECTION_NAME = "election.json"
CANONICAL_NAME = "election.canonical.json"
LOCK_NAME = "server.lock"


class FolderError(KiemphieuError):
    """A server folder that is missing, already made, or busy."""

    code = "F100"


@dataclass(slots=True)
class Folder:
    path: Path
    election: Election
    server_key: SigningKey
    election_sha256: str
    """Of the canonical JSON of the definition."""
    election_bytes: bytes | None = None
    """The canonical JSON, kept only when it could not be written to the folder
    (a national definition is large)."""

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def canonical_path(self) -> Path:
        return self.path / CANONICAL_NAME

    def connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        """The database; opened to write, one of an older version is upgraded first
        (opened to read, it is refused: see ``db.check_version``)."""
        conn = db.connect(self.db_path, readonly=readonly, older=not readonly)
        if not readonly:
            date = self.election.definition.date
            expiry = tokens.format_time(tokens.default_expiry(date))
            try:
                db.upgrade(conn, date.isoformat(), expiry)
            except BaseException:
                conn.close()
                raise
        return conn

    def journal(self, conn: sqlite3.Connection) -> Journal:
        return load_journal(conn, self.election, self.server_key)


def load_definition_source(source: Path) -> ElectionDefinition:
    """A JSON definition (or .json.gz), or a folder of CSV rosters; checked against the law."""
    return load_election_source(source).definition


def load_election_source(source: Path) -> Election:
    """``load_definition_source``, indexed: the check builds the ``Election`` anyway
    (a national definition takes a while), so it is built once."""
    from tally_server.core import roster, validate

    return validate.check_definition(roster.load_any(source))


def init_folder(path: Path, source: Path) -> Folder:
    """Make a new server folder for one election; refuses a folder already in use."""
    if path.exists() and any(path.iterdir()):
        raise FolderError(
            en=f"{path} is not empty; give a new folder for the server.",
            vi=f"{path} không trống; hãy chọn một thư mục mới cho máy chủ.",
            fields=("dir",),
            figures={"dir": str(path)},
        )
    definition = load_definition_source(source)
    election = Election.from_definition(definition)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    key = SigningKey.generate()
    key.save(path / KEY_NAME)
    (path / PUB_NAME).write_bytes(key.public.pem())
    (path / ELECTION_NAME).write_bytes(codec.encode_pretty(definition) + b"\n")
    folder = _folder(path, election, key, codec.encode(definition))
    conn = db.create(folder.db_path)
    try:
        db.set_meta(conn, "election_id", election.id)
        db.set_meta(conn, "election_sha256", folder.election_sha256)
        db.set_meta(conn, "election_date", definition.date.isoformat())
        journal = folder.journal(conn)
        p = journal.open_ledger(ledger.format_time(utc_now()), folder.election_sha256)
        db.write(conn, p.writes)
        _checkpoint(conn, folder)
    finally:
        conn.close()
    return folder


def election_sha256(election_bytes: bytes) -> str:
    return hashlib.sha256(election_bytes).hexdigest()


def open_folder(path: Path) -> Folder:
    if not (path / DB_NAME).is_file():
        raise FolderError(
            en=f"{path} is not a server folder (no {DB_NAME}); make one with "
            f"`tally-server init --dir {path} --election FILE`.",
            vi=f"{path} không phải thư mục máy chủ (không có {DB_NAME}); hãy tạo bằng "
            f"`tally-server init --dir {path} --election FILE`.",
            fields=("dir",),
            figures={"dir": str(path)},
        )
    recorded = _recorded_sha256(path)  # refuses a ledger of another version first
    raw = (path / ELECTION_NAME).read_bytes()
    definition = decode_definition(raw, ijson=False)
    key = SigningKey.load(path / KEY_NAME)
    # election.json is the canonical JSON indented: taking the whitespace out gives the
    # canonical bytes without encoding the definition again (which would leave a UTF-8
    # copy cached in every non-ASCII string). Trusted only
    # when it is what the ledger was opened for.
    # The recorded digest is of bytes ``encode`` made at init, which hold each key once:
    # the same digest, the same I-JSON text. Any other text is checked.
    canonical = msgspec.json.format(raw, indent=-1)
    if election_sha256(canonical) != recorded:
        codec.check_ijson(raw, definition)
        canonical = codec.encode(definition)
    del raw
    election = Election.from_definition(definition, shared=True)
    return _folder(path, election, key, canonical)


def _recorded_sha256(path: Path) -> str | None:
    """The digest of the definition the ledger was opened for, once the database is
    known to be of a schema this code reads or upgrades (``db.check_version``) and
    the ledger of this format (``ledger.format_error``)."""
    # Every schema version keeps the digest in ``meta`` and entry 0 in ``ledger``: an
    # older one is read as it is here, and upgraded (or refused) when a command connects.
    conn = db.connect(path / DB_NAME, readonly=True, older=True)
    try:
        row = conn.execute("SELECT outcome FROM ledger WHERE idx = 0").fetchone()
        if row is not None:
            try:
                opened = json.loads(row[0])
            except ValueError:
                opened = None
            problem = ledger.format_error(opened)
            if problem is not None:
                problem.figures["dir"] = str(path)
                raise problem
        return db.meta(conn, "election_sha256")
    finally:
        conn.close()


def _folder(path: Path, election: Election, key: SigningKey, canonical: bytes) -> Folder:
    """The folder, its canonical definition on disk (written when missing or stale)."""
    folder = Folder(path, election, key, election_sha256(canonical))
    target = folder.canonical_path
    try:
        if (
            not target.is_file()
            or target.stat().st_size != len(canonical)
            or (target.read_bytes() != canonical)
        ):
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(canonical)
            os.replace(tmp, target)
    except OSError:
        folder.election_bytes = canonical  # a folder we may only read: serve from memory
    return folder


@contextmanager
def writer_lock(path: Path, what: str) -> Iterator[None]:
    """Hold the folder's writer lock, or say who holds it."""
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderError(
                en=f"Another process is writing to {path} (a running `tally-server serve`?). "
                f"Stop it to {what}; station enroll, revoke and list can instead go through "
                f"the running server: --server URL --token ADMIN_TOKEN in place of --dir.",
                vi=f"Một tiến trình khác đang ghi vào {path} (máy chủ đang chạy?). Hãy dừng nó để "
                f"{what}; riêng station enroll, revoke và list có thể đi qua máy chủ đang chạy: "
                f"--server URL --token MÃ_ADMIN thay cho --dir.",
                code="F409",
                fields=("dir",),
                figures={"dir": str(path)},
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {what}\n".encode())
        yield
    finally:
        os.close(fd)


def now() -> str:
    """The time to stamp a ledger entry with."""
    return ledger.format_time(utc_now())


def cli_actor() -> str:
    """Who changes the ledger from the command line, as it records them (``by``)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no name for this uid (a bare container)
        return f"cli:uid {os.getuid()}"


def offline_commit(
    path: Path,
    what: str,
    fn: Callable[[Folder, Journal], tuple[Sequence[Prepared], Any]],
) -> Any:
    """Change the ledger without a running server: hold the writer lock, let ``fn``
    prepare entries from the journal, and commit them in one transaction."""
    folder = open_folder(path)
    with writer_lock(path, what):
        conn = folder.connect()
        try:
            _checked(conn, folder)
            prepared, result = fn(folder, folder.journal(conn))
            writes = db.Writes()
            for p in prepared:
                writes.extend(p.writes)
                for ev in p.events:
                    writes.add(db.INSERT_EVENT, (ev.id, ev.type, ev.at, ev.data))
            if writes.rows:
                db.write(conn, writes)
                _checkpoint(conn, folder)
            return result
        finally:
            conn.close()


def _checked(conn: sqlite3.Connection, folder: Folder) -> None:
    """Refuse to change a ledger whose derived tables disagree with it (the checkpoint
    written after would vouch for them)."""
    from tally_server.service.integrity import start_check

    found = start_check(conn, folder)
    if not found.ok:
        raise found.error(folder.path, "nothing was changed", "chưa thay đổi gì")


def _checkpoint(conn: sqlite3.Connection, folder: Folder) -> None:
    """After an offline change: the next start checks from here (service/integrity.py)."""
    from tally_server.service.integrity import checkpoint_now

    try:
        checkpoint_now(conn, folder)
    except sqlite3.Error:  # the change is committed; the next start replays it instead
        pass
