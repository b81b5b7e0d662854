"""``tally-server``: the central server and the auditors' offline tools.

Each command group lives in its own module under ``tally_server.commands``
and registers its sub-parsers here; heavy imports stay inside the handlers so
``--help`` is instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from schemas._cli import add_version, run
from tally_server.commands import demo as demo_command
from tally_server.commands import election as election_command
from tally_server.commands import server as server_command
from tally_server.commands import standby as standby_command
from tally_server.commands import tally as tally_command


def _summary(args: argparse.Namespace) -> int:
    from tally_server.core.definition import load_election, summarise

    election = load_election(Path(args.election))
    print(summarise(election))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tally-server",
        description="Kiểm phiếu — central tally server for election results "
        "(máy chủ tổng hợp kết quả bầu cử).",
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("summary", help="validate an election definition and summarise it")
    p.add_argument("--election", required=True, help="election definition (JSON)")
    p.set_defaults(handler=_summary)
    tally_command.register(sub)
    election_command.register(sub)
    server_command.register(sub)
    standby_command.register(sub)
    demo_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
