"""The national night with the public watching (issue 18, item 2).

The night's ingest alone, then the same ingest while the public reads its pages through nginx
(deploy/nginx/, rendered as tests/functional/test_public_proxy.py does) at a held rate,
then again with the public flat out.

    .venv/bin/python bench/public.py [--areas N] [--rate 5000] [--share 0.2] [--workers N]

Each phase has its own copy of the same freshly enrolled server folder, so each ingests
the same envelopes into an empty ledger. The public's reads come from a second wrk
(bench/read_pages.lua): wrk is C and costs the shared cores far less than a Python
reader would; LuaJIT's ffi gives its script the clock a token bucket needs (wrk2, which
holds a rate itself, is not in Debian). The paths it reads are drawn beforehand from
the mix (``MIX`` and ``--share``): the overview pages, the list's first pages,
results.json, and every constituency page, each weighted by its polling areas (people
look up where they live). Everything binds 127.0.0.1.

The public reads for ``--warm`` seconds before the first batch (its path file goes
round in 40 s at 5,000/s), as on a real night: the results pages are read from the
afternoon on, before the polls close. What the public figures count (reads, the
proxy's answers, the server's GETs) is what came from the first batch on; the first
reads of each page, during the warm-up, are printed apart. ``--warm 0`` measures from
an empty cache.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "functional"))

import baselines  # noqa: E402
import generate  # noqa: E402
import run  # noqa: E402
from nginxkit import Nginx  # noqa: E402

from tally_server.web.cache import CONSTITUENCY, LIVE, RESULTS, max_age  # noqa: E402

MAX_AGE = max_age(LIVE)
"""The cache period of every page of the mix but one constituency's."""
CONSTITUENCY_AGE = max_age(CONSTITUENCY)
RESULTS_AGE = max_age(RESULTS)
CONNECTIONS = run.CONNECTIONS
READERS = 256
"""The public's connections to nginx: enough that reads waiting on a miss (the server
busy ingesting) do not hold back the rest of the held rate."""
MIX = [
    ("/api/v1/progress?levels=national,province", 0.35),  # the overview (33 KB national)
    ("/api/v1/progress?levels=national", 0.10),  # a headline ticker
    ("/api/v1/constituencies?limit=50", 0.15),  # the list, as the dashboard pages it
    ("/api/v1/constituencies?limit=50&offset=50", 0.05),
    ("/api/v1/constituencies?limit=50&status=elected", 0.05),
    ("/api/v1/missing", 0.10),
    ("/api/v1/alerts?limit=50&order=newest", 0.05),
    # the whole tally (60 MB national): a download for newsrooms and auditors, not a page
    ("/api/v1/results.json", 0.0002),
]
"""The pages everyone reads, and their share of what is not a constituency's page."""
SERVED_FROM_CACHE = ("HIT", "UPDATING", "STALE")
"""Answered from the cache without waiting on the server: UPDATING is the kept answer
given while one request (in the background) fetches the next; STALE, while the server
does not answer. MISS, EXPIRED and REVALIDATED waited on the server."""


def paths(election: Path, share: float, count: int, seed: int) -> list[str]:
    """``count`` paths drawn from the mix: ``share`` of them a constituency's page."""
    definition = json.loads(election.read_bytes())
    pages = [
        (f"/api/v1/constituencies/{quote(r['id'])}/{quote(c['id'])}", len(c["polling_area_ids"]))
        for r in definition["races"]
        for c in r["constituencies"]
    ]
    rng = random.Random(seed)
    total = sum(w for _, w in MIX)
    common = rng.choices([p for p, _ in MIX], [w / total for _, w in MIX], k=count)
    own = rng.choices([p for p, _ in pages], [w for _, w in pages], k=count)
    return [own[i] if rng.random() < share else common[i] for i in range(count)]


@dataclass
class Reads:
    """What the public got, what nginx kept, what the server was asked."""

    wrk: baselines.WrkResult
    seconds: float
    statuses: Counter[str]
    pages: int
    server_gets: int
    worst_page: float
    """The most requests one page sent to the server per cache period."""
    over_bound: float
    """Requests that reached the server / (each page read once per period at most)."""
    warming: Counter[str]
    """The proxy's answers before the first batch, per cache status."""

    @property
    def reads(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_s(self) -> float:
        return self.reads / self.seconds

    @property
    def hit_ratio(self) -> float:
        return self.statuses["HIT"] / max(1, sum(self.statuses.values()))

    @property
    def cache_ratio(self) -> float:
        served = sum(self.statuses[s] for s in SERVED_FROM_CACHE)
        return served / max(1, sum(self.statuses.values()))


def reader(url: str, sequence: Path, rate: int | None, seconds: int) -> subprocess.Popen[str]:
    env = {**os.environ, "WRK_THREADS": "1"}
    if rate:
        env["WRK_READ_RATE"] = str(rate)
    cmd = ["wrk", "-t1", f"-c{READERS}", f"-d{seconds}s", "--latency"]
    cmd += ["-s", str(HERE / "read_pages.lua"), url, "--", str(sequence)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stop_reader(proc: subprocess.Popen[str]) -> baselines.WrkResult:
    proc.send_signal(signal.SIGINT)  # wrk prints its figures and ends
    out, err = proc.communicate(timeout=30)
    try:
        return baselines.parse_wrk(out)
    except (AttributeError, AssertionError) as exc:
        raise RuntimeError(f"the reader gave no figures:\n{out}\n{err[-2000:]}") from exc


def tail(log: Path, start: int, end: int | None = None) -> list[str]:
    """The lines of ``log`` from byte ``start`` on (up to byte ``end``)."""
    with open(log, "rb") as fh:
        fh.seek(start)
        text = fh.read() if end is None else fh.read(end - start)
        return text.decode("utf-8", "replace").splitlines()


def proxy_log(
    log: Path, start: int = 0, end: int | None = None
) -> tuple[Counter[str], Counter[str]]:
    """Answers per cache status, and reads per page, from nginx's access log (its lines
    from byte ``start`` on, up to byte ``end``)."""
    statuses: Counter[str] = Counter()
    reads: Counter[str] = Counter()
    for line in tail(log, start, end):
        fields = line.split()
        status = next((f[6:] for f in fields if f.startswith("cache=")), "-")
        statuses[status] += 1
        request = line.split('"')[1].split()
        if len(request) > 1:
            reads[request[1]] += 1
    return statuses, reads


def server_gets(log: Path, start: int = 0) -> Counter[str]:
    """The GETs that reached the server, per page (path and query), from its access log
    (its lines from byte ``start`` on)."""
    pages: Counter[str] = Counter()
    for line in tail(log, start):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "request" and event.get("method") == "GET":
            query = event.get("query") or ""
            pages[event["path"] + ("?" + query if query else "")] += 1
    return pages


def one_constituency(page: str) -> bool:
    """Whether ``page`` (a path and query) is /api/v1/constituencies/R/C."""
    parts = page.split("?")[0].split("/")
    return len(parts) == 6 and parts[3] == "constituencies"


def period(page: str) -> int:
    """The cache period of ``page`` (a path and query, as either log writes it): one
    constituency's page and the whole results have their own lifetimes
    (tally_server/web/cache.py)."""
    if one_constituency(page):
        return CONSTITUENCY_AGE
    return RESULTS_AGE if page.startswith("/api/v1/results.") else MAX_AGE


def ingest(server: run.Server, night: generate.Night) -> tuple[baselines.WrkResult, int]:
    load = baselines.wrk(
        server.url + "/api/v1/batches",
        night.envelopes,
        connections=CONNECTIONS,
        seconds=max(60, night.areas // 500),
        cpu=None,
    )
    progress = json.loads(
        run.run(["curl", "-s", server.url + "/api/v1/progress?levels=national"]).stdout
    )
    return load, int(progress["batches"]["accepted"])


@dataclass
class Phase:
    load: baselines.WrkResult
    accepted: int
    reads: Reads | None
    cores: dict[str, float]
    """CPU cores each process used while the night was posted (the ingest's wrk aside)."""


def timed_ingest(
    server: run.Server, night: generate.Night, pids: dict[str, int]
) -> tuple[baselines.WrkResult, int, dict[str, float]]:
    before = {name: run.cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    load, accepted = ingest(server, night)
    wall = time.perf_counter() - start
    cores = {name: (run.cpu_seconds(pid) - before[name]) / wall for name, pid in pids.items()}
    return load, accepted, cores


def phase(
    folder: Path,
    night: generate.Night,
    sequence: Path | None,
    rate: int | None,
    least: float,
    workers: int,
    server_workers: int,
    warm: float = 0.0,
) -> Phase:
    """Serve ``folder`` (--public), post the night; with ``sequence``, the public reads
    through nginx from ``warm`` seconds before the first batch until the last is
    acknowledged, and for ``least`` seconds at least from the first batch."""
    server = run.Server(
        folder, server_workers, None, extra=["--public", "--access-log"], log_level="info"
    )
    server.start()
    assert server.proc is not None
    pids = {"server": server.proc.pid}
    nginx: Nginx | None = None
    try:
        if sequence is None:
            load, accepted, cores = timed_ingest(server, night, pids)
            return Phase(load, accepted, None, cores)
        # as docs/proxy.md sizes it: a national night's pages take ~300 MB of disk
        nginx = Nginx(
            folder.parent / "nginx", server.url.removeprefix("http://"), workers, cache_size="2g"
        )
        nginx.start()
        began = time.monotonic()
        public = reader(nginx.url, sequence, rate, 3600)
        # the public is reading (its pages in the cache) before the first batch
        while not nginx.log.exists() or nginx.log.stat().st_size < 100_000:
            if public.poll() is not None or time.monotonic() - began > 30:
                raise RuntimeError(f"the reader did not start: {public.communicate()[1]}")
            time.sleep(0.05)
        while time.monotonic() - began < warm:
            if public.poll() is not None:
                raise RuntimeError(f"the reader stopped: {public.communicate()[1]}")
            time.sleep(0.05)
        assert nginx.process is not None and server.log is not None
        pids.update(nginx=nginx.process.pid, public=public.pid)
        # what the figures count starts here: each log's lines from now on
        proxy_from, server_from = nginx.log.stat().st_size, server.log.stat().st_size
        first = time.monotonic()
        load, accepted, cores = timed_ingest(server, night, pids)
        while time.monotonic() - first < least:
            time.sleep(0.05)
        got = stop_reader(public)
        seconds = time.monotonic() - first
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()
    warming, _ = proxy_log(nginx.log, 0, proxy_from)
    statuses, reads = proxy_log(nginx.log, proxy_from)
    asked = server_gets(server.log, server_from)

    def periods(page: str) -> int:
        return max(1, int(seconds // period(page)) + 1)

    bound = sum(min(n, periods(page)) for page, n in reads.items())
    return Phase(
        load,
        accepted,
        Reads(
            wrk=got,
            seconds=seconds,
            statuses=statuses,
            pages=len(reads),
            server_gets=sum(asked.values()),
            worst_page=max((n / periods(p) for p, n in asked.items()), default=0.0),
            over_bound=sum(asked.values()) / max(1, bound),
            warming=warming,
        ),
        cores,
    )


def reads_line(name: str, r: Reads) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in r.statuses.most_common())
    before = ", ".join(f"{k} {v:,}" for k, v in r.warming.most_common())
    return (
        f"{name}: {r.per_s:,.0f} reads/s over {r.seconds:.1f} s from the first batch "
        f"({r.reads:,} reads of {r.pages:,} pages; the reader's whole run: p50 "
        f"{r.wrk.p50_ms:.1f} ms, p99 {r.wrk.p99_ms:.1f} ms; {r.wrk.non_2xx} not 2xx)\n"
        f"  before the first batch: {sum(r.warming.values()):,} reads ({before or 'none'})\n"
        f"  nginx: hit ratio {r.hit_ratio:.2%} (HIT), {r.cache_ratio:.2%} answered from "
        f"the cache ({parts})\n"
        f"  server: {r.server_gets:,} GETs = {r.server_gets / r.seconds:,.0f}/s; per page "
        f"per period ({MAX_AGE} s, a constituency's {CONSTITUENCY_AGE} s, the results' "
        f"{RESULTS_AGE} s) at most "
        f"{r.worst_page:.2f}; "
        f"{r.over_bound:.2f} × (each page read asked once a period)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, help="stations that report (default: all 90,189)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rate", type=int, default=5000, help="the public's held reads/s")
    parser.add_argument(
        "--share",
        type=float,
        default=0.2,
        help="share of the reads that are one constituency's page (default 0.2)",
    )
    parser.add_argument(
        "--least", type=float, default=10.0, help="the public reads at least this long (s)"
    )
    parser.add_argument(
        "--warm",
        type=float,
        default=45.0,
        help="the public reads this long before the first batch (s; default 45, "
        "0: from an empty cache)",
    )
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=0, help="serve --workers N (as bench/run.py; default 0)"
    )
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    for needed in ("wrk", "curl"):
        if shutil.which(needed) is None:
            print(f"{needed} is missing: apt-get install -y {needed}", file=sys.stderr)
            return 2
    rep = run.Report()
    f = rep.figures
    rep.say(
        f"kiemphieu public bench — {time.strftime('%Y-%m-%d %H:%M')} — nproc "
        f"{os.cpu_count()}, {run._cpu_model()}"
    )
    night = generate.night(args.work, args.seed, args.areas)
    rep.say(
        f"night: {night.areas:,} stations, {night.constituencies:,} constituencies "
        f"(seed {args.seed}); public mix: {1 - args.share:.0%} overview and list pages "
        f"({len(MIX)} pages), {args.share:.0%} constituency pages by polling areas; "
        f"cache period {MAX_AGE} s, {CONSTITUENCY_AGE} s for a constituency's page, "
        f"{RESULTS_AGE} s for the whole results; the public reads {args.warm:.0f} s "
        "before the first batch"
    )
    work = night.dir / "public"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    fresh, _, _ = run.make_server(night, work)
    sequence = work / "paths.txt"
    sequence.write_text("\n".join(paths(night.election, args.share, 200_000, args.seed)) + "\n")
    expected = night.areas - 1

    results: dict[str, Phase] = {}
    for name, seq, rate in [
        ("solo", None, None),
        ("held", sequence, args.rate),
        ("flat", sequence, None),
    ]:
        folder = work / name / "server"
        shutil.copytree(fresh, folder)
        results[name] = done = phase(
            folder, night, seq, rate, args.least, args.nginx_workers, args.workers, args.warm
        )
        load, accepted, reads = done.load, done.accepted, done.reads
        rate_in = accepted / load.seconds
        f[f"{name}_batches_per_s"] = rate_in
        f[f"{name}_accepted"] = accepted
        what = {
            "solo": "ingest alone",
            "held": f"ingest with the public held at {args.rate:,}/s",
            "flat": "ingest with the public flat out",
        }[name]
        solo = f["solo_batches_per_s"]
        rep.say(
            f"{what}: {rate_in:,.0f} batches/s ({accepted:,} of {expected:,} in "
            f"{load.seconds:.1f} s; ack p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms)"
            + ("" if name == "solo" else f" = {rate_in / solo:.2f} × alone")
        )
        rep.say(
            "  cores while posting: "
            + ", ".join(f"{who} {used:.2f}" for who, used in done.cores.items())
            + f" (of {os.cpu_count()}; the posting wrk aside)"
        )
        f.update({f"{name}_{who}_cores": used for who, used in done.cores.items()})
        if reads is not None:
            rep.say(reads_line(f"  public ({name})", reads))
            f[f"{name}_reads_per_s"] = reads.per_s
            f[f"{name}_warm_reads"] = sum(reads.warming.values())
            f[f"{name}_warm_misses"] = reads.warming["MISS"]
            f[f"{name}_hit_ratio"] = reads.hit_ratio
            f[f"{name}_cache_ratio"] = reads.cache_ratio
            f[f"{name}_server_gets_per_s"] = reads.server_gets / reads.seconds
            f[f"{name}_worst_page_per_period"] = reads.worst_page
            f[f"{name}_over_bound"] = reads.over_bound
        if accepted != expected:
            rep.say(f"  !! expected {expected:,} accepted batches, got {accepted:,}")

    held = f["held_reads_per_s"]
    marks = [
        run._mark(held >= 0.95 * args.rate, f"public held at {args.rate:,}/s ({held:,.0f}/s)"),
        run._mark(
            f["held_cache_ratio"] >= 0.99,
            f"answered from the cache ≥ 99 % ({f['held_cache_ratio']:.2%}; HIT alone "
            f"{f['held_hit_ratio']:.2%})",
        ),
        run._mark(
            f["held_over_bound"] <= 1.1 and f["flat_over_bound"] <= 1.1,
            "server asked at most about once per page per period "
            f"({f['held_over_bound']:.2f} held, {f['flat_over_bound']:.2f} flat out)",
        ),
        run._mark(
            f["held_batches_per_s"] >= 0.8 * f["solo_batches_per_s"],
            f"ingest ≥ 0.8 × alone ({f['held_batches_per_s'] / f['solo_batches_per_s']:.2f})",
        ),
    ]
    rep.say("targets: " + ", ".join(marks))
    if args.json:
        args.json.write_text(json.dumps(f, indent=2))
    ok = all(done.accepted == expected for done in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
