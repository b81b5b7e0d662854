"""The public's pages: validators and lifetimes on every read answer, and Debian's nginx
with the shipped configuration (deploy/nginx/) keeping them in front of `serve --public`.

What the public and an auditor care about: an answer says which ledger head it shows
and how long it may be kept; asking again with its tag costs the server nothing; a burst
of identical requests reaches the server about once per cache period; the figures move
on within that period after a batch is acknowledged; and the public address serves no
station or committee route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict
from nginxkit import Nginx, NginxError
from serverkit import RunningServer, ServerFolder, Station

from tally_server.web import create_app
from tally_server.web.cache import (
    CLOSED,
    CONSTITUENCY,
    FIXED,
    LIVE,
    NO_STORE,
    PRIVATE,
    RESULTS,
    max_age,
)

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]
MAX_AGE = max_age(LIVE)

# -- the server alone -------------------------------------------------------------------


async def test_every_read_answer_names_its_head_and_how_long_it_may_be_kept(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path, public=True))
    assert (await client.post("/api/v1/batches", data=station.envelope(1))).status == 200
    head = (await client.get("/api/v1/ledger")).headers["X-Ledger-Index"]
    live = [
        "/api/v1/progress",
        "/api/v1/constituencies",
        "/api/v1/polling-areas/KV-01",
        "/api/v1/alerts",
        "/api/v1/missing",
        "/api/v1/ledger",
        "/api/v1/ledger?until=99",  # past the head: still growing
        "/api/v1/ledger/hashes?at=0",
    ]
    # one constituency's page: its own lifetime, tagged by its last change (here the head)
    own = ["/api/v1/constituencies/QH/QH-10"]
    # every result at once: downloaded to keep, not watched
    whole = ["/api/v1/results.json", "/api/v1/results.csv"]
    fixed = ["/api/v1/server-key", "/api/v1/election", "/api/openapi.json"]
    tags = set()
    kinds = [(p, LIVE) for p in live] + [(p, CONSTITUENCY) for p in own]
    kinds += [(p, RESULTS) for p in whole]
    for path, kind in kinds + [(p, FIXED) for p in fixed]:
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Cache-Control"] == kind, path
        tags.add(resp.headers["ETag"])
        if kind != FIXED:  # the entry the answer shows, readable by an observer
            assert resp.headers["ETag"].startswith(f'"{head}-'), (path, resp.headers["ETag"])
    assert len(tags) == len(kinds) + len(fixed)  # each answer its own tag

    # a range wholly below the head never changes: immutable, tagged by its last entry
    closed = await client.get("/api/v1/ledger", params={"since": "0", "until": "1"})
    assert closed.headers["Cache-Control"] == CLOSED
    assert closed.headers["ETag"].startswith('"0-')
    assert len((await closed.read()).splitlines()) == 1

    # errors and writes are kept by no one
    wrong = await client.get("/api/v1/progress", params={"levels": "planet"})
    assert wrong.status == 400 and wrong.headers["Cache-Control"] == NO_STORE
    assert "ETag" not in wrong.headers
    again = await client.post("/api/v1/batches", data=station.envelope(1))
    assert again.headers["Cache-Control"] == NO_STORE


async def test_an_answer_that_needed_a_token_is_kept_by_no_shared_cache(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    viewer = server_folder.token("viewer")
    operator = server_folder.token("operator")
    client = await aiohttp_client(create_app(server_folder.path))  # not --public
    for path, token in [
        ("/api/v1/progress", viewer),
        ("/api/v1/results.json", viewer),
        ("/api/v1/ledger?until=1", viewer),
        ("/api/v1/stations", operator),
    ]:
        resp = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200, path
        assert resp.headers["Cache-Control"] == PRIVATE, path
    refused = await client.get("/api/v1/progress")
    assert refused.status == 401 and refused.headers["Cache-Control"] == NO_STORE
    # what needs no token stays public whoever asks
    key = await client.get("/api/v1/server-key")
    assert key.headers["Cache-Control"] == FIXED


async def test_if_none_match_is_answered_304_until_the_ledger_moves(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    client = await aiohttp_client(create_app(server_folder.path, public=True))
    first = await client.get("/api/v1/progress")
    tag = first.headers["ETag"]
    same = await client.get("/api/v1/progress", headers={"If-None-Match": tag})
    assert same.status == 304 and await same.read() == b""
    assert same.headers["ETag"] == tag and same.headers["Cache-Control"] == LIVE
    # a tag of another page, or of another query, is not this answer's
    other = await client.get("/api/v1/progress?levels=national", headers={"If-None-Match": tag})
    assert other.status == 200
    # a proxy that compressed the answer holds it as weak: still the same answer
    weak = await client.get("/api/v1/progress", headers={"If-None-Match": f'"x", W/{tag}'})
    assert weak.status == 304

    assert (await client.post("/api/v1/batches", data=station.envelope(1))).status == 200
    moved = await client.get("/api/v1/progress", headers={"If-None-Match": tag})
    assert moved.status == 200 and moved.headers["ETag"] != tag
    assert (await moved.json())["batches"]["accepted"] == 1

    # a closed range keeps its tag as the ledger grows
    closed = await client.get("/api/v1/ledger?until=1")
    station2 = server_folder.new_station("KV-02")
    enrolled = await client.post(
        "/api/v1/stations",
        json={
            "station_id": "KV-02",
            "polling_area_id": "KV-02",
            "public_key": station2.key.public.pem().decode(),
        },
        headers={"Authorization": f"Bearer {server_folder.token('admin')}"},
    )
    assert enrolled.status == 201
    kept = await client.get(
        "/api/v1/ledger?until=1", headers={"If-None-Match": closed.headers["ETag"]}
    )
    assert kept.status == 304


# -- nginx in front -----------------------------------------------------------------------


@pytest.fixture
def public_server(
    server_folder: ServerFolder, station: Station, tmp_path: Path
) -> Iterator[RunningServer]:
    server = RunningServer(
        server_folder, public=True, log_path=tmp_path / "server.log", extra_args=["--access-log"]
    )
    server.tokens = {"admin": server_folder.token("admin")}
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(public_server: RunningServer, tmp_path: Path) -> Iterator[Nginx]:
    nginx = Nginx(tmp_path / "nginx", public_server.url.removeprefix("http://"))
    try:
        nginx.start()
    except NginxError as exc:
        pytest.fail(str(exc))  # not a skip: the proxy is part of what ships
    try:
        yield nginx
    finally:
        nginx.stop()


def server_hits(server: RunningServer, path: str, query: str | None = None) -> int:
    """Requests for ``path`` (with ``query``, if given) that reached the server (its
    access log)."""
    count = 0
    for line in server.log_path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        count += (
            event.get("event") == "request"
            and event.get("path") == path
            and query in (None, event.get("query"))
        )
    return count


async def get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    async with session.get(url, headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def test_the_public_reads_through_nginx_from_its_cache(
    proxy: Nginx, public_server: RunningServer, server_folder: ServerFolder, station: Station
) -> None:
    status, _ = public_server.request("POST", "/api/v1/batches", station.envelope(1))
    assert status == 200
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        # the answer and its headers pass through; the second is the cache's
        page = f"{proxy.url}/api/v1/progress"
        head = json.loads(public_server.request("GET", "/api/v1/ledger/hashes?at=0")[1])[
            "head_index"
        ]
        status, first, body = await get(session, page)
        assert status == 200 and first["X-Cache-Status"] == "MISS"
        assert first["Cache-Control"] == LIVE and first["ETag"].startswith(f'"{head}-')
        assert json.loads(body)["batches"]["accepted"] == 1
        status, second, again = await get(session, page)
        assert second["X-Cache-Status"] == "HIT" and again == body
        # the proxy answers If-None-Match itself, with the server's tag
        status, same, empty = await get(session, page, {"If-None-Match": first["ETag"]})
        assert status == 304 and empty == b"" and same["ETag"] == first["ETag"]
        # another query is another page, to the proxy and in the server's access log
        for _ in range(2):
            assert (await get(session, page + "?levels=national"))[0] == 200
        assert server_hits(public_server, "/api/v1/progress", "levels=national") == 1
        assert server_hits(public_server, "/api/v1/progress", "") == 1

        # a burst of identical requests for a page nobody asked for yet
        path = "/api/v1/constituencies/QH/QH-10"
        began = time.monotonic()
        answers = await asyncio.gather(*(get(session, proxy.url + path) for _ in range(300)))
        took = time.monotonic() - began
        assert {a[0] for a in answers} == {200}
        assert len({a[2] for a in answers}) == 1  # everyone saw the same figures
        hits = server_hits(public_server, path)
        periods = int(took // max_age(CONSTITUENCY)) + 1
        assert 1 <= hits <= periods + 1, (hits, took)
        cached = [a[1]["X-Cache-Status"] for a in answers].count("HIT")
        print(f"burst: 300 requests in {took:.2f} s, {hits} reached the server, {cached} hits")

        # the public reading one page for several cache periods, as fast as it can: the
        # server is asked about once per period (with its ETag: 304s), whatever the rate
        path = "/api/v1/missing"
        stop = time.monotonic() + 3 * MAX_AGE
        served: list[str] = []

        async def reader() -> None:
            while time.monotonic() < stop:
                _, headers, _ = await get(session, proxy.url + path)
                served.append(headers["X-Cache-Status"])

        began = time.monotonic()
        await asyncio.gather(*(reader() for _ in range(20)))
        took = time.monotonic() - began
        hits = server_hits(public_server, path)
        # nginx counts whole seconds: a period is max-age to max-age + 1 s
        assert 1 <= hits <= took / MAX_AGE + 2, (hits, took)
        ratio = served.count("HIT") / len(served)
        print(
            f"sustained: {len(served)} reads in {took:.1f} s ({len(served) / took:.0f}/s), "
            f"hit ratio {ratio:.2%}, {hits} reached the server"
        )
        assert ratio > 0.9

        # a new batch: within the cache period the public's figures move on
        kv02 = server_folder.new_station("KV-02")
        assert public_server.enroll(kv02)[0] == 201
        while (await get(session, page))[1]["X-Cache-Status"] == "HIT":
            await asyncio.sleep(0.1)  # the cached page is refreshed: its period starts now
        status, _ = public_server.request("POST", "/api/v1/batches", kv02.envelope(1))
        assert status == 200
        acknowledged = time.monotonic()
        while True:
            _, seen, body = await get(session, page)
            if json.loads(body)["batches"]["accepted"] == 2:
                break
            assert time.monotonic() - acknowledged < MAX_AGE + 3, "the public page never moved on"
            await asyncio.sleep(0.1)
        moved = time.monotonic() - acknowledged
        print(f"figures moved on {moved:.2f} s after the acknowledgement")
        assert seen["ETag"].startswith(f'"{head + 2}-')  # enrolment and batch: two entries more

        # a token sent to the public address is not passed on: the answer stays public
        _, anyone, _ = await get(session, page, {"Authorization": "Bearer whoever"})
        assert anyone["Cache-Control"] == LIVE

        # not for the public: stations, the committee, the feed, and any write
        routes = ("/api/v1/batches", "/api/v1/receipts", "/api/v1/stations", "/api/v1/feed")
        before = [server_hits(public_server, route) for route in routes]
        for method, route in [
            ("POST", "/api/v1/batches"),
            ("POST", "/api/v1/receipts"),
            ("GET", "/api/v1/stations"),
            ("POST", "/api/v1/stations"),
            ("GET", "/api/v1/feed"),
            ("GET", "/"),
        ]:
            async with session.request(method, proxy.url + route, data=b"{}") as resp:
                error = (await resp.json(content_type=None))["error"]
                assert resp.status == 404 and error["code"] == "A404", route
                assert "polling stations" in error["message_en"] and error["message_vi"]
        async with session.post(page, data=b"{}") as resp:
            assert resp.status == 405
            assert (await resp.json(content_type=None))["error"]["code"] == "A405"
        assert [server_hits(public_server, route) for route in routes] == before

    # the proxy's own log says what it served from the cache
    log = proxy.log.read_text()
    assert "cache=HIT" in log and "cache=MISS" in log
