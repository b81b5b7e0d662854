"""``tally-server standby restore``: a standby folder from the replica ``serve
--replicate`` ships (service/replica.py, docs/standby.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    standby = sub.add_parser(
        "standby", help="bring up a standby server folder from a replica (serve --replicate)"
    )
    ss = standby.add_subparsers(dest="standby_command", metavar="COMMAND")
    p = ss.add_parser(
        "restore",
        help="restore a server folder from the replica and check it as serve does",
        description="Restore the ledger database and the folder's files (server key, "
        "definition) from the replica URL given to `serve --replicate`, check the files "
        "against their digests and the database as `serve` does at start; then `serve --dir "
        "DIR` answers. The ledger records the takeover as a signed server_takeover entry "
        "naming the head it continues from. What the replica had not received comes back "
        "from the stations' receipts on their next sync.",
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the replica: the directory or URL given to serve --replicate",
    )
    p.add_argument("--dir", required=True, type=Path, help="new server folder for the standby")
    p.add_argument(
        "--at",
        metavar="TIME",
        help="restore the state at this RFC 3339 time (e.g. 2026-05-22T21:00:00Z) instead "
        "of the latest",
    )
    p.add_argument(
        "--reason",
        default="",
        metavar="TEXT",
        help="why the standby takes over (e.g. 'primary disk failed 23:04'): recorded in the "
        "ledger's server_takeover entry",
    )
    p.set_defaults(handler=_restore)


def _restore(args: argparse.Namespace) -> int:
    from tally_server.service.replica import restore_standby, shown_url

    done = restore_standby(args.source, args.dir, at=args.at, reason=args.reason)
    print(f"Máy dự phòng / standby folder: {done.folder} (from {shown_url(args.source)})")
    print(f"Sổ cái / ledger: {done.entries} mục / entries, head {done.head_index} {done.head_hash}")
    print(
        f"Tiếp quản / takeover: mục / entry {done.takeover_index} {done.takeover_hash} "
        f"(server_takeover, tiếp nối / continues from {done.head_index})"
    )
    print(
        f"Kiểm tra khi khởi động / start check: KHỚP / CONSISTENT (checkpoint "
        f"{done.checkpoint}, {done.replayed} replayed)"
    )
    for name, sha in done.carried.items():
        print(f"  {name} sha256 {sha}")
    print(f"{done.seconds:.1f} s")
    print(f"Phục vụ / serve it: tally-server serve --dir {done.folder} --host ADDRESS --port PORT")
    return 0
