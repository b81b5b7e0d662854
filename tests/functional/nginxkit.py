"""Debian's nginx with the shipped configuration (deploy/nginx/), rendered under one
prefix and run as the current user: the proxy test and bench/public.py both use it."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"


class NginxError(RuntimeError):
    """nginx is missing, or did not start with the rendered configuration."""


def render(text: str, values: dict[str, str]) -> str:
    """The docs/proxy.md step: every @NAME@ replaced; none may be left."""
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    left = re.findall(r"@[A-Z_]+@", code)
    if left:
        raise NginxError(f"placeholders not rendered: {left}")
    return text


def binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        raise NginxError("nginx is required: apt-get install nginx-light (.ci/run installs it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Nginx:
    """nginx in front of ``upstream`` (host:port), listening on a free loopback port."""

    prefix: Path
    upstream: str
    workers: int = 1
    cache_size: str = "64m"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The access log: one line per answer, with ``cache=`` and ``up=``."""
        return self.prefix / "logs" / "kiemphieu-public.log"

    def start(self, timeout: float = 20.0) -> None:
        nginx = binary()
        for sub in ("tmp", "cache", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        values = {
            "PREFIX": str(self.prefix),
            "USER": subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
            "WORKERS": str(self.workers),
            "LISTEN": f"127.0.0.1:{self.port}",
            "UPSTREAM": self.upstream,
            "CACHE_DIR": str(self.prefix / "cache"),
            "CACHE_SIZE": self.cache_size,
            "LOG_DIR": str(self.prefix / "logs"),
        }
        for name in ("nginx.conf", "kiemphieu.conf"):
            (self.prefix / name).write_text(render((DEPLOY / name).read_text(), values))
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
            + ["-g", "daemon off;"],
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise NginxError(f"nginx did not start: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise NginxError(f"nginx did not listen in {timeout:.0f} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None
