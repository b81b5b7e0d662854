"""``create_app(replicate=URL)`` (``serve --replicate``): Litestream beside the ledger
writer, its checkpoints left to Litestream, stopped with the app after shipping the
last acknowledged batch; a standby restored from it holds that batch under the same
receipt, with the key and the definition checked against their digests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from serverkit import ServerFolder, Station

from schemas import codec
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, open_envelope
from tally_server.service.replica import WAL_AUTOCHECKPOINT, restore_standby
from tally_server.store import db
from tally_server.web import create_app
from tally_server.web.keys import INGEST

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


def litestreams() -> set[int]:
    """This process's children running ``litestream replicate`` now."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # gone meanwhile
            if Path(argv[0].decode()).name == "litestream" and argv[1:2] == [b"replicate"]:
                found.add(int(pid))
    return found


async def test_a_replicating_server_ships_what_it_acknowledged_and_a_standby_holds_it(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station, tmp_path: Path
) -> None:
    assert litestreams() == set()
    replica = tmp_path / "replica"
    app = create_app(server_folder.path, replicate=str(replica))
    client = await aiohttp_client(app)
    assert len(litestreams()) == 1
    # SQLite's own checkpoints wait far behind Litestream's (docs/standby.md).
    writer: Any = app[INGEST]._conn  # the writer's own setting
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT

    resp = await client.post("/api/v1/batches", data=station.envelope(1))
    assert resp.status == 200
    body = await resp.read()
    receipt = codec.decode(open_envelope(body, RECEIPT_TYPE).payload, Receipt)
    await client.close()  # a clean stop: Litestream ships what is left, then exits
    assert litestreams() == set()

    done = restore_standby(str(replica), tmp_path / "standby")
    assert (done.head_index, done.head_hash) == (receipt.ledger_index, receipt.ledger_head)
    for name in ("server.key", "server.pub.pem", "election.json"):
        data = (server_folder.path / name).read_bytes()
        assert (tmp_path / "standby" / name).read_bytes() == data
        assert done.carried[name] == hashlib.sha256(data).hexdigest()
    conn = db.connect(tmp_path / "standby" / "tally.db", readonly=True)
    try:
        row = conn.execute(
            "SELECT receipt FROM ledger WHERE idx = ?", (receipt.ledger_index,)
        ).fetchone()
    finally:
        conn.close()
    assert bytes(row[0]) == body  # the very receipt the station holds
