"""Junk under load: while anyone floods the server with big envelopes no enrolled key
signed, the stations are served as fast as without it, and the flood leaves the
ledger a few hundred bytes per refusal, no more refusals than the rate allows, and
one alert with a count."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tally_server.service.limits import DEFAULT_PER_KEYID, DEFAULT_PER_SOURCE

from .conftest import Record, Scale
from .kit import (
    ROOT,
    BatchKey,
    Signer,
    area_ids,
    check_acks,
    enroll_offline,
    export_ledger,
    init_folder,
    read_ledger,
    start_server,
    verify,
    write_election,
)

CATEGORY = "disk-and-load"
JUNK_MAX = 3000
"""At most this many junk posts, and for at most ``JUNK_SECONDS``."""
JUNK_SECONDS = 60.0
JUNK_RATE = 150
"""Junk posts a second: ~28 MB/s of it."""
CONNECTIONS = 16


async def send_genuine(
    session: aiohttp.ClientSession, url: str, planned: list[tuple[BatchKey, bytes]]
) -> tuple[float, dict[BatchKey, bytes], list[int]]:
    """Every planned batch as fast as the server answers, CONNECTIONS at a time:
    (seconds, receipts of the accepted, statuses)."""
    acks: dict[BatchKey, bytes] = {}
    statuses: list[int] = []
    queue = list(reversed(planned))

    async def worker() -> None:
        while queue:
            key, envelope = queue.pop()
            async with session.post(url + "/api/v1/batches", data=envelope) as r:
                body = await r.read()
            statuses.append(r.status)
            if r.status == 200:
                acks[key] = body

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return time.monotonic() - start, acks, statuses


async def test_stations_are_served_at_full_rate_while_junk_floods_the_server(
    scale: Scale, record: Record, tmp_path: Path
) -> None:
    election = write_election(tmp_path / "election.json", scale.load_stations)
    folder = tmp_path / "server"
    init_folder(folder, election)
    signers = [Signer(a, a) for a in area_ids(scale.load_stations)]
    enroll_offline(folder, signers)
    per_phase = int(scale.load_seconds * scale.load_rate) // 2
    rounds = -(-per_phase // len(signers))
    # Signed beforehand: the test measures the server, not this process signing.
    planned = [
        ((s.station_id, seq), s.envelope(seq)) for seq in range(1, 3 * rounds + 1) for s in signers
    ]
    # Alone, under the junk, alone again: the machine is shared, so the junk phase is
    # compared with the mean of one before and one after it.
    n = rounds * len(signers)
    alone, flooded, again = planned[:n], planned[n : 2 * n], planned[2 * n :]
    server = start_server(folder, tmp_path / "server.log", election)
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTIONS + 8)
        ) as session:
            head_before = server.results()["ledger_index"]
            seconds_alone, acks, statuses_alone = await send_genuine(session, server.url, alone)
            head_between = server.results()["ledger_index"]

            # Unknown key ids, and a real station's key id under a random signature.
            keyids = [f"JUNK-{i:04d}-{i:04d}-{i:04d}" for i in range(8)]
            keyids += [signers[0].key.public.fingerprint] * 4
            flooder = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("junkflood.py")), server.url,
                 ",".join(keyids), str(JUNK_MAX), str(JUNK_SECONDS), "4", str(JUNK_RATE)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
            )  # fmt: skip
            assert flooder.stdin is not None and flooder.stdout is not None
            try:
                assert flooder.stdout.readline() == b"ready\n"
                flooder.stdin.write(b"go\n")
                flooder.stdin.flush()
                await asyncio.sleep(0.2)  # the junk is flowing before the stations start
                seconds_flooded, acks_flooded, statuses_flooded = await send_genuine(
                    session, server.url, flooded
                )
                flooder.stdin.write(b"stop\n")
                flooder.stdin.flush()
                flood = json.loads(flooder.stdout.readline())
                seconds_again, acks_again, statuses_again = await send_genuine(
                    session, server.url, again
                )
            finally:
                flooder.stdin.close()
                if flooder.wait(30) != 0:
                    raise RuntimeError("the junk sender failed")
                flooder.stdout.close()
        acks.update(acks_flooded)
        acks.update(acks_again)
        alerts = server.get_json("/api/v1/alerts?kind=rejected", "operator")["alerts"]
        progress = server.get_json("/api/v1/progress")
        ledger = export_ledger(folder, tmp_path / "ledger.jsonl")
        entries = read_ledger(ledger)
        check = check_acks(entries, acks)
        record.acknowledged(CATEGORY, check.acked, len(check.lost))
        rc, report = verify(ledger, election)
    finally:
        server.stop()

    lines = ledger.read_bytes().splitlines()
    stored = [
        (e, len(lines[e["index"]]))
        for e in entries
        if e["kind"] == "batch_rejected" and e["index"] > head_between
    ]
    junk_ledger_bytes = sum(size for _, size in stored)
    rate_alone = (len(alone) / seconds_alone + len(again) / seconds_again) / 2
    rate_flooded = len(flooded) / seconds_flooded
    junk_statuses = {int(k): v for k, v in flood["statuses"].items()}
    posts, throttled, refused = (
        sum(junk_statuses.values()),
        junk_statuses.get(429, 0),
        junk_statuses.get(401, 0),
    )
    flood_seconds = flood["seconds"]
    record.note(
        CATEGORY,
        f"junk: {posts} posts of ~190 KB in {flood_seconds:.1f} s from another process "
        f"({flood['bytes_sent'] / 1e6:.0f} MB): {refused} refused and recorded, "
        f"{throttled} answered 429; "
        f"the ledger grew {junk_ledger_bytes} bytes for them "
        f"({junk_ledger_bytes / max(1, len(stored)):.0f} per refusal); stations "
        f"{rate_alone:.0f} batches/s alone (mean of before and after), "
        f"{rate_flooded:.0f}/s under the junk "
        f"({rate_flooded / rate_alone:.2f}×)",
    )
    print(record.categories[CATEGORY].notes[-1])

    # Every station's batch accepted, with the receipt it was given, under the junk too.
    assert statuses_alone.count(200) == len(alone) and statuses_flooded.count(200) == len(flooded)
    assert statuses_again.count(200) == len(again)
    assert check.ok, check
    assert rc == 0, report["first_bad_entry"]
    assert report["unsigned_refusals_as_recorded"] == len(stored)
    assert head_between - head_before == len(alone)
    # The junk: refused, and past the rate not recorded at all.
    assert set(junk_statuses) == {401, 429} and throttled > 0
    retry_after = flood["retry_after"]
    assert retry_after and all(v.isdigit() and int(v) >= 1 for v in retry_after)
    assert progress["batches"]["throttled"] == throttled
    assert len(stored) == refused
    # One source: at most its burst and a minute's refill per minute flooded.
    assert len(stored) <= DEFAULT_PER_SOURCE * (1 + flood_seconds / 60) + 1
    by_code = {
        c: sum(json.loads(e["outcome"])["code"] == c for e, _ in stored) for c in ("K401", "S201")
    }
    # The station's key id under random signatures: its own bucket, whatever the source had left.
    assert by_code["S201"] <= DEFAULT_PER_KEYID * (1 + flood_seconds / 60) + 1
    assert all(e["envelope"] == "" and size < 1024 for e, size in stored)
    # One alert per sender and rule, with the count: nothing else is buried.
    open_alerts = [a for a in alerts if not a["reviewed"]]
    counts = {(a["station_id"], tuple(a["codes"])): a["count"] for a in open_alerts}
    assert counts == {
        (None, ("K401",)): by_code["K401"],
        (signers[0].station_id, ("S201",)): by_code["S201"],
    }
    # Served at full rate: a loose bound on a shared machine, the figures are printed.
    assert rate_flooded >= 0.5 * rate_alone, (rate_alone, rate_flooded)
