"""A junk sender in a process of its own, as an attacker on the same machine would be.

    python junkflood.py URL KEYID[,KEYID...] MAX_POSTS MAX_SECONDS CONNECTIONS RATE

Builds one ~190 KB envelope of random bytes with a random signature per key id,
prints ``ready``, floods ``URL/api/v1/batches`` from CONNECTIONS connections, at
most RATE posts a second, once a line ``go`` comes on standard input; stops at
``stop`` (or at MAX_POSTS or MAX_SECONDS, whichever first), and prints what it saw
as one JSON line.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import threading
import time

import aiohttp

from schemas.signing import BATCH_TYPE

JUNK_BYTES = 190_000


def envelope(keyid: str) -> bytes:
    return json.dumps(
        {
            "payloadType": BATCH_TYPE,
            "payload": base64.b64encode(os.urandom(JUNK_BYTES)).decode(),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(os.urandom(64)).decode()}],
        }
    ).encode()


async def flood(
    url: str, bodies: list[bytes], most: int, seconds: float, conns: int, rate: float
) -> None:
    stop = threading.Event()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), stop.set()), daemon=True
    ).start()  # the "stop" line
    statuses: dict[int, int] = {}
    retry_after: set[str] = set()
    sent = 0
    posts = 0
    start = time.monotonic()

    async def one(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal sent, posts
        while not stop.is_set() and posts < most and time.monotonic() - start < seconds:
            body = bodies[(posts + n) % len(bodies)]
            posts += 1
            await asyncio.sleep(max(0.0, start + posts / rate - time.monotonic()))
            async with session.post(url + "/api/v1/batches", data=body) as r:
                await r.read()
            sent += len(body)
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 429:
                retry_after.add(r.headers.get("Retry-After", ""))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as session:
        await asyncio.gather(*(one(n, session) for n in range(conns)))
    print(
        json.dumps(
            {
                "statuses": {str(k): v for k, v in statuses.items()},
                "retry_after": sorted(retry_after),
                "bytes_sent": sent,
                "seconds": time.monotonic() - start,
            }
        ),
        flush=True,
    )


def main() -> None:
    url, keyids, most, seconds, conns, rate = sys.argv[1:7]
    bodies = [envelope(k) for k in keyids.split(",")]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    asyncio.run(flood(url, bodies, int(most), float(seconds), int(conns), float(rate)))


if __name__ == "__main__":
    main()
