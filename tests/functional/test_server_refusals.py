"""Envelopes anyone can send: what a refusal before a valid signature costs the server.

The ledger keeps a digest, the size and the key id of such an envelope, not its
bytes; past a rate per source address and per key id they are answered 429 and
not recorded at all; their alerts coalesce into one with a count. A station whose
signature holds is never held back by any of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from serverkit import ServerFolder, Station

from schemas.signing import BATCH_TYPE, RECEIPT_TYPE, seal
from tally_server.service.limits import RefusalLimiter
from tally_server.web import create_app
from tally_server.web.keys import INGEST
from tally_server.web.statuses import STATUS

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


class Clock:
    """The limiter's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def junk(size: int = 190_000, keyid: str = "JUNK-JUNK-JUNK-JUNK") -> bytes:
    """A big random payload under an unknown key id with a random signature."""
    payload = base64.b64encode(os.urandom(size)).decode()
    sig = base64.b64encode(os.urandom(64)).decode()
    return json.dumps(
        {
            "payloadType": BATCH_TYPE,
            "payload": payload,
            "signatures": [{"keyid": keyid, "sig": sig}],
        }
    ).encode()


async def ledger(client: Client, folder: ServerFolder) -> list[dict[str, Any]]:
    token = folder.token("viewer")
    resp = await client.get("/api/v1/ledger", headers={"Authorization": f"Bearer {token}"})
    return [json.loads(line) for line in (await resp.read()).splitlines()]


async def rejected_alerts(client: Client, folder: ServerFolder) -> list[dict[str, Any]]:
    token = folder.token("operator")
    resp = await client.get(
        "/api/v1/alerts?kind=rejected", headers={"Authorization": f"Bearer {token}"}
    )
    alerts: list[dict[str, Any]] = (await resp.json())["alerts"]
    return alerts


def with_signature(envelope: bytes, keyid: str, sig: bytes) -> bytes:
    data = json.loads(envelope)
    data["signatures"] = [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}]
    return json.dumps(data).encode()


REFUSALS: dict[str, Callable[[Station], tuple[bytes, str, str]]] = {
    "unknown key, 190 KB of random bytes": lambda s: (junk(), "K401", ""),
    "random signature under an enrolled key id": lambda s: (
        with_signature(s.envelope(1), s.fingerprint, os.urandom(64)),
        "S201",
        "KV-01",
    ),
    "signed as a receipt": lambda s: (seal(s.key, RECEIPT_TYPE, s.payload(1)), "S202", ""),
    "signature cut short": lambda s: (
        with_signature(s.envelope(1), s.fingerprint, b"\x01" * 63),
        "S203",
        "",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
async def test_a_refusal_before_a_valid_signature_keeps_a_digest_not_the_bytes(
    name: str, aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    body, code, station_id = REFUSALS[name](station)
    resp = await client.post("/api/v1/batches", data=body)
    assert resp.status == 401
    error = (await resp.json())["error"]
    assert error["code"] == code and error["message_vi"] and error["message_en"]
    entry = (await ledger(client, server_folder))[-1]
    outcome = json.loads(entry["outcome"])
    assert entry["kind"] == "batch_rejected" and entry["envelope"] == ""
    assert entry["station"] == station_id and entry["receipt"] == ""
    assert outcome["code"] == code
    assert outcome["received_sha256"] == hashlib.sha256(body).hexdigest()
    assert outcome["received_bytes"] == len(body)
    assert len(json.dumps(entry)) < 1024, len(json.dumps(entry))


async def test_a_revoked_keys_refusal_names_its_station_and_key(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    admin = {"Authorization": f"Bearer {server_folder.token('admin')}"}
    assert (await client.post("/api/v1/stations/KV-01/revoke", headers=admin)).status == 200
    resp = await client.post("/api/v1/batches", data=station.envelope(1))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "K402"
    entry = (await ledger(client, server_folder))[-1]
    outcome = json.loads(entry["outcome"])
    assert entry["envelope"] == "" and entry["station"] == "KV-01"
    assert (outcome["code"], outcome["keyid"]) == ("K402", station.fingerprint)


async def test_a_key_id_of_control_characters_is_stored_printable() -> None:
    from tally_server.service.decide import shown_keyid

    assert shown_keyid("AB\x00\x1b[2J\u202eCD") == "AB\ufffd\ufffd[2J\ufffdCD"
    assert shown_keyid("e\u0301") == "\u00e9"  # NFC
    assert shown_keyid("x" * 300) == "x" * 63 + "…"


async def test_refusals_past_the_rate_are_429_and_a_genuine_station_still_gets_through(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    clock = Clock()
    limiter = RefusalLimiter(3, 100, clock=clock)
    client = await aiohttp_client(create_app(server_folder.path, limiter=limiter))
    before = len(await ledger(client, server_folder))
    answers = []
    for _ in range(6):
        resp = await client.post("/api/v1/batches", data=junk(20_000))
        answers.append((resp.status, resp.headers.get("Retry-After"), await resp.json()))
    assert [a[0] for a in answers] == [401, 401, 401, 429, 429, 429]
    for _, retry_after, body in answers[3:]:
        assert retry_after is not None and int(retry_after) == 20  # a token every 20 s
        assert body["error"]["code"] == "H429"
        assert body["error"]["figures"] == {"retry_after": 20, "refused_code": "K401"}
        assert "20" in body["error"]["message_vi"] and "20" in body["error"]["message_en"]
    assert len(await ledger(client, server_folder)) == before + 3  # nothing of the 429s

    # The same address, a valid signature: accepted with its receipt.
    resp = await client.post("/api/v1/batches", data=station.envelope(1))
    assert resp.status == 200
    assert json.loads(await resp.read())["payloadType"] == RECEIPT_TYPE

    token = server_folder.token("viewer")
    progress = await (
        await client.get("/api/v1/progress", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert progress["batches"]["throttled"] == 3
    assert progress["batches"]["rejected"] == 3

    clock.now += 20  # one token back
    assert (await client.post("/api/v1/batches", data=junk(1000))).status == 401
    assert (await client.post("/api/v1/batches", data=junk(1000))).status == 429


async def test_a_key_id_is_limited_whatever_the_address(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    clock = Clock()
    client = await aiohttp_client(
        create_app(server_folder.path, limiter=RefusalLimiter(100, 2, clock=clock))
    )
    ingest = client.server.app[INGEST]
    forged = with_signature(station.envelope(1), station.fingerprint, os.urandom(64))
    statuses = [STATUS[(await ingest.submit(forged, f"10.0.0.{i}")).outcome] for i in range(4)]
    assert statuses == [401, 401, 429, 429]
    # Another key id from those addresses is not held back by it.
    assert STATUS[(await ingest.submit(junk(1000), "10.0.0.3")).outcome] == 401
    # Nor the station whose key id was used, signing for real.
    assert STATUS[(await ingest.submit(station.envelope(1), "10.0.0.3")).outcome] == 200


async def test_refused_alerts_of_one_sender_coalesce_with_a_count(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    for _ in range(5):
        assert (await client.post("/api/v1/batches", data=junk(500))).status == 401
    # Another sender and rule: an alert of its own, not buried under the junk.
    forged = with_signature(station.envelope(1), station.fingerprint, os.urandom(64))
    assert (await client.post("/api/v1/batches", data=forged)).status == 401
    entries = await ledger(client, server_folder)
    alerts = await rejected_alerts(client, server_folder)
    assert [(a["station_id"], a["codes"], a["count"]) for a in alerts] == [
        (None, ["K401"], 5),
        ("KV-01", ["S201"], 1),
    ]
    # What each refusal was, and how much it matters: no HTTP status.
    assert [(a["data"]["outcome"], a["data"]["severity"], "http" in a["data"]) for a in alerts] == [
        ("unauthenticated", "error", False),
        ("unauthenticated", "security", False),
    ]
    k401 = alerts[0]
    refusals = [e for e in entries if '"code":"K401"' in e["outcome"]]
    assert k401["ledger_index"] == refusals[0]["index"]
    assert k401["last_ledger_index"] == refusals[-1]["index"]
    assert (k401["at"], k401["last_at"]) == (refusals[0]["time"], refusals[-1]["time"])

    # Reviewed, it is closed: the next refusal opens a new alert.
    token = server_folder.token("operator")
    review = await client.post(
        f"/api/v1/alerts/{k401['id']}/review",
        json={"note": "rác từ mạng ngoài"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert review.status == 200
    assert (await client.post("/api/v1/batches", data=junk(500))).status == 401
    alerts = await rejected_alerts(client, server_folder)
    assert [(a["codes"], a["count"], a["reviewed"]) for a in alerts] == [
        (["K401"], 5, True),
        (["S201"], 1, False),
        (["K401"], 1, False),
    ]


async def test_coalescing_goes_on_the_same_after_a_restart(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    first = await aiohttp_client(create_app(server_folder.path))
    for _ in range(3):
        assert (await first.post("/api/v1/batches", data=junk(500))).status == 401
    await first.close()
    again = await aiohttp_client(create_app(server_folder.path))
    assert (await again.post("/api/v1/batches", data=junk(500))).status == 401
    alerts = await rejected_alerts(again, server_folder)
    assert [(a["codes"], a["count"]) for a in alerts] == [(["K401"], 4)]


async def test_refusals_more_than_the_window_apart_are_separate_alerts(
    server_folder: ServerFolder, station: Station
) -> None:
    """The window is measured in ledger time, so the ledger alone decides it."""
    import datetime as dt

    from tally_server.service.folder import open_folder
    from tally_server.service.ingest import Ingest
    from tally_server.service.journal import COALESCE_WINDOW

    moments = iter(
        dt.datetime(2011, 5, 22, 20, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
        for s in (0, 60, 60 + COALESCE_WINDOW.total_seconds() + 1, 60 + 2 * 60 * 10)
    )
    ingest = Ingest(open_folder(server_folder.path), clock=lambda: next(moments))
    await ingest.start()
    try:
        for i in range(4):
            assert STATUS[(await ingest.submit(junk(100), f"10.0.0.{i}")).outcome] == 401
        counts = [
            r[0] for r in ingest.reader.execute("SELECT count FROM alerts ORDER BY id").fetchall()
        ]
    finally:
        await ingest.close()
    assert counts == [2, 2]
