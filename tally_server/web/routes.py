"""Thin handlers: parse the request, call the service, map its answer to HTTP."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

import msgspec
from aiohttp import web

from schemas import codec, read
from schemas.errors import DecodeError, KeyFileError
from schemas.signing import VerifyKey, WeakKeyError, read_fingerprint
from tally_server.core.tally import ROUNDS, STATUSES
from tally_server.service import views
from tally_server.service.codes import ServerError
from tally_server.store import db
from tally_server.web import cache
from tally_server.web.auth import access
from tally_server.web.keys import FOLDER, INGEST, RESULTS, TOKEN
from tally_server.web.limits import (
    INT64_MAX,
    check_depth,
    choice_query,
    int_path,
    int_query,
    text_query,
)
from tally_server.web.statuses import STATUS

log = logging.getLogger("kiemphieu.server")
routes = web.RouteTableDef()

JSON = "application/json"
ALERTS_LIMIT = 1000
"""Alerts in one answer unless ``limit`` says otherwise; at most ``ALERTS_MAX``."""
ALERTS_MAX = 10_000
COMMITTEE_LEVELS = ("national", "province", "district", "commune")
LIST_MAX = 10_000
"""At most this many rows in one page of the constituency or missing-area list."""
MISSING_LIMIT = 100


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """``data`` (a read API record of ``schemas/read.py``, or plain builtins) as
    compact UTF-8 JSON."""
    return web.Response(
        status=status, body=_encoder.encode(data), content_type=JSON, headers=headers
    )


_encoder = msgspec.json.Encoder()


async def _stream(
    request: web.Request, pieces: Iterable[bytes], headers: dict[str, str]
) -> web.StreamResponse:
    """A JSON body sent as it is encoded (chunked)."""
    resp = web.StreamResponse(headers={"Content-Type": JSON, **headers})
    await resp.prepare(request)
    for piece in pieces:
        await resp.write(piece)
    await resp.write_eof()
    return resp


def _published(request: web.Request) -> str:
    """The tag of a view of the published tally (what the in-memory views show)."""
    ingest = request.app[INGEST]
    return cache.head_tag(request, ingest.published_index, ingest.published_hash)


def _durable(request: web.Request) -> str:
    """The tag of an answer read from the database: the last entry on disk. The reader
    may already see a later group than this: the tag can only be older than the answer,
    never newer, so a 304 never keeps an old answer."""
    ingest = request.app[INGEST]
    return cache.head_tag(request, ingest.head_index, ingest.head_hash)


def _bad(*, en: str, vi: str, field: str, **figures: Any) -> ServerError:
    return ServerError(en=en, vi=vi, code="A400", fields=(field,), figures=figures)


async def _body_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    check_depth(raw)
    try:
        data = codec.loads(raw)  # I-JSON: a key given twice is refused, not guessed at
    except DecodeError as exc:
        if exc.code != DecodeError.code:
            raise  # S101-S103, naming where
        raise _bad(
            en=f"The body is not JSON: {exc.message_en}",
            vi=f"Nội dung không phải JSON: {exc.message_vi}",
            field="body",
        ) from exc
    if not isinstance(data, dict):
        raise _bad(
            en="The body must be a JSON object.",
            vi="Nội dung phải là đối tượng JSON.",
            field="body",
        )
    return codec.nfc(data)  # type: ignore[no-any-return]


def _text(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(
            en=f"'{name}' must be a non-empty string.", vi=f"'{name}' phải là chuỗi.", field=name
        )
    return value.strip()


# -- stations: ingest ---------------------------------------------------------------------


@routes.post("/api/v1/batches")
@access(None)
async def post_batch(request: web.Request) -> web.Response:
    """Receive one signed batch; answer with the signed receipt."""
    body = await request.read()
    answer = await request.app[INGEST].submit(body, request.remote or "")
    status = STATUS[answer.outcome]
    if answer.retry_after:
        return web.Response(
            status=status,
            body=answer.body,
            content_type=JSON,
            headers={"Retry-After": str(answer.retry_after)},
        )
    d = answer.decision
    if answer.outcome != "accepted" and d is not None and d.outcome is not None:
        log.info(
            "batch rejected",
            extra={
                "status": status,
                "outcome": answer.outcome,
                "code": d.outcome.code,
                "station": d.station,
            },
        )
    return web.Response(status=status, body=answer.body, content_type=JSON)


@routes.post("/api/v1/receipts")
@access(None)
async def present_receipt(request: web.Request) -> web.Response:
    """A station shows a receipt it holds; a lost entry is recorded as evidence."""
    body = await request.read()
    recorded, answer = await request.app[INGEST].present_receipt(body)
    return _json(answer, status=201 if recorded else 200)


MAX_HASHES = 64


@routes.get("/api/v1/ledger/hashes")
@access(None)
async def ledger_hashes(request: web.Request) -> web.Response:
    """The hash at each asked index and the head, read in one snapshot: what a station
    needs to see that the ledger still holds the entries its receipts name."""
    text = request.query.get("at", "")
    parts = text.split(",") if text else []
    if not 1 <= len(parts) <= MAX_HASHES or not all(
        p.isascii() and p.isdigit() and len(p) <= 15 for p in parts
    ):
        raise _bad(
            en=f"at is 1 to {MAX_HASHES} ledger indexes separated by commas, such as at=12,40.",
            vi=f"at là 1 đến {MAX_HASHES} số thứ tự sổ cái "
            "cách nhau bằng dấu phẩy, ví dụ at=12,40.",
            field="at",
            given=text[:100],
        )
    wanted = sorted({int(p) for p in parts})
    tag = _durable(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same

    def hashes(conn: sqlite3.Connection) -> read.LedgerHashes:
        conn.execute("BEGIN")  # the hashes and the head from one snapshot
        try:
            head_index, head = db.head(conn)
            found = db.hashes_at(conn, wanted)
        finally:
            conn.execute("COMMIT")
        return read.LedgerHashes(
            head_index=head_index - 1,
            head=head,
            entries=[read.LedgerHash(index=i, hash=found.get(i)) for i in wanted],
        )

    return _json(
        await request.app[INGEST].read(hashes), headers=cache.headers(request, tag, cache.LIVE)
    )


@routes.get("/api/v1/server-key")
@access(None)
async def server_key(request: web.Request) -> web.Response:
    key = request.app[FOLDER].server_key.public
    tag = cache.etag(request, key.fingerprint)
    if (same := cache.not_modified(request, tag, cache.FIXED)) is not None:
        return same
    return _json(
        read.ServerKey(public_key_b64=key.b64, fingerprint=key.fingerprint, pem=key.pem().decode()),
        headers=cache.headers(request, tag, cache.FIXED),
    )


@routes.get("/api/v1/election")
@access(None)
async def election(request: web.Request) -> web.StreamResponse:
    folder = request.app[FOLDER]
    if folder.election_bytes is not None:
        tag = cache.etag(request, folder.election_sha256)
        if (same := cache.not_modified(request, tag, cache.FIXED)) is not None:
            return same
        return web.Response(
            body=folder.election_bytes,
            content_type=JSON,
            headers=cache.headers(request, tag, cache.FIXED),
        )
    # From the file: at national size the canonical definition is too big to keep. The
    # file's own validator (its time and size) and conditional requests are aiohttp's.
    return web.FileResponse(
        folder.canonical_path,
        headers={"Content-Type": JSON, "Cache-Control": cache.policy(request, cache.FIXED)},
    )


# -- committee: administration ------------------------------------------------------------


@routes.post("/api/v1/stations")
@access("admin")
async def enroll_station(request: web.Request) -> web.Response:
    data = await _body_json(request)
    station_id = _text(data, "station_id")
    area_id = _text(data, "polling_area_id")
    try:
        key = VerifyKey.from_text(_text(data, "public_key"))
    except WeakKeyError:
        raise  # its own code (S320) and reason
    except KeyFileError as exc:
        raise ServerError(
            en=exc.message_en, vi=exc.message_vi, code="A400", fields=("public_key",)
        ) from exc
    expected = data.get("fingerprint")
    if expected is not None and read_fingerprint(str(expected)) != key.fingerprint:
        raise ServerError(
            en=f"The key's fingerprint is {key.fingerprint}, not {expected}: it is not the key "
            f"that was read out.",
            vi=f"Dấu vân tay của khoá là {key.fingerprint}, không phải {expected}: đây không "
            f"phải khoá đã đọc.",
            code="A409",
            fields=("fingerprint",),
            figures={"fingerprint": key.fingerprint, "expected": str(expected)},
        )
    created = await request.app[INGEST].enroll(station_id, area_id, key, request[TOKEN].actor)
    return _json(
        {
            "station_id": station_id,
            "polling_area_id": area_id,
            "fingerprint": key.fingerprint,
            "created": created,
        },
        status=201 if created else 200,
    )


@routes.post("/api/v1/stations/{station_id}/revoke")
@access("admin")
async def revoke_station(request: web.Request) -> web.Response:
    station_id = request.match_info["station_id"]
    fingerprint = await request.app[INGEST].revoke(station_id, request[TOKEN].actor)
    return _json({"station_id": station_id, "fingerprint": fingerprint, "status": "revoked"})


@routes.get("/api/v1/stations")
@access("operator")
async def list_stations(request: web.Request) -> web.Response:
    return _json(await request.app[INGEST].read(views.stations))


@routes.post("/api/v1/alerts/{alert_id}/review")
@access("operator")
async def review_alert(request: web.Request) -> web.Response:
    alert_id = int_path(request, "alert_id", 1)
    data = await _body_json(request)
    note = _text(data, "note", required=False)
    index = await request.app[INGEST].review(alert_id, note, request[TOKEN].actor)
    return _json({"alert_id": alert_id, "reviewed": True, "ledger_index": index})


# -- reading ------------------------------------------------------------------------------


@routes.get("/api/v1/progress")
@access("viewer", public=True)
async def get_progress(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    given = text_query(request, "levels")
    levels = None if given is None else given.split(",")
    for level in levels or ():
        if level not in COMMITTEE_LEVELS:
            raise _bad(
                en=f"levels is a list of {', '.join(COMMITTEE_LEVELS)} separated by commas.",
                vi=f"levels là danh sách {', '.join(COMMITTEE_LEVELS)} cách nhau bằng dấu phẩy.",
                field="levels",
                given=given[:100] if given else "",
            )
    # A client holds a tag only once what it names was on disk: a 304 needs no settling.
    tag = _published(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same
    body = views.progress_json(ingest, levels)
    await ingest.settled()
    return web.Response(
        body=body, content_type=JSON, headers=cache.headers(request, tag, cache.LIVE)
    )


@routes.get("/api/v1/constituencies")
@access("viewer", public=True)
async def list_constituencies(request: web.Request) -> web.StreamResponse:
    ingest = request.app[INGEST]
    limit = int_query(request, "limit", 0, 1, LIST_MAX) if "limit" in request.query else None
    tag = _published(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same
    pieces = views.constituencies(
        ingest,
        text_query(request, "race"),
        text_query(request, "committee"),
        choice_query(request, "status", STATUSES),
        q=text_query(request, "q"),
        sort=choice_query(request, "sort", read.LIST_SORTS) or "key",
        offset=int_query(request, "offset", 0, 0),
        limit=limit,
    )
    await ingest.settled()
    return await _stream(request, pieces, cache.headers(request, tag, cache.LIVE))


@routes.get("/api/v1/constituencies/{race_id}/{constituency_id}")
@access("viewer", public=True)
async def get_constituency(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    m = request.match_info
    round_ = choice_query(request, "round", ROUNDS) or "main"
    # Tagged with the last entry that changed this constituency, not the head: a
    # revalidation after entries elsewhere is a 304 from a dict lookup.
    point = ingest.changed.get((m["race_id"], m["constituency_id"]))
    if point is not None:
        tag = cache.head_tag(request, *point)
        if (same := cache.not_modified(request, tag, cache.CONSTITUENCY)) is not None:
            return same
    doc = views.constituency(ingest, m["race_id"], m["constituency_id"], round_)  # or A404
    await ingest.settled()
    tag = cache.head_tag(request, doc.ledger.index, doc.ledger.head)
    return _json(doc, headers=cache.headers(request, tag, cache.CONSTITUENCY))


@routes.get("/api/v1/polling-areas/{polling_area_id}")
@access("viewer", public=True)
async def get_polling_area(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    area_id = request.match_info["polling_area_id"]
    tag = _durable(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same
    return _json(
        await ingest.read(lambda conn: views.polling_area(conn, ingest, area_id)),
        headers=cache.headers(request, tag, cache.LIVE),
    )


@routes.get("/api/v1/alerts")
@access("operator", public=True)
async def list_alerts(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    flag = choice_query(request, "reviewed", ("true", "false"))
    reviewed = None if flag is None else flag == "true"
    limit = int_query(request, "limit", ALERTS_LIMIT, 1, ALERTS_MAX)
    after = int_query(request, "after", 0, 0)
    kind = choice_query(request, "kind", views.ALERT_KINDS)
    offset = int_query(request, "offset", 0, 0)
    newest = choice_query(request, "order", ("oldest", "newest")) == "newest"
    tag = _durable(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same
    return _json(
        await ingest.read(
            lambda conn: views.alerts(
                conn, ingest, kind, reviewed, limit, after, offset=offset, newest_first=newest
            )
        ),
        headers=cache.headers(request, tag, cache.LIVE),
    )


@routes.get("/api/v1/missing")
@access("viewer", public=True)
async def list_missing(request: web.Request) -> web.Response:
    """The polling areas still to report (election-wide or under one committee)."""
    ingest = request.app[INGEST]
    committee = text_query(request, "committee")
    offset = int_query(request, "offset", 0, 0)
    limit = int_query(request, "limit", MISSING_LIMIT, 1, LIST_MAX)
    tag = _published(request)
    if (same := cache.not_modified(request, tag, cache.LIVE)) is not None:
        return same
    doc = views.missing(ingest, committee, offset, limit)
    await ingest.settled()
    return _json(doc, headers=cache.headers(request, tag, cache.LIVE))


@routes.get("/api/v1/ledger")
@access("viewer", public=True)
async def export_ledger(request: web.Request) -> web.StreamResponse:
    """The ledger as JSON Lines, streamed from the database in chunks: from ``since``
    to the head, or up to ``until`` (not included)."""
    ingest = request.app[INGEST]
    start = int_query(request, "since", 0, 0, INT64_MAX)
    stop = ingest.head_index + 1
    until = int_query(request, "until", 0, 0, INT64_MAX) if "until" in request.query else None
    if until is not None and until <= stop:
        # Wholly below the head: these entries never change. The tag names the range's
        # last hash, which chains every entry before it (another ledger, after a restore
        # from a replica, has other hashes at the same indexes).
        stop, kind = until, cache.CLOSED
        _, last = await ingest.read(lambda conn: db.head_at(conn, until - 1))
        tag = cache.head_tag(request, until - 1, last)
    else:
        tag, kind = _durable(request), cache.LIVE
    if (same := cache.not_modified(request, tag, kind)) is not None:
        return same
    resp = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "X-Ledger-Index": str(ingest.head_index),
            "X-Ledger-Head": ingest.head_hash,
            **cache.headers(request, tag, kind),
        }
    )
    await resp.prepare(request)
    at = start
    while at < stop:
        end = min(at + 2000, stop)

        def chunk(conn: Any, lo: int = at, hi: int = end) -> bytes:
            return b"".join(e.export_line() for e in db.ledger_entries(conn, lo, hi))

        await resp.write(await ingest.read(chunk))
        at = end
    await resp.write_eof()
    return resp


@routes.get("/api/v1/results.json")
@access("viewer", public=True)
async def results_json(request: web.Request) -> web.StreamResponse:
    ingest = request.app[INGEST]
    tag = _published(request)
    if (same := cache.not_modified(request, tag, cache.RESULTS)) is not None:
        return same
    results = request.app[RESULTS]
    doc = results.get(ingest)
    await ingest.settled()
    # Streamed: the national document is large, so it is encoded a slice at a time.
    return await _stream(request, results.chunks(doc), cache.headers(request, tag, cache.RESULTS))


@routes.get("/api/v1/results.csv")
@access("viewer", public=True)
async def results_csv(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    tag = _published(request)
    if (same := cache.not_modified(request, tag, cache.RESULTS)) is not None:
        return same
    doc = request.app[RESULTS].get(ingest)
    await ingest.settled()
    return web.Response(
        text=views.results_csv(doc),
        content_type="text/csv",
        charset="utf-8",
        headers={
            **cache.headers(request, tag, cache.RESULTS),
            "X-Ledger-Index": str(doc.ledger_index),
            "X-Ledger-Head": doc.ledger_head,
            "X-Results-Sha256": doc.results_sha256,
        },
    )


@routes.get("/api/v1/feed")
@access("viewer", public=True)
async def feed(request: web.Request) -> web.StreamResponse:
    from tally_server.web.feed import serve_feed

    return await serve_feed(request)


@routes.get("/api/openapi.json")
@access(None)
async def openapi(request: web.Request) -> web.Response:
    from tally_server.web.openapi import document

    tag = cache.etag(request)  # the software's version: the document is made from its code
    if (same := cache.not_modified(request, tag, cache.FIXED)) is not None:
        return same
    return _json(document(), headers=cache.headers(request, tag, cache.FIXED))
