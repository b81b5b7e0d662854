"""Baselines measured in the same run as the server, so figures are ratios, not guesses."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def raw_verify_rate(message_size: int = 2700, seconds: float = 3.0) -> float:
    """Ed25519 verifications per second on one core (this process pinned to CPU 0)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        key = Ed25519PrivateKey.generate()
        public = key.public_key()
        message = os.urandom(message_size)
        signature = key.sign(message)
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(500):
                public.verify(signature, message)
            n += 500
        return n / elapsed
    finally:
        os.sched_setaffinity(0, before)


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    seconds: float
    errors: str = ""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored: "+/- Stdev" columns such as "67.50%" also end in "50%".
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    found = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    assert found is not None, out
    reqs = int(found.group(1))
    seconds = float(found.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[found.group(3)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkResult(rps, p50, p99, reqs, int(m.group(1)) if m else 0, seconds)


def wrk(
    url: str, bodies: Path, *, connections: int, seconds: int, cpu: int | None, cycle: bool = False
) -> WrkResult:
    """Load ``url`` with wrk; without ``cycle``, stop as soon as every body is answered."""
    done = bodies.with_suffix(".done")
    done.unlink(missing_ok=True)
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "post_envelopes.lua"),
        url,
        "--",
        str(bodies),
        "cycle" if cycle else str(done),
    ]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if not cycle and done.exists():
            proc.send_signal(signal.SIGINT)  # wrk prints its figures and ends
            break
        time.sleep(0.005)
    out, err = proc.communicate(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {err[-2000:]}")
    try:
        result = parse_wrk(out)
    except (AttributeError, AssertionError) as exc:
        raise RuntimeError(f"wrk gave no figures:\n{out}\n{err[-2000:]}") from exc
    result.errors = err
    return result


def bare_http_rate(bodies: Path, *, connections: int = 64, seconds: int = 8) -> WrkResult:
    """A bare aiohttp POST handler in one process on CPU 0, loaded by wrk on CPU 1."""
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, str(HERE / "bare_server.py"), "--port", str(port)]
    )
    try:
        wait_port(port)
        return wrk(
            f"http://127.0.0.1:{port}/api/v1/batches",
            bodies,
            connections=connections,
            seconds=seconds,
            cpu=1,
            cycle=True,
        )
    finally:
        server.terminate()
        server.wait(10)


def ceiling_rate(
    bodies: Path,
    stations: Path,
    *,
    procs: int,
    election: Path | None = None,
    connections: int = 64,
    seconds: int = 8,
) -> WrkResult:
    """``ceiling_server.py`` (open, verify, sign a receipt; with ``election`` also
    decode and check the minutes; nothing else) in ``procs`` processes on one port,
    unpinned like ``serve``, loaded by wrk."""
    port = free_port()
    cmd = [sys.executable, str(HERE / "ceiling_server.py"), "--port", str(port)]
    cmd += ["--stations", str(stations), "--procs", str(procs)]
    if election is not None:
        cmd += ["--election", str(election)]
    server = subprocess.Popen(cmd, start_new_session=True)
    try:
        wait_port(port, timeout=120)
        time.sleep(1.0)  # every forked process listening before the load starts
        return wrk(
            f"http://127.0.0.1:{port}/api/v1/batches",
            bodies,
            connections=connections,
            seconds=seconds,
            cpu=None,
            cycle=True,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
