"""``tally-tui``: the election committee's dashboard and result sheets.

``tally-tui --server URL`` (or ``tally-tui run --server URL``) opens the
dashboard; ``tally-tui print`` writes the official sheets as PDF, from a
server or, offline, from an election file and minutes files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from schemas._cli import add_version, run

TOKEN_ENV = "KIEMPHIEU_TOKEN"


def _add_server(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--server",
        required=required,
        help="the tally server, e.g. http://127.0.0.1:8080 (máy chủ tổng hợp)",
    )
    p.add_argument(
        "--token",
        help=f"bearer token (viewer to read, operator to review alerts); default: ${TOKEN_ENV}",
    )


def _add_app_options(p: argparse.ArgumentParser) -> None:
    _add_server(p, required=False)
    p.add_argument(
        "--lang",
        choices=("vi", "en"),
        default="vi",
        help="language of the labels (switch any time with l)",
    )
    p.add_argument(
        "--projector",
        action="store_true",
        help="read-only view for a projector: no operator actions, bigger progress",
    )
    p.add_argument(
        "--out",
        default="bien-ban",
        help="folder the sheets printed from the dashboard go to (default: ./bien-ban)",
    )


def _token(args: argparse.Namespace) -> str | None:
    token: str | None = args.token or os.environ.get(TOKEN_ENV) or None
    return token


def _run_app(args: argparse.Namespace) -> int:
    if not args.server:
        build_parser().print_help()
        return 2
    from tui.app import DashboardApp

    app = DashboardApp(
        args.server,
        _token(args),
        lang=args.lang,
        projector=args.projector,
        out_dir=Path(args.out),
    )
    app.run()
    return 0


def _print(args: argparse.Namespace) -> int:
    import asyncio

    from schemas.models import CountingMinutes
    from tui.errors import SheetError
    from tui.pdf import printing
    from tui.pdf.forms import Meeting

    out = Path(args.out)
    made_on = dt.date.fromisoformat(args.date) if args.date else None
    meeting = Meeting(
        day=made_on,
        time=dt.time.fromisoformat(args.time) if args.time else None,
        place=args.place,
        members=tuple(_member(m) for m in args.member or []),
    )
    if args.election:
        if args.server:
            raise SheetError(
                en="Give either --server or --election with --minutes, not both.",
                vi="Chỉ dùng --server hoặc --election cùng --minutes, không dùng cả hai.",
                fields=("server", "election"),
            )
        source = printing.source_offline(
            Path(args.election), [Path(m) for m in args.minutes or []], made_on
        )
        for line in source.rejected:
            print(f"bỏ qua / left out: {line}", file=sys.stderr)
        area_minutes: list[CountingMinutes] | None = None
    elif args.server:
        from tui.client import ApiClient

        async def fetch() -> tuple[printing.SheetSource, list[CountingMinutes] | None]:
            async with ApiClient(args.server, _token(args)) as client:
                src = await printing.source_from_server(client)
                mins = None
                if args.polling_area:
                    doc = await client.polling_area(args.polling_area)
                    mins = printing.minutes_from_area(doc)
                    src.corrections.update(printing.corrections_from_area(doc))
                if args.constituency:
                    race, _, con = args.constituency.partition("/")
                    await printing.add_constituency_minutes(client, src, race, con)
                return src, mins

        source, area_minutes = asyncio.run(fetch())
        source.made_on = made_on
    else:
        raise SheetError(
            en="Say where the results come from: --server URL, or --election FILE --minutes FILES.",
            vi="Cần nêu nguồn kết quả: --server URL, hoặc --election TỆP --minutes TỆP...",
            fields=("server", "election"),
        )

    source.meeting = meeting
    if args.constituency:
        race_id, _, constituency_id = args.constituency.partition("/")
        if not constituency_id:
            raise SheetError(
                en=f"--constituency is RACE/ID (for example QH/QH-10), not {args.constituency!r}.",
                vi=f"--constituency có dạng CUỘC/MÃ (ví dụ QH/QH-10), không phải "
                f"{args.constituency!r}.",
                fields=("constituency",),
            )
        paths = [printing.print_constituency(source, race_id, constituency_id, out)]
    elif args.polling_area:
        paths = [
            printing.print_polling_area(
                source,
                args.polling_area,
                args.race,
                out,
                area_minutes,
            )
        ]
    elif args.committee:
        paths = [printing.print_committee(source, args.committee, out)]
    else:
        paths = printing.print_all(source, out)
    for path in paths:
        print(path)
    print(f"dấu vân tay / fingerprint: {source.fingerprint.payload()}", file=sys.stderr)
    return 0


def _member(text: str) -> tuple[str, str]:
    from tui.errors import SheetError

    role, sep, name = text.partition(":")
    if not sep or not role.strip() or not name.strip():
        raise SheetError(
            en=f"--member is ROLE:NAME (the role as the minutes write it, a colon, the full "
            f"name), not {text!r}.",
            vi=f"--member có dạng CHỨC VỤ:HỌ TÊN (ví dụ 'Trưởng ban:Nguyễn Văn A'), không phải "
            f"{text!r}.",
            fields=("member",),
        )
    return role.strip(), name.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tally-tui",
        description="Kiểm phiếu — election committee dashboard and official result sheets "
        "(bảng theo dõi của Ủy ban bầu cử và in biên bản). "
        "Run with --server URL to open the dashboard.",
    )
    add_version(parser)
    _add_app_options(parser)
    parser.set_defaults(handler=_run_app)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="open the dashboard (same as tally-tui --server URL)")
    _add_app_options(p)
    p.set_defaults(handler=_run_app)

    p = sub.add_parser(
        "print",
        help="write official result sheets as PDF (in biên bản)",
        description="Write the official sheets as PDF: from a server (the results at its "
        "ledger head), or offline from an election definition and minutes files (tallied "
        "here; signatures are not checked — use tally-server verify for that).",
    )
    _add_server(p, required=False)
    p.add_argument("--election", help="offline: the election definition (JSON)")
    p.add_argument(
        "--minutes",
        nargs="+",
        metavar="FILE",
        help="offline: minutes files (a minutes, a list, a batch, an envelope, or JSON Lines)",
    )
    p.add_argument("--out", required=True, help="folder to write the PDF files into")
    p.add_argument(
        "--date",
        help="the day the board or committee met (YYYY-MM-DD), printed in the minutes' "
        "opening; default: left blank to fill by hand (never the printing day)",
    )
    p.add_argument("--time", help="the time the meeting opened (HH:MM); default: left blank")
    p.add_argument(
        "--place", help="where the meeting was held; default: the definition's, else blank"
    )
    p.add_argument(
        "--member",
        action="append",
        metavar="ROLE:NAME",
        help="a member present, e.g. 'Trưởng ban:Nguyễn Văn A' (repeat, in order); "
        "default: the definition's, else a blank line per role of the form",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--constituency",
        metavar="RACE/ID",
        help="the result minutes of one constituency (Biên bản xác định kết quả bầu cử)",
    )
    what.add_argument(
        "--polling-area",
        metavar="ID",
        help="a polling team's counting minutes (Biên bản kết quả kiểm phiếu)",
    )
    what.add_argument(
        "--committee",
        metavar="ID",
        help="a committee's summary minutes (Biên bản tổng kết cuộc bầu cử)",
    )
    what.add_argument(
        "--all",
        action="store_true",
        help="every constituency's result minutes and every committee's summary",
    )
    p.add_argument("--race", help="with --polling-area: only this race's minutes")
    p.set_defaults(handler=_print)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
