"""Running the app: sockets, TLS, signals, and logs as JSON lines."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import ipaddress
import json
import logging
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tally_server.service.limits import DEFAULT_PER_KEYID, DEFAULT_PER_SOURCE, RefusalLimiter
from tally_server.service.replica import shown_url
from tally_server.web.app import create_app

_STANDARD = set(vars(logging.makeLogRecord({})))
SWITCH_INTERVAL = 0.0005


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class AccessLog(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                # the page the proxy keeps apart (its cache key is the path and query)
                "query": request.query_string,
                "status": response.status,
                "ms": round(time * 1000, 3),
                "remote": request.remote,
            },
        )


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: 127.0.0.0/8, ::1, localhost.
    Anything else (0.0.0.0 and :: included) is reachable from the network."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # another host name: it may resolve to anything
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def plain_http_refusal(host: str) -> str:
    """Why ``serve`` will not speak plain HTTP on ``host`` unless told to."""
    return (
        f"lỗi / error: {host} có thể truy cập từ mạng; không có TLS thì mã truy cập và mọi "
        f"dữ liệu đi dưới dạng rõ. Hãy dùng --tls-cert và --tls-key, hoặc nếu một lớp khác "
        f"đã mã hoá (VPN, reverse proxy TLS) thì thêm --insecure-http.\n"
        f"{host} is reachable from the network: without TLS, access tokens and everything "
        f"else travel in clear. Give --tls-cert and --tls-key, or, if something else already "
        f"encrypts the traffic (a VPN, a TLS reverse proxy), add --insecure-http."
    )


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    for name in ("kiemphieu", "aiohttp"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def serve(
    folder: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    public: bool = False,
    log_level: str = "info",
    access_log: bool = False,
    max_db_bytes: int | None = None,
    workers: int = 0,
    insecure_http: bool = False,
    refusals: tuple[int, int] = (DEFAULT_PER_SOURCE, DEFAULT_PER_KEYID),
    header_timeout: float,
    body_timeout: float,
    replicate: str | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM. Plain HTTP on an address other machines can
    reach needs ``insecure_http`` (exit 2 without it) and is warned about in the log.
    ``refusals``: unsigned refusals recorded per source address and per key id a
    minute (service/limits.py). ``replicate``: the replica URL Litestream ships the
    folder to while serving (service/replica.py)."""
    tls = tls_cert is not None and tls_key is not None
    if not tls and not is_loopback(host) and not insecure_http:
        print(plain_http_refusal(host), file=sys.stderr)
        return 2
    setup_logging(log_level)
    return asyncio.run(
        _run(
            folder,
            host,
            port,
            tls_cert,
            tls_key,
            public,
            access_log,
            max_db_bytes,
            workers,
            refusals,
            header_timeout,
            body_timeout,
            replicate,
        )
    )


async def _run(
    folder: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    public: bool,
    access_log: bool,
    max_db_bytes: int | None,
    workers: int,
    refusals: tuple[int, int],
    header_timeout: float,
    body_timeout: float,
    replicate: str | None,
) -> int:
    log = logging.getLogger("kiemphieu.server")
    app = create_app(
        folder,
        public=public,
        max_db_bytes=max_db_bytes,
        workers=workers,
        limiter=RefusalLimiter(*refusals),
        body_timeout=body_timeout,
        replicate=replicate,
    )
    runner = web.AppRunner(
        app,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        access_log_class=AccessLog,
        handle_signals=False,
        # aiohttp (>= 3.14.5) arms this timer when a connection opens and after every
        # answer, and closes the connection if no complete request headers came by then:
        # a header timeout (slow or half-sent headers) that also ends idle keep-alives.
        keepalive_timeout=header_timeout,
    )
    await runner.setup()
    # The election, the state and the tally live as long as the process: keep the
    # collector from walking them again and again on the ingest path.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    # The ledger writer thread takes the GIL back after every SQLite step: with the
    # event loop busy, a shorter switch interval roughly halves a write group's time
    # (bench/RESULTS.md).
    sys.setswitchinterval(SWITCH_INTERVAL)
    context = None
    if tls_cert is not None and tls_key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
    site = web.TCPSite(runner, host, port, ssl_context=context, backlog=1024)
    await site.start()
    if context is None and not is_loopback(host):
        log.warning(
            "insecure http",
            extra={
                "host": host,
                "message_en": "Plain HTTP on an address the network can reach: access tokens "
                "and everything else travel in clear (--insecure-http).",
                "message_vi": "HTTP không mã hoá trên địa chỉ truy cập được từ mạng: mã truy "
                "cập và mọi dữ liệu đi dưới dạng rõ (--insecure-http).",
            },
        )
    scheme = "https" if context else "http"
    addresses = runner.addresses
    bound = int(addresses[0][1]) if addresses else port
    url = f"{scheme}://{host}:{bound}"
    log.info("listening", extra={"url": url, "public": public, "dir": str(folder)})
    said: dict[str, Any] = {"event": "listening", "url": url, "port": bound}
    if replicate is not None:
        said["replicate"] = shown_url(replicate)
    print(json.dumps(said), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
    log.info("stopped")
    return 0
