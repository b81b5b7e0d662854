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
import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
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
    twin_answered: asyncio.Event = field(default_factory=asyncio.Event)
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
                self.twin_answered.set()  # the server has decided the twin too

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


# --- a real tally server in a subprocess -------------------------------------------


@dataclass
class ServerProcess:
    """``tally-server serve`` on a free port of 127.0.0.1, with an admin token."""

    folder: Path
    url: str
    token: str
    process: subprocess.Popen[str]
    cafile: Path | None = None

    @property
    def public_key_file(self) -> Path:
        return self.folder / "server.pub.pem"

    def request(
        self, method: str, path: str, body: bytes | None = None, *, token: bool = True
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=str(self.cafile)) if self.cafile else None
        try:
            with urllib.request.urlopen(req, timeout=10, context=context) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read()

    def json(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, (status, body[:500])
        return json.loads(body)

    def enroll(self, station_id: str, polling_area_id: str, public_pem: bytes) -> None:
        body = json.dumps(
            {
                "station_id": station_id,
                "polling_area_id": polling_area_id,
                "public_key": public_pem.decode("ascii"),
            }
        ).encode()
        status, answer = self.request("POST", "/api/v1/stations", body)
        assert status in (200, 201), (status, answer)

    def ledger(self) -> list[dict[str, Any]]:
        status, body = self.request("GET", "/api/v1/ledger")
        assert status == 200, (status, body[:500])
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def batch_entries(self, station_id: str) -> list[dict[str, Any]]:
        """Ledger entries about batches of one station: what was recorded, and how often."""
        kinds = {"batch_accepted", "correction", "batch_rejected", "conflict"}
        return [
            e for e in self.ledger() if e.get("kind") in kinds and e.get("station") == station_id
        ]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tally_server(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tally_server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def start_server(
    folder: Path, election: Path, *, tls: tuple[Path, Path] | None = None
) -> ServerProcess:
    tally_server("init", "--dir", str(folder), "--election", str(election))
    token = tally_server("token", "create", "--dir", str(folder), "--role", "admin").stdout.strip()
    return serve_folder(folder, token, tls=tls)


def serve_folder(
    folder: Path, token: str, *, port: int = 0, tls: tuple[Path, Path] | None = None
) -> ServerProcess:
    """``serve`` on a folder that exists (a copy of another server's, for a standby)."""
    args = [sys.executable, "-m", "tally_server", "serve", "--dir", str(folder)]
    args += ["--port", str(port)]
    if tls is not None:
        args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    log = open(folder / "serve.log", "w")  # noqa: SIM115
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    url = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("event") == "listening":
                url = str(event["url"])
                break
    if not url:
        process.kill()
        raise AssertionError("server did not start: " + (folder / "serve.log").read_text())
    return ServerProcess(folder, url, token, process, tls[0] if tls else None)


def self_signed(
    folder: Path, name: str = "server", *, issuer: tuple[Path, Path] | None = None
) -> tuple[Path, Path]:
    """A TLS certificate for 127.0.0.1 and its key: self-signed (a CA too), or issued
    by ``issuer`` (certificate, key) as a committee's own CA would issue it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"127.0.0.1 {name}")])
    issuer_name, signer = subject, key
    if issuer is not None:
        ca_cert = x509.load_pem_x509_certificate(issuer[0].read_bytes())
        ca_key = serialization.load_pem_private_key(issuer[1].read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        issuer_name, signer = ca_cert.subject, ca_key
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


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
