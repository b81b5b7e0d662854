"""Receipts shown back to the server, and the cheap look at the ledger's hashes.

A station shows a receipt when its entry is gone (a restored backup): the
server records it once, raises the alert, never hands that index out again,
and `tally-server verify` replays the evidence.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from serverkit import ServerFolder, Station, run_verify, verify_json

from schemas import codec
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, SigningKey, open_envelope, seal
from tally_server.store import db
from tally_server.web import create_app

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


def receipt_of(body: bytes) -> Receipt:
    return codec.decode(open_envelope(body, RECEIPT_TYPE).payload, Receipt)


async def send(client: Client, body: bytes) -> tuple[int, bytes]:
    resp = await client.post("/api/v1/batches", data=body)
    return resp.status, await resp.read()


async def show(client: Client, body: bytes) -> tuple[int, Any]:
    resp = await client.post("/api/v1/receipts", data=body)
    return resp.status, await resp.json()


async def hashes(client: Client, at: str) -> tuple[int, Any]:
    resp = await client.get("/api/v1/ledger/hashes", params={"at": at})
    return resp.status, await resp.json()


def entries(folder: Path) -> list[dict[str, Any]]:
    conn = db.connect(folder / "tally.db", readonly=True)
    try:
        return [json.loads(e.export_line()) for e in db.ledger_entries(conn)]
    finally:
        conn.close()


def export(folder: Path, out: Path) -> Path:
    out.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in entries(folder)))
    return out


async def test_a_held_receipt_is_answered_held_and_the_hashes_match_it(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    status, body = await send(client, station.envelope(1))
    assert status == 200
    r = receipt_of(body)
    before = len(entries(server_folder.path))

    assert await show(client, body) == (
        200,
        {"held": True, "ledger_index": r.ledger_index, "ledger_head": r.ledger_head},
    )
    status, answer = await hashes(client, f"{r.ledger_index},0,{r.ledger_index + 5}")
    assert status == 200
    assert answer["head_index"] == r.ledger_index and answer["head"] == r.ledger_head
    assert {e["index"]: e["hash"] for e in answer["entries"]}[r.ledger_index] == r.ledger_head
    assert {e["index"]: e["hash"] for e in answer["entries"]}[r.ledger_index + 5] is None
    assert len(entries(server_folder.path)) == before  # showing adds nothing


async def test_what_is_not_a_receipt_of_this_server_is_refused_and_not_recorded(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    _, body = await send(client, station.envelope(1))
    before = len(entries(server_folder.path))
    payload = open_envelope(body, RECEIPT_TYPE).payload
    for forged in (
        seal(SigningKey.generate(), RECEIPT_TYPE, payload),  # another key
        station.envelope(2),  # a batch, not a receipt
        b"not json",
    ):
        status, answer = await show(client, forged)
        assert status == 422 and answer["error"]["code"] == "L401", answer
    for bad in ("", "x", "1,-2", ",".join(str(i) for i in range(65)), "9" * 16):
        status, answer = await hashes(client, bad)
        assert status == 400 and answer["error"]["fields"] == ["at"], (bad, answer)
    assert len(entries(server_folder.path)) == before
    operator = server_folder.token("operator")
    resp = await client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {operator}"})
    assert (await resp.json())["alerts"] == []


async def test_a_receipt_the_restored_ledger_lost_is_recorded_once_and_its_index_not_reused(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station, tmp_path: Path
) -> None:
    other = server_folder.enroll("KV-02")
    client = await aiohttp_client(create_app(server_folder.path))
    _, kept = await send(client, station.envelope(1))
    copy = sqlite3.connect(tmp_path / "backup.db")
    live = sqlite3.connect(server_folder.path / "tally.db")
    live.backup(copy)
    live.close()
    copy.close()
    status, lost = await send(client, other.envelope(1))
    assert status == 200
    k = receipt_of(lost).ledger_index
    await client.close()

    for name in ("tally.db", "tally.db-wal", "tally.db-shm"):
        (server_folder.path / name).unlink(missing_ok=True)
    (server_folder.path / "tally.db").write_bytes((tmp_path / "backup.db").read_bytes())
    client = await aiohttp_client(create_app(server_folder.path))
    head = entries(server_folder.path)[-1]["index"]
    assert head < k

    status, answer = await show(client, lost)
    assert status == 201, answer
    assert answer["held"] is False and answer["held_hash"] is None
    assert answer["evidence_index"] == k + 1  # past the index the receipt names
    assert answer["message_vi"] == "Máy chủ không còn giữ kết quả đã xác nhận"
    # Shown again (the station retrying): the same evidence, nothing new.
    assert await show(client, lost) == (200, answer)
    assert (await show(client, kept))[1]["held"] is True
    operator = server_folder.token("operator")
    resp = await client.get(
        "/api/v1/alerts",
        params={"kind": "rollback_detected"},
        headers={"Authorization": f"Bearer {operator}"},
    )
    [alert] = (await resp.json())["alerts"]
    assert alert["id"] == answer["alert_id"] and alert["station_id"] == "KV-02"
    assert alert["ledger_index"] == k + 1 and alert["codes"] == ["L409"]
    assert alert["data"]["receipt_ledger_index"] == k

    # The same batch again: accepted at a new index; the one shown stays unused.
    status, again = await send(client, other.envelope(1))
    assert status == 200 and receipt_of(again).ledger_index == k + 2
    _, answer = await hashes(client, f"{k},{k + 1}")
    assert [e["hash"] is None for e in answer["entries"]] == [True, False]
    await client.close()

    ledger = export(server_folder.path, tmp_path / "ledger.jsonl")
    report = verify_json(ledger, server_folder.election_path)
    assert report["kinds"]["rollback_detected"] == 1 and report["batches_accepted"] == 2
    assert report["head_index"] == k + 2

    # The evidence is checked, not trusted: a receipt no longer the server's is refused.
    lines = ledger.read_bytes().splitlines()
    at = next(i for i, line in enumerate(lines) if b'"rollback_detected"' in line)
    e = json.loads(lines[at])
    shown = json.loads(base64.b64decode(e["envelope"]))
    sig = base64.b64decode(shown["signatures"][0]["sig"])
    shown["signatures"][0]["sig"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    e["envelope"] = base64.b64encode(json.dumps(shown).encode()).decode()
    lines[at] = json.dumps(e).encode()
    ledger.write_bytes(b"\n".join(lines) + b"\n")
    done = run_verify(str(ledger), "--election", str(server_folder.election_path), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_entry"]["code"] == "V140"
