"""Running the app: sockets, TLS, signals, and logs as JSON lines."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

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
                "status": response.status,
                "ms": round(time * 1000, 3),
                "remote": request.remote,
            },
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
    header_timeout: float,
    body_timeout: float,
) -> int:
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
            header_timeout,
            body_timeout,
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
    header_timeout: float,
    body_timeout: float,
) -> int:
    log = logging.getLogger("kiemphieu.server")
    app = create_app(
        folder, public=public, max_db_bytes=max_db_bytes, workers=workers, body_timeout=body_timeout
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
    # event loop busy, a write group of 64 batches (640 rows) took a median 20 ms at
    # the default 5 ms switch interval, 10-12 ms at 0.5 ms.
    sys.setswitchinterval(SWITCH_INTERVAL)
    context = None
    if tls_cert is not None and tls_key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
    site = web.TCPSite(runner, host, port, ssl_context=context, backlog=1024)
    await site.start()
    scheme = "https" if context else "http"
    addresses = runner.addresses
    bound = int(addresses[0][1]) if addresses else port
    url = f"{scheme}://{host}:{bound}"
    log.info("listening", extra={"url": url, "public": public, "dir": str(folder)})
    print(json.dumps({"event": "listening", "url": url, "port": bound}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
    log.info("stopped")
    return 0
