"""Delivery against the real server over 127.0.0.1, through good and bad links.

One server per module, with an election of many polling areas so each test
has its own station; every check is about that station's batches: what the
server's ledger recorded (and how many times), and what the client shows.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from test_client_netkit import FaultyProxy, ServerProcess, self_signed, start_server

from schemas import BATCH_TYPE, SigningKey, VerifyKey, codec, open_envelope, sha256_hex
from schemas.models import CountingMinutes, ResultBatch
from station_client.receipts import verify_receipt

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"
AREAS = [f"KV-{n:02d}" for n in range(1, 25)]
FAST = ["--timeout", "3", "--give-up-after", "30", "--backoff-base", "0.05", "--backoff-max", "0.3"]


def election_with_many_areas(path: Path) -> Path:
    """The example election with 24 polling areas of KV-01's size."""
    data = json.loads((EXAMPLES / "election.json").read_text(encoding="utf-8"))
    template = data["polling_areas"][0]
    data["polling_areas"] = [
        {**template, "id": a, "name": f"Khu vực bỏ phiếu số {a[3:]}"} for a in AREAS
    ]
    for race in data["races"]:
        for con in race["constituencies"]:
            con["polling_area_ids"] = list(AREAS)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def minutes_for(area: str) -> list[CountingMinutes]:
    data = json.loads((EXAMPLES / "batch.json").read_text(encoding="utf-8"))
    return [
        msgspec.structs.replace(codec.convert(m, CountingMinutes), polling_area_id=area)
        for m in data["minutes"]
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("server")
    running = start_server(work / "srv", election_with_many_areas(work / "election.json"))
    yield running
    running.stop()


_next_area = iter(AREAS)


async def client(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "station_client",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Station:
    def __init__(self, folder: Path, area: str, server: ServerProcess) -> None:
        self.folder, self.area, self.server = folder, area, server

    @property
    def dir(self) -> list[str]:
        return ["--dir", str(self.folder)]

    def write_minutes(self, name: str, records: list[CountingMinutes]) -> Path:
        path = self.folder.parent / name
        path.write_bytes(msgspec.json.encode(records))
        return path

    async def submit(self, records: list[CountingMinutes] | None = None) -> None:
        path = self.write_minutes("m.json", records or minutes_for(self.area))
        rc, out, err = await client("submit", *self.dir, str(path))
        assert rc == 0, out + err

    async def sync(self, *extra: str) -> tuple[int, str, str]:
        return await client("sync", *self.dir, *FAST, *extra)

    async def status(self) -> dict[str, Any]:
        rc, out, err = await client("status", *self.dir, "--json")
        assert rc == 0, err
        data: dict[str, Any] = json.loads(out)
        return data

    def rows(self) -> list[tuple[int, str, bytes, bytes | None, str]]:
        db = sqlite3.connect(self.folder / "outbox.sqlite")
        try:
            return db.execute(
                "SELECT sequence, state, envelope, receipt, digest FROM batches ORDER BY sequence"
            ).fetchall()
        finally:
            db.close()

    async def recorded(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.server.batch_entries, self.area)


async def new_station(
    server: ServerProcess, tmp_path: Path, *, enroll: bool = True, server_key: str | None = None
) -> Station:
    area = next(_next_area)
    folder = tmp_path / area
    rc, out, err = await client(
        "init", "--dir", str(folder), "--station-id", area, "--polling-area", area,
        "--election", str(server.folder / "election.json"), "--server", server.url,
        "--server-key", server_key or str(server.public_key_file),
    )  # fmt: skip
    assert rc == 0, out + err
    if enroll:
        server.enroll(area, area, (folder / "station.pub.pem").read_bytes())
    return Station(folder, area, server)


def payload_digest(envelope_b64: str) -> str:
    return sha256_hex(open_envelope(base64.b64decode(envelope_b64), BATCH_TYPE).payload)


async def test_sync_delivers_and_the_receipt_is_verified_and_shown(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    rc, out, err = await st.sync()
    assert rc == 0, out + err
    assert "ĐÃ NHẬN / ACCEPTED" in out
    [(seq, state, envelope, receipt, digest)] = st.rows()
    assert (seq, state) == (1, "delivered") and receipt is not None
    server_key = VerifyKey.from_pem(server.public_key_file.read_bytes())
    r = verify_receipt(
        receipt, server_key, election_id="vd-2011", station_id=st.area, sequence=1, digest=digest
    )
    [entry] = await st.recorded()
    assert entry["kind"] == "batch_accepted" and entry["index"] == r.ledger_index
    assert base64.b64decode(entry["envelope"]) == envelope
    status = await st.status()
    assert {x["state"] for x in status["races"]} == {"delivered"}
    assert status["batches"][0]["ledger_index"] == r.ledger_index
    rc, text, _ = await client("status", *st.dir)
    assert f"ledger #{r.ledger_index}" in text and r.ledger_head[:12] in text


async def test_a_lost_answer_is_sent_again_and_counted_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    async with FaultyProxy(int(server.url.rsplit(":", 1)[1]), mode="drop_response") as proxy:
        proxy.faults_left = 1
        rc, out, err = await st.sync("--server", proxy.url)
    assert rc == 0, out + err
    assert proxy.dropped == 1
    assert "retrying" in out and "ACCEPTED" in out
    [entry] = await st.recorded()
    [(_, state, envelope, receipt, _)] = st.rows()
    assert state == "delivered"
    # The ledger's receipt for the first (lost) answer is the one the retry got.
    assert base64.b64decode(entry["receipt"]) == receipt
    status, again = await asyncio.to_thread(
        server.request, "POST", "/api/v1/batches", envelope, token=False
    )
    assert (status, again) == (200, receipt)
    area = await asyncio.to_thread(server.json, f"/api/v1/polling-areas/{st.area}")
    assert len(await st.recorded()) == 1
    assert "QH" in json.dumps(area)


async def test_duplicated_requests_are_recorded_once(server: ServerProcess, tmp_path: Path) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    async with FaultyProxy(int(server.url.rsplit(":", 1)[1]), mode="duplicate") as proxy:
        rc, out, err = await st.sync("--server", proxy.url)
        await asyncio.wait_for(proxy.twin_answered.wait(), 10)
    assert rc == 0, out + err
    assert proxy.duplicated >= 1
    entries = await st.recorded()
    assert [e["kind"] for e in entries] == ["batch_accepted"]


async def test_a_slow_link_and_an_answer_that_never_comes(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    async with FaultyProxy(
        int(server.url.rsplit(":", 1)[1]), mode="swallow_response", delay=0.1
    ) as proxy:
        proxy.faults_left = 1
        rc, out, err = await client(
            "sync", *st.dir, "--server", proxy.url, "--timeout", "1", "--backoff-base", "0.05"
        )
    assert rc == 0, out + err
    assert proxy.swallowed == 1
    assert "P303" in out  # the timeout, then the retry
    assert [e["kind"] for e in await st.recorded()] == ["batch_accepted"]


async def test_killed_right_after_signing_then_restarted_delivers_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    path = st.write_minutes("m.json", minutes_for(st.area))
    async with FaultyProxy(int(server.url.rsplit(":", 1)[1]), mode="hold") as proxy:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "station_client", "submit", *st.dir, str(path), "--send",
            "--server", proxy.url, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(proxy.request_seen.wait(), 30)
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert await st.recorded() == []
    [(seq, state, *_)] = st.rows()
    assert (seq, state) == (1, "pending")
    rc, out, err = await st.sync()
    assert rc == 0, out + err
    assert [e["kind"] for e in await st.recorded()] == ["batch_accepted"]


async def test_killed_after_the_server_recorded_then_restarted_delivers_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    async with FaultyProxy(int(server.url.rsplit(":", 1)[1]), mode="swallow_response") as proxy:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "station_client", "sync", *st.dir, "--server", proxy.url,
            "--timeout", "60", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(proxy.answer_held.wait(), 30)
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    [entry] = await st.recorded()  # the server committed before it answered
    [(_, state, _, receipt, _)] = st.rows()
    assert (state, receipt) == ("pending", None)
    rc, out, err = await st.sync()
    assert rc == 0, out + err
    [(_, state, _, receipt, _)] = st.rows()
    assert state == "delivered" and receipt == base64.b64decode(entry["receipt"])
    assert len(await st.recorded()) == 1


async def test_a_stale_sequence_is_shown_and_the_race_can_be_sent_again(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    qh, tp, xa = minutes_for(st.area)
    await st.submit([qh])
    await st.submit([tp])
    # Batch 2 reaches the server first (say, from a backup copy of the folder).
    second = st.rows()[1][2]
    status, _ = await asyncio.to_thread(
        server.request, "POST", "/api/v1/batches", second, token=False
    )
    assert status == 200
    rc, out, err = await st.sync()
    assert rc == 4, out + err
    assert "BỊ TỪ CHỐI / REJECTED (HTTP 422)" in out and "Q410" in out
    states = {r["race_id"]: r["state"] for r in (await st.status())["races"]}
    assert states == {"QH": "rejected", "HDND-TP": "delivered", "HDND-XA": "none"}
    [first] = [b for b in (await st.status())["batches"] if b["sequence"] == 1]
    assert first["findings"][0]["code"] == "Q410"
    assert first["findings"][0]["message_vi"] and first["findings"][0]["message_en"]
    # QH was never accepted: it is entered again, under a new, higher sequence.
    await st.submit([qh, xa])
    rc, out, err = await st.sync()
    assert rc == 0, out + err
    kinds = [e["kind"] for e in await st.recorded()]
    assert sorted(kinds) == ["batch_accepted", "batch_accepted", "batch_rejected"]
    assert [r[0:2] for r in st.rows()] == [(1, "rejected"), (2, "delivered"), (3, "delivered")]


async def test_a_cloned_station_signing_other_figures_is_a_conflict(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    clone = Station(tmp_path / "clone", st.area, server)
    shutil.copytree(st.folder, clone.folder)
    await st.submit()
    assert (await st.sync())[0] == 0
    changed = minutes_for(st.area)
    changed[0] = msgspec.structs.replace(changed[0], complaints=msgspec.structs.replace(
        changed[0].complaints, received=2, resolved=2))  # fmt: skip
    await clone.submit(changed)
    rc, out, err = await clone.sync()
    assert rc == 4, out + err
    assert "XUNG ĐỘT / CONFLICT (HTTP 409)" in out and "Q409" in out
    assert "tell the committee" in out
    assert (await clone.status())["batches"][0]["state"] == "conflict"
    kinds = sorted(e["kind"] for e in await st.recorded())
    assert kinds == ["batch_accepted", "conflict"]


async def test_a_receipt_signed_by_another_key_is_refused(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path, server_key=SigningKey.generate().public.b64)
    await st.submit()
    rc, out, err = await st.sync()
    assert rc == 1, out + err
    assert "P201" in err and "stays pending" in err
    [(_, state, _, receipt, _)] = st.rows()
    assert (state, receipt) == ("pending", None)
    assert "P201" in (await st.status())["batches"][0]["last_error"]


async def test_an_unenrolled_key_is_refused_until_enrolled(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path, enroll=False)
    await st.submit()
    rc, out, err = await st.sync()
    assert rc == 4, out + err
    assert "REFUSED (HTTP 401)" in out
    [batch] = (await st.status())["batches"]
    assert batch["state"] == "refused" and batch["findings"][0]["code"] == "K401"
    server.enroll(st.area, st.area, (st.folder / "station.pub.pem").read_bytes())
    rc, out, _ = await st.sync()  # refused batches wait for --retry-refused
    assert rc == 4 and "--retry-refused" in out
    assert st.rows()[0][1] == "refused"
    rc, out, err = await st.sync("--retry-refused")
    assert rc == 0, out + err
    assert [e["kind"] for e in await st.recorded()] == ["batch_accepted"]


async def test_a_correction_names_what_it_replaces_and_why(
    server: ServerProcess, tmp_path: Path
) -> None:
    st = await new_station(server, tmp_path)
    await st.submit()
    assert (await st.sync())[0] == 0
    qh = minutes_for(st.area)[0]
    votes = dict(qh.candidate_votes, **{"QH-10-4": 454, "QH-10-5": 302})
    fixed = msgspec.structs.replace(
        qh, candidate_votes=votes, explanations={"W208": "Kiểm lại: một phiếu đọc nhầm"}
    )
    path = st.write_minutes("fix.json", [fixed])
    rc, out, err = await client("correct", *st.dir, str(path))
    assert rc == 1 and "P414" in err  # a reason is required
    rc, out, err = await client(
        "correct", *st.dir, str(path), "--reason", "Ban bầu cử yêu cầu kiểm lại", "--send", *FAST
    )
    assert rc == 0, out + err
    rows = st.rows()
    assert [r[1] for r in rows] == ["delivered", "delivered"]
    batch = codec.decode(open_envelope(rows[1][2], BATCH_TYPE).payload, ResultBatch)
    assert batch.sequence == 2 and batch.supersedes == rows[0][4]
    assert batch.reason == "Ban bầu cử yêu cầu kiểm lại"
    assert [e["kind"] for e in await st.recorded()] == ["batch_accepted", "correction"]


async def test_https_with_a_pinned_certificate_or_a_given_ca_only(tmp_path: Path) -> None:
    ca = self_signed(tmp_path, "committee-ca")
    cert, key = self_signed(tmp_path, "server", issuer=ca)
    other, _ = self_signed(tmp_path, "other")
    election = election_with_many_areas(tmp_path / "election.json")
    server = await asyncio.to_thread(start_server, tmp_path / "srv", election, tls=(cert, key))
    server.cafile = ca[0]
    try:
        assert server.url.startswith("https://127.0.0.1:")
        fingerprint = VerifyKey.from_pem(server.public_key_file.read_bytes()).fingerprint
        for area, trust in (
            ("KV-01", ["--server-cert", str(cert)]),
            ("KV-02", ["--ca-file", str(ca[0])]),
        ):  # noqa: E501
            folder = tmp_path / area
            rc, out, err = await client(
                "init", "--dir", str(folder), "--station-id", area, "--polling-area", area,
                "--election", str(election), "--server", server.url, "--fetch-server-key",
                "--server-fingerprint", fingerprint, *trust,
            )  # fmt: skip
            assert rc == 0, out + err
            assert fingerprint in out
            server.enroll(area, area, (folder / "station.pub.pem").read_bytes())
            st = Station(folder, area, server)
            await st.submit()
            rc, out, err = await st.sync()
            assert rc == 0, out + err
        wrong = tmp_path / "wrong"
        rc, out, err = await client(
            "init", "--dir", str(wrong), "--station-id", "KV-03", "--polling-area", "KV-03",
            "--election", str(election), "--server", server.url,
            "--server-key", str(server.public_key_file), "--server-cert", str(other),
        )  # fmt: skip
        assert rc == 0, out + err
        st3 = Station(wrong, "KV-03", server)
        await st3.submit()
        rc, out, err = await client("sync", *st3.dir, "--give-up-after", "1", "--timeout", "2")
        assert rc == 3, out + err
        assert "P302" in out and "pinned" in out
    finally:
        await asyncio.to_thread(server.stop)


async def test_init_refuses_a_server_key_whose_fingerprint_differs(
    server: ServerProcess, tmp_path: Path
) -> None:
    rc, out, err = await client(
        "init", "--dir", str(tmp_path / "x"), "--station-id", "KV-24", "--polling-area", "KV-24",
        "--election", str(server.folder / "election.json"), "--server", server.url,
        "--fetch-server-key", "--server-fingerprint", "1111-2222-3333-4444-5555-6666",
    )  # fmt: skip
    assert rc == 1 and "P111" in err and "1111-2222-3333-4444-5555-6666" in err
    assert not (tmp_path / "x" / "station.key.pem").exists()


# A watcher started from a script in the background inherits SIGINT ignored; it
# must still stop on SIGINT (and on SIGTERM), and promptly.
_IGNORING_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


@pytest.mark.parametrize(
    ("stop", "inherited_ignore"),
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["sigint", "sigint-inherited-ignored", "sigterm"],
)
async def test_watch_sends_each_batch_once_signed(
    server: ServerProcess, tmp_path: Path, stop: signal.Signals, inherited_ignore: bool
) -> None:
    st = await new_station(server, tmp_path)
    launch = [sys.executable, "-c", _IGNORING_SIGINT] if inherited_ignore else [sys.executable]
    proc = await asyncio.create_subprocess_exec(
        *launch, "-m", "station_client", "sync", *st.dir, "--watch", "--interval", "0.2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        qh, tp, _ = minutes_for(st.area)
        await st.submit([qh])
        await st.submit([tp])
        for _ in range(100):
            if [r[1] for r in st.rows()] == ["delivered", "delivered"]:
                break
            await asyncio.sleep(0.1)
    finally:
        proc.send_signal(stop)
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert [r[1] for r in st.rows()] == ["delivered", "delivered"]
    assert out.decode().count("ĐÃ NHẬN / ACCEPTED") == 2
    assert "stopped; unsent batches stay queued" in out.decode()
    assert [e["kind"] for e in await st.recorded()] == ["batch_accepted", "batch_accepted"]
