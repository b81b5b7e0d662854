"""The WebSocket feed: events as they are committed, with replay after a reconnect.

A client that connects with ``?since=ID`` first gets every stored event after
ID, then the live ones, with no gap and no repeat: it subscribes before
reading the store, and skips live events it has already been sent. A client
too slow to keep up is disconnected (1013) and resumes with ``since``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web

from tally_server.service.journal import Event
from tally_server.web.keys import FEEDS, INGEST
from tally_server.web.limits import int_query

BACKLOG = 10_000
"""Events a client may fall behind by before it is dropped."""
REPLAY_CHUNK = 1000


def _replay(conn: Any, after: int) -> list[Event]:
    rows = conn.execute(
        "SELECT id, type, at, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
        (after, REPLAY_CHUNK),
    ).fetchall()
    return [Event(r[0], r[1], r[2], bytes(r[3])) for r in rows]


async def serve_feed(request: web.Request) -> web.StreamResponse:
    ingest = request.app[INGEST]
    # Checked before the upgrade: a bad value is a 400, not a socket that never speaks.
    since = int_query(request, "since", 0, 0) if "since" in request.query else None
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    sub = _Subscriber(ingest, ws)
    # Subscribe and take the starting point in the same step, so nothing falls between.
    ingest.subscribers.add(sub.deliver)
    start = ingest.last_event_id if since is None else since
    request.app[FEEDS].add(ws)
    sender = asyncio.create_task(sub.send(start, replay=since is not None))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        ingest.subscribers.discard(sub.deliver)
        request.app[FEEDS].discard(ws)
        sender.cancel()
        try:
            await sender
        except asyncio.CancelledError:
            pass
    return ws


class _Subscriber:
    def __init__(self, ingest: Any, ws: web.WebSocketResponse) -> None:
        self.ingest = ingest
        self.ws = ws
        self.queue: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self.pending = 0

    def deliver(self, events: list[Event]) -> None:
        self.pending += len(events)
        if self.pending > BACKLOG:
            self.ingest.subscribers.discard(self.deliver)
            self.queue.put_nowait(None)
        else:
            self.queue.put_nowait(events)

    async def send(self, last: int, *, replay: bool) -> None:
        ws = self.ws
        while replay:
            events = await self.ingest.read(lambda conn, after=last: _replay(conn, after))
            for ev in events:
                await ws.send_str(ev.message())
                last = ev.id
            if len(events) < REPLAY_CHUNK:
                break
        while True:
            batch = await self.queue.get()
            if batch is None:
                await ws.close(code=1013, message=b"too far behind; reconnect with since")
                return
            self.pending -= len(batch)
            for ev in batch:
                if ev.id > last:
                    await ws.send_str(ev.message())
                    last = ev.id
