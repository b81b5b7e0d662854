"""Disk and load: sustained batches at a fixed rate keep the answer time bounded and the
server's memory flat; a full disk (a real one: a small tmpfs mounted for the test) is
refused with 507 and loses nothing acknowledged; after space is freed the server
accepts again and everything acknowledged is still there."""

from __future__ import annotations

import asyncio
import errno
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from .conftest import Record, Scale
from .kit import (
    BatchKey,
    Signer,
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

CATEGORY = "disk-and-load"
MIB = 1024


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def test_sustained_load_keeps_latency_bounded_and_memory_flat(
    scale: Scale, record: Record, tmp_path: Path
) -> None:
    election = write_election(tmp_path / "election.json", scale.load_stations)
    folder = tmp_path / "server"
    init_folder(folder, election)
    signers = [Signer(a, a) for a in area_ids(scale.load_stations)]
    enroll_offline(folder, signers)
    total = int(scale.load_seconds * scale.load_rate)
    # Round-robin over the stations; the same figures again under each new number, so
    # every batch is accepted and none is a correction.
    planned = []
    for j in range(total):
        s = signers[j % len(signers)]
        sequence = j // len(signers) + 1
        planned.append(((s.station_id, sequence), s.envelope(sequence)))
    server = start_server(folder, tmp_path / "server.log", election)
    acks: dict[BatchKey, bytes] = {}
    latencies: list[float] = []
    reads: list[float] = []
    rss: list[tuple[float, int]] = []
    statuses: list[int] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            start = time.monotonic()
            done = asyncio.Event()

            async def post(at: float, key: BatchKey, envelope: bytes) -> None:
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                t0 = time.monotonic()
                async with session.post(server.url + "/api/v1/batches", data=envelope) as r:
                    body = await r.read()
                latencies.append(time.monotonic() - t0)
                statuses.append(r.status)
                if r.status == 200:
                    acks[key] = body

            async def sample() -> None:
                while not done.is_set():
                    rss.append((time.monotonic() - start, server.rss_kib()))
                    await asyncio.sleep(0.1)

            async def watch() -> None:
                """A viewer refreshing the results, as the committee's screen does."""
                headers = {"Authorization": f"Bearer {server.tokens['viewer']}"}
                while not done.is_set():
                    t0 = time.monotonic()
                    async with session.get(
                        server.url + "/api/v1/results.json", headers=headers
                    ) as r:
                        await r.read()
                        assert r.status == 200
                    reads.append(time.monotonic() - t0)
                    await asyncio.sleep(0.25)

            background = [asyncio.create_task(sample()), asyncio.create_task(watch())]
            await asyncio.gather(
                *(post(j / scale.load_rate, k, e) for j, (k, e) in enumerate(planned))
            )
            elapsed = time.monotonic() - start
            done.set()
            await asyncio.gather(*background)

        published = server.results()
        ledger = export_ledger(folder, tmp_path / "ledger.jsonl")
        check = check_acks(read_ledger(ledger), acks)
        record.acknowledged(CATEGORY, check.acked, len(check.lost))
        rc, report = verify(ledger, election)
    finally:
        server.stop()

    p50, p99, worst = (percentile(latencies, 50), percentile(latencies, 99), max(latencies))
    # Memory after the first quarter (imports, caches, connections warmed up) against
    # the end of the run.
    warm = next(kib for t, kib in rss if t >= elapsed / 4)
    end = rss[-1][1]
    peak = max(kib for _, kib in rss)
    record.note(
        CATEGORY,
        f"load: {total} batches at {scale.load_rate:g}/s over {elapsed:.1f} s from "
        f"{len(signers)} stations: answer p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {worst * 1000:.1f} ms; results read p99 {percentile(reads, 99) * 1000:.1f} ms; "
        f"server RSS {warm / MIB:.1f} MiB after warm-up → {end / MIB:.1f} MiB at the end "
        f"(peak {peak / MIB:.1f})",
    )
    assert statuses.count(200) == total
    assert check.ok, check
    assert rc == 0 and report["results_sha256"] == published["results_sha256"]
    assert published["results_sha256"] == expected_results_sha256(
        election, [m for s in signers for m in minutes_for(s.polling_area_id)]
    )
    assert elapsed < scale.load_seconds * 1.5 + 2  # the server kept up with the rate
    assert p99 < 0.5 and worst < 2.0
    # Flat: what a batch leaves in memory (its key in the decision state) is small.
    assert end - warm < 16 * MIB + total // 2, (warm, end)


# -- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for the test: a real file system that fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(
            "this test mounts a small tmpfs to fill a real disk, and needs root "
            f"(CAP_SYS_ADMIN): mount said {done.stderr.strip()!r}"
        )
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(path: Path) -> int:
    """Write until the file system says ENOSPC; the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * size
            while True:
                try:
                    written += fh.write(block) or 0
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def test_a_full_disk_is_refused_with_507_and_loses_nothing_acknowledged(
    small_disk: Path, record: Record, tmp_path: Path
) -> None:
    election = write_election(tmp_path / "election.json", 12)
    folder = small_disk / "server"
    init_folder(folder, election)
    signers = [Signer(a, a) for a in area_ids(12)]
    enroll_offline(folder, signers)
    server = start_server(folder, tmp_path / "server.log", election)
    acks: dict[BatchKey, bytes] = {}
    envelopes: dict[BatchKey, bytes] = {}
    sequence = dict.fromkeys((s.station_id for s in signers), 0)

    def send(s: Signer) -> tuple[int, bytes]:
        key = (s.station_id, sequence[s.station_id] + 1)
        envelope = s.envelope(key[1])
        status, body = server.post_batch(envelope)
        if status == 200:
            acks[key] = body
            envelopes[key] = envelope
            sequence[s.station_id] += 1
        return status, body

    try:
        for s in signers:
            assert send(s)[0] == 200
        filler = small_disk / "filler"
        filled = fill(filler)

        # Batches keep coming: whatever room SQLite still had is used, then 507.
        refused: list[tuple[Signer, bytes]] = []
        for n in range(400):
            s = signers[n % len(signers)]
            status, body = send(s)
            if status != 200:
                refused.append((s, body))
                if len(refused) == 3:
                    break
        assert refused, "the disk never filled up"
        for _, body in refused:
            error = json.loads(body)["error"]
            assert error["code"] == "H507", error
            assert "disk full" in error["message_en"] and "đĩa đầy" in error["message_vi"]
        statuses = {server.post_batch(signers[0].envelope(sequence["KV-0001"] + 1))[0]}
        assert statuses == {507}
        # Reading still works, and shows what was acknowledged.
        published = server.results()
        assert published["ledger_index"] >= len(acks)
        full_acks = len(acks)

        # The worst moment to crash: SIGKILL while the disk is full; then free space.
        server.kill()
        filler.unlink()
        server.start()
        for s, _ in refused:
            assert send(s)[0] == 200  # sent again later, as the client does after a 507
        for key, envelope in envelopes.items():
            assert server.post_batch(envelope) == (200, acks[key])
        published = server.results()
        ledger = export_ledger(folder, tmp_path / "ledger.jsonl")
        check = check_acks(read_ledger(ledger), acks)
        record.acknowledged(CATEGORY, check.acked, len(check.lost))
        rc, report = verify(ledger, election)
        record.note(
            CATEGORY,
            f"disk full (tmpfs of 4 MiB, {filled // 1024} KiB filler): {full_acks} batches "
            f"acknowledged, then 507 H507; SIGKILL while full, space freed, restarted: "
            f"the refused ones accepted on resend, {len(acks)} acknowledged, "
            f"{len(check.lost)} lost",
        )
        assert check.ok, check
        assert rc == 0, report["first_bad_entry"]
        assert report["results_sha256"] == published["results_sha256"]
    finally:
        server.stop()


def test_the_disk_filling_does_not_leave_the_database_unreadable(
    small_disk: Path, tmp_path: Path
) -> None:
    """``tally-server ledger export`` and a restart work on the folder while its disk is
    still full, so the committee can copy the record off before making room."""
    election = write_election(tmp_path / "election.json", 4)
    folder = small_disk / "server"
    init_folder(folder, election)
    s = Signer("KV-0001", "KV-0001")
    enroll_offline(folder, [s])
    server = start_server(folder, tmp_path / "server.log", election)
    try:
        assert server.post_batch(s.envelope(1))[0] == 200
        fill(small_disk / "filler")
        n = 2
        while server.post_batch(s.envelope(n))[0] == 200:
            n += 1
            assert n < 400, "the disk never filled up"
        server.stop()
        ledger = export_ledger(folder, tmp_path / "ledger.jsonl")
        rc, report = verify(ledger, election)
        assert rc == 0 and report["batches_accepted"] == n - 1
        server.start()
        assert server.post_batch(s.envelope(1))[0] == 200  # answered from what is stored
        assert server.post_batch(s.envelope(n))[0] == 507
    finally:
        server.stop()
