"""Profile the server over the national night: `serve` under py-spy, every envelope
posted once by wrk, the samples written as py-spy's raw (collapsed) stacks.

    pip install py-spy; .venv/bin/python bench/profile.py --work DIR --out stacks.txt

Run it on two trees with the same --work night, then compare the two files per
function: ``bench/profile.py --compare OLD NEW`` (bench/RESULTS.md). Needs wrk and
py-spy on PATH.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import baselines  # noqa: E402
import generate  # noqa: E402
import run as bench  # noqa: E402


def self_samples(path: Path) -> tuple[int, collections.Counter[str]]:
    """(all samples, samples per innermost function, line numbers dropped)."""
    total, by = 0, collections.Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")[1:]
        total += int(n)
        if frames:
            by[re.sub(r":\d+\)", ")", frames[-1])] += int(n)
    return total, by


def compare(old: Path, new: Path, rows: int = 40) -> None:
    (ta, a), (tb, b) = self_samples(old), self_samples(new)
    print(f"samples: {ta:,} -> {tb:,}")
    for name in sorted(set(a) | set(b), key=lambda k: -abs(b[k] - a[k]))[:rows]:
        print(f"{a[name]:7,} {b[name]:7,} {b[name] - a[name]:+7,}  {name[:110]}")


def main() -> int:
    if sys.argv[1:2] == ["--compare"] and len(sys.argv) == 4:
        compare(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=bench.HERE / "work")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--areas", type=int, default=None)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples a second")
    args = parser.parse_args()
    night = generate.night(args.work, args.seed, args.areas)
    # init and enrolment once; each profile starts from a copy of that folder
    pristine = night.dir / "profile-pristine"
    if not pristine.exists():
        folder, _, _ = bench.make_server(night, night.dir / "profile-run")
        shutil.copytree(folder, pristine)
    folder = night.dir / "profile-server"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(pristine, folder)
    serve = [bench.tool("tally-server"), "serve", "--dir", str(folder), "--port", "0"]
    cmd = ["py-spy", "record", "-r", str(args.rate), "-f", "raw", "--threads"]
    cmd += ["-o", str(args.out), "--", *serve, "--log-level", "warning"]
    with open(night.dir / "profile-server.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and not line.startswith("{"):  # py-spy's own lines come first
            line = proc.stdout.readline()
        url = json.loads(line)["url"]
        start = time.perf_counter()
        load = baselines.wrk(
            url + "/api/v1/batches",
            night.envelopes,
            connections=bench.CONNECTIONS,
            seconds=max(60, night.areas // 500),
            cpu=None,
        )
        print(f"ingest {load.requests_per_s:,.0f}/s over {time.perf_counter() - start:.1f} s")
        proc.send_signal(2)  # py-spy stops the server and writes the stacks
        proc.wait(120)
    print(f"stacks: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
