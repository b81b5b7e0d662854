"""What a request may be: bounded parameters, shallow JSON, and a body sent in time.

Each refusal is an ``A400`` (or ``H408``) that names the parameter and its bounds,
so a malformed request gets a 4xx that says what to fix, never a 500 from deeper
down (SQLite takes 64-bit integers only; ``json`` recurses once per nesting level).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from itertools import accumulate

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_exceptions import HTTPException
from multidict import MultiMapping

from tally_server.service.codes import ServerError
from tally_server.web.auth import Handler, error_response
from tally_server.web.keys import BODY_TIMEOUT

INT64_MAX = 2**63 - 1
"""The largest integer SQLite stores: ids, indexes and offsets are bounded by it."""
MAX_DEPTH = 32
"""Arrays and objects nested deeper than this in a request body are refused."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request has to send its whole body once its headers are in (``serve
--body-timeout``; the header timeout is aiohttp's, set by ``serve --header-timeout``)."""

_INTEGER = re.compile(r"-?[0-9]{1,20}")


def _one(values: MultiMapping[str], name: str) -> str | None:
    found = values.getall(name, [])
    if len(found) > 1:
        raise ServerError(
            en=f"{name} is given {len(found)} times; give it once.",
            vi=f"{name} được gửi {len(found)} lần; chỉ gửi một lần.",
            code="A400",
            fields=(name,),
            figures={"parameter": name, "count": len(found)},
        )
    return found[0] if found else None


def whole_number(text: str | None, name: str, default: int, lo: int, hi: int = INT64_MAX) -> int:
    """``text`` as a whole number from ``lo`` to ``hi``; ``default`` when absent."""
    if text is None:
        return default
    value = int(text) if _INTEGER.fullmatch(text) else None
    if value is None or not lo <= value <= hi:
        raise ServerError(
            en=f"{name} must be a whole number from {lo} to {hi}, not {text[:40]!r}.",
            vi=f"{name} phải là số nguyên từ {lo} đến {hi}, không phải {text[:40]!r}.",
            code="A400",
            fields=(name,),
            figures={"parameter": name, "value": text[:40], "min": lo, "max": hi},
        )
    return value


def int_query(request: web.Request, name: str, default: int, lo: int, hi: int = INT64_MAX) -> int:
    """The query parameter ``name`` as a whole number from ``lo`` to ``hi``."""
    return whole_number(_one(request.query, name), name, default, lo, hi)


def int_path(request: web.Request, name: str, lo: int, hi: int = INT64_MAX) -> int:
    """The path segment ``name`` as a whole number from ``lo`` to ``hi``."""
    return whole_number(request.match_info[name], name, lo, lo, hi)


def choice_query(request: web.Request, name: str, allowed: Iterable[str]) -> str | None:
    """The query parameter ``name``, one of ``allowed``; None when absent or empty."""
    text = _one(request.query, name)
    if not text:
        return None
    options = tuple(allowed)
    if text not in options:
        listed = ", ".join(options)
        raise ServerError(
            en=f"{name} must be one of {listed}, not {text[:40]!r}.",
            vi=f"{name} phải là một trong {listed}, không phải {text[:40]!r}.",
            code="A400",
            fields=(name,),
            figures={"parameter": name, "value": text[:40], "allowed": listed},
        )
    return text


def text_query(request: web.Request, name: str) -> str | None:
    """A free query parameter (an id to filter on), given at most once."""
    return _one(request.query, name) or None


# -- JSON bodies -----------------------------------------------------------------------------

# A string, closed or running to the end (so one unclosed quote costs one pass, not one
# per later quote), then brackets alone: their running sum is the nesting depth.
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.S)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in JSON text, read without parsing it (a
    parser recurses once per level: 100,000 levels exhaust Python's stack)."""
    steps = _STRINGS.sub(b"", raw).translate(_STEPS, _NOT_BRACKETS)
    return max(accumulate(memoryview(steps).cast("b")), default=0)


def check_depth(raw: bytes, field: str = "body") -> None:
    depth = json_depth(raw)
    if depth > MAX_DEPTH:
        raise ServerError(
            en=f"The JSON nests {depth} levels deep; at most {MAX_DEPTH} are allowed.",
            vi=f"JSON lồng nhau {depth} cấp; tối đa {MAX_DEPTH} cấp.",
            code="A400",
            fields=(field,),
            figures={"depth": depth, "max_depth": MAX_DEPTH},
        )


# -- the body, in time -----------------------------------------------------------------------


@web.middleware
async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request's whole body before its handler runs, within ``serve --body-timeout``
    of its headers; a body that cannot be decoded (``Content-Encoding``) is a 400."""
    content = request.content
    # A small body mostly comes in with its headers: then nothing is left to wait for.
    arrived = content.is_eof() and content.exception() is None
    if request.body_exists and not arrived:
        timeout = request.app[BODY_TIMEOUT]
        try:
            async with asyncio.timeout(timeout):
                await request.read()  # kept by aiohttp: the handler's read() gets it
        except TimeoutError:
            too_slow = ServerError(
                en=f"The body did not arrive within {timeout:g} s of the headers.",
                vi=f"Nội dung không đến trong vòng {timeout:g} giây sau phần đầu.",
                code="H408",
                fields=("body",),
                figures={"timeout_s": timeout},
            )
            return await _answer_and_close(request, too_slow)
        except HTTPException:
            raise  # 413: the guard words it
        except (web.RequestPayloadError, HttpProcessingError) as exc:
            # A body that does not decode as its Content-Encoding (or chunking) says.
            encoding = request.headers.get("Content-Encoding", "")[:40]
            detail = " ".join(str(exc).split())[:200]
            refusal = ServerError(
                en=f"The body cannot be read as sent (Content-Encoding {encoding!r}): {detail}",
                vi=f"Không đọc được nội dung như đã gửi (Content-Encoding {encoding!r}): {detail}",
                code="A400",
                fields=("Content-Encoding" if encoding else "body",),
                figures={"content_encoding": encoding},
            )
            return await _answer_and_close(request, refusal)
    return await handler(request)


async def _answer_and_close(request: web.Request, error: ServerError) -> web.StreamResponse:
    """Answer, then close the connection: what is left of the body is not read (aiohttp
    would otherwise linger on it, and meet its error again)."""
    resp = error_response(error)
    resp.force_close()
    await resp.prepare(request)
    await resp.write_eof()
    request.protocol.force_close()
    return resp
