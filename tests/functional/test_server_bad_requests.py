"""Malformed requests get a 4xx that names what to fix, never a 500 or a hang: numbers
past SQLite's range, negative offsets, unknown enum values, a token that is not text,
JSON nested 100,000 deep, a body that is not the encoding it claims, one that never
finishes. Over the real app and raw sockets where a client library would refuse to
send such bytes."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient
from serverkit import ServerFolder, Station

from tally_server.web import create_app
from tally_server.web.limits import INT64_MAX, MAX_DEPTH, json_depth

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]
HUGE = "99999999999999999999"


@pytest.fixture
async def client(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> Client:
    return await aiohttp_client(create_app(server_folder.path))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refusal(resp: Any, status: int = 400) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    error: dict[str, Any] = (await resp.json())["error"]
    assert error["message_vi"] and error["message_en"]
    return error


async def raw(client: Client, data: bytes, wait: float = 10.0) -> bytes:
    """Send bytes as they are; what the server answers until it closes."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), wait)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("path", "field", "bounds"),
    [
        (f"/api/v1/alerts?after={HUGE}", "after", (0, INT64_MAX)),
        ("/api/v1/alerts?after=-1", "after", (0, INT64_MAX)),
        ("/api/v1/alerts?limit=-1e20", "limit", (1, 10_000)),
        ("/api/v1/alerts?limit=-5", "limit", (1, 10_000)),
        ("/api/v1/alerts?limit=10001", "limit", (1, 10_000)),
        ("/api/v1/alerts?limit=%EF%BC%95", "limit", (1, 10_000)),  # a full-width 5
        ("/api/v1/alerts?limit=1_0", "limit", (1, 10_000)),
        (f"/api/v1/ledger?since=-{HUGE}", "since", (0, INT64_MAX)),
        ("/api/v1/ledger?since=-1", "since", (0, INT64_MAX)),
        ("/api/v1/ledger?since=", "since", (0, INT64_MAX)),
    ],
)
async def test_numbers_out_of_bounds_are_refused_with_the_bounds(
    client: Client, server_folder: ServerFolder, path: str, field: str, bounds: tuple[int, int]
) -> None:
    resp = await client.get(path, headers=bearer(server_folder.token("operator")))
    error = await refusal(resp)
    assert error["code"] == "A400" and error["fields"] == [field]
    assert (error["figures"]["min"], error["figures"]["max"]) == bounds
    assert f"from {bounds[0]} to {bounds[1]}" in error["message_en"]


async def test_an_alert_id_past_sqlites_range_is_refused(
    client: Client, server_folder: ServerFolder
) -> None:
    admin = bearer(server_folder.token("admin"))
    for alert_id in (HUGE, "0", "-3", "1e3"):
        resp = await client.post(f"/api/v1/alerts/{alert_id}/review", json={}, headers=admin)
        error = await refusal(resp)
        assert error["fields"] == ["alert_id"] and error["figures"]["value"] == alert_id
    resp = await client.post(f"/api/v1/alerts/{INT64_MAX}/review", json={}, headers=admin)
    assert (await refusal(resp, 404))["code"] == "A404"


@pytest.mark.parametrize(
    ("path", "field", "allowed"),
    [
        ("/api/v1/alerts?kind=nope", "kind", "conflict, rejected, correction, warning"),
        ("/api/v1/alerts?reviewed=yes", "reviewed", "true, false"),
        ("/api/v1/constituencies?status=won", "status", "no_results, partial, elected"),
        ("/api/v1/constituencies/QH/QH-01?round=final", "round", "main, revote, supplementary"),
    ],
)
async def test_unknown_enum_values_are_refused_with_the_allowed_ones(
    client: Client, server_folder: ServerFolder, path: str, field: str, allowed: str
) -> None:
    resp = await client.get(path, headers=bearer(server_folder.token("operator")))
    error = await refusal(resp)
    assert error["fields"] == [field]
    assert error["figures"]["allowed"].startswith(allowed)
    assert allowed in error["message_en"] and allowed in error["message_vi"]


async def test_a_parameter_given_twice_is_refused(
    client: Client, server_folder: ServerFolder
) -> None:
    resp = await client.get(
        "/api/v1/alerts?limit=5&limit=6", headers=bearer(server_folder.token("operator"))
    )
    error = await refusal(resp)
    assert error["fields"] == ["limit"] and error["figures"]["count"] == 2


async def test_a_ledger_read_in_bounds_still_streams(
    client: Client, server_folder: ServerFolder
) -> None:
    viewer = bearer(server_folder.token("viewer"))
    whole = await client.get("/api/v1/ledger", headers=viewer)
    lines = (await whole.read()).splitlines()
    assert len(lines) >= 2  # genesis and the enrolment
    tail = await client.get("/api/v1/ledger?since=1", headers=viewer)
    assert (await tail.read()).splitlines() == lines[1:]
    past = await client.get(f"/api/v1/ledger?since={INT64_MAX}", headers=viewer)
    assert past.status == 200 and await past.read() == b""


@pytest.mark.parametrize("path", ["/api/v1/stations", "/api/v1/progress", "/api/v1/alerts"])
async def test_a_token_that_is_not_text_is_refused_not_a_500(client: Client, path: str) -> None:
    answer = await raw(
        client,
        f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + b"Authorization: Bearer kpt_\xff\xfe\xc3\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    error = json.loads(body)["error"]
    assert error["code"] == "A400" and error["fields"] == ["Authorization"]


async def test_json_nested_deep_is_refused_before_parsing(
    client: Client, server_folder: ServerFolder
) -> None:
    admin = bearer(server_folder.token("admin"))
    deep = b"[" * 100_000 + b"]" * 100_000
    for path, body in (
        ("/api/v1/stations", deep),
        ("/api/v1/alerts/1/review", b'{"note": ' + deep + b"}"),
    ):
        resp = await client.post(path, data=body, headers=admin)
        error = await refusal(resp)
        assert error["fields"] == ["body"]
        assert error["figures"]["max_depth"] == MAX_DEPTH
        assert error["figures"]["depth"] >= 100_000
    # As deep as allowed is read (and refused only for what it holds).
    ok = b'{"station_id": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    error = await refusal(await client.post("/api/v1/stations", data=ok, headers=admin))
    assert error["fields"] == ["station_id"]


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{"}], "c\\"[": []}') == 3
    assert json_depth(b"[[]][[[]]]") == 3
    assert json_depth(b'"unclosed [[[[') == 0
    assert json_depth(b"  12 ") == 0
    # Escaped quotes everywhere: still one pass (no quadratic rescans).
    nasty = b'"' + b'\\"' * 120_000
    started = time.perf_counter()
    assert json_depth(nasty + b"[" * 40) == 0
    assert time.perf_counter() - started < 1.0


async def test_a_body_that_is_not_the_encoding_it_claims_is_a_400(
    client: Client, station: Station
) -> None:
    envelope = station.envelope(1)
    for encoding in ("gzip", "deflate"):
        resp = await client.post(
            "/api/v1/batches", data=envelope, headers={"Content-Encoding": encoding}
        )
        error = await refusal(resp)
        assert error["code"] == "A400" and error["fields"] == ["Content-Encoding"]
        assert error["figures"]["content_encoding"] == encoding
    # Compressed for real, the batch goes in.
    resp = await client.post(
        "/api/v1/batches", data=gzip.compress(envelope), headers={"Content-Encoding": "gzip"}
    )
    assert resp.status == 200, await resp.text()


async def test_the_feed_refuses_bad_since_and_token_before_the_upgrade(
    client: Client, server_folder: ServerFolder
) -> None:
    viewer = server_folder.token("viewer")
    for query, status in (
        (f"since=-{HUGE}&token={viewer}", 400),
        (f"since=-1&token={viewer}", 400),
        (f"since=abc&token={viewer}", 400),
        ("token=%FF%FE", 400),
        ("token=kpt_nope", 401),
    ):
        with pytest.raises(WSServerHandshakeError) as caught:
            await client.ws_connect(f"/api/v1/feed?{query}")
        assert caught.value.status == status, query
    ws = await client.ws_connect(f"/api/v1/feed?since=0&token={viewer}")
    await ws.close()


async def test_a_body_that_never_finishes_is_answered_408_and_closed(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path, body_timeout=0.5))
    started = time.monotonic()
    answer = await raw(
        client,
        b"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"
        + station.envelope(1)[:100],
    )
    took = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert json.loads(body)["error"]["code"] == "H408"
    assert 0.5 <= took < 5.0
    # Nothing of it was stored; the whole batch still goes in.
    resp = await client.post("/api/v1/batches", data=station.envelope(1))
    assert resp.status == 200
