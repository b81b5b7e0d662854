"""``tally-server init | serve | station | token | ledger | check | rebuild | verify``."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

from tally_server.commands.stations import add_remote_options, register_pack
from tally_server.core.glossary import ENROLMENT
from tally_server.service.limits import DEFAULT_PER_KEYID, DEFAULT_PER_SOURCE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        help="make a server folder for one election (database and server key)",
        description="Create DIR with the election's SQLite database and the server's "
        "Ed25519 key (owner-only file).",
    )
    p.add_argument("--dir", required=True, type=Path, help="new server folder")
    p.add_argument(
        "--election", required=True, type=Path, help="election definition (JSON) or roster folder"
    )
    p.set_defaults(handler=_init)

    p = sub.add_parser("serve", help="run the tally server")
    p.add_argument("--dir", required=True, type=Path, help="server folder (from init)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--tls-cert", type=Path, help="TLS certificate chain (PEM)")
    p.add_argument("--tls-key", type=Path, help="TLS private key (PEM)")
    p.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain HTTP on an address other than loopback (tokens travel in clear; "
        "for a network already encrypted by a VPN or a TLS proxy); warned about in the log",
    )
    p.add_argument(
        "--public", action="store_true", help="read routes need no token (projector, press)"
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--access-log", action="store_true", help="log every request (JSON lines)")
    p.add_argument(
        "--max-db-mb",
        type=float,
        help="answer 507 (send again later) rather than grow the database past this size",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="N more processes check batches (signature, decoding, the law's arithmetic) "
        "while this one decides and writes the one ledger (default 0: one process)",
    )
    p.add_argument(
        "--refusals-per-source",
        type=int,
        default=DEFAULT_PER_SOURCE,
        metavar="N",
        help="envelopes refused before a valid signature that are recorded per source "
        f"address per minute; past it, 429 and nothing recorded (default {DEFAULT_PER_SOURCE})",
    )
    p.add_argument(
        "--refusals-per-keyid",
        type=int,
        default=DEFAULT_PER_KEYID,
        metavar="N",
        help=f"the same per key id as sent, whatever the address (default {DEFAULT_PER_KEYID})",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=20.0,
        metavar="S",
        help="close a connection that has not sent a request's headers within S seconds of "
        "opening or of its last answer (default %(default)g)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="answer 408 and close when a request's body has not arrived within S seconds "
        "of its headers (default %(default)g)",
    )
    p.add_argument(
        "--replicate",
        metavar="URL",
        help="replicate the folder continuously with Litestream (its child process) to URL: "
        "a directory, file:///DIR, s3://BUCKET/PATH or sftp://HOST/PATH; the server key "
        "and the definition go with it (docs/standby.md)",
    )
    p.set_defaults(handler=_serve)

    station = sub.add_parser(
        "station", help="enroll, revoke and list polling stations' keys; write their packs"
    )
    ss = station.add_subparsers(dest="station_command", metavar="COMMAND")
    p = ss.add_parser("enroll", help="enroll one station's public key")
    add_remote_options(p)
    p.add_argument("station_id")
    p.add_argument("--polling-area", required=True, help="polling area id")
    p.add_argument("--public-key", required=True, help="PEM file, or the key as PEM/base64/hex")
    p.add_argument("--fingerprint", help="the fingerprint read aloud; refuse if it differs")
    p.set_defaults(handler=_station_enroll)
    p = ss.add_parser("enroll-csv", help="enroll stations from CSV")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument(
        "file",
        type=Path,
        help="CSV with a header: station_id,polling_area_id,public_key[,fingerprint]",
    )
    p.set_defaults(handler=_station_enroll_csv)
    p = ss.add_parser("revoke", help="revoke a station's key")
    add_remote_options(p)
    p.add_argument("station_id")
    p.set_defaults(handler=_station_revoke)
    p = ss.add_parser("list", help="stations with fingerprints")
    add_remote_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_station_list)
    register_pack(ss)

    token = sub.add_parser("token", help="access tokens for the committee")
    ts = token.add_subparsers(dest="token_command", metavar="COMMAND")
    p = ts.add_parser("create", help="make a token; it is printed once")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--role", required=True, choices=("viewer", "operator", "admin"))
    p.add_argument("--name", default="", help="who or what holds it")
    until = p.add_mutually_exclusive_group()
    until.add_argument(
        "--expires",
        metavar="WHEN",
        help="when it stops working: 2026-05-31T18:00 (Vietnam time unless an offset is "
        "given, e.g. 2026-05-31T11:00Z) or 2026-05-31 (the end of that day)",
    )
    until.add_argument(
        "--valid-for",
        metavar="DURATION",
        help="how long it works from now: 12h, 3d, 90m, 1d12h",
    )
    p.set_defaults(handler=_token_create)
    p = ts.add_parser("revoke", help="revoke a token by its id")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("token_id", type=int)
    p.set_defaults(handler=_token_revoke)
    p = ts.add_parser("list", help="tokens (ids, roles, names; never the secrets)")
    p.add_argument("--dir", required=True, type=Path)
    p.set_defaults(handler=_token_list)

    led = sub.add_parser("ledger", help="the tamper-evident ledger")
    ls = led.add_subparsers(dest="ledger_command", metavar="COMMAND")
    p = ls.add_parser("export", help="export the ledger as JSON Lines (docs/ledger.md)")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--out", required=True, help="file to write, or - for standard output")
    p.set_defaults(handler=_ledger_export)

    p = sub.add_parser(
        "check",
        help="check the derived tables against the ledger, every entry and every row",
        description="Replay the whole ledger in memory (every batch decided again) and compare "
        "every row of the derived tables (keys, batch_log, minutes, current, alerts) with what "
        "it gives; print each disagreement (table, key, stored, expected). Exit 0 when "
        "consistent, 1 otherwise. Read-only; works while the server runs.",
    )
    p.add_argument("--dir", required=True, type=Path, help="server folder")
    p.set_defaults(handler=_check)

    p = sub.add_parser(
        "rebuild",
        help="rebuild the derived tables from the ledger (the old file is kept)",
        description="Write every derived table again from the ledger into a new tally.db; the "
        "old file is kept beside it as tally.db.before-rebuild-TIME. Refused while the server "
        "runs, and when the ledger itself is broken.",
    )
    p.add_argument("--dir", required=True, type=Path, help="server folder")
    p.set_defaults(handler=_rebuild)

    p = sub.add_parser(
        "verify",
        help="re-check a ledger export: chain, signatures, decisions, tally",
        description="Re-check a ledger export with nothing but the ledger and the election "
        "definition; prints the results and results_sha256; exit 1 naming the first bad entry.",
    )
    p.add_argument("ledger", type=Path, help="ledger export (JSON Lines)")
    p.add_argument(
        "--election", required=True, type=Path, help="election definition or roster folder"
    )
    p.add_argument(
        "--fingerprint", help="a head hash (as printed on a sheet; at least 16 hex digits)"
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--workers", type=int, help="processes for signature checks (default: cores)")
    p.set_defaults(handler=_verify)


# -- handlers -----------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    from tally_server.service.folder import KEY_NAME, PUB_NAME, init_folder

    folder = init_folder(args.dir, args.election)
    key = folder.server_key.public
    print(f"Thư mục máy chủ / server folder: {folder.path}")
    print(f"Cuộc bầu cử / election: {folder.election.id} — {folder.election.definition.name}")
    print(f"Khoá máy chủ / server key: {folder.path / KEY_NAME} (owner-only)")
    print(f"Khoá công khai / public key: {folder.path / PUB_NAME}")
    print(f"Dấu vân tay / fingerprint: {key.fingerprint}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from tally_server.web.serve import serve

    if (args.tls_cert is None) != (args.tls_key is None):
        print("lỗi / error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.insecure_http and args.tls_cert is not None:
        print("lỗi / error: --insecure-http and --tls-cert/--tls-key contradict", file=sys.stderr)
        return 2
    if args.workers < 0:
        print(
            f"lỗi / error: --workers phải ≥ 0 / must be ≥ 0 (got {args.workers})",
            file=sys.stderr,
        )
        return 2
    if args.refusals_per_source < 1 or args.refusals_per_keyid < 1:
        print(
            "lỗi / error: --refusals-per-source và --refusals-per-keyid phải ≥ 1 / must be ≥ 1",
            file=sys.stderr,
        )
        return 2
    if args.replicate is not None:
        from tally_server.service.replica import litestream_path, replica_url

        replica_url(args.replicate, "tally.db")  # refused now, not after the start check
        litestream_path()
    timeouts = (("--header-timeout", args.header_timeout), ("--body-timeout", args.body_timeout))
    for flag, value in timeouts:
        if not 0 < value <= 3600:
            print(
                f"lỗi / error: {flag} phải trong (0, 3600] / must be in (0, 3600] (got {value})",
                file=sys.stderr,
            )
            return 2
    return serve(
        args.dir,
        host=args.host,
        port=args.port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        public=args.public,
        log_level=args.log_level,
        access_log=args.access_log,
        max_db_bytes=None if args.max_db_mb is None else int(args.max_db_mb * 1024 * 1024),
        workers=args.workers,
        insecure_http=args.insecure_http,
        refusals=(args.refusals_per_source, args.refusals_per_keyid),
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        replicate=args.replicate,
    )


def _read_key_arg(text: str) -> str:
    path = Path(text)
    try:
        if len(text) < 4096 and path.is_file():
            return path.read_text("ascii")
    except OSError:
        pass
    return text


def _now() -> str:
    from tally_server.service.folder import now

    return now()


def _cli_actor() -> str:
    """Who enrols or revokes from the command line, as the ledger records it."""
    from tally_server.service.folder import cli_actor

    return cli_actor()


def offline_commit(dir_: Path, what: str, fn: Any) -> Any:
    from tally_server.service.folder import offline_commit as commit

    return commit(dir_, what, fn)


def _check_fingerprint(key: Any, expected: str | None) -> None:
    from schemas.errors import KeyFileError
    from schemas.signing import read_fingerprint

    if expected is not None and read_fingerprint(expected) != key.fingerprint:
        raise KeyFileError(
            en=f"The key's fingerprint is {key.fingerprint}, not {expected.strip()}: this is not "
            f"the key that was read out. Nothing was enrolled.",
            vi=f"Dấu vân tay của khoá là {key.fingerprint}, không phải {expected.strip()}: đây "
            f"không phải khoá đã được đọc. Chưa đăng ký gì.",
            code="S310",
            fields=("fingerprint",),
            figures={"fingerprint": key.fingerprint, "expected": expected.strip()},
        )


def _station_enroll(args: argparse.Namespace) -> int:
    import unicodedata

    from schemas.signing import VerifyKey

    key = VerifyKey.from_text(_read_key_arg(args.public_key))
    _check_fingerprint(key, args.fingerprint)
    station_id = unicodedata.normalize("NFC", args.station_id)
    area_id = unicodedata.normalize("NFC", args.polling_area)
    if args.server:
        from tally_server.commands.stations import enroll_remote

        return enroll_remote(args, key, station_id, area_id)

    def go(folder: Any, journal: Any) -> Any:
        p = journal.enroll(station_id, area_id, key, _now(), by=_cli_actor())
        return ([p] if p else []), p is not None

    created = offline_commit(args.dir, "enroll a station", go)
    state = ENROLMENT["enrolled" if created else "unchanged"].both()
    print(f"{station_id}\t{area_id}\t{key.fingerprint}\t{state}")
    return 0


def _station_enroll_csv(args: argparse.Namespace) -> int:
    import csv
    import io

    from schemas.codec import nfc
    from schemas.errors import KiemphieuError
    from schemas.signing import VerifyKey

    text = args.file.read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    needed = {"station_id", "polling_area_id", "public_key"}
    if not rows or not needed <= set(rows[0]):
        print(
            "lỗi / error: the CSV needs a header station_id,polling_area_id,public_key",
            file=sys.stderr,
        )
        return 1
    keys = []
    for n, row in enumerate(rows, start=2):
        row = nfc(row)
        try:
            key = VerifyKey.from_text(row["public_key"])
            _check_fingerprint(key, row.get("fingerprint") or None)
        except KiemphieuError as exc:
            print(f"lỗi / error: line {n}: {exc}", file=sys.stderr)
            return 1
        keys.append((n, row["station_id"].strip(), row["polling_area_id"].strip(), key))

    def go(folder: Any, journal: Any) -> Any:
        prepared, lines = [], []
        for n, station_id, area_id, key in keys:
            try:
                p = journal.enroll(station_id, area_id, key, _now(), by=_cli_actor())
            except KiemphieuError as exc:
                raise type(exc)(
                    en=f"line {n}: {exc.message_en} Nothing was enrolled.",
                    vi=f"dòng {n}: {exc.message_vi} Chưa đăng ký gì.",
                    code=exc.code,
                    fields=exc.fields,
                    figures={**exc.figures, "line": n},
                ) from exc
            if p is not None:
                prepared.append(p)
            state = ENROLMENT["enrolled" if p else "unchanged"].both()
            lines.append(f"{station_id}\t{area_id}\t{key.fingerprint}\t{state}")
        return prepared, lines

    for line in offline_commit(args.dir, "enroll stations", go):
        print(line)
    return 0


def _station_revoke(args: argparse.Namespace) -> int:
    if args.server:
        from tally_server.commands.stations import revoke_remote

        return revoke_remote(args)

    def go(folder: Any, journal: Any) -> Any:
        p = journal.revoke(args.station_id, _now(), by=_cli_actor())
        return [p], _fp_of(p)

    fp = offline_commit(args.dir, "revoke a station", go)
    print(f"{args.station_id}\t{fp}\trevoked")
    return 0


def _fp_of(p: Any) -> str:
    import json

    return str(json.loads(p.entry.outcome)["fingerprint"])


def _station_list(args: argparse.Namespace) -> int:
    import json

    import msgspec

    from tally_server.service.folder import open_folder
    from tally_server.service.views import stations

    if args.server:
        from tally_server.commands.stations import list_remote

        doc = list_remote(args)
    else:
        folder = open_folder(args.dir)
        conn = folder.connect(readonly=True)
        try:
            doc = stations(conn)
        finally:
            conn.close()
    if args.json:
        print(json.dumps(msgspec.to_builtins(doc), ensure_ascii=False, indent=2))
        return 0
    print("station_id\tpolling_area_id\tfingerprint\tstatus\tlast_sequence")
    for s in doc.stations:
        last = "" if s.last_sequence is None else s.last_sequence
        print(f"{s.station_id}\t{s.polling_area_id}\t{s.fingerprint}\t{s.status}\t{last}")
    return 0


def _token_conn(dir_: Path) -> Any:
    from tally_server.service.folder import open_folder

    return open_folder(dir_).connect()


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def _expiry(args: argparse.Namespace) -> dt.datetime | None:
    """The expiry asked for (None: the default); ValueError, in both languages, if unusable."""
    from tally_server.store import tokens

    now = dt.datetime.now(dt.UTC)
    if args.valid_for is not None:
        m = _DURATION.fullmatch(args.valid_for.strip())
        if m is None or not any(m.groups()):
            raise ValueError(
                f"--valid-for {args.valid_for!r}: thời hạn như 12h, 3d, 90m, 1d12h / "
                f"a duration such as 12h, 3d, 90m, 1d12h"
            )
        days, hours, minutes = (int(g or 0) for g in m.groups())
        when = now + dt.timedelta(days=days, hours=hours, minutes=minutes)
    elif args.expires is not None:
        text = args.expires.strip()
        try:
            if len(text) == 10:  # a date: the end of that day
                day = dt.date.fromisoformat(text) + dt.timedelta(days=1)
                when = dt.datetime.combine(day, dt.time(), tokens.VIETNAM)
            else:
                when = dt.datetime.fromisoformat(text)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=tokens.VIETNAM)
        except ValueError:
            raise ValueError(
                f"--expires {text!r}: ngày giờ ISO như 2026-05-31T18:00 hoặc 2026-05-31 / "
                f"an ISO date-time such as 2026-05-31T18:00 or 2026-05-31"
            ) from None
    else:
        return None
    if when <= now:
        raise ValueError(
            f"{tokens.format_time(when)} đã qua, mã sẽ không dùng được / is already past: "
            f"the token would never work"
        )
    return when


def _token_create(args: argparse.Namespace) -> int:
    import unicodedata

    from tally_server.store import tokens

    try:
        expires_at = _expiry(args)
    except ValueError as exc:
        print(f"lỗi / error: {exc}", file=sys.stderr)
        return 2
    conn = _token_conn(args.dir)
    try:
        token, secret = tokens.create(
            conn, args.role, unicodedata.normalize("NFC", args.name), expires_at
        )
    finally:
        conn.close()
    local = tokens.parse_time(token.expires_at).astimezone(tokens.VIETNAM)
    print(secret)
    print(
        f"token {token.id} ({token.role}{', ' + token.name if token.name else ''}): shown once, "
        f"keep it safe / chỉ hiện một lần, hãy giữ kỹ\n"
        f"expires / hết hạn {token.expires_at} ({local:%H:%M %d/%m/%Y} giờ Việt Nam)",
        file=sys.stderr,
    )
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from tally_server.store import tokens

    conn = _token_conn(args.dir)
    try:
        done = tokens.revoke(conn, args.token_id)
    finally:
        conn.close()
    if not done:
        print(
            f"lỗi / error: no live token {args.token_id} / không có mã {args.token_id}",
            file=sys.stderr,
        )
        return 1
    print(f"token {args.token_id} revoked")
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from tally_server.store import tokens

    conn = _token_conn(args.dir)
    try:
        rows = tokens.all_tokens(conn)
    finally:
        conn.close()
    print("id\trole\tname\tcreated_at\texpires_at\tstatus")
    for t in rows:
        if t.revoked_at:
            status = f"revoked {t.revoked_at}"
        else:
            status = "expired" if t.expired() else "active"
        print(f"{t.id}\t{t.role}\t{t.name}\t{t.created_at}\t{t.expires_at}\t{status}")
    return 0


def _ledger_export(args: argparse.Namespace) -> int:
    from tally_server.service.folder import open_folder
    from tally_server.store import db

    folder = open_folder(args.dir)
    conn = folder.connect(readonly=True)
    n = 0
    try:
        conn.execute("BEGIN")  # one snapshot, even while the server writes
        out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
        try:
            for entry in db.ledger_entries(conn):
                out.write(entry.export_line())
                n += 1
                head = entry.hash
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        conn.execute("COMMIT")
    finally:
        conn.close()
    if args.out != "-":
        print(f"{n} entries, head {head if n else '-'}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from tally_server.service.folder import open_folder
    from tally_server.service.integrity import full_check

    folder = open_folder(args.dir)
    conn = folder.connect(readonly=True)
    try:
        conn.execute("BEGIN")  # one snapshot, even while the server writes
        found = full_check(conn, folder)
        conn.execute("COMMIT")
    finally:
        conn.close()
    summary = (
        f"{found.entries} mục sổ cái, {found.replayed} mục được ghi lại / {found.entries} ledger "
        f"entries, {found.replayed} replayed ({found.seconds:.1f} s)"
    )
    if found.ok:
        print(f"KHỚP / CONSISTENT: {summary}")
        return 0
    print(f"KHÔNG KHỚP / INCONSISTENT: {summary}")
    if found.rows_total:
        print(f"  {found.rows_total} dòng khác / rows differ")
    for line in found.lines():
        print(f"  {line}")
    print(
        f"Dựng lại các bảng từ sổ cái / rebuild the tables from the ledger: "
        f"tally-server rebuild --dir {args.dir}"
    )
    return 1


def _rebuild(args: argparse.Namespace) -> int:
    from tally_server.service.folder import open_folder, writer_lock
    from tally_server.service.integrity import rebuild

    folder = open_folder(args.dir)
    with writer_lock(folder.path, "rebuild the derived tables"):
        done = rebuild(folder)
    if done.lost is not None:
        first, last = done.lost
        print(
            f"CẢNH BÁO / WARNING: các bảng cũ ghi đến mục {last}, sổ cái chỉ còn đến mục "
            f"{first - 1}: các mục {first}–{last} đã mất / the old tables named entries up to "
            f"{last}, the ledger ends at {first - 1}: entries {first}–{last} are lost",
            file=sys.stderr,
        )
    rows = ", ".join(f"{t} {n}" for t, n in done.rows.items())
    print(
        f"Đã dựng lại từ {done.entries} mục sổ cái / rebuilt from {done.entries} ledger entries "
        f"({done.seconds:.1f} s): {rows}"
    )
    print(f"Tệp cũ / old file kept: {done.backup}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import gc

    from tally_server.core.definition import Election
    from tally_server.core.glossary import status_words
    from tally_server.service.verify import KeysAhead, load_election_source, verify_ledger

    keys = KeysAhead.start(args.ledger)  # read by another process while this reads the lines

    def load() -> Election:
        # Millions of objects and no cycles to find while the definition is read: the
        # collector would walk them again and again.
        gc.disable()
        try:
            election = load_election_source(args.election)
        finally:
            gc.enable()
        # The election lives as long as the command: keep the collector off it.
        gc.collect()
        gc.freeze()
        return election

    # Given the loader, verify starts its workers on the signatures first.
    report = verify_ledger(
        args.ledger,
        load,
        fingerprint=args.fingerprint,
        workers=args.workers,
        keys=keys,
    )
    if args.json:
        sys.stdout.flush()
        sys.stdout.buffer.write(report.json_bytes() + b"\n")
        sys.stdout.flush()
        return 0 if report.ok else 1
    if report.bad is not None:
        b = report.bad
        print(
            f"SAI / INVALID: entry {b.index} (line {b.line}) [{b.code}]\n  {b.reason_vi}\n  "
            f"{b.reason_en}",
        )
        print(f"{report.entries} entries before it check out.")
        return 1
    print(f"HỢP LỆ / VALID: {report.entries} entries, head {report.head_index} {report.head_hash}")
    print(
        f"  batches accepted {report.accepted}, signatures checked {report.signatures}, "
        f"{report.seconds:.2f} s with {report.workers} worker(s)"
    )
    if report.unsigned:
        print(
            f"  {report.unsigned} refusal(s) before a valid signature kept as a digest, not "
            f"bytes: their signature could not be re-checked, the rest of each was "
            f"(K401/K402 against the keys, the outcome rebuilt byte for byte)"
        )
    for kind, n in sorted(report.kinds.items()):
        print(f"  {kind}: {n}")
    for t in report.takeovers:
        print(
            f"  tiếp quản / takeover at entry {t.index} ({t.time}, by {t.by}), continuing from "
            f"entry {t.head_index} {t.head_hash[:16]}… of replica {t.replica}"
            + (f", restored to {t.restored_to}" if t.restored_to else "")
            + (f": {t.reason}" if t.reason else "")
        )
        print(
            f"    {t.shown} receipt(s) of the old primary beyond entry {t.head_index} shown back, "
            f"{t.redelivered} of them re-delivered"
        )
    if report.rollbacks_without_takeover:
        print(
            f"  {report.rollbacks_without_takeover} rollback_detected entr(y/ies) after no "
            f"takeover: a backup was put back (docs/ledger.md)"
        )
    if report.fingerprint is not None:
        if report.fingerprint_index is None:
            print(
                f"SAI / INVALID: fingerprint {report.fingerprint} is not the head of any entry "
                f"(need at least 16 hex digits)"
            )
        else:
            print(
                f"fingerprint {report.fingerprint} = entry {report.fingerprint_index}; "
                f"results_sha256 at that entry {report.fingerprint_results_sha256}"
            )
    for r in report.results:
        winners = ", ".join(c.full_name for c in r.candidates if c.elected)
        print(
            f"  {r.race_id}/{r.constituency_id} [{r.round}] "
            f"{status_words(r.status).both()} [{r.status}]: "
            f"{r.areas_reported}/{r.areas_total} areas, turnout {r.turnout_pct}%"
            + (f" — {winners}" if winners else "")
        )
    print(f"results_sha256 {report.results_sha256}")
    return 0 if report.ok else 1
