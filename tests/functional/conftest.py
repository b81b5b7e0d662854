"""Fixtures for functional tests: a server folder, enrolled stations, a running server.

Everything is real: ``tally-server init`` on the example election in a
``tmp_path``, fresh Ed25519 keys, and (``tally_server``) the server started as
a subprocess on a free port of 127.0.0.1. The helper classes are in
serverkit.py (``from serverkit import Station, example_minutes``).

    def test_x(tally_server, station):            # KV-01 enrolled before the start
        status, body = tally_server.request("POST", "/api/v1/batches", station.envelope(1))
        tally_server.tokens["admin"]               # admin / operator / viewer tokens

    async def test_y(aiohttp_client, server_folder, station):
        client = await aiohttp_client(create_app(server_folder.path))   # in-process
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import EXAMPLE_ELECTION, RunningServer, ServerFolder, Station


@pytest.fixture
def example_election() -> Path:
    return EXAMPLE_ELECTION


@pytest.fixture
def server_folder(tmp_path: Path) -> ServerFolder:
    """`tally-server init` on the example election, in tmp_path/server."""
    from tally_server.service.folder import init_folder

    path = tmp_path / "server"
    init_folder(path, EXAMPLE_ELECTION)
    return ServerFolder(path, EXAMPLE_ELECTION, tmp_path / "keys")


@pytest.fixture
def station(server_folder: ServerFolder) -> Station:
    """Station KV-01 for polling area KV-01, enrolled with a fresh key."""
    return server_folder.enroll("KV-01", "KV-01")


@pytest.fixture
def tally_server(
    server_folder: ServerFolder, station: Station, tmp_path: Path
) -> Iterator[RunningServer]:
    """The server running on a free port, with station KV-01 enrolled before it started;
    tokens["viewer" | "operator" | "admin"]. Enroll more stations with
    ``tally_server.enroll(server_folder.new_station(...))`` while it runs."""
    server = RunningServer(server_folder, log_path=tmp_path / "server.log")
    server.tokens = {r: server_folder.token(r) for r in ("viewer", "operator", "admin")}
    server.start()
    try:
        yield server
    finally:
        server.stop()
