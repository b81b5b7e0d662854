"""``tally-server station pack``, and enrol / revoke / list against a running server.

The committee sets a station up in one step: the pack carries everything the
polling team's ``station-client init --pack`` needs. While the server runs, the
folder is its own (F409); the same commands then go through its HTTP API with an
admin token, so the ledger records them exactly as it does the API's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from schemas.errors import KiemphieuError
from tally_server.core.glossary import ENROLMENT


class StationCommandError(KiemphieuError):
    """A station command that could not be done: the server not reached, or a pack
    that would not match the election it sits beside."""

    code = "F120"


def add_remote_options(p: argparse.ArgumentParser) -> None:
    """--dir (the server stopped) or --server and --token (the server running)."""
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dir", type=Path, help="the server folder (the server stopped)")
    where.add_argument(
        "--server", help="a running server's address, http(s)://HOST:PORT (with --token)"
    )
    p.add_argument("--token", help="with --server: an access token (admin to enrol or revoke)")
    p.add_argument("--ca-file", type=Path, help="with --server: CA certificate of its TLS")
    p.add_argument("--timeout", type=float, default=20.0, help=argparse.SUPPRESS)


def remote(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """One request to the server's API; its refusal raised with the server's own code
    and words, so the committee reads the same answer the API gives."""
    import ssl
    import urllib.error
    import urllib.request

    import msgspec

    from schemas import read

    if not args.token:
        raise StationCommandError(
            en="--server needs --token: an access token (admin to enrol or revoke).",
            vi="--server cần --token: mã truy cập (admin để đăng ký hoặc thu hồi).",
            code="F121",
            fields=("token",),
        )
    url = args.server.rstrip("/") + path
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8"),
        method=method,
        headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    try:
        with urllib.request.urlopen(request, timeout=args.timeout, context=context) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            detail = msgspec.json.decode(raw, type=read.ErrorBody).error
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise StationCommandError(
                en=f"The server answered HTTP {exc.code} to {method} {url}, without an "
                "error it explains.",
                vi=f"Máy chủ trả lời HTTP {exc.code} cho {method} {url}, không kèm lỗi "
                "giải thích được.",
                code="F122",
                figures={"http_status": exc.code, "url": url},
            ) from None
        raise KiemphieuError(
            en=detail.message_en,
            vi=detail.message_vi,
            code=detail.code,
            fields=tuple(detail.fields),
            figures={**detail.figures, "http_status": exc.code},
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StationCommandError(
            en=f"Could not reach the server at {args.server}: {reason}. Check the address "
            "and that it is running; nothing was changed.",
            vi=f"Không kết nối được máy chủ {args.server}: {reason}. Kiểm tra địa chỉ và "
            "máy chủ đang chạy; chưa thay đổi gì.",
            fields=("server",),
            figures={"server": args.server},
        ) from None


def enroll_remote(args: argparse.Namespace, key: Any, station_id: str, area_id: str) -> int:
    body = {"station_id": station_id, "polling_area_id": area_id, "public_key": key.b64}
    if args.fingerprint:
        body["fingerprint"] = args.fingerprint
    answer = remote(args, "POST", "/api/v1/stations", body)
    state = ENROLMENT["enrolled" if answer.get("created") else "unchanged"].both()
    print(f"{answer['station_id']}\t{answer['polling_area_id']}\t{answer['fingerprint']}\t{state}")
    return 0


def revoke_remote(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    answer = remote(args, "POST", f"/api/v1/stations/{quote(args.station_id, safe='')}/revoke")
    print(f"{answer['station_id']}\t{answer['fingerprint']}\trevoked")
    return 0


def list_remote(args: argparse.Namespace) -> Any:
    import msgspec

    from schemas import read

    return msgspec.convert(remote(args, "GET", "/api/v1/stations"), read.StationList)


# --- the station pack ---------------------------------------------------------------


def register_pack(ss: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = ss.add_parser(
        "pack",
        help="write each station's set-up pack for `station-client init --pack`",
        description="Into OUT: the election definition once (election.json) and one "
        "AREA.json per polling area (the station id is the area's id): the server's "
        "address(es), its key and the key's fingerprint, the polling area and the races "
        "held there. Hand each polling team its file with election.json beside it.",
    )
    p.add_argument("--dir", required=True, type=Path, help="the server folder")
    p.add_argument(
        "--server",
        action="append",
        required=True,
        help="the address stations use, http(s)://HOST:PORT; repeat for the standby: "
        "the primary first, stations move on in this order when one does not answer",
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write the packs into")
    p.add_argument(
        "--area", action="append", help="only this polling area (repeat; default: every one)"
    )
    p.add_argument("--server-cert", type=Path, help="the server's TLS certificate, to pin")
    p.set_defaults(handler=_pack)


def _pack(args: argparse.Namespace) -> int:
    import os

    from schemas import codec
    from schemas.pack import PackRace, StationPack
    from schemas.signing import sha256_hex
    from tally_server.service.folder import ELECTION_NAME, open_folder

    bad = [u for u in args.server if not u.startswith(("http://", "https://"))]
    if bad:
        raise StationCommandError(
            en=f"A server address must start with http:// or https://, not {bad[0]!r}.",
            vi=f"Địa chỉ máy chủ phải bắt đầu bằng http:// hoặc https://, không phải {bad[0]!r}.",
            code="F123",
            fields=("server",),
        )
    folder = open_folder(args.dir)
    election = folder.election
    areas = args.area or sorted(election.polling_areas)
    unknown = [a for a in areas if a not in election.polling_areas]
    if unknown:
        raise StationCommandError(
            en=f"Polling area(s) {', '.join(unknown)} are not in election {election.id}.",
            vi=f"Khu vực bỏ phiếu {', '.join(unknown)} không có trong cuộc bầu cử {election.id}.",
            code="F124",
            fields=("area",),
            figures={"areas": unknown},
        )
    definition = (args.dir / ELECTION_NAME).read_bytes()
    digest = sha256_hex(definition)
    target = args.out / ELECTION_NAME
    if target.exists() and sha256_hex(target.read_bytes()) != digest:
        # The packs already there name that definition: they must not lose it.
        raise StationCommandError(
            en=f"{target} holds another election definition; write the packs to a new folder.",
            vi=f"{target} chứa một định nghĩa cuộc bầu cử khác; hãy ghi vào thư mục mới.",
            code="F125",
            fields=("out",),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    target.write_bytes(definition)
    public = folder.server_key.public
    cert = args.server_cert.read_text("ascii") if args.server_cert else None
    written = 0
    for area_id in areas:
        seats = election.races_at(area_id)
        if not seats:
            print(f"{area_id}: không có cuộc bầu cử nào / no race held here; skipped")
            continue
        pack = StationPack(
            election_id=election.id,
            election_sha256=digest,
            station_id=area_id,
            polling_area_id=area_id,
            polling_area_name=election.polling_areas[area_id].name,
            server_urls=list(args.server),
            server_public_key=public.b64,
            server_fingerprint=public.fingerprint,
            server_cert=cert,
            races=[
                PackRace(
                    race_id=s.race.id,
                    race_name=s.race.name,
                    constituency_id=s.constituency.id,
                    constituency_name=s.constituency.name,
                    seats=s.constituency.seats,
                )
                for s in seats
            ],
        )
        tmp = args.out / f".{area_id}.json.tmp"
        tmp.write_bytes(codec.encode_pretty(pack) + b"\n")
        os.replace(tmp, args.out / f"{area_id}.json")
        written += 1
    print(f"Đã ghi / written: {written} gói trạm / station pack(s) in {args.out}")
    print(f"Dấu vân tay khoá máy chủ / server key fingerprint: {public.fingerprint}")
    print("Đọc dấu vân tay này cho từng Tổ bầu cử để so / read it to each polling team to compare.")
    return 0
