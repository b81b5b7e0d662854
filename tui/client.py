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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

import aiohttp
import msgspec

from schemas import read
from schemas._retry import Backoff
from tui.errors import BadAnswer, ServerRefused, ServerUnreachable

API = "/api/v1"


T = TypeVar("T")


def decode(data: bytes, kind: type[T], what: str) -> T:
    """``data`` as exactly a ``kind`` of ``schemas/read.py``: an answer that does not
    match its type is refused, never guessed at."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as exc:
        raise BadAnswer(
            en=f"{what} does not match its type (schemas/read.py): {exc}",
            vi=f"{what} không khớp kiểu của nó (schemas/read.py): {exc}",
            fields=(what,),
            figures={"detail": str(exc)},
        ) from exc


_event = msgspec.json.Decoder(read.FeedEvent)


def parse_event(raw: bytes | str) -> read.FeedEvent:
    """One text frame of the feed, as its typed event."""
    try:
        return _event.decode(raw)
    except msgspec.DecodeError as exc:
        raise BadAnswer(
            en=f"The feed sent something that is not an event: {exc}: {str(raw)[:200]}",
            vi=f"Luồng sự kiện gửi dữ liệu không phải sự kiện: {exc}: {str(raw)[:200]}",
            fields=("feed",),
            figures={"detail": str(exc)},
        ) from exc


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
        body: dict[str, str] | None = None,
    ) -> bytes:
        """The answer's bytes (a status below 400); a refusal raises, naming the
        server's error code."""
        url = self.base_url + path
        try:
            async with self.session().request(method, url, params=params, json=body) as resp:
                data = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnreachable(
                en=f"The server at {self.base_url} did not "
                f"answer {method} {path}: {exc or type(exc)}."
                " Check the address and that the server runs.",
                vi=f"Máy chủ {self.base_url} không trả lời {method} {path}: {exc or type(exc)}."
                " Kiểm tra địa chỉ và máy chủ đang chạy.",
                fields=("server",),
                figures={"url": url},
            ) from exc
        if status < 400:
            return data
        try:
            err = msgspec.json.decode(data, type=read.ErrorBody).error
        except msgspec.DecodeError as exc:
            raise BadAnswer(
                en=f"{method} {path} answered {status} without an error body.",
                vi=f"{method} {path} trả lời {status} không kèm nội dung lỗi.",
                figures={"status": status},
            ) from exc
        raise ServerRefused(
            en=f"{method} {path} was refused ({status} {err.code}): {err.message_en}",
            vi=f"{method} {path} bị từ chối ({status} {err.code}): {err.message_vi}",
            fields=tuple(err.fields),
            figures={"status": status, "server_code": err.code, "path": path},
        )

    async def get(self, path: str, answer: type[T], /, **params: str | None) -> T:
        query = {k: v for k, v in params.items() if v is not None}
        data = await self._request("GET", API + path, params=query or None)
        return decode(data, answer, f"GET {API}{path}")

    async def election_bytes(self) -> bytes:
        """The definition as sent, for strict decoding (``schemas.codec``)."""
        return await self._request("GET", API + "/election")

    async def progress(self, levels: str | None = None) -> read.Progress:
        """``levels``: only the committees of these levels ("national,province")."""
        return await self.get("/progress", read.Progress, levels=levels)

    async def constituencies(
        self,
        race: str | None = None,
        committee: str | None = None,
        status: str | None = None,
        **page: str | None,
    ) -> read.ConstituencyList:
        """The list, or one page of it (``q``, ``sort``, ``offset``, ``limit``)."""
        return await self.get(
            "/constituencies",
            read.ConstituencyList,
            race=race,
            committee=committee,
            status=status,
            **page,
        )

    async def constituency(
        self, race_id: str, constituency_id: str, round_: str = "main"
    ) -> read.ConstituencyDetail:
        return await self.get(
            f"/constituencies/{_q(race_id)}/{_q(constituency_id)}",
            read.ConstituencyDetail,
            round=None if round_ == "main" else round_,
        )

    async def polling_area(self, polling_area_id: str) -> read.PollingAreaView:
        return await self.get(f"/polling-areas/{_q(polling_area_id)}", read.PollingAreaView)

    async def alerts(
        self,
        kind: str | None = None,
        reviewed: bool | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        newest: bool = False,
    ) -> read.AlertsPage:
        flag = None if reviewed is None else ("true" if reviewed else "false")
        return await self.get(
            "/alerts",
            read.AlertsPage,
            kind=kind,
            reviewed=flag,
            offset=str(offset) if offset else None,
            limit=None if limit is None else str(limit),
            order="newest" if newest else None,
        )

    async def missing(
        self, committee: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> read.MissingAreas:
        return await self.get(
            "/missing",
            read.MissingAreas,
            committee=committee,
            offset=str(offset) if offset else None,
            limit=str(limit),
        )

    async def results(self) -> read.ResultsDocument:
        return await self.get("/results.json", read.ResultsDocument)

    async def review(self, alert_id: str | int, note: str) -> None:
        await self._request("POST", f"{API}/alerts/{_q(str(alert_id))}/review", body={"note": note})


class Feed:
    """The WebSocket feed, kept open: each event goes to ``on_event`` in order;
    ``on_state`` hears 'connected', or 'disconnected' with the retry delay."""

    def __init__(
        self,
        client: ApiClient,
        on_event: Callable[[read.FeedEvent], Awaitable[None]],
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

    async def _events(self) -> AsyncIterator[read.FeedEvent]:
        async with self.client.session().ws_connect(self.url(), heartbeat=20) as ws:
            self.failures = 0
            await self.on_state("connected", None)
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    event = parse_event(msg.data)
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
