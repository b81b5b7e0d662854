"""``station-client``: what a polling team (Tổ bầu cử) runs on election night."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from schemas._cli import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station-client",
        description="Kiểm phiếu — polling-team client: enter, sign and deliver counting minutes "
        "(nhập, ký và gửi biên bản kiểm phiếu).",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
