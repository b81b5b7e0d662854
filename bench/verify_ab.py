"""``tally-server verify`` timed on one ledger, for A/B runs of the verify code.

    .venv/bin/python bench/verify_ab.py [--areas N] [--runs N] [--seed S]

Builds (once, cached beside bench/run.py's night) a ledger export the way the
night makes one: init, enrol every station, serve, post every envelope over HTTP
(a Python client, 32 at a time: wrk is not needed), export. Then times
``tally-server verify --json`` ``--runs`` times and prints each wall time and the
results digest. Run it on two commits in the same sitting, alternating (the
other commit's tree first on PYTHONPATH: ``git archive`` it to a folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate  # noqa: E402

BIN = Path(sys.executable).parent


async def _post_all(url: str, envelopes: Path, concurrency: int = 32) -> int:
    import aiohttp

    lines = envelopes.read_bytes().splitlines()
    todo = iter(lines)
    ok = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        for body in todo:
            async with session.post(
                url + "/api/v1/batches",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as r:
                await r.read()
                ok += r.status == 200

    async with aiohttp.ClientSession() as s:
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return ok


def ledger_of(night: generate.Night) -> Path:
    """The night's ledger export, made once."""
    out = night.dir / "ledger.jsonl"
    if out.exists():
        return out
    folder = night.dir / "verify-server"
    tool = str(BIN / "tally-server")
    subprocess.run([tool, "init", "--dir", str(folder), "--election", str(night.election)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([tool, "station", "enroll-csv", "--dir", str(folder), str(night.stations)],
                   check=True, capture_output=True)  # fmt: skip
    proc = subprocess.Popen(
        [tool, "serve", "--dir", str(folder), "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        start = time.perf_counter()
        ok = asyncio.run(_post_all(url, night.envelopes))
        print(f"posted: {ok:,} accepted in {time.perf_counter() - start:.1f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(60)
    tmp = out.with_suffix(".tmp")
    subprocess.run([tool, "ledger", "export", "--dir", str(folder), "--out", str(tmp)],
                   check=True, capture_output=True)  # fmt: skip
    tmp.rename(out)
    return out


def _children_cpu() -> float:
    """User + system seconds of the waited-for children (verify and its workers)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--workers", type=int, help="verify --workers N")
    args = parser.parse_args()
    night = generate.night(args.work, args.seed, args.areas)
    ledger = ledger_of(night)
    # ``-m``: an older tree on PYTHONPATH is the one timed (the A side of an A/B).
    cmd = [sys.executable, "-m", "tally_server", "verify", str(ledger), "--election",
           str(night.election)]  # fmt: skip
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    for _ in range(args.runs):
        start, cpu0 = time.perf_counter(), _children_cpu()
        out = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
        report = json.loads(out.stdout)
        print(
            f"verify {night.areas:,} stations: {wall:.2f} s wall (in-command "
            f"{report['seconds']:.2f} s, {report['workers']} workers), CPU {cpu:.2f} s, "
            f"{report['entries']:,} "
            f"entries, exit {out.returncode}, results_sha256 {report['results_sha256']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
