"""Test infrastructure for the station client: a bad link between it and the server.

``FaultyProxy`` is a plain TCP relay on 127.0.0.1 that can hold requests,
swallow or drop responses after the server has answered, duplicate requests
and slow everything down. It is not a stand-in for any of our components:
the real client talks through it to the real server. The tests at the end
check that the proxy itself does what the other tests rely on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["pass", "hold", "drop_response", "swallow_response", "duplicate"]


@dataclass
class FaultyProxy:
    upstream_port: int
    upstream_host: str = "127.0.0.1"
    mode: Mode = "pass"
    """pass: relay; hold: read requests, forward nothing; drop_response: forward
    the request, then close the client's connection at the first byte of the
    answer (the server has committed); swallow_response: forward, never relay
    the answer, keep the connection open; duplicate: every request also goes
    to the server a second time on another connection."""
    faults_left: int = 1_000_000
    """How many answers drop_response / swallow_response affect before passing."""
    delay: float = 0.0
    """Seconds before each relayed chunk, both ways (a slow link)."""
    connections: int = 0
    request_chunks: int = 0
    dropped: int = 0
    swallowed: int = 0
    duplicated: int = 0
    request_seen: asyncio.Event = field(default_factory=asyncio.Event)
    answer_held: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultyProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> FaultyProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        if self.mode == "hold":
            while await reader.read(65536):
                self.request_chunks += 1
                self.request_seen.set()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.close()
            return
        self._writers.append(up_writer)
        twin: asyncio.StreamWriter | None = None
        if self.mode == "duplicate":
            twin_reader, twin = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
            self._writers.append(twin)
            self._spawn(self._drain(twin_reader))
        self._spawn(self._requests(reader, up_writer, twin))
        await self._answers(up_reader, writer)

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        twin: asyncio.StreamWriter | None,
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                self.request_chunks += 1
                self.request_seen.set()
                if self.delay:
                    await asyncio.sleep(self.delay)
                upstream.write(chunk)
                await upstream.drain()
                if twin is not None:
                    self.duplicated += 1
                    twin.write(chunk)
                    await twin.drain()
        upstream.close()

    async def _answers(self, upstream: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await upstream.read(65536):
                if self.mode == "drop_response" and self.faults_left > 0:
                    self.faults_left -= 1
                    self.dropped += 1
                    self.answer_held.set()
                    writer.transport.abort()
                    return
                if self.mode == "swallow_response" and self.faults_left > 0:
                    self.faults_left -= 1
                    self.swallowed += 1
                    self.answer_held.set()
                    await asyncio.Event().wait()  # keep the client waiting forever
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        writer.close()


# --- the proxy's own checks --------------------------------------------------------


async def _echo_server() -> tuple[asyncio.Server, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            seen.append(data)
            writer.write(b"echo:" + data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), seen


async def _exchange(port: int, data: bytes, timeout: float = 1.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), timeout)
    finally:
        writer.close()


async def test_proxy_relays_and_drops_only_after_the_server_answered() -> None:
    server, seen = await _echo_server()
    port = server.sockets[0].getsockname()[1]
    async with FaultyProxy(port, mode="drop_response", faults_left=1) as proxy:
        assert await _exchange(proxy.port, b"one") == b""
        assert seen == [b"one"] and proxy.dropped == 1
        assert await _exchange(proxy.port, b"two") == b"echo:two"
    server.close()


async def test_proxy_duplicates_each_request_to_the_server() -> None:
    server, seen = await _echo_server()
    port = server.sockets[0].getsockname()[1]
    async with FaultyProxy(port, mode="duplicate") as proxy:
        assert await _exchange(proxy.port, b"once") == b"echo:once"
        for _ in range(50):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
        assert seen == [b"once", b"once"]
    server.close()


async def test_proxy_can_hold_requests_back_from_the_server() -> None:
    server, seen = await _echo_server()
    port = server.sockets[0].getsockname()[1]
    async with FaultyProxy(port, mode="hold") as proxy:
        with contextlib.suppress(TimeoutError):
            await _exchange(proxy.port, b"held", timeout=0.2)
        assert proxy.request_seen.is_set() and seen == []
    server.close()
