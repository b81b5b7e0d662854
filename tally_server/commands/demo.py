"""``tally-server demo``: the bundled sample end to end (docs/demo.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the bundled Ho Chi Minh City 2011 sample end to end (docs/demo.md)",
        description="Set up a server for the bundled sample (init, tokens, serve on "
        "127.0.0.1), let simulated polling stations report over real HTTP while the "
        "committee dashboard shows it, then export the ledger, re-check it with "
        "tally-server verify and print the official sheets (PDF). Without a terminal it "
        "runs as --headless.",
    )
    p.add_argument(
        "--dir",
        type=Path,
        help="working folder (default ./demo-work; a previous demo's folder is wiped, "
        "any other non-empty folder is refused)",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no dashboard: progress lines; exit 0 only if every polling area reported "
        "and verify reproduces the server's results",
    )
    p.add_argument("--port", type=int, default=0, help="server port (default 0: a free one)")
    p.add_argument(
        "--stations",
        type=int,
        metavar="N",
        help="only N polling areas (the sample's first and last ones; default: all 4,477)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="about how long the stations take to report (default 90)",
    )
    p.add_argument(
        "--seed", type=int, default=2011, help="seed of the minutes and the faults (default 2011)"
    )
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from tally_server.demo import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            dir=args.dir,
            headless=args.headless,
            port=args.port,
            stations=args.stations,
            duration=args.duration,
            seed=args.seed,
        )
    )
