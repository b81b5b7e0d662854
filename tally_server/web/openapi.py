"""The OpenAPI 3.1 document of the HTTP API (docs/api.md in machine form).

A test checks that every route the app registers is described here and
that nothing described here is missing from the app.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from schemas.read import LIST_SORTS
from tally_server.core.tally import ROUNDS, STATUSES
from tally_server.service.views import ALERT_KINDS
from tally_server.web.limits import INT64_MAX
from tally_server.web.routes import (
    ALERTS_LIMIT,
    ALERTS_MAX,
    COMMITTEE_LEVELS,
    LIST_MAX,
    MISSING_LIMIT,
)

ERROR = {"$ref": "#/components/schemas/Error"}
RECEIPT = {"$ref": "#/components/schemas/Envelope"}

READ = (
    "progress",
    "constituencies",
    "constituency",
    "polling-area",
    "alerts",
    "missing",
    "stations",
    "results",
    "ledger-hashes",
    "server-key",
    "feed-event",
    "error",
)
"""The read API's answers (``schemas/read.py``), each a file in ``schemas/json``."""


def _schema(name: str) -> Any:
    return json.loads(resources.files("schemas").joinpath("json", name).read_text("utf-8"))


def _answer(name: str) -> Any:
    """A read answer's type (``schemas/json/<name>.v1.schema.json``), referring to
    its definitions among the components."""
    top = _schema(f"{name}.v1.schema.json")
    top = {k: v for k, v in top.items() if k not in ("$schema", "$id", "$defs")}
    return json.loads(json.dumps(top).replace('"#/$defs/', '"#/components/schemas/'))


def _components(*names: str) -> dict[str, Any]:
    """The definitions of these JSON Schemas as OpenAPI components: their ``#/$defs/X``
    references resolve against the document's root, so each definition becomes
    ``#/components/schemas/X`` (a tool that fuzzes the API reads the real shapes)."""
    out: dict[str, Any] = {}
    for name in names:
        text = json.dumps(_schema(name)["$defs"]).replace('"#/$defs/', '"#/components/schemas/')
        for key, value in json.loads(text).items():
            assert out.get(key, value) == value, key
            out[key] = value
    return out


def _resp(description: str, schema: Any = None, media: str = "application/json") -> Any:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


_ERR = {
    "400": _resp("Bad request", ERROR),
    "401": _resp("No valid token (A401), or it has expired (A402)", ERROR),
    "403": _resp("Role too low", ERROR),
}

_OBJ: dict[str, Any] = {"type": "object"}


def _op(
    summary: str,
    role: str | None,
    responses: dict[str, Any],
    *,
    public: bool = False,
    params: list[dict[str, Any]] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if role is None:
        op["security"] = []
    else:
        op["x-role"] = role
        op["x-public"] = public
        op["security"] = [{"bearer": []}]
        op["responses"] = {**_ERR, **responses}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


_TEXT: dict[str, Any] = {"type": "string"}


def _int(lo: int, hi: int = INT64_MAX, default: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer", "minimum": lo, "maximum": hi}
    if default is not None:
        out["default"] = default
    return out


def _enum(values: tuple[str, ...], default: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default is not None:
        out["default"] = default
    return out


def _q(name: str, description: str, schema: dict[str, Any] = _TEXT) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _p(name: str, schema: dict[str, Any] = _TEXT) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_SLOW = {"408": _resp("The body did not arrive in time (H408); the connection is closed", ERROR)}


@cache
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {
        "/api/v1/batches": {
            "post": {
                **_op(
                    "Receive one signed result batch (DSSE envelope, at most 256 KiB)",
                    None,
                    {
                        "200": _resp("Accepted (or the identical receipt again)", RECEIPT),
                        "400": _resp("Not an envelope, or the payload is not a batch", ERROR),
                        "401": _resp("Unknown or revoked key, bad signature", ERROR),
                        "403": _resp("Names another station, polling area or election", ERROR),
                        "409": _resp("Same station and sequence, other bytes (Q409)", RECEIPT),
                        "413": _resp("Body over 256 KiB", ERROR),
                        **_SLOW,
                        "422": _resp("The law's checks, stale, or correction rules", RECEIPT),
                        "507": _resp("Disk full: nothing stored, send again", ERROR),
                    },
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": RECEIPT}},
                },
            }
        },
        "/api/v1/receipts": {
            "post": {
                **_op(
                    "Show a receipt this server signed: does the ledger still hold its entry?",
                    None,
                    {
                        "200": _resp("Held, or already recorded as lost (field held)", _OBJ),
                        "201": _resp("Not held: recorded as rollback_detected, alert raised", _OBJ),
                        "400": _resp("Not a request the server can read", ERROR),
                        "422": _resp("Not a receipt this server signed (L401)", ERROR),
                    },
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": RECEIPT}},
                },
            }
        },
        "/api/v1/ledger/hashes": {
            "get": _op(
                "The hash at each index asked and the head, from one snapshot",
                None,
                {
                    "200": _resp("Hashes", _answer("ledger-hashes")),
                    "400": _resp("at is not 1 to 64 indexes", ERROR),
                },
                params=[
                    {
                        **_q("at", "ledger indexes separated by commas (1 to 64)"),
                        "required": True,
                    }
                ],
            )
        },
        "/api/v1/server-key": {
            "get": _op(
                "The key receipts are signed with",
                None,
                {"200": _resp("Key", _answer("server-key"))},
            )
        },
        "/api/v1/election": {
            "get": _op(
                "The election definition",
                None,
                {"200": _resp("Definition", {"$ref": "#/components/schemas/ElectionDefinition"})},
            )
        },
        "/api/v1/stations": {
            "get": _op(
                "Stations with fingerprints",
                "operator",
                {"200": _resp("Stations", _answer("stations"))},
            ),
            "post": _op(
                "Enroll a station's key",
                "admin",
                {
                    "200": _resp("Already enrolled, unchanged", _OBJ),
                    "201": _resp("Enrolled", _OBJ),
                    "404": _resp("Unknown polling area", ERROR),
                    "409": _resp("Clashes with an enrolment, or fingerprint mismatch", ERROR),
                    **_SLOW,
                },
                body={
                    "type": "object",
                    "required": ["station_id", "polling_area_id", "public_key"],
                    "properties": {
                        "station_id": {"type": "string"},
                        "polling_area_id": {"type": "string"},
                        "public_key": {"type": "string", "description": "PEM, base64 or hex"},
                        "fingerprint": {"type": "string", "description": "read-aloud check"},
                    },
                },
            ),
        },
        "/api/v1/stations/{station_id}/revoke": {
            "post": _op(
                "Revoke a station's key",
                "admin",
                {"200": _resp("Revoked", _OBJ), "404": _resp("No active key", ERROR)},
                params=[_p("station_id")],
            )
        },
        "/api/v1/alerts/{alert_id}/review": {
            "post": _op(
                "Mark an alert reviewed (recorded in the ledger)",
                "operator",
                {
                    "200": _resp("Reviewed", _OBJ),
                    "404": _resp("No such alert", ERROR),
                    "409": _resp("Already reviewed", ERROR),
                    **_SLOW,
                },
                params=[_p("alert_id", _int(1))],
                body={"type": "object", "properties": {"note": {"type": "string"}}},
            )
        },
        "/api/v1/progress": {
            "get": _op(
                "Progress",
                "viewer",
                {"200": _resp("Progress", _answer("progress"))},
                public=True,
                params=[
                    _q(
                        "levels",
                        "only the committees of these levels, separated by commas "
                        f"({', '.join(COMMITTEE_LEVELS)})",
                    )
                ],
            )
        },
        "/api/v1/constituencies": {
            "get": _op(
                "The constituencies, compact: every one, or a page of them",
                "viewer",
                {"200": _resp("Constituencies", _answer("constituencies"))},
                public=True,
                params=[
                    _q("race", "race id"),
                    _q("committee", "committee id (and those under it)"),
                    _q("status", "result status", _enum(STATUSES)),
                    _q("q", "words, without diacritics, in an id, the name or a candidate's name"),
                    _q("sort", "the order (key: the definition's)", _enum(LIST_SORTS, "key")),
                    _q("offset", "rows to skip", _int(0, default=0)),
                    _q("limit", "at most this many rows (default: all)", _int(1, LIST_MAX)),
                ],
            )
        },
        "/api/v1/constituencies/{race_id}/{constituency_id}": {
            "get": _op(
                "One constituency's full result",
                "viewer",
                {
                    "200": _resp("Result", _answer("constituency")),
                    "404": _resp("No such constituency", ERROR),
                },
                public=True,
                params=[
                    _p("race_id"),
                    _p("constituency_id"),
                    _q("round", "main (default), revote, supplementary", _enum(ROUNDS, "main")),
                ],
            )
        },
        "/api/v1/polling-areas/{polling_area_id}": {
            "get": _op(
                "A polling area: minutes, corrections, warnings, receipts",
                "viewer",
                {
                    "200": _resp("Polling area", _answer("polling-area")),
                    "404": _resp("No such area", ERROR),
                },
                public=True,
                params=[_p("polling_area_id")],
            )
        },
        "/api/v1/alerts": {
            "get": _op(
                "Alerts and silent stations",
                "operator",
                {"200": _resp("Alerts", _answer("alerts"))},
                public=True,
                params=[
                    _q("kind", "one kind of alert only", _enum(ALERT_KINDS)),
                    _q("reviewed", "reviewed ones only, or not reviewed", _enum(("true", "false"))),
                    _q("limit", "at most this many", _int(1, ALERTS_MAX, ALERTS_LIMIT)),
                    _q("after", "alerts with a larger id", _int(0, default=0)),
                    _q("offset", "alerts to skip", _int(0, default=0)),
                    _q("order", "oldest (default) or newest first", _enum(("oldest", "newest"))),
                ],
            )
        },
        "/api/v1/missing": {
            "get": _op(
                "Polling areas still to report, election-wide or under a committee",
                "viewer",
                {
                    "200": _resp("Missing areas", _answer("missing")),
                    "404": _resp("No such committee", ERROR),
                },
                public=True,
                params=[
                    _q("committee", "committee id (and those under it)"),
                    _q("offset", "areas to skip", _int(0, default=0)),
                    _q("limit", "at most this many", _int(1, LIST_MAX, MISSING_LIMIT)),
                ],
            )
        },
        "/api/v1/ledger": {
            "get": _op(
                "The ledger export (JSON Lines, docs/ledger.md)",
                "viewer",
                {"200": _resp("Ledger", {"type": "string"}, "application/x-ndjson")},
                public=True,
                params=[
                    _q("since", "first entry index", _int(0, default=0)),
                    _q("until", "stop before this index (a closed range is immutable)", _int(0)),
                ],
            )
        },
        "/api/v1/results.json": {
            "get": _op(
                "Every result with results_sha256 and the ledger head",
                "viewer",
                {"200": _resp("Results", _answer("results"))},
                public=True,
            )
        },
        "/api/v1/results.csv": {
            "get": _op(
                "Every result as CSV, one row per candidate",
                "viewer",
                {"200": _resp("CSV", {"type": "string"}, "text/csv")},
                public=True,
            )
        },
        "/api/v1/feed": {
            "get": _op(
                "WebSocket feed of events {id, type, at, data} (components/schemas/FeedEvent)",
                "viewer",
                {"101": _resp("Switching to WebSocket")},
                public=True,
                params=[
                    _q("since", "replay events after this id", _int(0)),
                    _q("token", "bearer token (browsers)"),
                ],
            )
        },
        "/api/openapi.json": {
            "get": _op("This document", None, {"200": _resp("OpenAPI 3.1", _OBJ)})
        },
    }
    for item in paths.values():
        for op in item.values():
            op["responses"] = dict(sorted(op["responses"].items()))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kiemphieu tally server",
            "version": "1",
            "description": "Election results transmission and tallying (docs/api.md).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _answer("error"),
                # One text frame of the feed (GET /api/v1/feed), ``type`` naming its data.
                "FeedEvent": _answer("feed-event"),
                **_components(
                    "envelope.v1.schema.json",
                    "election.v1.schema.json",
                    *(f"{name}.v1.schema.json" for name in READ),
                ),
            },
        },
    }
