"""The national-scale benchmark: one night of 90,189 stations against a real server,
with the baselines measured in the same run so every figure is also a ratio.

    .venv/bin/python bench/run.py [--areas N] [--quick] [--workers N] [--seed S]

Everything binds 127.0.0.1; wrk runs with 64 connections and a bounded duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import baselines  # noqa: E402
import generate  # noqa: E402

BIN = Path(sys.executable).parent
CONNECTIONS = 64


def tool(name: str) -> str:
    return str(BIN / name)


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)


# -- the server process and what it costs --------------------------------------------


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            for child in text.split():
                out += _tree(int(child))
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its live children (/proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _kib_summed(pid: int, name: str, field: str) -> float:
    """``field`` (in kB) of /proc/PID/``name``, for the process and each child, in MB."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/{name}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size of the process and its children, summed: forked workers
    share the election's pages, which VmHWM would count once per process."""
    return _kib_summed(pid, "smaps_rollup", "Pss:")


def peak_memory_mb(pid: int) -> float:
    """VmHWM of the process and each child, summed."""
    return _kib_summed(pid, "status", "VmHWM:")


@dataclass
class Server:
    folder: Path
    workers: int
    cpus: str | None
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    log: Path | None = None
    extra: list[str] = field(default_factory=list)
    """More `serve` options (bench/public.py: --public, --access-log)."""
    log_level: str = "warning"

    def start(self) -> None:
        cmd = [
            tool("tally-server"),
            "serve",
            "--dir",
            str(self.folder),
            "--port",
            "0",
            "--log-level",
            self.log_level,
            *self.extra,
        ]
        if self.workers > 0:
            cmd += ["--workers", str(self.workers)]
        if self.cpus is not None:
            cmd = ["taskset", "-c", self.cpus, *cmd]
        self.log = self.folder.parent / "server.log"
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")
        self.url = json.loads(line)["url"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def get(self, path: str, token: str) -> tuple[dict[str, Any], float]:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            body = r.read()
        return json.loads(body), time.perf_counter() - start


def make_server(night: generate.Night, work: Path) -> tuple[Path, str, dict[str, float]]:
    """init + enroll-csv + a viewer token; the times they take."""
    folder = work / "server"
    if folder.exists():
        shutil.rmtree(folder)
    times: dict[str, float] = {}
    start = time.perf_counter()
    run([tool("tally-server"), "init", "--dir", str(folder), "--election", str(night.election)])
    times["init_s"] = time.perf_counter() - start
    start = time.perf_counter()
    run([tool("tally-server"), "station", "enroll-csv", "--dir", str(folder), str(night.stations)])
    times["enroll_s"] = time.perf_counter() - start
    out = run(
        [
            tool("tally-server"),
            "token",
            "create",
            "--dir",
            str(folder),
            "--role",
            "viewer",
            "--name",
            "bench",
        ]
    ).stdout
    token = out.strip().splitlines()[0]
    return folder, token, times


# -- the dashboard ---------------------------------------------------------------------


async def dashboard_refresh(
    url: str, token: str, probe: Path, night: generate.Night, timeout: float = 120.0
) -> dict[str, float]:
    """Open the dashboard on the loaded server and time each screen from its key to
    its figures on screen (the overview from the app's start), then post the held-back
    batch and time from its acknowledgement to its row changing on the list's page."""
    from tui.app import DashboardApp
    from tui.model import row_key
    from tui.screens.alerts import AlertsScreen
    from tui.screens.constituencies import ConstituenciesScreen
    from tui.screens.constituency import ConstituencyScreen
    from tui.screens.missing import MissingScreen

    payload = generate.probe_payload(night)
    minutes = payload["minutes"]
    assert isinstance(minutes, list)
    keys = [row_key(m["race_id"], m["constituency_id"]) for m in minutes]
    figures: dict[str, float] = {}
    app = DashboardApp(url, token)

    async def until(pilot: Any, cond: Any, what: str, limit: float = timeout) -> None:
        deadline = time.monotonic() + limit
        while not cond():
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard: timed out waiting for {what}")
            await pilot.pause(0.01)

    async def opened(pilot: Any, key: str, part: str, shown: Any) -> float:
        """From the key to the screen showing a fresh read of its list (the screen
        shows the last read at once; this times reading it anew too)."""
        start = time.perf_counter()
        before = app.store.updated_at
        await pilot.press(key)
        app.request_refresh({part}, asked=True)
        await until(
            pilot,
            lambda: app.store.updated_at != before and not app._refreshing and shown(),
            f"the {part} screen",
        )
        return time.perf_counter() - start

    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.store.progress is not None
                and bool(app.store.progress.committees)
                and app.store.connection == "connected"
            ),
            "the overview",
        )
        figures["open_overview_s"] = time.perf_counter() - start
        # The definition (48 MB at national size) is decoded off the screen's loop but
        # holds the interpreter meanwhile: the other screens are timed once it is in.
        await until(pilot, lambda: app.election is not None, "the definition")
        figures["definition_s"] = time.perf_counter() - start
        await until(pilot, lambda: not app._refreshing, "the reads to settle")
        figures["open_constituencies_s"] = await opened(
            pilot,
            "c",
            "rows",
            lambda: isinstance(app.screen, ConstituenciesScreen) and app.screen.table.row_count,
        )
        # the server sorts every row for this one: by name, folded
        figures["sort_name_s"] = await opened(
            pilot, "t", "rows", lambda: app.store.query.sort == "name"
        )
        figures["open_alerts_s"] = await opened(
            pilot, "a", "alerts", lambda: isinstance(app.screen, AlertsScreen)
        )
        figures["open_missing_s"] = await opened(
            pilot, "m", "missing", lambda: isinstance(app.screen, MissingScreen)
        )
        await pilot.press("c")
        start = time.perf_counter()
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, ConstituencyScreen) and app.screen.doc is not None,
            "a constituency",
        )
        figures["open_constituency_s"] = time.perf_counter() - start
        await pilot.press("escape")
        screen = app.screen
        assert isinstance(screen, ConstituenciesScreen)
        # The probe's constituency on the page shown: searched for by its id.
        await pilot.press("slash", *minutes[0]["constituency_id"], "enter")
        await until(pilot, lambda: keys[0] in app.store.rows, "the probe's row")
        await until(pilot, lambda: not app._refreshing, "the reads to settle")
        await pilot.pause(1.0)
        before = {k: app.store.rows.get(k) for k in keys}
        cells_before = screen.last_cells_written
        screen.last_update_ms = None

        def post() -> tuple[float, int]:
            # From a thread: on the app's loop the ack would be stamped only when the
            # loop next runs this task, which understates the time to the row.
            req = urllib.request.Request(
                url + "/api/v1/batches",
                data=probe.read_bytes(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
                return time.perf_counter(), r.status

        acked, status = await asyncio.to_thread(post)
        if status != 200:
            raise RuntimeError(f"the probe batch was answered {status}")
        await until(
            pilot,
            lambda: any(app.store.rows.get(k) != before[k] for k in keys),
            "the model's row",
            30,
        )
        figures["model_s"] = time.perf_counter() - acked
        await until(
            pilot,
            lambda: screen.last_cells_written != cells_before or screen.last_update_ms is not None,
            "the table's row",
            30,
        )
        figures["table_s"] = time.perf_counter() - acked
    return figures


SCREENS = ("overview", "constituencies", "constituency", "alerts", "missing")


def dashboard_line(d: dict[str, float], constituencies: int) -> str:
    opens = ", ".join(f"{name} {d[f'open_{name}_s']:.2f} s" for name in SCREENS)
    return (
        f"dashboard ({constituencies:,} constituencies): definition read in "
        f"{d['definition_s']:.1f} s from the start; open {opens}; sorted by name "
        f"{d['sort_name_s']:.2f} s; one more batch acked → model row "
        f"{d['model_s'] * 1000:.0f} ms, table row {d['table_s'] * 1000:.0f} ms"
    )


def dashboard_only(args: argparse.Namespace) -> int:
    """The night's definition served without the load (nothing posted but the probe):
    each screen's open time at national size, on its own."""
    night = generate.night(args.work, args.seed, args.areas or 2000)
    work = night.dir / "run"
    work.mkdir(exist_ok=True)
    folder, _, _ = make_server(night, work)
    token = _token(folder, "operator")
    server = Server(folder, 0, None)
    server.start()
    try:
        d = asyncio.run(dashboard_refresh(server.url, token, night.probe, night))
    finally:
        server.stop()
    print(dashboard_line(d, night.constituencies))
    worst = max(d[f"open_{name}_s"] for name in SCREENS)
    print(_mark(worst < 1, f"every screen opens < 1 s (slowest {worst:.2f} s)"))
    if args.json:
        args.json.write_text(json.dumps(d, indent=2))
    return 0


def _token(folder: Path, role: str) -> str:
    out = run(
        [tool("tally-server"), "token", "create", "--dir", str(folder), "--role", role]
        + ["--name", f"bench-{role}"]
    ).stdout
    return out.strip().splitlines()[0]


# -- the run ---------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, help="stations that report (default: all 90,189)")
    parser.add_argument(
        "--quick", action="store_true", help="5,000 stations and short baselines: a smoke run"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="serve --workers N: N checking processes beside the ledger writer (default 0)",
    )
    parser.add_argument(
        "--pin", action="store_true", help="pin the server to CPU 0 and wrk to CPU 1"
    )
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument(
        "--dashboard-only",
        action="store_true",
        help="only time the dashboard's screens on the night's definition (no load)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if args.dashboard_only:
        return dashboard_only(args)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    areas = args.areas or (5000 if args.quick else None)
    base_s = 3 if args.quick else 8
    rep = Report()
    f = rep.figures

    rep.say(
        f"kiemphieu bench — {time.strftime('%Y-%m-%d %H:%M')} — nproc {os.cpu_count()}, "
        f"{_cpu_model()}"
    )
    start = time.perf_counter()
    night = generate.night(args.work, args.seed, areas)
    rep.say(
        f"night: {night.areas:,} stations, {night.sheets:,} sheets, "
        f"{night.constituencies:,} constituencies (seed {args.seed}; "
        f"{time.perf_counter() - start:.1f} s to generate or load)"
    )
    work = night.dir / "run"
    work.mkdir(exist_ok=True)

    # 1. Baselines, in this run, on this machine.
    raw = baselines.raw_verify_rate(seconds=base_s / 2)
    # the same envelopes, a few thousand of them going round (wrk's Lua keeps them all)
    sample = work / "baseline.jsonl"
    with open(night.envelopes) as src, open(sample, "w") as dst:
        for _, line in zip(range(5000), src, strict=False):
            dst.write(line)
    bare = baselines.bare_http_rate(sample, connections=CONNECTIONS, seconds=base_s)
    f["raw_verify_per_s"] = raw
    f["bare_http_per_s"] = bare.requests_per_s
    rep.say(
        f"baseline: raw Ed25519 verify {fmt(raw)}/s on one core; bare aiohttp POST "
        f"{fmt(bare.requests_per_s)} req/s (p50 {bare.p50_ms:.1f} ms, p99 "
        f"{bare.p99_ms:.1f} ms; wrk -c{CONNECTIONS}, server on CPU 0, wrk on CPU 1)"
    )
    # The ceiling of any server on this stack: per batch only what none can skip
    # (and then with the minutes decoded and checked too), no ledger.
    for law in (False, True):
        for procs in (1, 2):
            top = baselines.ceiling_rate(
                sample,
                night.stations,
                procs=procs,
                election=night.election if law else None,
                connections=CONNECTIONS,
                seconds=base_s,
            )
            f[f"ceiling_{procs}{'_law' if law else ''}_per_s"] = top.requests_per_s
            rep.say(
                f"ceiling, {procs} process{'es' if procs > 1 else ''} (open the envelope, "
                f"verify, {'decode and check the minutes, ' if law else ''}sign a receipt; "
                f"no ledger): {fmt(top.requests_per_s)}/s = {top.requests_per_s / raw:.2f} × "
                f"raw verify (p50 {top.p50_ms:.1f} ms, p99 {top.p99_ms:.1f} ms)"
            )

    # 2. The server: init, enrol every station, serve.
    folder, token, times = make_server(night, work)
    rep.say(
        f"init {times['init_s']:.1f} s; enroll-csv of {night.areas:,} keys "
        f"{times['enroll_s']:.1f} s"
    )
    f.update(times)
    f["workers"] = args.workers
    server = Server(folder, args.workers, "0" if args.pin else None)
    server.start()
    try:
        assert server.proc is not None
        pid = server.proc.pid
        cpu0 = cpu_seconds(pid)
        t0 = time.perf_counter()
        load = baselines.wrk(
            server.url + "/api/v1/batches",
            night.envelopes,
            connections=CONNECTIONS,
            seconds=max(60, night.areas // 500),
            cpu=1 if args.pin else None,
        )
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(pid) - cpu0
        progress, _ = server.get("/api/v1/progress", token)
        accepted = int(progress["batches"]["accepted"])
        expected = night.areas - 1
        rate = accepted / load.seconds
        sheets_rate = rate * night.sheets / night.areas
        f.update(
            accepted=accepted,
            ingest_s=load.seconds,
            batches_per_s=rate,
            sheets_per_s=sheets_rate,
            p50_ms=load.p50_ms,
            p99_ms=load.p99_ms,
            server_cores=cpu / wall,
            non_2xx=load.non_2xx,
        )
        rep.say(
            f"ingest {fmt(rate)} batches/s = {rate / raw:.2f} × raw verify "
            f"({fmt(raw)}/s) = {rate / bare.requests_per_s:.2f} × bare HTTP "
            f"({fmt(bare.requests_per_s)}/s); {fmt(sheets_rate)} sheets/s"
        )
        procs = 2 if args.workers else 1
        top, law = f[f"ceiling_{procs}_per_s"], f[f"ceiling_{procs}_law_per_s"]
        rep.say(
            f"  = {rate / top:.2f} of the ceiling with {procs} process"
            f"{'es' if procs > 1 else ''} ({fmt(top)}/s), {rate / law:.2f} of it with the "
            f"minutes checked ({fmt(law)}/s)"
        )
        rep.say(
            f"  {accepted:,} of {expected:,} batches accepted durably in "
            f"{load.seconds:.1f} s (wrk: {load.requests:,} requests, "
            f"{load.non_2xx} not 2xx; serve --workers {args.workers})"
        )
        rep.say(
            f"  ack latency at {CONNECTIONS} stations: p50 {load.p50_ms:.1f} ms, "
            f"p99 {load.p99_ms:.1f} ms"
        )
        rep.say(
            f"  server CPU {cpu / wall:.2f} cores over the run; "
            f"{cpu / max(accepted, 1) * 1e6:.0f} µs CPU per batch"
        )
        if accepted != expected:
            rep.say(f"  !! expected {expected:,} accepted batches, got {accepted:,}")

        # 3. The dashboard, on the loaded server.
        if not args.no_dashboard:
            d = asyncio.run(
                dashboard_refresh(server.url, _token(folder, "operator"), night.probe, night)
            )
            f.update({f"dashboard_{k}": v for k, v in d.items()})
            rep.say(dashboard_line(d, night.constituencies))

        results, results_s = server.get("/api/v1/results.json", token)
        f["results_json_s"] = results_s
        mem = peak_memory_mb(pid)
        f["server_peak_mb"] = mem
        f["server_pss_mb"] = pss = pss_mb(pid)
        rep.say(
            f"  server peak memory (VmHWM, with children) {mem:.0f} MB (now: PSS "
            f"{pss:.0f} MB); results.json {results_s:.2f} s"
        )
        ledger = work / "ledger.jsonl"
        start = time.perf_counter()
        run([tool("tally-server"), "ledger", "export", "--dir", str(folder), "--out", str(ledger)])
        f["export_s"] = time.perf_counter() - start
    finally:
        server.stop()

    # 4. verify, from the export alone.
    start = time.perf_counter()
    out = subprocess.run(
        [tool("tally-server"), "verify", str(ledger), "--election", str(night.election), "--json"],
        capture_output=True,
        text=True,
    )
    verify_s = time.perf_counter() - start
    report = json.loads(out.stdout)
    same = report.get("results_sha256") == results["results_sha256"]
    entries = int(report.get("entries", 0))
    # Two Ed25519 verifications per batch entry: the station's and the receipt's.
    stations = int(report.get("signatures_checked", 0))
    receipts = int(report.get("receipt_signatures_checked", 0))
    sigs = stations + receipts
    f.update(
        verify_s=verify_s,
        verify_ok=out.returncode == 0,
        verify_same_digest=same,
        verify_entries=entries,
        verify_signatures=sigs,
        verify_station_signatures=stations,
    )
    rep.say(
        f"verify: {entries:,} entries in {verify_s:.1f} s (export {f['export_s']:.1f} s); "
        f"{stations:,} station + {receipts:,} receipt signatures = {sigs / verify_s:,.0f}/s = "
        f"{sigs / verify_s / raw:.2f} × raw verify (station signatures alone "
        f"{stations / verify_s / raw:.2f} ×); exit {out.returncode}; results_sha256 "
        f"{'equals' if same else 'DIFFERS FROM'} the server's"
    )
    rep.say("targets: " + ", ".join(_targets(f, night.areas)))
    if args.json:
        args.json.write_text(json.dumps(f, indent=2))
    return 0 if f["verify_ok"] and same else 1


def _targets(f: dict[str, Any], areas: int) -> list[str]:
    raw = f["raw_verify_per_s"]
    multi = f.get("workers", 0) > 0
    share = 0.7 if multi else 0.45
    out = [
        _mark(
            f["batches_per_s"] >= share * raw,
            f"ingest{' (multi-process)' if multi else ''} ≥ {share}× raw "
            f"({f['batches_per_s'] / raw:.2f}×)",
        ),
        _mark(f["p99_ms"] < 25, f"p99 < 25 ms ({f['p99_ms']:.1f})"),
        _mark(
            f["ingest_s"] * 90_189 / areas < 40,
            f"night < 40 s ({f['ingest_s'] * 90_189 / areas:.1f} s scaled)",
        ),
        _mark(f["server_peak_mb"] < 500, f"memory < 500 MB ({f['server_peak_mb']:.0f})"),
        _mark(
            f["verify_signatures"] / f["verify_s"] >= 1.5 * raw,
            f"verify ≥ 1.5× raw ({f['verify_signatures'] / f['verify_s'] / raw:.2f}×)",
        ),
    ]
    if "dashboard_table_s" in f:
        out.append(
            _mark(f["dashboard_table_s"] < 1, f"dashboard < 1 s ({f['dashboard_table_s']:.2f} s)")
        )
        worst = max(f[f"dashboard_open_{name}_s"] for name in SCREENS)
        out.append(_mark(worst < 1, f"every screen opens < 1 s (slowest {worst:.2f} s)"))
    return out


def _mark(ok: bool, text: str) -> str:
    return ("ok " if ok else "MISSED ") + text


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
