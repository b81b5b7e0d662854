"""Validators and cache lifetimes of the read API (docs/api.md, docs/proxy.md).

Everything a read answer shows follows from the ledger (alerts, keys and the tally are
written with the entry that causes them), so the head an answer reflects, with what
else picks the answer (the path, the query, the software), is its ``ETag``. The tag is
known before the body is built: a matching ``If-None-Match`` is answered 304 at the cost
of a string comparison."""

from __future__ import annotations

import hashlib
from importlib.metadata import version

from aiohttp import web

from tally_server.web.keys import TOKEN

LIVE = "public, max-age=2, stale-while-revalidate=10"
"""Views that move with every acknowledged batch: a shared cache may keep them two
seconds, and serve the old answer a little longer while one request fetches the new."""
CONSTITUENCY = "public, max-age=10, stale-while-revalidate=30"
"""A constituency's page (``GET /constituencies/{race}/{id}``): it changes only when
one of its few polling areas reports, yet a national night has ~36,000 of them, so a
shared cache keeps each ten seconds (and serves it up to thirty more while one request
revalidates): a reader may see a page that long after its areas reported. Its tag is the
constituency's own last change, so a revalidation usually ends in a 304."""
RESULTS = "public, max-age=30, stale-while-revalidate=60"
"""Every constituency's result at once (``results.json``, ``results.csv``): 68 MB at
national size, a quarter of a second of the one process to build, then written whole
into the proxy's cache. Kept thirty seconds: it is fetched to be kept and checked, not
watched (progress and each constituency's page are), and takes longer than that to
download over a weak link anyway."""
CLOSED = "public, max-age=31536000, immutable"
"""A ledger range wholly below the head: its entries never change."""
FIXED = "public, max-age=86400"
"""The server key, the election definition, the API's description: fixed for the
server folder and the software, but the same address may serve another folder
tomorrow, so a day rather than for ever."""
PRIVATE = "private, no-store"
"""An answer that needed a token: no shared cache keeps it."""
NO_STORE = "no-store"
"""Errors, writes and anything not marked otherwise."""


def max_age(kind: str) -> int:
    """The seconds a shared cache keeps an answer of ``kind`` fresh (its ``max-age``)."""
    return int(kind.split("max-age=")[1].split(",")[0])


_SOFTWARE = f"kiemphieu {version('kiemphieu')} read v1"


def etag(request: web.Request, *state: object) -> str:
    """A strong tag of ``state`` (a ledger index and hash, a key's fingerprint) and of
    what else makes the answer differ: the path, the query, the software's version."""
    what = f"{_SOFTWARE}\n{request.path_qs}\n" + "\n".join(map(str, state))
    return '"' + hashlib.sha256(what.encode("utf-8", "surrogateescape")).hexdigest()[:32] + '"'


def head_tag(request: web.Request, index: int, head: str) -> str:
    """The tag of an answer that reflects the ledger up to ``index`` (hash ``head``):
    the index is kept readable, so an observer sees which head a cached answer is."""
    return f'"{index}-' + etag(request, index, head)[1:]


def policy(request: web.Request, kind: str) -> str:
    """``kind`` for an answer anyone may have; ``PRIVATE`` if it needed a token."""
    return PRIVATE if TOKEN in request else kind


def headers(request: web.Request, tag: str, kind: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": policy(request, kind)}


def _matches(header: str, tag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): a proxy that compressed the body marks it W/.
    for given in header.split(","):
        given = given.strip()
        if given == "*" or given.removeprefix("W/") == tag:
            return True
    return False


def not_modified(request: web.Request, tag: str, kind: str) -> web.Response | None:
    """304 if the client (or the proxy revalidating) already holds the answer tagged
    ``tag``; None: build the answer."""
    given = request.headers.get("If-None-Match")
    if given is None or not _matches(given, tag):
        return None
    return web.Response(status=304, headers=headers(request, tag, kind))


async def default_policy(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer says how it may be cached: unmarked ones (errors, writes, the feed's
    handshake) are kept by no one, and one that needed a token by no shared cache."""
    if TOKEN in request and response.status < 400:
        response.headers["Cache-Control"] = PRIVATE
    elif response.status >= 400 or "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = NO_STORE
        response.headers.pop("ETag", None)
