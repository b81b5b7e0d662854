"""`tally-server serve --workers N`: batches checked in other processes, one ledger.

Each test runs real server processes on 127.0.0.1. The same envelopes go to a
server with workers and to one without, and their ledgers and results must be
the same: the workers only save the writer work. A worker killed mid-night
costs nothing but speed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import pytest
from serverkit import RunningServer, ServerFolder, Station, example_minutes, verify_json

from schemas import codec
from schemas.signing import BATCH_TYPE, SigningKey, seal
from tally_server.core.definition import Election
from tally_server.core.sample import sample_minutes
from tally_server.demo.election import demo_election
from tally_server.service.folder import init_folder

AREAS = 40


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def start(folder: ServerFolder, log: Path, workers: int) -> RunningServer:
    server = RunningServer(folder, log_path=log, extra_args=["--workers", str(workers)])
    server.tokens = {"admin": folder.token("admin")}
    server.start()
    return server


def ledger_of(server: RunningServer) -> list[dict[str, Any]]:
    status, body = server.request("GET", "/api/v1/ledger", token=server.tokens["admin"])
    assert status == 200
    return [json.loads(line) for line in body.splitlines()]


def results_of(server: RunningServer) -> dict[str, Any]:
    status, body = server.request("GET", "/api/v1/results.json", token=server.tokens["admin"])
    assert status == 200
    doc: dict[str, Any] = json.loads(body)
    return doc


def receipt_digest(body: bytes) -> str:
    receipt = json.loads(base64.b64decode(json.loads(body)["payload"]))
    return str(receipt["batch_digest"])


# -- the same story, told to a server with workers and to one without -------------------------


Story = Callable[[RunningServer], list[tuple[int, str]]]


def story(kv1: Station, kv2: Station, kv3: Station) -> Story:
    """Every kind of answer, in order: what each request got (status, code or "")."""
    stranger = SigningKey.generate()

    def tell(server: RunningServer) -> list[tuple[int, str]]:
        said: list[tuple[int, str]] = []

        def send(body: bytes) -> bytes:
            status, answer = server.request("POST", "/api/v1/batches", body)
            doc = json.loads(answer)
            said.append((status, doc["error"]["code"] if "error" in doc else ""))
            return answer

        send(kv1.envelope(1))
        send(kv1.envelope(1))  # the same bytes again: the same receipt
        # KV-02 is enrolled while the server runs: the workers read its key from disk
        assert server.enroll(kv2)[0] == 201
        odd = example_minutes("KV-02")
        odd[0] = msgspec.structs.replace(odd[0], ballots_issued=odd[0].ballots_issued + 3)
        first = send(kv2.envelope(1, odd))  # accepted with a warning
        send(kv2.envelope(1, created_at="2011-05-22T23:00:00Z"))  # conflict
        send(kv2.envelope(3, reason="Sửa số phiếu phát ra", supersedes=receipt_digest(first)))
        send(kv2.envelope(2))  # older than the last accepted
        assert server.enroll(kv3)[0] == 201
        bad = [
            msgspec.structs.replace(m, invalid_ballots=m.invalid_ballots + 1)
            for m in example_minutes("KV-03")
        ]
        send(kv3.envelope(1, bad))  # the law's arithmetic fails
        send(seal(stranger, BATCH_TYPE, kv3.payload(1)))  # unknown key
        forged = json.loads(kv3.envelope(1))
        forged["signatures"][0]["sig"] = base64.b64encode(bytes(64)).decode()
        send(json.dumps(forged).encode())  # a signature that does not verify
        send(b'{"payloadType": "x"')  # not an envelope
        send(kv3.envelope(1))
        status, _ = server.request(
            "POST", "/api/v1/stations/KV-03/revoke", token=server.tokens["admin"]
        )
        assert status == 200
        send(kv3.envelope(2))  # the key is revoked
        return said

    return tell


@pytest.fixture
def stations(tmp_path: Path) -> tuple[Station, Station, Station]:
    keys = ServerFolder(tmp_path / "keys-only", keys_dir=tmp_path / "keys")
    return keys.new_station("KV-01"), keys.new_station("KV-02"), keys.new_station("KV-03")


def test_workers_answer_and_record_exactly_what_one_process_does(
    tmp_path: Path, stations: tuple[Station, Station, Station]
) -> None:
    kv1, kv2, kv3 = stations
    tell = story(kv1, kv2, kv3)
    told: dict[int, tuple[list[tuple[int, str]], list[dict[str, Any]], dict[str, Any]]] = {}
    for workers in (0, 2):
        path = tmp_path / f"server-{workers}"
        init_folder(path, ServerFolder(path).election_path)
        folder = ServerFolder(path, keys_dir=tmp_path / "keys")
        folder.enroll("KV-01", key=kv1.key)
        server = start(folder, tmp_path / f"server-{workers}.log", workers)
        try:
            if workers:
                assert len(children(server.process.pid)) == workers  # type: ignore[union-attr]
            said = tell(server)
            told[workers] = (said, ledger_of(server), results_of(server))
        finally:
            server.stop()

    alone, with_workers = told[0], told[2]
    assert with_workers[0] == alone[0]
    assert alone[0] == [
        *[(200, ""), (200, ""), (200, ""), (409, ""), (200, ""), (422, ""), (422, "")],
        *[(401, "K401"), (401, "S201"), (400, "S100"), (200, ""), (401, "K402")],
    ]
    # the workers did the work of every envelope but the three with no enrolled key that
    # verifies them (unknown key, forged signature, not an envelope)
    closed = [
        json.loads(line)
        for line in (tmp_path / "server-2.log").read_text().splitlines()
        if '"checkers closed"' in line
    ]
    assert [(c["asked"], c["checked"]) for c in closed] == [(12, 9)]

    def recorded(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        # everything but the time (and so the hash and receipt) and the first entry,
        # which names each folder's own server key
        return [
            (e["index"], e["kind"], e["station"], e["envelope"], e["outcome"]) for e in entries[1:]
        ]

    assert recorded(with_workers[1]) == recorded(alone[1])
    assert with_workers[2]["results_sha256"] == alone[2]["results_sha256"]


# -- many stations at once --------------------------------------------------------------------


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    """A 40-area slice of the bundled sample and one signed batch per area."""
    base = tmp_path_factory.mktemp("night")
    definition = demo_election(AREAS)
    election_path = base / "election.json"
    election_path.write_bytes(codec.encode(definition))
    election = Election.from_definition(definition)
    by_area: dict[str, list[Any]] = {}
    for m in sample_minutes(election, seed=11, warnings=0):
        by_area.setdefault(m.polling_area_id, []).append(m)
    keys = ServerFolder(base / "unused", election_path, base / "keys")
    stations = [keys.new_station(f"TBC-{area}", area) for area in sorted(by_area)]
    envelopes = []
    for st in stations:
        st.election_id = election.id
        envelopes.append(st.envelope(1, by_area[st.polling_area_id]))
    (base / "stations.json").write_text(
        json.dumps([[s.station_id, s.polling_area_id, str(s.key_path)] for s in stations])
    )
    return base, envelopes


def night_server(base: Path, name: str) -> ServerFolder:
    path = base / name
    election_path = base / "election.json"
    init_folder(path, election_path)
    folder = ServerFolder(path, election_path, base / "keys")
    for station_id, area, key_path in json.loads((base / "stations.json").read_text()):
        folder.enroll(station_id, area, key=SigningKey.load(Path(key_path)))
    return folder


@pytest.fixture
def busy(
    night: tuple[Path, list[bytes]], tmp_path: Path
) -> Iterator[tuple[RunningServer, list[bytes]]]:
    base, envelopes = night
    server = start(night_server(base, f"busy-{tmp_path.name}"), tmp_path / "busy.log", 2)
    try:
        yield server, envelopes
    finally:
        server.stop()


def post_all(server: RunningServer, envelopes: list[bytes]) -> list[int]:
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda b: server.request("POST", "/api/v1/batches", b)[0], envelopes))


def test_forty_stations_at_once_give_the_results_one_process_gives(
    busy: tuple[RunningServer, list[bytes]], night: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    server, envelopes = busy
    assert post_all(server, envelopes) == [200] * AREAS
    mine = results_of(server)
    for r in mine["results"]:
        assert r["areas_reported"] == r["areas_total"]
    entries = ledger_of(server)
    assert sorted(e["index"] for e in entries) == list(range(len(entries)))
    export = tmp_path / "ledger.jsonl"
    status, body = server.request("GET", "/api/v1/ledger", token=server.tokens["admin"])
    export.write_bytes(body)
    checked = verify_json(export, night[0] / "election.json")
    assert checked["results_sha256"] == mine["results_sha256"]
    assert checked["batches_accepted"] == AREAS

    base, _ = night
    alone = start(night_server(base, f"alone-{tmp_path.name}"), tmp_path / "alone.log", 0)
    try:
        for body in envelopes:  # one at a time, in another order than the workers saw
            assert alone.request("POST", "/api/v1/batches", body)[0] == 200
        assert results_of(alone)["results_sha256"] == mine["results_sha256"]
    finally:
        alone.stop()


def test_a_killed_worker_costs_speed_not_batches(
    busy: tuple[RunningServer, list[bytes]], tmp_path: Path
) -> None:
    server, envelopes = busy
    assert server.process is not None
    workers = children(server.process.pid)
    assert len(workers) == 2
    assert post_all(server, envelopes[:10]) == [200] * 10
    os.kill(workers[0], signal.SIGKILL)
    assert post_all(server, envelopes[10:25]) == [200] * 15
    os.kill(workers[1], signal.SIGKILL)
    assert post_all(server, envelopes[25:]) == [200] * (AREAS - 25)
    # resent after the workers are gone: the same receipts, nothing recorded twice
    again = [server.request("POST", "/api/v1/batches", b) for b in envelopes[:3]]
    assert [s for s, _ in again] == [200, 200, 200]
    entries = ledger_of(server)
    assert sum(e["kind"] == "batch_accepted" for e in entries) == AREAS
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "checker stopped" not in server.log_path.read_text():
        time.sleep(0.05)
    log = server.log_path.read_text()
    assert log.count("checker stopped") == 2, log[-2000:]
