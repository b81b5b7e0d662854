"""Who may call what (bearer tokens with ordered roles), and errors as JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from schemas.errors import KiemphieuError
from tally_server.service.codes import ServerError, rejection
from tally_server.store import tokens
from tally_server.web.keys import INGEST, PUBLIC, TOKEN
from tally_server.web.statuses import status_of

log = logging.getLogger("kiemphieu.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

_ACCESS = "__kiemphieu_access__"


@dataclass(frozen=True, slots=True)
class Access:
    role: str | None
    """The least role needed; None: anyone (stations, the server key, the contract)."""
    public: bool = False
    """Open to all when the server runs with --public."""


def access(role: str | None, *, public: bool = False) -> Callable[[H], H]:
    def mark(handler: H) -> H:
        setattr(handler, _ACCESS, Access(role, public))
        return handler

    return mark


def access_of(handler: Any) -> Access | None:
    return getattr(handler, _ACCESS, None)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    field = "Authorization"
    secret: str | None = None
    if header[:7].lower() == "bearer ":
        secret = header[7:].strip() or None
    elif request.path == "/api/v1/feed":
        # Browsers cannot set headers on a WebSocket: the feed also takes ?token=.
        field, secret = "token", request.query.get("token") or None
    # Tokens are ASCII; other bytes arrive as lone surrogates that cannot even be hashed.
    if secret is not None and not (secret.isascii() and secret.isprintable()):
        raise ServerError(
            en=f"The {field} token must be printable ASCII text, as `tally-server token create` "
            f"prints it.",
            vi=f"Mã truy cập trong {field} phải là văn bản ASCII in được, như "
            f"`tally-server token create` in ra.",
            code="A400",
            fields=(field,),
            figures={"length": len(secret)},
        )
    return secret


def authorize(request: web.Request) -> None:
    """Let the request through, or raise the A401 / A403 that says why not."""
    route = request.match_info.route
    needed = access_of(getattr(route, "handler", None))
    if needed is None or needed.role is None:
        return
    if needed.public and request.app[PUBLIC]:
        return
    assert needed.role is not None
    secret = _bearer(request)
    token = tokens.lookup(request.app[INGEST].auth_conn, secret) if secret else None
    if token is None:
        raise ServerError(
            en="A valid access token is needed: send 'Authorization: Bearer <token>' "
            "(made with `tally-server token create`).",
            vi="Cần mã truy cập hợp lệ: gửi 'Authorization: Bearer <mã>' "
            "(tạo bằng `tally-server token create`).",
            code="A401",
            fields=("Authorization",),
        )
    if token.expired():
        local = tokens.parse_time(token.expires_at).astimezone(tokens.VIETNAM)
        raise ServerError(
            en=f"Access token {token.id} expired at {token.expires_at} ({local:%d/%m/%Y %H:%M} "
            f"Vietnam time): ask an administrator for a new one "
            f"(`tally-server token create`).",
            vi=f"Mã truy cập {token.id} đã hết hạn lúc {local:%H:%M %d/%m/%Y} (giờ Việt Nam): "
            f"hãy xin quản trị viên mã mới (`tally-server token create`).",
            code="A402",
            fields=("Authorization",),
            figures={"token_id": token.id, "expired_at": token.expires_at},
        )
    if tokens.RANK[token.role] < tokens.RANK[needed.role]:
        raise ServerError(
            en=f"This needs the {needed.role} role; token {token.id} is {token.role}.",
            vi=f"Việc này cần quyền {needed.role}; mã {token.id} chỉ có quyền {token.role}.",
            code="A403",
            fields=("Authorization",),
            figures={"needed": needed.role, "role": token.role, "token_id": token.id},
        )
    request[TOKEN] = token


def error_response(error: KiemphieuError, status: int | None = None) -> web.Response:
    """The error as JSON, with the status its outcome is answered with (``status``: only
    for what aiohttp refused itself, with a code of no outcome)."""
    return web.Response(
        status=status or status_of(error),
        body=json.dumps({"error": error.to_dict()}, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


_HTTP_CODES = {
    404: ("A404", "Không có đường dẫn này.", "There is no such path."),
    405: ("A405", "Phương thức không được phép ở đường dẫn này.", "Method not allowed here."),
    413: (
        "H413",
        "Nội dung quá lớn: tối đa 256 KiB.",
        "The body is too large: at most 256 KiB.",
    ),
}


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One layer around every handler: roles first, then errors as JSON."""
    try:
        authorize(request)
        return await handler(request)
    except KiemphieuError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, vi, en = _HTTP_CODES.get(exc.status, (f"H{exc.status}", exc.reason, exc.reason))
        figures: dict[str, Any] = {"path": request.path, "method": request.method}
        if exc.status == 413:
            figures["limit_bytes"] = request.app._client_max_size
        error = KiemphieuError(en=en, vi=vi, code=code, figures=figures)
        resp = error_response(error, None if rejection(code) else exc.status)
        if exc.status == 405:
            allow = exc.headers.get("Allow")
            if allow:
                resp.headers["Allow"] = allow
        return resp
