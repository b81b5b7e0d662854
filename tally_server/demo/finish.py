"""The end of the demo, as a committee would close the night: is every polling
area in, export the ledger, re-check it with ``tally-server verify`` alone,
compare with what the server published, and print the official sheets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tally_server.demo.server import run_command

SHEETS_TIMEOUT = 300.0


@dataclass(slots=True)
class Outcome:
    """What the checks at the end found; ``problems`` empty means all is well."""

    areas_reported: int = 0
    areas_total: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    """Race id -> polling areas whose minutes for it are missing."""
    batches: dict[str, int] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    """election_id, ledger_index, ledger_head, results_sha256 of GET /results.json."""
    verify: dict[str, Any] = field(default_factory=dict)
    """The report of ``tally-server verify --json``, without the results list."""
    ledger_path: Path | None = None
    sheets: dict[str, Any] = field(default_factory=dict)
    incomplete: str = ""
    """Which polling areas have not reported, if any."""
    problems: list[str] = field(default_factory=list)
    """Everything else that went wrong."""

    @property
    def complete(self) -> bool:
        return (
            self.areas_total > 0
            and self.areas_reported == self.areas_total
            and not any(self.missing.values())
        )

    @property
    def verified(self) -> bool:
        v, s = self.verify, self.server
        return (
            bool(v.get("ok"))
            and bool(s)
            and v.get("results_sha256") == s.get("results_sha256")
            and v.get("head_hash") == s.get("ledger_head")
            and v.get("head_index") == s.get("ledger_index")
        )


class Reader:
    """GETs of the read routes with the viewer token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> Any:
        async with self.session.get(self.url + path, headers=self.headers) as response:
            response.raise_for_status()
            return await response.json()


def _head(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("election_id", "ledger_index", "ledger_head", "results_sha256")
    return {k: doc.get(k) for k in keys}


async def _export(
    reader: Reader, server_dir: Path, out: Path, results_path: Path, tries: int = 3
) -> tuple[dict[str, Any], str]:
    """Export the ledger at the head the published results were computed at (an
    operator reviewing an alert meanwhile moves the head: then export again), and
    keep those results next to it."""
    error = ""
    for _ in range(tries):
        before = _head(await reader.get("/api/v1/results.json"))
        done = await asyncio.to_thread(
            run_command, "ledger", "export", "--dir", server_dir, "--out", out
        )
        if done.returncode != 0:
            return before, f"tally-server ledger export failed: {done.stderr.strip()}"
        doc = await reader.get("/api/v1/results.json")
        if _head(doc) == before:
            results_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")
            return before, ""
        error = "the ledger kept moving while it was exported"
    return _head(doc), error


def _verify(ledger: Path, election: Path, report_path: Path) -> tuple[dict[str, Any], str]:
    done = run_command("verify", ledger, "--election", election, "--json", timeout=600)
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        return {}, f"tally-server verify gave no report (exit {done.returncode}): {done.stderr}"
    report_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", "utf-8")
    doc.pop("results", None)
    if done.returncode != 0 or not doc.get("ok"):
        bad = doc.get("first_bad_entry") or {}
        return doc, (
            f"tally-server verify found the ledger bad at entry {bad.get('index')} "
            f"[{bad.get('code')}]: {bad.get('reason_en')}"
        )
    return doc, ""


def print_sheets(url: str, token: str, out: Path) -> tuple[dict[str, Any], str]:
    """Draw the sheets in a child process (the dashboard keeps its CPU)."""
    done = subprocess.run(
        [sys.executable, "-m", "tally_server.demo.sheets", "--server", url, "--out", str(out)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "KIEMPHIEU_TOKEN": token},
        timeout=SHEETS_TIMEOUT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    try:
        doc: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        doc = {}
    if done.returncode != 0 or "sheets" not in doc:
        error = doc.get("error", {})
        detail = error.get("message_en") or done.stderr.strip()[-400:]
        return doc, f"printing the sheets failed (exit {done.returncode}): {detail}"
    return doc, ""


async def finish(
    url: str,
    viewer_token: str,
    *,
    work: Path,
    server_dir: Path,
    election_path: Path,
    sheets: bool = True,
    say: Any = print,
) -> Outcome:
    out = Outcome()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        reader = Reader(session, url, viewer_token)
        progress = await reader.get("/api/v1/progress")
        overall = progress.get("overall", {})
        out.areas_reported = int(overall.get("areas_reported", 0))
        out.areas_total = int(overall.get("areas_total", 0))
        out.batches = dict(progress.get("batches", {}))
        results = (await reader.get("/api/v1/results.json")).get("results", [])
        for r in results:
            missing = int(r["areas_total"]) - int(r["areas_reported"])
            out.missing[r["race_id"]] = out.missing.get(r["race_id"], 0) + missing
        if not out.complete:
            gaps = ", ".join(f"{race} {n}" for race, n in out.missing.items() if n)
            out.incomplete = (
                f"not every polling area reported: {out.areas_reported}/{out.areas_total}"
                + (f" (minutes missing per race: {gaps})" if gaps else "")
            )

        say("Xuất sổ cái / exporting the ledger (tally-server ledger export)…")
        out.ledger_path = work / "ledger.jsonl"
        out.server, error = await _export(
            reader, server_dir, out.ledger_path, work / "results.json"
        )
    if error:
        out.problems.append(error)
        return out

    say("Kiểm tra lại sổ cái / re-checking it alone (tally-server verify)…")
    out.verify, error = await asyncio.to_thread(
        _verify, out.ledger_path, election_path, work / "verify.json"
    )
    if error:
        out.problems.append(error)
    elif not out.verified:
        v, s = out.verify, out.server
        for mine, theirs, what in (
            ("results_sha256", "results_sha256", "results_sha256"),
            ("head_hash", "ledger_head", "ledger head"),
            ("head_index", "ledger_index", "ledger index"),
        ):
            if v.get(mine) != s.get(theirs):
                out.problems.append(
                    f"verify's {what} {v.get(mine)} differs from the server's {s.get(theirs)}"
                )

    if sheets:
        say("In biên bản / printing the official sheets (PDF)…")
        out.sheets, error = await asyncio.to_thread(
            print_sheets, url, viewer_token, work / "sheets"
        )
        if error:
            out.problems.append(error)
    return out
