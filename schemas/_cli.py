"""The one way our three command lines run a parsed command and report errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from schemas.errors import KiemphieuError

Handler = Callable[[argparse.Namespace], int]


def version() -> str:
    """The installed distribution's version (one number for the three commands)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("kiemphieu")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except KiemphieuError as exc:
        print(f"lỗi / error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"lỗi tệp / file error: {exc}", file=sys.stderr)
        return 1
