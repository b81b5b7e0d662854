"""Keys of the application's shared state."""

from __future__ import annotations

from aiohttp import web

from tally_server.service.checkers import Checkers
from tally_server.service.folder import Folder
from tally_server.service.ingest import Ingest
from tally_server.service.limits import RefusalLimiter
from tally_server.service.views import ResultsCache
from tally_server.store.tokens import Token

INGEST = web.AppKey("ingest", Ingest)
FOLDER = web.AppKey("folder", Folder)
CHECKERS = web.AppKey("checkers", Checkers)
PUBLIC = web.AppKey("public", bool)
MAX_DB: web.AppKey[int | None] = web.AppKey("max_db_bytes")
RESULTS = web.AppKey("results", ResultsCache)
LIMITER = web.AppKey("limiter", RefusalLimiter)
FEEDS = web.AppKey("feeds", set[web.WebSocketResponse])
TOKEN = web.RequestKey("token", Token)
BODY_TIMEOUT = web.AppKey("body_timeout", float)
REPLICATE: web.AppKey[str | None] = web.AppKey("replicate")
