"""The aiohttp application: factory, shared state keys, database life cycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web, web_response

from tally_server.service.checkers import Checkers
from tally_server.service.folder import Folder, open_folder, writer_lock
from tally_server.service.ingest import Ingest
from tally_server.service.limits import RefusalLimiter
from tally_server.service.replica import WAL_AUTOCHECKPOINT, Replication
from tally_server.service.views import ResultsCache
from tally_server.web.auth import guard
from tally_server.web.cache import default_policy
from tally_server.web.keys import (
    BODY_TIMEOUT,
    CHECKERS,
    FEEDS,
    FOLDER,
    INGEST,
    LIMITER,
    MAX_DB,
    PUBLIC,
    REPLICATE,
    RESULTS,
)
from tally_server.web.limits import DEFAULT_BODY_TIMEOUT, body_in_time

MAX_BODY = 256 * 1024
"""The largest request body accepted (a batch envelope is a few KiB)."""


async def _open_ingest(app: web.Application) -> AsyncIterator[None]:
    """Hold the folder's writer lock and the database for the app's lifetime; with
    ``replicate``, Litestream beside them, started once the folder is checked and
    stopped after the last write (service/replica.py)."""
    folder = app[FOLDER]
    url = app.get(REPLICATE)
    with writer_lock(folder.path, "serve"):
        ingest = Ingest(
            folder,
            max_db_bytes=app[MAX_DB],
            limiter=app.get(LIMITER),
            wal_autocheckpoint=None if url is None else WAL_AUTOCHECKPOINT,
        )
        checkers = app.get(CHECKERS)
        if checkers is not None:
            await checkers.start()
            ingest.checkers = checkers
        await ingest.start()
        replication: Replication | None = None
        watch: asyncio.Task[None] | None = None
        try:
            if url is not None:
                replication = await Replication.start(folder, url)
                watch = asyncio.create_task(replication.watch(), name="replication")
        except BaseException:
            await ingest.close()
            if checkers is not None:
                await checkers.close()
            raise
        app[INGEST] = ingest
        try:
            yield
        finally:
            await ingest.close()
            if checkers is not None:
                await checkers.close()
            if replication is not None and watch is not None:
                await replication.stop()
                await watch


SERVER = "kiemphieu"
"""The ``Server`` header: the software's versions are nobody's business."""


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


async def _close_feeds(app: web.Application) -> None:
    feeds = app[FEEDS]
    for ws in list(feeds):
        await ws.close(code=1001, message=b"server shutting down")


def create_app(
    folder: Path | Folder,
    *,
    public: bool = False,
    max_db_bytes: int | None = None,
    workers: int = 0,
    limiter: RefusalLimiter | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    replicate: str | None = None,
) -> web.Application:
    """The tally server for one server folder (made by ``tally-server init``).

    ``public``: read routes need no token. ``max_db_bytes``: answer 507 rather than
    grow the database past this size. ``workers``: processes forked here, before any
    thread starts, that check batches beforehand (service/checkers.py). ``limiter``:
    how many unsigned refusals are recorded per source and key id (service/limits.py).
    ``body_timeout``: seconds a request has to send its body after its headers (then
    408 and closed). ``replicate``: a replica URL Litestream ships the folder to
    (service/replica.py)."""
    from tally_server.web.routes import routes

    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard, body_in_time])
    app[FOLDER] = folder if isinstance(folder, Folder) else open_folder(folder)
    app[PUBLIC] = public
    app[MAX_DB] = max_db_bytes
    app[BODY_TIMEOUT] = body_timeout
    app[REPLICATE] = replicate
    app[RESULTS] = ResultsCache()
    if limiter is not None:
        app[LIMITER] = limiter
    if workers > 0:
        # The workers only read: an older database is upgraded before they open it.
        app[FOLDER].connect().close()
        app[CHECKERS] = Checkers.fork(app[FOLDER].election, app[FOLDER].db_path, workers)
    feeds: set[web.WebSocketResponse] = set()
    app[FEEDS] = feeds
    app.cleanup_ctx.append(_open_ingest)
    app.on_shutdown.append(_close_feeds)
    app.on_response_prepare.append(_server_header)
    app.on_response_prepare.append(default_policy)
    # What aiohttp answers by itself before any route (a malformed request line)
    # never reaches the signal: it takes this default.
    web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]
    app.add_routes(routes)
    return app
