"""The read API, roles, the feed, restarts and the OpenAPI document, over the real app."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from serverkit import ServerFolder, Station, example_minutes

from schemas import codec
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, VerifyKey, open_envelope
from tally_server.web import create_app
from tally_server.web.openapi import document

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> Client:
    return await aiohttp_client(create_app(server_folder.path))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(client: Client, path: str, token: str | None = None) -> Any:
    resp = await client.get(path, headers=bearer(token) if token else {})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def send(client: Client, body: bytes) -> tuple[int, bytes]:
    resp = await client.post("/api/v1/batches", data=body)
    return resp.status, await resp.read()


async def report_all(client: Client, folder: ServerFolder, station: Station) -> None:
    """KV-01 (already enrolled), KV-02 and KV-03 report every race."""
    admin = folder.token("admin")
    assert (await send(client, station.envelope(1)))[0] == 200
    for area in ("KV-02", "KV-03"):
        other = folder.new_station(area)
        resp = await client.post(
            "/api/v1/stations",
            json={
                "station_id": area,
                "polling_area_id": area,
                "public_key": other.key.public.b64,
                "fingerprint": other.fingerprint,
            },
            headers=bearer(admin),
        )
        assert resp.status == 201
        assert (await send(client, other.envelope(1)))[0] == 200


async def test_progress_constituencies_and_results_follow_the_batches(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    viewer = server_folder.token("viewer")
    before = await get_json(client, "/api/v1/progress", viewer)
    assert before["overall"]["areas_reported"] == 0
    assert before["stations"] == {"enrolled": 1, "reporting": 0, "silent": 1}

    await report_all(client, server_folder, station)

    progress = await get_json(client, "/api/v1/progress", viewer)
    assert progress["overall"]["areas_reported"] == progress["overall"]["areas_total"] == 3
    assert progress["batches"]["accepted"] == 3
    assert [r["race_id"] for r in progress["races"]] == ["QH", "HDND-TP", "HDND-XA"]
    assert {c["committee_id"] for c in progress["committees"]} == {
        "HDBCQG",
        "UBBC-HCM",
        "UBBC-TTH",
    }
    assert progress["stations"] == {"enrolled": 3, "reporting": 3, "silent": 0}

    # the bytes sent are those of the record (the feed's form), encoded whole
    from tally_server.service.views import progress as progress_doc
    from tally_server.web.keys import INGEST

    assert client.app is not None
    ingest = client.app[INGEST]
    resp = await client.get("/api/v1/progress", headers=bearer(viewer))
    assert await resp.read() == msgspec.json.encode(progress_doc(ingest))

    listing = await get_json(client, "/api/v1/constituencies?race=QH", viewer)
    [qh] = listing["constituencies"]
    assert qh["areas_reported"] == 3 and qh["status"] != "partial"
    assert len(qh["winners"]) == qh["seats_filled"]
    under_hcm = await get_json(client, "/api/v1/constituencies?committee=UBBC-HCM", viewer)
    # the commune committee sits under the city's
    assert len(under_hcm["constituencies"]) == 3
    one = await get_json(client, "/api/v1/constituencies/QH/QH-10", viewer)
    assert one["reported_area_ids"] == ["KV-01", "KV-02", "KV-03"]
    assert sum(c["votes"] for c in one["candidates"]) > 0
    assert all(isinstance(c["pct"], str) for c in one["candidates"])

    results = await get_json(client, "/api/v1/results.json", viewer)
    ledger = (
        await (await client.get("/api/v1/ledger", headers=bearer(viewer))).read()
    ).splitlines()
    assert results["ledger_head"] == json.loads(ledger[-1])["hash"]
    assert results["ledger_index"] == len(ledger) - 1
    from tally_server.core.definition import load_election
    from tally_server.core.fasttally import tally_from_scratch
    from tally_server.core.tally import results_digest

    election = load_election(server_folder.election_path)
    minutes = example_minutes("KV-01") + example_minutes("KV-02") + example_minutes("KV-03")
    expected = results_digest(tally_from_scratch(election, minutes).results())
    assert results["results_sha256"] == expected

    resp = await client.get("/api/v1/results.csv", headers=bearer(viewer))
    assert resp.headers["X-Results-Sha256"] == expected
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    qh_votes = {r["candidate_id"]: int(r["votes"]) for r in rows if r["race_id"] == "QH"}
    assert qh_votes == {c["id"]: c["votes"] for c in one["candidates"]}


async def test_unknown_things_are_404_with_a_code(
    client: Client, server_folder: ServerFolder
) -> None:
    viewer = server_folder.token("viewer")
    for path in ("/api/v1/constituencies/QH/NOPE", "/api/v1/polling-areas/NOPE", "/api/v1/nope"):
        resp = await client.get(path, headers=bearer(viewer))
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "A404"


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/api/v1/progress", "viewer"),
        ("GET", "/api/v1/ledger", "viewer"),
        ("GET", "/api/v1/alerts", "operator"),
        ("GET", "/api/v1/stations", "operator"),
        ("POST", "/api/v1/stations/KV-01/revoke", "admin"),
    ],
)
async def test_roles_are_ordered_viewer_operator_admin(
    client: Client, server_folder: ServerFolder, method: str, path: str, needed: str
) -> None:
    roles = ["viewer", "operator", "admin"]
    resp = await client.request(method, path)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "A401"
    resp = await client.request(method, path, headers=bearer("kpt_not-a-token"))
    assert resp.status == 401
    for role in roles:
        resp = await client.request(method, path, headers=bearer(server_folder.token(role)))
        if roles.index(role) < roles.index(needed):
            assert resp.status == 403, role
            assert (await resp.json())["error"]["code"] == "A403"
        else:
            assert resp.status == 200, (role, await resp.text())


async def test_a_revoked_token_no_longer_opens_anything(
    client: Client, server_folder: ServerFolder
) -> None:
    from tally_server.service.folder import open_folder
    from tally_server.store import tokens

    secret = server_folder.token("admin")
    assert (await client.get("/api/v1/stations", headers=bearer(secret))).status == 200
    conn = open_folder(server_folder.path).connect()
    token = tokens.lookup(conn, secret)
    assert token is not None and tokens.revoke(conn, token.id)
    conn.close()
    assert (await client.get("/api/v1/stations", headers=bearer(secret))).status == 401


async def test_an_expired_token_is_refused_saying_when(
    client: Client, server_folder: ServerFolder
) -> None:
    import datetime as dt

    from tally_server.service.folder import open_folder
    from tally_server.store import tokens

    conn = open_folder(server_folder.path).connect()
    try:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        live, live_secret = tokens.create(conn, "admin", "ca ngày", soon)
        _, old_secret = tokens.create(conn, "admin", "ca đêm", dt.datetime(2011, 5, 25, 17))
    finally:
        conn.close()
    assert live.expires_at == soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await client.get("/api/v1/stations", headers=bearer(live_secret))).status == 200
    for resp in (
        await client.get("/api/v1/stations", headers=bearer(old_secret)),
        await client.get("/api/v1/progress", headers=bearer(old_secret)),
        await client.get(f"/api/v1/feed?token={old_secret}"),
    ):
        assert resp.status == 401
        error = (await resp.json())["error"]
        assert error["code"] == "A402"
        assert error["figures"]["expired_at"] == "2011-05-25T17:00:00Z"
        assert (
            "expired at 2011-05-25T17:00:00Z (26/05/2011 00:00 Vietnam time)"
            in (error["message_en"])
        )
        assert "đã hết hạn lúc 00:00 26/05/2011 (giờ Việt Nam)" in error["message_vi"]


async def test_the_ledger_names_the_token_that_enrolled_revoked_and_reviewed(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    """By its name and public id: never the secret nor its hash."""
    import sqlite3

    chair = server_folder.token("admin", "Chủ tịch UBBC")
    duty = server_folder.token("operator", "Trực ban")
    kv2 = server_folder.new_station("KV-02")
    body = {"station_id": "KV-02", "polling_area_id": "KV-02", "public_key": kv2.key.public.b64}
    assert (await client.post("/api/v1/stations", json=body, headers=bearer(chair))).status == 201
    revoked = await client.post("/api/v1/stations/KV-02/revoke", headers=bearer(chair))
    assert revoked.status == 200
    await send(client, station.envelope(1))
    await send(client, station.envelope(1, created_at="2011-05-22T21:00:00Z"))  # conflict
    [alert] = (await get_json(client, "/api/v1/alerts?kind=conflict", duty))["alerts"]
    review = await client.post(
        f"/api/v1/alerts/{alert['id']}/review", json={"note": "đã gọi"}, headers=bearer(duty)
    )
    assert review.status == 200
    conn = sqlite3.connect(server_folder.path / "tally.db")
    ids = dict(conn.execute("SELECT name, id FROM tokens").fetchall())
    hashes = [h for (h,) in conn.execute("SELECT hash FROM tokens")]
    conn.close()
    raw = await (await client.get("/api/v1/ledger", headers=bearer(duty))).read()
    chair_id, duty_id = ids["Chủ tịch UBBC"], ids["Trực ban"]
    who = [
        (e["kind"], e["station"], json.loads(e["outcome"]).get("by"))
        for e in map(json.loads, raw.splitlines())
        if e["kind"] in ("station_enrolled", "station_revoked", "alert_reviewed")
    ]
    assert who == [
        ("station_enrolled", "KV-01", "cli:tests"),  # the fixture's, offline
        ("station_enrolled", "KV-02", f"Chủ tịch UBBC#{chair_id}"),
        ("station_revoked", "KV-02", f"Chủ tịch UBBC#{chair_id}"),
        ("alert_reviewed", "", f"Trực ban#{duty_id}"),
    ]
    text = raw.decode()
    assert chair not in text and duty not in text
    assert not any(h in text for h in hashes)


async def test_public_mode_opens_reads_only(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path, public=True))
    for path in (
        "/api/v1/progress",
        "/api/v1/constituencies",
        "/api/v1/results.json",
        "/api/v1/ledger",
        "/api/v1/alerts",
        "/api/v1/polling-areas/KV-01",
    ):
        assert (await client.get(path)).status == 200, path
    assert (await client.get("/api/v1/stations")).status == 401
    resp = await client.post(
        "/api/v1/stations",
        json={"station_id": "X", "polling_area_id": "KV-02", "public_key": "00" * 32},
    )
    assert resp.status == 401
    assert (await client.post("/api/v1/alerts/1/review", json={})).status == 401


async def test_stations_enrolment_over_the_api(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    admin = server_folder.token("admin")
    other = server_folder.new_station("KV-02")
    body = {
        "station_id": "KV-02",
        "polling_area_id": "KV-02",
        "public_key": other.key.public.pem().decode(),
    }
    first = await client.post("/api/v1/stations", json=body, headers=bearer(admin))
    assert first.status == 201
    assert (await first.json())["fingerprint"] == other.fingerprint
    again = await client.post("/api/v1/stations", json=body, headers=bearer(admin))
    assert again.status == 200 and (await again.json())["created"] is False
    # another key for an enrolled station: 409 until the old one is revoked
    third = server_folder.new_station("KV-02")
    body3 = {**body, "public_key": third.key.public.b64}
    assert (await client.post("/api/v1/stations", json=body3, headers=bearer(admin))).status == 409
    # the read-aloud check
    wrong = {**body3, "fingerprint": other.fingerprint}
    resp = await client.post("/api/v1/stations", json=wrong, headers=bearer(admin))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "A409"
    assert (await client.post("/api/v1/stations/KV-02/revoke", headers=bearer(admin))).status == 200
    assert (await client.post("/api/v1/stations", json=body3, headers=bearer(admin))).status == 201
    unknown_area = {
        **body,
        "station_id": "ZZ",
        "polling_area_id": "NOPE",
        "public_key": server_folder.new_station("ZZ").key.public.b64,
    }
    resp = await client.post("/api/v1/stations", json=unknown_area, headers=bearer(admin))
    assert resp.status == 404
    listing = await get_json(client, "/api/v1/stations", admin)
    kv02 = [s for s in listing["stations"] if s["station_id"] == "KV-02"]
    assert [(s["fingerprint"], s["status"]) for s in kv02] == [
        (other.fingerprint, "revoked"),
        (third.fingerprint, "active"),
    ]
    ledger = (await (await client.get("/api/v1/ledger", headers=bearer(admin))).read()).splitlines()
    kinds = [json.loads(line)["kind"] for line in ledger]
    assert kinds == ["ledger_opened"] + ["station_enrolled"] * 2 + [
        "station_revoked",
        "station_enrolled",
    ]


async def test_a_committee_body_with_a_key_given_twice_is_refused(
    client: Client, server_folder: ServerFolder
) -> None:
    """Which station is enrolled must not depend on which of two keys a reader keeps."""
    admin = server_folder.token("admin")
    key = server_folder.new_station("KV-02").key.public.b64
    body = (
        '{"station_id":"KV-02","polling_area_id":"KV-02","polling_area_id":"KV-03",'
        f'"public_key":"{key}"}}'
    ).encode()
    resp = await client.post(
        "/api/v1/stations", data=body, headers={**bearer(admin), "Content-Type": "application/json"}
    )
    error = (await resp.json())["error"]
    assert (resp.status, error["code"], error["figures"]) == (
        400,
        "S101",
        {"key": "polling_area_id", "at": "$"},
    )
    listing = (await get_json(client, "/api/v1/stations", admin))["stations"]
    assert "KV-02" not in {s["station_id"] for s in listing}
    # the weak key of the issue, over the same door: refused with its own code
    weak = {"station_id": "KV-02", "polling_area_id": "KV-02", "public_key": "01" + "0" * 62}
    resp = await client.post("/api/v1/stations", json=weak, headers=bearer(admin))
    assert (resp.status, (await resp.json())["error"]["code"]) == (400, "S320")


async def test_reviewing_an_alert_is_recorded_in_the_ledger(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    operator = server_folder.token("operator", "Trực ban")
    await send(client, station.envelope(1))
    await send(client, station.envelope(1, created_at="2011-05-22T21:00:00Z"))  # conflict
    alerts = await get_json(client, "/api/v1/alerts?reviewed=false", operator)
    [conflict] = [a for a in alerts["alerts"] if a["kind"] == "conflict"]
    resp = await client.post(
        f"/api/v1/alerts/{conflict['id']}/review",
        json={"note": "Máy dự phòng gửi nhầm; đã xác minh qua điện thoại."},
        headers=bearer(operator),
    )
    assert resp.status == 200
    index = (await resp.json())["ledger_index"]
    again = await client.post(
        f"/api/v1/alerts/{conflict['id']}/review", json={}, headers=bearer(operator)
    )
    assert again.status == 409
    reviewed = await get_json(client, "/api/v1/alerts?reviewed=true", operator)
    assert [a["id"] for a in reviewed["alerts"]] == [conflict["id"]]
    assert reviewed["alerts"][0]["review_ledger_index"] == index
    assert reviewed["alerts"][0]["reviewed_by"].startswith("Trực ban#")
    ledger = (
        await (await client.get("/api/v1/ledger", headers=bearer(operator))).read()
    ).splitlines()
    entry = json.loads(ledger[index])
    assert entry["kind"] == "alert_reviewed"
    assert json.loads(entry["outcome"])["alert_id"] == conflict["id"]


async def test_silent_stations_are_listed(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    operator = server_folder.token("operator")
    alerts = await get_json(client, "/api/v1/alerts?kind=silent_station", operator)
    assert [s["station_id"] for s in alerts["silent_stations"]] == ["KV-01"]
    await send(client, station.envelope(1))
    alerts = await get_json(client, "/api/v1/alerts?kind=silent_station", operator)
    assert alerts["silent_stations"] == []


async def test_a_restart_keeps_everything(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path))
    viewer = server_folder.token("viewer")
    first = await send(client, station.envelope(3))
    await send(client, station.envelope(3, created_at="2011-05-22T21:00:00Z"))  # conflict
    before = await get_json(client, "/api/v1/progress", viewer)
    results_before = await get_json(client, "/api/v1/results.json", viewer)
    await client.close()

    client = await aiohttp_client(create_app(server_folder.path))
    after = await get_json(client, "/api/v1/progress", viewer)
    assert after == before
    assert await get_json(client, "/api/v1/results.json", viewer) == results_before
    # the same batch again: the identical receipt, from the stored bytes
    assert await send(client, station.envelope(3)) == first
    # the sequence state survived: an older batch is stale
    stale = await send(client, station.envelope(2))
    assert stale[0] == 422
    opened = open_envelope(stale[1], RECEIPT_TYPE)
    assert [f.code for f in codec.decode(opened.payload, Receipt).findings] == ["Q410"]


async def test_the_feed_streams_events_and_replays_after_a_reconnect(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    viewer = server_folder.token("viewer")
    ws = await client.ws_connect(f"/api/v1/feed?token={viewer}")
    assert (await send(client, station.envelope(1)))[0] == 200
    seen = []
    while not any(e["type"] == "progress" for e in seen):
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == WSMsgType.TEXT
        seen.append(json.loads(msg.data))
    await ws.close()
    assert [e["type"] for e in seen] == ["batch_accepted", "progress"]
    accepted = seen[0]
    assert accepted["data"]["station_id"] == "KV-01" and accepted["data"]["sequence"] == 1
    assert seen[1]["data"]["overall"]["areas_reported"] == 1

    # while disconnected: a conflict (alert) and a correction-free update
    await send(client, station.envelope(1, created_at="2011-05-22T21:00:00Z"))
    await send(client, station.envelope(2))
    ws = await client.ws_connect(f"/api/v1/feed?since={seen[-1]['id']}", headers=bearer(viewer))
    replayed = []
    while len(replayed) < 3:
        msg = await asyncio.wait_for(ws.receive(), 5)
        replayed.append(json.loads(msg.data))
    await ws.close()
    assert [e["type"] for e in replayed] == ["alert", "batch_accepted", "progress"]
    assert [e["id"] for e in replayed] == list(range(seen[-1]["id"] + 1, seen[-1]["id"] + 4))
    assert replayed[0]["data"]["kind"] == "conflict"


async def test_the_feed_needs_a_token_unless_public(client: Client) -> None:
    resp = await client.get("/api/v1/feed")
    assert resp.status == 401


async def test_server_key_and_election_need_no_token(
    client: Client, server_folder: ServerFolder
) -> None:
    key = await get_json(client, "/api/v1/server-key")
    pem = (server_folder.path / "server.pub.pem").read_bytes()
    assert VerifyKey.from_pem(key["pem"].encode()).raw == VerifyKey.from_pem(pem).raw
    assert key["fingerprint"] == VerifyKey.from_pem(pem).fingerprint
    election = await get_json(client, "/api/v1/election")
    assert election["id"] == "vd-2011"


async def test_the_election_served_is_the_one_the_ledger_names(
    aiohttp_client: Callable[..., Awaitable[Client]], server_folder: ServerFolder
) -> None:
    """The canonical definition is served from a file in the folder; a stale or missing
    file is written again from election.json when the folder is opened."""
    import hashlib

    from tally_server.service.folder import CANONICAL_NAME
    from tally_server.store import db

    canonical = server_folder.path / CANONICAL_NAME
    canonical.write_bytes(canonical.read_bytes().replace(b"vd-2011", b"vd-2099"))
    client = await aiohttp_client(create_app(server_folder.path))
    resp = await client.get("/api/v1/election")
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.read()
    conn = db.connect(server_folder.path / "tally.db", readonly=True)
    try:
        (genesis,) = conn.execute("SELECT outcome FROM ledger WHERE idx = 0").fetchone()
    finally:
        conn.close()
    assert hashlib.sha256(body).hexdigest() == json.loads(genesis)["election_sha256"]
    assert json.loads(body)["id"] == "vd-2011"


async def test_every_route_is_in_the_openapi_document_and_nothing_else(client: Client) -> None:
    app = client.server.app
    assert app is not None
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    doc = await get_json(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert registered == documented
    assert doc == document()


def test_docs_api_md_names_every_route() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text("utf-8")
    for path, item in document()["paths"].items():
        for method in item:
            assert f"`{method.upper()} {path}" in text, (method, path)


async def test_station_counts_follow_reports_revocations_and_new_keys(
    aiohttp_client: Callable[..., Awaitable[Client]], server_folder: ServerFolder, station: Station
) -> None:
    """Progress, the alerts and the missing areas count the stations with a key not
    revoked, and which of them have reported, however the keys change between reads."""
    kv02 = server_folder.enroll("KV-02", "KV-02")
    server_folder.enroll("KV-03", "KV-03")
    client = await aiohttp_client(create_app(server_folder.path))
    admin, operator = server_folder.token("admin"), server_folder.token("operator")

    async def counts() -> tuple[tuple[int, int, int], list[str], int, list[str]]:
        s = (await get_json(client, "/api/v1/progress?levels=national", operator))["stations"]
        alerts = await get_json(client, "/api/v1/alerts?kind=silent_station", operator)
        missing = await get_json(client, "/api/v1/missing?limit=1000", operator)
        assert alerts["silent_total"] == s["silent"] == alerts["counts"][-1]["total"]
        return (
            (s["enrolled"], s["reporting"], s["silent"]),
            [a["station_id"] for a in alerts["silent_stations"]],
            missing["silent_total"],
            [a["station_id"] for a in missing["areas"] if a["silent"]],
        )

    assert await counts() == (
        (3, 0, 3),
        ["KV-01", "KV-02", "KV-03"],
        3,
        ["KV-01", "KV-02", "KV-03"],
    )
    assert (await send(client, station.envelope(1)))[0] == 200
    assert await counts() == ((3, 1, 2), ["KV-02", "KV-03"], 2, ["KV-02", "KV-03"])
    # one page of the silent stations, after the first
    page = await get_json(client, "/api/v1/alerts?kind=silent_station&offset=1&limit=1", operator)
    assert [a["station_id"] for a in page["silent_stations"]] == ["KV-03"]

    # KV-01's key is revoked: not enrolled, so neither reporting nor silent
    resp = await client.post("/api/v1/stations/KV-01/revoke", json={}, headers=bearer(admin))
    assert resp.status == 200, await resp.text()
    assert (await counts())[0] == (2, 0, 2)
    # a new key for KV-01: it reported already
    fresh = server_folder.new_station("KV-01", "KV-01")
    resp = await client.post(
        "/api/v1/stations",
        json={
            "station_id": "KV-01",
            "polling_area_id": "KV-01",
            "public_key": fresh.key.public.pem().decode(),
        },
        headers=bearer(admin),
    )
    assert resp.status == 201, await resp.text()
    assert await counts() == ((3, 1, 2), ["KV-02", "KV-03"], 2, ["KV-02", "KV-03"])
    assert (await send(client, kv02.envelope(1)))[0] == 200
    assert await counts() == ((3, 2, 1), ["KV-03"], 1, ["KV-03"])
