"""``tally-tui``: the election committee's dashboard and result sheets."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from schemas._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tally-tui",
        description="Kiểm phiếu — election committee dashboard and official result sheets "
        "(bảng theo dõi của Ủy ban bầu cử và in biên bản).",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
