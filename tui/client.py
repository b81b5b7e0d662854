"""The dashboard's view of the tally server: the read API and the WebSocket feed
(docs/api.md), over aiohttp.

``ApiClient`` maps every failure to a ``tui.errors`` error naming the route,
the status and the server's own error code; ``Feed`` keeps a WebSocket open,
reconnecting with exponential backoff and resuming with ``since`` so no event
is lost across a drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from schemas._retry import Backoff
from tui.errors import BadAnswer, ServerRefused, ServerUnreachable

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One event of ``GET /api/v1/feed``: ``{"id", "type", "at", "data"}``."""

    id: int
    type: str
    at: str
    data: dict[str, Any]


def parse_event(raw: Any) -> FeedEvent:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        raise BadAnswer(
            f"The feed sent something that is not an event: {str(raw)[:200]}",
            f"Luồng sự kiện gửi dữ liệu không phải sự kiện: {str(raw)[:200]}",
            fields=("id",),
        )
    data = raw.get("data")
    return FeedEvent(
        id=raw["id"],
        type=str(raw.get("type", "")),
        at=str(raw.get("at", "")),
        data=data if isinstance(data, dict) else {},
    )


def _q(segment: str) -> str:
    return quote(segment, safe="")


class ApiClient:
    """Read (and review) calls of the committee's API."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self.headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        *,
        raw: bool = False,
    ) -> Any:
        url = self.base_url + path
        try:
            async with self.session().request(method, url, params=params, json=body) as resp:
                data = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnreachable(
                f"The server at {self.base_url} did not answer {method} {path}: {exc or type(exc)}."
                " Check the address and that the server runs.",
                f"Máy chủ {self.base_url} không trả lời {method} {path}: {exc or type(exc)}."
                " Kiểm tra địa chỉ và máy chủ đang chạy.",
                fields=("server",),
                figures={"url": url},
            ) from exc
        if raw and status < 400:
            return data
        try:
            doc = json.loads(data.decode("utf-8")) if data else None
        except ValueError as exc:
            raise BadAnswer(
                f"{method} {path} answered {status} with something that is not JSON.",
                f"{method} {path} trả lời {status} bằng dữ liệu không phải JSON.",
                figures={"status": status},
            ) from exc
        if status >= 400:
            err = doc.get("error", {}) if isinstance(doc, dict) else {}
            code = str(err.get("code", ""))
            raise ServerRefused(
                f"{method} {path} was refused ({status} {code}): "
                f"{err.get('message_en', 'no detail')}",
                f"{method} {path} bị từ chối ({status} {code}): "
                f"{err.get('message_vi', 'không có chi tiết')}",
                fields=tuple(err.get("fields", ()) or ()),
                figures={"status": status, "server_code": code, "path": path},
            )
        return doc

    async def get(self, path: str, **params: str | None) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return await self._request("GET", API + path, params=query or None)

    async def election(self) -> Any:
        return await self.get("/election")

    async def election_bytes(self) -> bytes:
        """The definition as sent, for strict decoding (``schemas.codec``)."""
        return await self._request("GET", API + "/election", raw=True)  # type: ignore[no-any-return]

    async def progress(self) -> Any:
        return await self.get("/progress")

    async def constituencies(
        self, race: str | None = None, committee: str | None = None, status: str | None = None
    ) -> Any:
        return await self.get("/constituencies", race=race, committee=committee, status=status)

    async def constituency(self, race_id: str, constituency_id: str, round_: str = "main") -> Any:
        return await self.get(
            f"/constituencies/{_q(race_id)}/{_q(constituency_id)}",
            round=None if round_ == "main" else round_,
        )

    async def polling_area(self, polling_area_id: str) -> Any:
        return await self.get(f"/polling-areas/{_q(polling_area_id)}")

    async def alerts(self, kind: str | None = None, reviewed: bool | None = None) -> Any:
        flag = None if reviewed is None else ("true" if reviewed else "false")
        return await self.get("/alerts", kind=kind, reviewed=flag)

    async def results(self) -> Any:
        return await self.get("/results.json")

    async def review(self, alert_id: str | int, note: str) -> Any:
        return await self._request(
            "POST", f"{API}/alerts/{_q(str(alert_id))}/review", body={"note": note}
        )


class Feed:
    """The WebSocket feed, kept open: each event goes to ``on_event`` in order;
    ``on_state`` hears 'connected', or 'disconnected' with the retry delay."""

    def __init__(
        self,
        client: ApiClient,
        on_event: Callable[[FeedEvent], Awaitable[None]],
        on_state: Callable[[str, float | None], Awaitable[None]],
        *,
        since: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.on_event = on_event
        self.on_state = on_state
        self.last_id = since
        self.backoff = backoff or Backoff(cap=15.0)
        self.failures = 0

    def url(self) -> str:
        url = f"{self.client.base_url}{API}/feed"
        if self.last_id is not None:
            url += f"?since={self.last_id}"
        return url

    async def _events(self) -> AsyncIterator[FeedEvent]:
        async with self.client.session().ws_connect(self.url(), heartbeat=20) as ws:
            self.failures = 0
            await self.on_state("connected", None)
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    event = parse_event(msg.json())
                    if self.last_id is not None and event.id <= self.last_id:
                        continue  # a replay overlapping what we already have
                    yield event
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break

    async def run(self) -> None:
        """Run until cancelled."""
        while True:
            try:
                async for event in self._events():
                    self.last_id = event.id
                    await self.on_event(event)
            except (TimeoutError, aiohttp.ClientError, OSError, BadAnswer):
                pass
            delay = self.backoff.delay(self.failures)
            self.failures += 1
            await self.on_state("disconnected", delay)
            await asyncio.sleep(delay)


@contextlib.asynccontextmanager
async def connected(base_url: str, token: str | None) -> AsyncIterator[ApiClient]:
    client = ApiClient(base_url, token)
    try:
        yield client
    finally:
        await client.close()
