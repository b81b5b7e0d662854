"""Crashes: the server SIGKILLed under load, station clients killed mid-way, answers
lost after the server committed. Nothing acknowledged is lost, nothing is counted
twice, the ledger verifies, the tally equals a recount, and the outboxes deliver
the rest."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import random
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schemas._retry import Backoff
from schemas.signing import VerifyKey
from station_client.delivery import Deliverer, Outcome, Transport
from station_client.outbox import Outbox, StoredBatch
from station_client.signer import sign_and_store

from .conftest import Record, Scale
from .kit import (
    ELECTION_ID,
    ROOT,
    BatchKey,
    ServerProcess,
    Signer,
    accepted_entries,
    area_ids,
    check_acks,
    enroll_offline,
    expected_results_sha256,
    export_ledger,
    init_folder,
    minutes_for,
    read_ledger,
    start_server,
    verify,
    write_election,
)

CATEGORY = "crashes"
REASON = "Kiểm lại phiếu theo yêu cầu của Ban bầu cử"
MOVED = 3
"""Votes a correction moves between two QH candidates."""


class Pace:
    """At most ``rate`` new batches a second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self.next, now)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class Acks:
    """What the stations were told, from the client's own delivery code."""

    first: dict[BatchKey, bytes] = field(default_factory=dict)
    """The first accepted receipt each batch got."""
    other_receipts: list[BatchKey] = field(default_factory=list)
    """Batches that later got an accepted receipt differing from their first."""
    failed_attempts: int = 0
    first_failure: dict[BatchKey, dt.datetime] = field(default_factory=dict)
    committed_unanswered: int = 0
    """Batches the server had recorded before their first attempt failed: the answer was
    lost to a kill, and a later attempt got the stored receipt."""
    unexpected: list[str] = field(default_factory=list)

    def report(self, batch: StoredBatch, outcome: Outcome) -> None:
        key = (batch.station_id, batch.sequence)
        if outcome.kind == "delivered":
            assert outcome.receipt_bytes is not None and outcome.receipt is not None
            if self.first.setdefault(key, outcome.receipt_bytes) != outcome.receipt_bytes:
                self.other_receipts.append(key)
            failed = self.first_failure.pop(key, None)
            if failed is not None and outcome.receipt.received_at < failed:
                self.committed_unanswered += 1
        elif outcome.kind == "retry":
            self.failed_attempts += 1
            self.first_failure.setdefault(key, dt.datetime.now(dt.UTC))
        else:
            self.unexpected.append(f"{key}: {outcome.kind} {outcome.describe()}")


def final_minutes(signers: list[Signer], corrected: set[str]) -> list[Any]:
    out = []
    for s in signers:
        out += minutes_for(s.polling_area_id, MOVED if s.station_id in corrected else 0)
    return out


async def run_under_kills(
    server: ServerProcess,
    deliverer: Deliverer,
    signers: list[Signer],
    corrected: set[str],
    scale: Scale,
    rng: random.Random,
) -> None:
    """For ``scale.crash_seconds`` every station signs and sends batch after batch (the
    second a correction for some) while the server is SIGKILLed at seeded random
    moments and started again."""
    pace = Pace(scale.crash_rate)
    window = scale.crash_seconds
    moments = sorted(rng.uniform(0.1, window - 0.1) for _ in range(scale.crash_kills))
    downtime = [rng.uniform(0.0, 0.4) for _ in moments]
    started = time.monotonic()

    async with deliverer.transport.session(limit=32) as session:

        async def send(batch: StoredBatch) -> bool:
            await pace.wait()
            # Giving up soon leaves some batches pending for the outboxes to deliver later.
            outcome = await deliverer.deliver(session, batch, deadline=time.monotonic() + 1.0)
            return outcome.kind == "delivered"

        async def station(s: Signer) -> None:
            common = {
                "election_id": ELECTION_ID,
                "station_id": s.station_id,
                "polling_area_id": s.polling_area_id,
            }
            area = s.polling_area_id
            first = sign_and_store(deliverer.outbox, s.key, minutes=minutes_for(area), **common)
            delivered = await send(first)
            final = minutes_for(area)
            if s.station_id in corrected:
                final = minutes_for(area, MOVED)
                correction = sign_and_store(
                    deliverer.outbox,
                    s.key,
                    minutes=final,
                    supersedes=first.digest,
                    reason=REASON,
                    **common,
                )
                # A correction never overtakes what it corrects: it waits in the outbox.
                delivered = delivered and await send(correction)
            while delivered and time.monotonic() < started + window:
                # The same figures again (say, a signatory's name fixed): not a correction.
                batch = sign_and_store(deliverer.outbox, s.key, minutes=final, **common)
                delivered = await send(batch)

        async def killer() -> None:
            for at, down in zip(moments, downtime, strict=True):
                await asyncio.sleep(max(0.0, started + at - time.monotonic()))
                await asyncio.to_thread(server.kill)
                await asyncio.sleep(down)
                await asyncio.to_thread(server.start)

        await asyncio.gather(killer(), *(station(s) for s in signers))


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers2"])
async def test_server_sigkilled_under_load_loses_no_acknowledged_batch(
    crash_seed: int, workers: int, scale: Scale, record: Record, tmp_path: Path
) -> None:
    seed = crash_seed
    rng = random.Random(seed)
    election = write_election(tmp_path / "election.json", scale.crash_stations)
    folder = tmp_path / "server"
    init_folder(folder, election)
    signers = [Signer(a, a) for a in area_ids(scale.crash_stations)]
    enroll_offline(folder, signers)
    corrected = {s.station_id for s in signers[::3]}
    server = start_server(folder, tmp_path / "server.log", workers=workers)
    outbox = Outbox(tmp_path / "outbox.sqlite", durable=False)
    try:
        server_key = VerifyKey.from_pem((folder / "server.pub.pem").read_bytes())
        transport = Transport(server.url, timeout=5.0, connect_timeout=2.0)
        acks = Acks()
        deliverer = Deliverer(
            outbox,
            transport,
            server_key,
            ELECTION_ID,
            backoff=Backoff(0.05, 0.4),
            rng=random.Random(seed),
            report=acks.report,
        )
        await run_under_kills(server, deliverer, signers, corrected, scale, rng)
        assert server.kills == scale.crash_kills

        # After the crashes: what is still pending goes out from the outboxes, in order.
        left_behind = len(outbox.pending())
        for s in signers:
            await deliverer.drain(s.station_id, deadline=time.monotonic() + 30)
        assert outbox.pending() == []
        assert acks.unexpected == []
        stored = outbox.batches()
        assert {(b.station_id, b.sequence) for b in stored} == set(acks.first)

        # Every acknowledged envelope sent again: the very receipt bytes, after restarts.
        async with transport.session(limit=16) as session:

            async def resend(b: StoredBatch) -> bool:
                url = transport.url("/api/v1/batches")
                async with session.post(url, data=b.envelope) as r:
                    return (
                        r.status == 200 and await r.read() == acks.first[(b.station_id, b.sequence)]
                    )

            resent_same = sum(await asyncio.gather(*(resend(b) for b in stored)))

        published = server.results()
        ledger = export_ledger(folder, tmp_path / "ledger.jsonl")
        entries = read_ledger(ledger)
        check = check_acks(entries, acks.first)
        record.acknowledged(CATEGORY, check.acked, len(check.lost))
        rc, report = verify(ledger, election)
        expected = expected_results_sha256(election, final_minutes(signers, corrected))
        record.note(
            CATEGORY,
            f"seed {seed}, serve --workers {workers}: {server.kills} SIGKILLs, "
            f"{len(stored)} batches from {len(signers)} "
            f"stations, {acks.failed_attempts} attempts cut by a kill or downtime "
            f"({acks.committed_unanswered} after the server had committed), "
            f"{left_behind} left pending and delivered by the outboxes afterwards, "
            f"{resent_same}/{len(stored)} identical receipts on resend",
        )
        assert check.lost == [] and check.twice == [] and check.other_receipt == []
        assert acks.other_receipts == []
        assert resent_same == len(stored)
        assert rc == 0, report["first_bad_entry"]
        assert report["head_index"] == published["ledger_index"] == len(entries) - 1
        assert report["results_sha256"] == published["results_sha256"] == expected
        # Nothing phantom: the ledger accepted exactly the batches the stations signed.
        found = accepted_entries(entries)
        digests = {k: json.loads(es[0]["outcome"])["batch_digest"] for k, es in found.items()}
        assert digests == {(b.station_id, b.sequence): b.digest for b in stored}
    finally:
        outbox.close()
        server.stop()


# -- the station client, killed ------------------------------------------------------------


@dataclass
class ClientStation:
    folder: Path
    station_id: str

    @property
    def dir(self) -> list[str]:
        return ["--dir", str(self.folder)]

    def rows(self) -> list[tuple[int, str, str, bytes | None]]:
        db = sqlite3.connect(self.folder / "outbox.sqlite")
        try:
            return db.execute(
                "SELECT sequence, state, digest, receipt FROM batches ORDER BY sequence"
            ).fetchall()
        finally:
            db.close()


FAST = ["--timeout", "3", "--give-up-after", "20", "--backoff-base", "0.05", "--backoff-max", "0.3"]


async def client(*args: str, timeout: float = 60.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "station_client",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def client_killed(*args: str, when: asyncio.Event | float) -> int:
    """Run the client and SIGKILL it when ``when`` is set (or after that many seconds)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "station_client",
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    if isinstance(when, asyncio.Event):
        await asyncio.wait_for(when.wait(), 30)
    else:
        try:
            await asyncio.wait_for(proc.wait(), when)
        except TimeoutError:
            pass
    if proc.returncode is None:
        os.kill(proc.pid, signal.SIGKILL)
    return await proc.wait()


@pytest.fixture(scope="module")
def client_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("client-server")
    election = write_election(work / "election.json", 40)
    init_folder(work / "server", election)
    server = start_server(work / "server", work / "server.log", election)
    yield server
    server.stop()


_areas = iter(area_ids(40))


async def new_client_station(server: ServerProcess, tmp_path: Path) -> ClientStation:
    area = next(_areas)
    folder = tmp_path / area
    rc, out = await client(
        "init", "--dir", str(folder), "--station-id", area, "--polling-area", area,
        "--election", str(server.election), "--server", server.url,
        "--server-key", str(server.folder / "server.pub.pem"),
    )  # fmt: skip
    assert rc == 0, out
    key = VerifyKey.from_pem((folder / "station.pub.pem").read_bytes())
    body = json.dumps({"station_id": area, "polling_area_id": area, "public_key": key.b64})
    status, answer = server.request(
        "POST", "/api/v1/stations", body.encode(), token=server.tokens["admin"]
    )
    assert status == 201, answer
    return ClientStation(folder, area)


def write_minutes(path: Path, area: str, moved: int = 0) -> Path:
    minutes = minutes_for(area, moved)
    if moved:  # the law's W208 on a correction: the client wants it explained
        minutes = [
            msgspec.structs.replace(m, explanations={"W208": REASON}) if m.race_id == "QH" else m
            for m in minutes
        ]
    path.write_bytes(msgspec.json.encode(minutes))
    return path


def phase(st: ClientStation, sequence: int) -> str:
    """Where a killed run had got to with a batch."""
    states = {seq: state for seq, state, _, _ in st.rows()}
    state = states.get(sequence)
    if state is None:
        return "killed before signing"
    return "killed signed, unanswered" if state == "pending" else "killed after the answer"


def ledger_of(server: ServerProcess, station_id: str) -> list[dict[str, Any]]:
    """The station's batch entries (its enrolment left out)."""
    return [
        e
        for e in server.ledger()
        if e["station"] == station_id and e["kind"] not in ("station_enrolled", "station_revoked")
    ]


def check_station(server: ServerProcess, st: ClientStation, record: Record) -> int:
    """Each batch in the outbox accepted exactly once, with the receipt the outbox holds;
    nothing accepted that the outbox did not sign. Returns the batches checked."""
    rows = st.rows()
    acks = {(st.station_id, seq): r for seq, state, _, r in rows if r and state == "delivered"}
    entries = ledger_of(server, st.station_id)
    check = check_acks(entries, acks)
    record.acknowledged(CATEGORY, check.acked, len(check.lost))
    assert check.ok, check
    assert all(state == "delivered" for _, state, _, _ in rows), rows
    found = accepted_entries(entries)
    assert {k: json.loads(es[0]["outcome"])["batch_digest"] for k, es in found.items()} == {
        (st.station_id, seq): digest for seq, _, digest, _ in rows
    }
    return len(rows)


class HoldingListener:
    """Takes connections on 127.0.0.1 and never answers: a request sent here has left
    the client but never reaches the server."""

    def __init__(self) -> None:
        self.seen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        while await reader.read(65536):
            self.seen.set()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()


class AnswerHoldingProxy:
    """Relays a request to the server and keeps the answer: the server has committed,
    the client never hears back."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.answer_held = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]

        async def forward() -> None:
            while chunk := await reader.read(65536):
                up_writer.write(chunk)
                await up_writer.drain()

        task = asyncio.ensure_future(forward())
        self._tasks.add(task)
        if await up_reader.read(65536):
            self.answer_held.set()  # and never relayed

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for t in self._tasks:
            t.cancel()
        for w in self._writers:
            w.close()


async def test_client_killed_after_signing_before_the_server_heard_delivers_once(
    client_server: ServerProcess, record: Record, tmp_path: Path
) -> None:
    st = await new_client_station(client_server, tmp_path)
    hold = HoldingListener()
    url = await hold.start()
    try:
        minutes = write_minutes(tmp_path / "m.json", st.station_id)
        rc = await client_killed(
            "submit", *st.dir, str(minutes), "--send", "--server", url, when=hold.seen
        )
    finally:
        await hold.close()
    assert rc == -signal.SIGKILL
    assert [(seq, state) for seq, state, _, _ in st.rows()] == [(1, "pending")]
    assert ledger_of(client_server, st.station_id) == []
    rc, out = await client("sync", *st.dir, *FAST)
    assert rc == 0, out
    assert check_station(client_server, st, record) == 1


async def test_client_killed_while_the_answer_was_on_its_way_delivers_once(
    client_server: ServerProcess, record: Record, tmp_path: Path
) -> None:
    st = await new_client_station(client_server, tmp_path)
    proxy = AnswerHoldingProxy(client_server.port)
    url = await proxy.start()
    try:
        minutes = write_minutes(tmp_path / "m.json", st.station_id)
        rc = await client_killed(
            "submit", *st.dir, str(minutes), "--send", "--server", url, when=proxy.answer_held
        )
    finally:
        await proxy.close()
    assert rc == -signal.SIGKILL
    [entry] = ledger_of(client_server, st.station_id)  # the server committed
    assert entry["kind"] == "batch_accepted"
    assert [(seq, state) for seq, state, _, _ in st.rows()] == [(1, "pending")]
    rc, out = await client("sync", *st.dir, *FAST)
    assert rc == 0, out
    assert check_station(client_server, st, record) == 1


async def test_client_killed_at_a_random_moment_loses_and_doubles_nothing(
    client_seed: int, client_server: ServerProcess, record: Record, tmp_path: Path
) -> None:
    seed = client_seed
    rng = random.Random(seed)
    st = await new_client_station(client_server, tmp_path)
    area = st.station_id
    phases = []
    # The minutes, then a correction: each run killed at a random moment (from before
    # it signs to after the answer), then `sync` finishes the job.
    runs: tuple[tuple[str, Path, list[str]], ...] = (
        ("submit", write_minutes(tmp_path / "m.json", area), []),
        ("correct", write_minutes(tmp_path / "c.json", area, MOVED), ["--reason", REASON]),
    )
    for sequence, (command, minutes, extra) in enumerate(runs, start=1):
        rc = await client_killed(
            command, *st.dir, str(minutes), *extra, "--send", when=rng.uniform(0.0, 0.3)
        )
        phases.append(f"{command} {phase(st, sequence) if rc == -signal.SIGKILL else 'finished'}")
        rc, out = await client("sync", *st.dir, *FAST)
        assert rc == 0, out
        if len(st.rows()) < sequence:  # killed before it signed: sign it now
            rc, out = await client(command, *st.dir, str(minutes), *extra, "--send", *FAST)
            assert rc == 0, out
    assert check_station(client_server, st, record) == 2
    record.note(CATEGORY, f"client seed {seed}: {', '.join(phases)}; sync delivered the rest")


async def test_an_answer_lost_after_commit_is_the_same_receipt_on_retry_even_after_a_crash(
    client_server: ServerProcess, record: Record, tmp_path: Path
) -> None:
    server = client_server
    area = next(_areas)
    signer = Signer(area, area)
    assert server.enroll(signer)[0] == 201
    envelope = signer.envelope(1)
    request = (
        f"POST /api/v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(envelope)}\r\nConnection: close\r\n\r\n"
    ).encode() + envelope
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + 10
        while not ledger_of(server, signer.station_id):
            assert time.monotonic() < deadline, "the server never recorded the batch"
            await asyncio.sleep(0.02)
        # The connection closes without a byte of the answer read.
    [entry] = ledger_of(server, signer.station_id)
    stored = base64.b64decode(entry["receipt"])
    status, again = server.post_batch(envelope)
    assert (status, again) == (200, stored)
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)
    status, after_crash = server.post_batch(envelope)
    assert (status, after_crash) == (200, stored)
    found = accepted_entries(ledger_of(server, signer.station_id))
    check = check_acks(ledger_of(server, signer.station_id), {(signer.station_id, 1): stored})
    record.acknowledged(CATEGORY, check.acked, len(check.lost))
    assert check.ok and len(found[(signer.station_id, 1)]) == 1
