"""``tally-server demo``: set up, run the night, check it, print the sheets.

The steps are the committee's own commands (``init``, ``token create``,
``serve``, ``ledger export``, ``verify``) run as child processes, stations
that speak real HTTP, and the dashboard in the foreground (or progress lines
with ``--headless``).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from schemas import codec
from schemas.signing import VerifyKey
from tally_server.core.definition import Election
from tally_server.core.numbers import vn_int
from tally_server.demo.election import demo_election
from tally_server.demo.errors import DemoError
from tally_server.demo.finish import Outcome, finish
from tally_server.demo.server import ServerProcess, run_command
from tally_server.demo.stations import StationsReport, run_stations

Severity = Literal["information", "warning", "error"]
DEFAULT_DIR = Path("demo-work")
MARKER = ".kiemphieu-demo"
"""Left in every demo folder: only a folder holding it is wiped by the next run."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    dir: Path | None = None
    """None: ./demo-work (or a fresh temporary folder if that cannot be made)."""
    headless: bool = False
    port: int = 0
    stations: int | None = None
    """Polling areas in the election: None, the whole sample."""
    duration: float = 90.0
    seed: int = 2011
    sheets: bool = True


@dataclass(slots=True)
class Setup:
    work: Path
    election: Election
    election_path: Path
    server_dir: Path
    tokens: dict[str, str]
    server: ServerProcess
    url: str = ""
    server_key: VerifyKey | None = None


@dataclass(slots=True)
class Night:
    """What happened: the stations' report and the checks at the end."""

    report: StationsReport = field(default_factory=StationsReport)
    outcome: Outcome = field(default_factory=Outcome)
    stopped_early: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    """Of the demo itself (the checks' own are in ``outcome.problems``)."""


def say(text: str) -> None:
    print(text, flush=True)


# --- setting up -----------------------------------------------------------------------


def prepare_folder(wanted: Path | None) -> Path:
    """The working folder, emptied: a previous demo's is wiped, anything else refused."""
    path = wanted if wanted is not None else DEFAULT_DIR
    if path.exists():
        if not path.is_dir() or (any(path.iterdir()) and not (path / MARKER).exists()):
            raise DemoError(
                en=f"{path} exists and is not a demo folder (no {MARKER} in it); it was left "
                "alone. Choose another --dir or remove it.",
                vi=f"{path} đã có và không phải thư mục demo (không có {MARKER}); không đụng "
                "đến. Chọn --dir khác hoặc tự xoá nó.",
                code="X102",
                fields=("dir",),
                figures={"dir": str(path)},
            )
        if (path / MARKER).exists():
            say(f"Xoá bản demo trước / removing the previous demo in {path}")
            shutil.rmtree(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        if wanted is not None:
            raise
        path = Path(tempfile.mkdtemp(prefix="kiemphieu-demo-"))
        say(f"Không ghi được vào {DEFAULT_DIR} / cannot write there: using {path}")
    (path / MARKER).write_text("tally-server demo\n", "utf-8")
    (path / ".gitignore").write_text("*\n", "utf-8")  # a demo run inside a clone stays out of git
    return path.resolve()


def _command(*args: str | Path) -> str:
    done = run_command(*args)
    if done.returncode != 0:
        raise DemoError(
            en=f"tally-server {args[0]} failed (exit {done.returncode}): {done.stderr.strip()}",
            vi=f"tally-server {args[0]} thất bại (mã thoát "
            f"{done.returncode}): {done.stderr.strip()}",
            code="X103",
            figures={"command": " ".join(map(str, args[:2])), "exit": done.returncode},
        )
    return done.stdout


def set_up(options: DemoOptions) -> Setup:
    definition = demo_election(options.stations)
    work = prepare_folder(options.dir)
    say(f"Thư mục / folder: {work}")
    election = Election.from_definition(definition)
    election_path = work / "election.json"
    election_path.write_bytes(codec.encode(definition))
    constituencies = sum(len(r.constituencies) for r in definition.races)
    say(
        f"Cuộc bầu cử / election: {definition.name}\n"
        f"  {vn_int(len(definition.polling_areas))} khu vực bỏ phiếu / polling areas, "
        f"{len(definition.races)} cuộc bầu cử / races, {vn_int(constituencies)} đơn vị bầu cử "
        "/ constituencies"
    )
    server_dir = work / "server"
    _command("init", "--dir", server_dir, "--election", election_path)
    tokens = {
        role: _command("token", "create", "--dir", server_dir, "--role", role, "--name", name)
        .strip()
        .splitlines()[-1]
        for role, name in (
            ("admin", "demo: stations' enrolment"),
            ("operator", "demo: dashboard"),
            ("viewer", "demo: checks and sheets"),
        )
    }
    key = VerifyKey.from_pem((server_dir / "server.pub.pem").read_bytes())
    say(f"Máy chủ / server: {server_dir} (tally-server init), khoá / key {key.fingerprint}")
    server = ServerProcess(server_dir, work / "server.log", options.port)
    return Setup(work, election, election_path, server_dir, tokens, server, server_key=key)


# --- the night ------------------------------------------------------------------------


def _progress_line(elapsed: float, doc: dict[str, Any], rate: float) -> str:
    overall, b = doc.get("overall", {}), doc.get("batches", {})
    return (
        f"{elapsed:6.1f} s  khu vực/areas {overall.get('areas_reported', 0)}/"
        f"{overall.get('areas_total', 0)}  accepted {b.get('accepted', 0)}  "
        f"rejected {b.get('rejected', 0)}  conflicts {b.get('conflicts', 0)}  "
        f"corrections {b.get('corrections', 0)}  {rate:.1f}/s"
    )


class Ticker:
    """Progress lines from the server's own counts (GET /api/v1/progress)."""

    def __init__(self, setup: Setup, session: aiohttp.ClientSession) -> None:
        self.url = setup.url + "/api/v1/progress"
        self.headers = {"Authorization": f"Bearer {setup.tokens['viewer']}"}
        self.session = session
        self.started = self.last_t = time.monotonic()
        self.last_n = 0

    async def tick(self) -> None:
        try:
            async with self.session.get(self.url, headers=self.headers) as response:
                doc = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            say(f"  (tiến độ / progress: {type(exc).__name__})")
            return
        b = doc.get("batches", {})
        n = sum(int(b.get(k, 0)) for k in ("accepted", "rejected", "conflicts"))
        now = time.monotonic()
        rate = (n - self.last_n) / max(now - self.last_t, 1e-9)
        say(_progress_line(now - self.started, doc, rate))
        self.last_n, self.last_t = n, now

    async def every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.tick()


async def _stations(
    setup: Setup, options: DemoOptions, report: StationsReport, note: Callable[[str], None]
) -> None:
    assert setup.server_key is not None
    await run_stations(
        setup.url,
        setup.tokens["admin"],
        setup.election,
        setup.server_key,
        duration=options.duration,
        seed=options.seed,
        outbox=setup.work / "stations-outbox.sqlite",
        say=note,
        report=report,
    )


async def _close(setup: Setup, options: DemoOptions, night: Night, note: Any) -> None:
    night.outcome = await finish(
        setup.url,
        setup.tokens["viewer"],
        work=setup.work,
        server_dir=setup.server_dir,
        election_path=setup.election_path,
        sheets=options.sheets,
        say=note,
    )


async def _headless(setup: Setup, options: DemoOptions, night: Night) -> None:
    interval = 1.0 if options.duration < 30 else 2.0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        ticker = Ticker(setup, session)
        ticking = asyncio.create_task(ticker.every(interval))
        try:
            await _stations(setup, options, night.report, lambda line: say(f"  · {line}"))
        finally:
            ticking.cancel()
        await ticker.tick()
    say(
        f"Mọi trạm đã gửi xong / every station is done in {time.monotonic() - ticker.started:.1f} s"
    )
    await _close(setup, options, night, say)


class Backstage(threading.Thread):
    """The stations and the checks at the end, in their own event loop, while the
    dashboard holds the main thread and the terminal."""

    def __init__(self, setup: Setup, options: DemoOptions, night: Night, app: Any) -> None:
        super().__init__(name="demo-backstage", daemon=True)
        self.setup, self.options, self.night, self.app = setup, options, night, app
        self.app_running = True
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stations: asyncio.Task[None] | None = None
        self.stop_requested = threading.Event()
        self.error: BaseException | None = None

    def note(self, text: str, severity: Severity = "information", timeout: float = 8) -> None:
        if self.app_running:
            from tally_server.demo.dashboard import DemoNote

            self.app.post_message(DemoNote(text, severity, timeout))
        else:
            say(text)

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # raised again by the main thread once the app is closed
            self.error = exc
            self.note(f"{type(exc).__name__}: {exc}", "error", 120)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stations = asyncio.create_task(
            _stations(self.setup, self.options, self.night.report, self.note)
        )
        if self.stop_requested.is_set():  # the dashboard was closed before this began
            self.stations.cancel()
        try:
            await self.stations
            self.note("Mọi trạm đã gửi xong / every station is done", timeout=15)
        except asyncio.CancelledError:
            self.night.stopped_early = True
            self.night.report.cancelled = True
            self.note("Dừng các trạm / stations stopped")
        await _close(self.setup, self.options, self.night, self.note)
        o = self.night.outcome
        if not self.app_running:
            return
        if o.problems or (o.incomplete and not self.night.stopped_early):
            self.note("; ".join([o.incomplete, *o.problems]).strip("; "), "error", 120)
        else:
            self.note(
                f"Xong / done: sổ cái đã kiểm / ledger verified, results_sha256 "
                f"{o.verify.get('results_sha256', '')[:16]}… = máy chủ / server's; "
                f"{o.sheets.get('sheets', 0)} biên bản / sheets in {o.sheets.get('out', '')}. "
                "q: thoát / quit",
                timeout=120,
            )

    def stop_stations(self) -> None:
        self.stop_requested.set()
        loop, task = self.loop, self.stations
        if loop is not None and task is not None and not task.done():
            loop.call_soon_threadsafe(task.cancel)


def _dashboard(setup: Setup, options: DemoOptions, night: Night) -> None:
    from tally_server.demo.dashboard import DemoDashboard

    say("Mở bảng theo dõi / opening the dashboard (q: thoát / quit)…")
    app = DemoDashboard(setup.url, setup.tokens["operator"], setup.work / "sheets")
    backstage = Backstage(setup, options, night, app)
    backstage.start()
    try:
        app.run()
        if app.return_code:
            night.problems.append(f"the dashboard stopped with an error (exit {app.return_code})")
    finally:
        backstage.app_running = False
        if backstage.is_alive():
            backstage.stop_stations()
            say("Đang hoàn tất / finishing: the ledger, its check and the sheets…")
        backstage.join()
    if backstage.error is not None:
        raise backstage.error


# --- the end --------------------------------------------------------------------------


def summary(setup: Setup, night: Night) -> list[str]:
    o, r = night.outcome, night.report
    b = o.batches
    lines = [
        f"Tóm tắt / summary ({night.seconds:.0f} s):",
        f"  khu vực bỏ phiếu / polling areas reported: {o.areas_reported}/{o.areas_total}"
        + (" (mọi cuộc bầu cử / every race)" if o.complete else ""),
        f"  lô / batches: accepted {b.get('accepted', 0)}, flagged {b.get('flagged', 0)}, "
        f"rejected {b.get('rejected', 0)}, conflicts {b.get('conflicts', 0)}, "
        f"corrections {b.get('corrections', 0)}; {r.posts} posts by "
        f"{r.simulated} simulated + {r.scripted} scripted stations",
    ]
    if r.faults:
        lines.append(
            "  giả lập / simulated faults: "
            + ", ".join(f"{name} {n}" for name, n in r.faults.items())
        )
    lines += [f"  · {line}" for line in r.story]
    if o.ledger_path is not None:
        lines.append(
            f"  sổ cái / ledger: {o.ledger_path} ({o.verify.get('entries', '?')} entries), "
            f"head #{o.server.get('ledger_index')}\n      {o.server.get('ledger_head')}"
        )
    if o.verify:
        verdict = "HỢP LỆ / VALID" if o.verify.get("ok") else "SAI / INVALID"
        same = "= the server's" if o.verified else "≠ the server's"
        lines.append(
            f"  tally-server verify: {verdict} in {o.verify.get('seconds')} s; results_sha256 "
            f"and head {same} (GET /api/v1/results.json)\n"
            f"      results_sha256 {o.verify.get('results_sha256')}\n"
            f"      report {setup.work / 'verify.json'}; the server's results "
            f"{setup.work / 'results.json'}"
        )
    if o.sheets.get("sheets"):
        s = o.sheets
        lines.append(
            f"  biên bản / sheets: {s['sheets']} PDF ({s['constituencies']} constituencies, "
            f"{s['summaries']} committee summaries) in {s['seconds']} s\n"
            f"      {s['out']}/ e.g. {Path(s['first']).name}"
        )
    lines.append(
        f"  máy chủ / server: folder {setup.server_dir}\n"
        f"      log {setup.server.log_path}\n"
        f"      stations' outbox {setup.work / 'stations-outbox.sqlite'}"
    )
    for line in r.unexpected:
        lines.append(f"  KHÔNG NHƯ DỰ KIẾN / UNEXPECTED: {line}")
    if o.incomplete and night.stopped_early:
        lines.append(f"  dừng sớm / stopped early: {o.incomplete}")
    elif o.incomplete:
        lines.append(f"  LỖI / PROBLEM: {o.incomplete}")
    for line in [*night.problems, *o.problems]:
        lines.append(f"  LỖI / PROBLEM: {line}")
    return lines


def exit_code(night: Night) -> int:
    o = night.outcome
    if night.problems or o.problems or night.report.unexpected or not o.verified:
        return 1
    return 1 if o.incomplete and not night.stopped_early else 0


MAX_DURATION = 3600.0


def run_demo(options: DemoOptions) -> int:
    if not 0 < options.duration <= MAX_DURATION:
        raise DemoError(
            en=f"--duration is seconds between 0 and {MAX_DURATION:g}, not {options.duration:g}.",
            vi=f"--duration là số giây trong khoảng 0 đến {MAX_DURATION:g}, không phải "
            f"{options.duration:g}.",
            code="X104",
            fields=("duration",),
            figures={"duration": options.duration, "maximum": MAX_DURATION},
        )
    headless = options.headless
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        say("Không có terminal / no terminal (not a TTY): chạy như --headless / running headless")
        headless = True
    started = time.monotonic()
    setup = set_up(options)
    night = Night()
    try:
        setup.url = setup.server.start()
        say(f"  tally-server serve: {setup.url} (nhật ký / log {setup.server.log_path})")
        if headless:
            say(
                f"Các trạm gửi trong khoảng / stations report over about {options.duration:g} s; "
                f"to watch: tally-tui --server {setup.url} --token {setup.tokens['operator']}"
            )
            asyncio.run(_headless(setup, options, night))
        else:
            _dashboard(setup, options, night)
    except KeyboardInterrupt:
        say(f"Dừng / interrupted; the folder stays: {setup.work}")
        return 130
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DemoError(
            en=f"Lost the server at {setup.url}: {type(exc).__name__}: {exc}. Its log is "
            f"{setup.server.log_path}.",
            vi=f"Mất kết nối với máy chủ {setup.url}: {type(exc).__name__}: {exc}. Xem nhật ký "
            f"{setup.server.log_path}.",
            code="X201",
            figures={"url": setup.url, "log": str(setup.server.log_path)},
        ) from exc
    finally:
        code = setup.server.stop()
        night.seconds = time.monotonic() - started
    for line in summary(setup, night):
        say(line)
    say(f"Máy chủ đã dừng / server stopped (exit {code})")
    result = exit_code(night)
    if result == 0 and night.stopped_early:
        say("Dừng sớm theo yêu cầu / stopped early: the ledger checks out as far as it goes")
    elif result == 0:
        say("OK: mọi khu vực đã báo cáo, sổ cái kiểm lại khớp / every area in, ledger verified")
    return result
