"""Baseline: the least any server of ours must do per batch, and nothing more.

Per POST it takes the envelope apart, verifies the station's Ed25519 signature
against the enrolled key (looked up by fingerprint), and signs a receipt with
the server's key: no decoding of the minutes, no law, no ledger, no fsync. Its
rate under wrk is the ceiling for ``serve`` with the same libraries on this
machine; ``--procs N`` forks N such servers on one port (SO_REUSEPORT). With
``--election``, it also decodes the minutes and runs the law's checks that
need no earlier minutes (still no ledger): the ceiling of a server that checks
what it is sent.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gc
import os
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.signing import (  # noqa: E402
    BATCH_TYPE,
    RECEIPT_TYPE,
    SigningKey,
    VerifyKey,
    fingerprint,
    open_envelope,
    seal,
)
from tally_server.core import rules  # noqa: E402
from tally_server.core.definition import Election, load_election  # noqa: E402
from tally_server.service.decide import decode_batch  # noqa: E402


def load_keys(stations_csv: Path) -> dict[str, VerifyKey]:
    keys: dict[str, VerifyKey] = {}
    with stations_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            raw = base64.b64decode(row["public_key"])
            keys[fingerprint(raw)] = VerifyKey(raw)
    return keys


def make_app(keys: dict[str, VerifyKey], election: Election | None) -> web.Application:
    server_key = SigningKey.generate()

    async def handle(request: web.Request) -> web.Response:
        opened = open_envelope(await request.read(), BATCH_TYPE)
        opened.verify(keys[opened.keyid])
        if election is not None:
            rules.check_batch(election, decode_batch(opened.payload))
        receipt = b'{"status":"accepted","digest":"%s"}' % opened.digest.encode()
        body = seal(server_key, RECEIPT_TYPE, receipt)
        return web.Response(body=body, content_type="application/json")

    app = web.Application(client_max_size=256 * 1024)
    app.router.add_post("/api/v1/batches", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stations", type=Path, required=True)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--election", type=Path, help="also decode and check the minutes")
    args = parser.parse_args()
    keys = load_keys(args.stations)
    election = None if args.election is None else load_election(args.election)
    gc.collect()
    gc.freeze()  # as serve does: the definition is not walked by the collector
    for _ in range(args.procs - 1):
        if os.fork() == 0:
            break
    web.run_app(
        make_app(keys, election),
        host="127.0.0.1",
        port=args.port,
        reuse_port=args.procs > 1,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
