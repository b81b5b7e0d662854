"""The simulator against a real server: many stations, every fault, each counted once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_client_netkit import ServerProcess, start_server

from schemas import codec
from station_client.simulation import FAULTS, Progress, SimulationConfig, simulate
from tally_server.core.definition import Election
from tally_server.core.sample import bundled_election


@pytest.fixture(scope="module")
def election_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("election") / "election.json"
    path.write_bytes(codec.encode(bundled_election()))
    return path


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, election_file: Path
) -> Iterator[ServerProcess]:
    running = start_server(tmp_path_factory.mktemp("server") / "srv", election_file)
    yield running
    running.stop()


def test_every_fault_gets_its_expected_outcome_and_nothing_counts_twice(
    server: ServerProcess,
) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "station_client", "simulate", "--server", server.url,
            "--token", server.token, "--stations", "60", "--fast", "--concurrency", "8",
            "--faults", ",".join(FAULTS), "--json",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert report["ok"] is True and report["unexpected"] == []
    faults = report["faults"]
    assert set(faults) == set(FAULTS) and all(len(v) == 3 for v in faults.values())
    p = report["progress"]
    assert p["stations_done"] == 60
    # 60 first batches less 3 broken and 3 revoked, plus 3 corrections.
    assert (p["accepted"], p["rejected"], p["refused"], p["conflicts"]) == (57, 3, 3, 0)
    assert p["dropped"] == 3 and p["identical_receipts"] == 6 and p["corrections"] == 3
    # Progress lines were printed while it ran.
    assert "sent" in result.stdout and "accepted" in result.stdout

    batch_kinds = {"batch_accepted", "correction", "batch_rejected", "conflict"}
    per_station: dict[str, Counter[str]] = {}
    for entry in server.ledger():
        if entry["kind"] in batch_kinds:
            per_station.setdefault(entry["station"], Counter())[entry["kind"]] += 1
    for station in faults["drop"] + faults["duplicate"]:
        # A lost answer and a duplicate are the same batch again: recorded once.
        assert sum(per_station[station].values()) == per_station[station]["batch_accepted"]
        assert per_station[station]["batch_accepted"] == 1
    for station in faults["correction"]:
        assert per_station[station] == Counter({"batch_accepted": 1, "correction": 1})
    for station in faults["errors"]:
        assert per_station[station]["batch_rejected"] == 1
        assert per_station[station]["batch_accepted"] == 0
    progress = server.json("/api/v1/progress")
    assert (progress["batches"]["accepted"], progress["batches"]["corrections"]) == (57, 3)
    assert progress["batches"]["conflicts"] == 0
    assert progress["overall"]["areas_reported"] == 54


async def test_the_importable_core_paces_and_reports_progress(
    server: ServerProcess, election_file: Path
) -> None:
    seen: list[Progress] = []
    election = Election.from_definition(bundled_election())
    started = time.monotonic()
    report = await simulate(
        SimulationConfig(
            server_url=server.url,
            admin_token=server.token,
            election=election,
            first=100,
            stations=12,
            rate=30.0,
            concurrency=4,
        ),
        progress=seen.append,
        interval=0.1,
    )
    elapsed = time.monotonic() - started
    assert report.ok, report.unexpected
    assert report.progress.accepted == 12 and report.progress.sent == 12
    assert elapsed >= 11 / 30.0  # 12 batches at 30 a second
    assert len(seen) >= 2 and seen[-1].stations_done == 12
    area = election.definition.polling_areas[100].id
    status, body = await asyncio.to_thread(server.request, "GET", f"/api/v1/polling-areas/{area}")
    assert status == 200 and area in body.decode()
