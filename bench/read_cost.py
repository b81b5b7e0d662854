"""What each public page costs the server to build, in its own CPU time.

    .venv/bin/python bench/read_cost.py --dir SERVER_FOLDER [--pages 3000]

Runs ``tally-server serve --public`` on a server folder that already holds a night
(e.g. the one ``bench/public.py`` leaves in ``WORK/seed-*/public/held/server``), asks
each page of ``bench/public.py``'s mix over one kept-alive connection, and prints
the server process's CPU time (user + system, from /proc) per answer. CPU time, not
wall time: the figure holds on a machine doing something else, so two commits can be
compared in one sitting. The server is the only one on that folder while it runs.

A proxy in front asks for each page about once per cache period (docs/proxy.md), so
a page's cost times its rate of refreshes is what the public takes from ingest.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "functional"))

import public  # noqa: E402
import run  # noqa: E402
from nginxkit import free_port  # noqa: E402

RESULTS_TIMES = 3
"""The whole results are asked fewer times than the rest (68 MB at national size)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="a server folder with a night")
    parser.add_argument("--pages", type=int, default=3000, help="constituency pages asked")
    parser.add_argument("--times", type=int, default=100, help="times each other page is asked")
    args = parser.parse_args()

    definition = json.loads((args.dir / "election.json").read_bytes())
    constituencies = [
        f"/api/v1/constituencies/{r['id']}/{c['id']}"
        for r in definition["races"]
        for c in r["constituencies"]
    ][: args.pages]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tally_server", "serve", "--dir", str(args.dir), "--public"]
        + ["--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        deadline = time.monotonic() + 600
        while True:
            try:
                conn.request("GET", "/api/v1/server-key")
                conn.getresponse().read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("the server did not start", file=sys.stderr)
                    return 1
                conn.close()
                time.sleep(0.5)

        def ask(name: str, paths: list[str], tags: dict[str, str] | None = None) -> dict[str, str]:
            before, began = run.cpu_seconds(server.pid), time.perf_counter()
            size, got = 0, {}
            for path in paths:
                conn.request("GET", path, headers={"If-None-Match": tags[path]} if tags else {})
                resp = conn.getresponse()
                size += len(resp.read())
                got[path] = resp.getheader("ETag") or ""
                assert resp.status == (304 if tags else 200), (path, resp.status)
            cpu = run.cpu_seconds(server.pid) - before
            wall = time.perf_counter() - began
            n = len(paths)
            print(
                f"{name:<48} {n:>6,} {cpu / n * 1e3:>10.2f} {wall / n * 1e3:>10.2f} "
                f"{size / n:>12,.0f}"
            )
            return got

        # Every result built once first, as on a night where each was read since its
        # last change: what follows is the cost of the page, not of the tally.
        conn.request("GET", "/api/v1/constituencies?status=elected&limit=1")
        conn.getresponse().read()
        print(f"{'page':<48} {'asked':>6} {'cpu ms':>10} {'wall ms':>10} {'bytes':>12}")
        tags = ask("a constituency's page, 200", constituencies)
        ask("a constituency's page, 304", constituencies, tags)
        for page, _ in public.MIX:
            times = RESULTS_TIMES if "/results." in page else args.times
            ask(page, [page] * times)
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
