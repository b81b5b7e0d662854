"""The demo's official sheets: every constituency's result minutes and every
committee's summary, from the server's results at one ledger head.

Run as a child process (``python -m tally_server.demo.sheets --server URL --out
DIR``, the token in ``$KIEMPHIEU_TOKEN``) so drawing PDFs never slows the
dashboard; prints one JSON line: how many sheets, where, their fingerprint.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

_SOURCE: Any = None
"""The sheet source, set before the workers fork so they share it unpickled."""


def _one(job: tuple[str, str, str, str]) -> str:
    from tui.pdf import print_committee, print_constituency

    kind, a, b, out = job
    if kind == "summary":
        return str(print_committee(_SOURCE, a, Path(out)))
    return str(print_constituency(_SOURCE, a, b, Path(out)))


def _jobs(source: Any, out: Path) -> list[tuple[str, str, str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for r in source.results:
        seen.setdefault((r.race_id, r.constituency_id), None)
    running = {r.committee_id for r in source.results}
    # the National Election Council's summary (Art. 84) once the NA race has results
    if any(source.election.races[r.race_id].level == "national_assembly" for r in source.results):
        running |= {c.id for c in source.election.definition.committees if c.level == "national"}
    jobs = [("constituency", race, con, str(out)) for race, con in seen]
    jobs += [
        ("summary", c.id, "", str(out))
        for c in source.election.definition.committees
        if c.id in running
    ]
    return jobs


def print_sheets(server: str, token: str | None, out: Path, workers: int) -> dict[str, Any]:
    """The same set as ``tui.pdf.print_all``, drawn by ``workers`` processes."""
    global _SOURCE
    from tui.client import ApiClient
    from tui.pdf import source_from_server

    started = time.monotonic()
    box: list[Any] = []

    async def fetch() -> None:
        async with ApiClient(server, token) as client:
            # kept out of asyncio.run's return value: on 3.11 it may be repr()'d whole
            box.append(await source_from_server(client))

    asyncio.run(fetch())
    _SOURCE = box[0]
    out.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(_SOURCE, out)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        gc.freeze()  # the children's collectors must not copy the shared source page by page
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            paths = list(pool.map(_one, jobs, chunksize=4))
    else:
        paths = [_one(job) for job in jobs]
    return {
        "sheets": len(paths),
        "constituencies": sum(1 for j in jobs if j[0] == "constituency"),
        "summaries": sum(1 for j in jobs if j[0] == "summary"),
        "out": str(out),
        "first": paths[0] if paths else None,
        "fingerprint": _SOURCE.fingerprint.payload(),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    from schemas.errors import KiemphieuError

    parser = argparse.ArgumentParser(prog="python -m tally_server.demo.sheets")
    parser.add_argument("--server", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    try:
        doc = print_sheets(args.server, os.environ.get("KIEMPHIEU_TOKEN"), args.out, args.workers)
    except KiemphieuError as exc:
        print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False))
        return 1
    print(json.dumps(doc, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
