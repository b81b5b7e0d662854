"""Checking batches in other processes: the part of a decision that needs no ledger state.

With ``serve --workers N``, N forked processes take each batch envelope apart,
verify its signature against the enrolled key (read from the database), decode
it and run the law's checks that need no earlier minutes. The main process
still decides every batch, one at a time in arrival order, against the ledger
state, and is the one writer of the one ledger: a worker's answer only saves it
work. Anything a worker cannot settle (unknown key, bad signature, bad bytes,
a worker gone) the main process decides from the bytes alone, as with no
workers, so the outcome and its wording are the same either way.

The wire between them is a socket pair per worker carrying length-prefixed
msgpack frames, each frame all the requests (or answers) of one loop turn.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import multiprocessing
import signal
import socket
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.errors import KiemphieuError
from schemas.models import Finding, ResultBatch
from schemas.signing import BATCH_TYPE, Opened, open_envelope, pae
from tally_server.core import rules
from tally_server.core.definition import Election
from tally_server.service.decide import decode_batch
from tally_server.store import db

log = logging.getLogger("kiemphieu.server")

_HEADER = 4
FRAME = 8
"""Envelopes per frame at most."""


class Checked(msgspec.Struct, array_like=True, frozen=True):
    """A batch envelope a worker opened, verified, decoded and checked."""

    keyid: str
    key: bytes
    """The raw public key the signature was verified with."""
    payload: bytes
    signature: bytes
    batch: ResultBatch
    findings: list[Finding]
    """The law's findings with no earlier minutes (``rules.check_batch``)."""

    def opened(self) -> Opened:
        return Opened(BATCH_TYPE, self.payload, self.keyid, self.signature)


_Requests = list[tuple[int, bytes]]
_Answers = list[tuple[int, Checked | None]]


# -- the worker process ---------------------------------------------------------------------


class _Checker:
    def __init__(self, election: Election, conn: sqlite3.Connection) -> None:
        self.election = election
        self.conn = conn

    def key(self, keyid: str) -> tuple[bytes, Ed25519PublicKey] | None:
        # Read for each batch, not cached: a station sends a batch or two a night, and
        # a parsed key held for each station of a national night costs every worker
        # memory (bench/RESULTS.md). A
        # key enrolled after the start is found once it is on disk; until then the main
        # process decides that station's batches itself.
        row = self.conn.execute(
            "SELECT public_key FROM keys WHERE fingerprint = ?", (keyid,)
        ).fetchone()
        if row is None:
            return None
        raw = bytes(row[0])
        return raw, Ed25519PublicKey.from_public_bytes(raw)

    def check(self, body: bytes) -> Checked | None:
        try:
            opened = open_envelope(body, BATCH_TYPE)
            key = self.key(opened.keyid)
            if key is None:
                return None
            raw, public = key
            public.verify(opened.signature, pae(opened.payload_type, opened.payload))
            batch = decode_batch(opened.payload)
        except (KiemphieuError, InvalidSignature):
            return None
        findings = rules.check_batch(self.election, batch, previous=None)
        return Checked(opened.keyid, raw, opened.payload, opened.signature, batch, findings)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _work(
    sock: socket.socket, election: Election, db_path: Path, mains: list[socket.socket]
) -> None:
    """A worker's life: answer frames until the main process closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for end in mains:
        end.close()  # the main process's ends: else no worker would see its end closed
    gc.freeze()
    checker = _Checker(election, db.connect(db_path, readonly=True))
    decode = msgspec.msgpack.Decoder(_Requests).decode
    encode = msgspec.msgpack.Encoder().encode
    try:
        while True:
            size = int.from_bytes(_read_exactly(sock, _HEADER), "big")
            answers = [
                (rid, checker.check(body)) for rid, body in decode(_read_exactly(sock, size))
            ]
            frame = encode(answers)
            sock.sendall(len(frame).to_bytes(_HEADER, "big") + frame)
    except (EOFError, ConnectionError):
        return


# -- the main process's side ----------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    sock: socket.socket
    writer: asyncio.StreamWriter | None = None
    reader_task: asyncio.Task[None] | None = None
    outbox: _Requests = field(default_factory=list)
    waiting: dict[int, asyncio.Future[Checked | None]] = field(default_factory=dict)
    alive: bool = True


class Checkers:
    """The worker processes, forked from the main process before it starts any thread."""

    def __init__(self, workers: list[_Worker]) -> None:
        self.workers = workers
        self._ids = itertools.count()
        self._turn = itertools.cycle(range(len(workers)))
        self._flush_pending = False
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(_Answers).decode
        self.asked = 0
        self.checked = 0
        """Answers that saved the main process work."""

    @classmethod
    def fork(cls, election: Election, db_path: Path, count: int) -> Checkers:
        context = multiprocessing.get_context("fork")
        # Whatever lives now is shared with the workers page for page: keep the
        # collector from touching it on either side.
        gc.collect()
        gc.freeze()
        workers: list[_Worker] = []
        for n in range(count):
            ours, theirs = socket.socketpair()
            process = context.Process(
                target=_work,
                args=(theirs, election, db_path, [ours, *(w.sock for w in workers)]),
                name=f"kiemphieu-checker-{n + 1}",
                daemon=True,
            )
            process.start()
            theirs.close()
            workers.append(_Worker(process, ours))
        return cls(workers)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process.pid is not None]

    async def start(self) -> None:
        for w in self.workers:
            reader, w.writer = await asyncio.open_connection(sock=w.sock, limit=1 << 24)
            w.reader_task = asyncio.create_task(self._read(w, reader), name="checker-reader")
        log.info("checkers started", extra={"workers": len(self.workers), "pids": self.pids})

    async def close(self) -> None:
        for w in self.workers:
            if w.writer is not None:
                w.writer.close()
            if w.reader_task is not None:
                w.reader_task.cancel()
        for w in self.workers:
            await asyncio.to_thread(w.process.join, 5)
            if w.process.is_alive():
                w.process.kill()
            self._lost(w)
        log.info("checkers closed", extra={"asked": self.asked, "checked": self.checked})

    async def check(self, body: bytes) -> Checked | None:
        """The worker's answer for one envelope, or None: then decide from the bytes."""
        self.asked += 1
        live = [w for w in self.workers if w.alive]
        if not live:
            return None
        w = self.workers[next(self._turn)]
        if not w.alive:
            w = live[0]
        rid = next(self._ids)
        future: asyncio.Future[Checked | None] = asyncio.get_running_loop().create_future()
        w.waiting[rid] = future
        w.outbox.append((rid, body))
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)
        checked = await future
        if checked is not None:
            self.checked += 1
        return checked

    def _flush(self) -> None:
        self._flush_pending = False
        for w in self.workers:
            if w.outbox and w.writer is not None and w.alive:
                # A worker answers a frame when it has checked all of it: small frames
                # let the first answers come back while it checks the rest.
                for start in range(0, len(w.outbox), FRAME):
                    frame = self._encode(w.outbox[start : start + FRAME])
                    w.writer.write(len(frame).to_bytes(_HEADER, "big") + frame)
                w.outbox = []

    async def _read(self, w: _Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(_HEADER), "big")
                for rid, checked in self._decode(await reader.readexactly(size)):
                    future = w.waiting.pop(rid, None)
                    if future is not None and not future.done():
                        future.set_result(checked)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            log.error(
                "checker stopped; its batches are checked by the main process",
                extra={"pid": w.process.pid, "error": repr(exc)},
            )
        finally:
            self._lost(w)

    @staticmethod
    def _lost(w: _Worker) -> None:
        w.alive = False
        for future in w.waiting.values():
            if not future.done():
                future.set_result(None)
        w.waiting.clear()
        w.outbox = []
