"""``station-client``: what a polling team (Tổ bầu cử) runs on election night."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from schemas._cli import add_version, run

if TYPE_CHECKING:
    from schemas.signing import SigningKey
    from station_client.delivery import Outcome, Transport
    from station_client.outbox import StoredBatch
    from station_client.station import Initialised, Station

EXIT_PENDING = 3
"""sync: some batches are still unanswered (the server could not be reached in time)."""
EXIT_NOT_ACCEPTED = 4
"""sync: a batch was rejected, conflicted or refused; see status."""
EXIT_LOST = 5
"""sync: the server no longer held batches it had acknowledged; they were delivered
again (their old receipts kept as evidence); tell the committee."""


def _out(line: str = "") -> None:
    print(line, flush=True)


# --- shared options ----------------------------------------------------------------


def _dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, type=Path, help="the station folder")


def _passphrase_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--passphrase-file", type=Path, help="file whose first line is the passphrase")
    g.add_argument(
        "--ask-passphrase", action="store_true", help="ask for the key's passphrase on the terminal"
    )


def _network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--server",
        help="the one server address for this run (default: init's, then its standby)",
    )
    p.add_argument(
        "--timeout", type=float, default=20.0, help="seconds to wait for one answer (20)"
    )
    p.add_argument(
        "--give-up-after",
        type=float,
        default=300.0,
        help="stop retrying after this many seconds; batches stay pending (300)",
    )
    p.add_argument("--backoff-base", type=float, default=0.5, help=argparse.SUPPRESS)
    p.add_argument("--backoff-max", type=float, default=30.0, help=argparse.SUPPRESS)


def _read_passphrase(args: argparse.Namespace, *, confirm: bool = False) -> bytes | None:
    import getpass
    import unicodedata

    if getattr(args, "passphrase_file", None):
        text = Path(args.passphrase_file).read_text(encoding="utf-8").splitlines()
        value = text[0] if text else ""
        return unicodedata.normalize("NFC", value).encode("utf-8") or None
    if getattr(args, "ask_passphrase", False):
        first = getpass.getpass("Mật khẩu khoá / key passphrase: ")
        if confirm and getpass.getpass("Nhập lại / again: ") != first:
            from station_client.errors import StationFolderError

            raise StationFolderError(
                en="The two passphrases differ.", vi="Hai mật khẩu không khớp.", code="P105"
            )
        return unicodedata.normalize("NFC", first).encode("utf-8") or None
    return None


def _key_loader(args: argparse.Namespace, station: Station) -> Callable[[], SigningKey]:
    def load() -> SigningKey:
        passphrase = _read_passphrase(args)
        if passphrase is None and station.config.key_encrypted and sys.stdin.isatty():
            import getpass

            passphrase = getpass.getpass("Mật khẩu khoá / key passphrase: ").encode("utf-8")
        return station.signing_key(passphrase)

    return load


def _transport(args: argparse.Namespace, station: Station) -> Transport:
    from station_client.delivery import Transport, make_ssl_context

    cert, ca = station.tls_files()
    return Transport(
        base_url=args.server or station.config.server_url,
        ssl_context=make_ssl_context(cert, ca),
        timeout=args.timeout,
        connect_timeout=min(args.timeout, 10.0),
        # --server is this run's one address; otherwise init's, the standby after.
        standby_urls=() if args.server else tuple(station.config.standby_urls),
    )


# --- init --------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    import asyncio

    from schemas.signing import read_fingerprint
    from station_client.delivery import Transport, fetch_server_key, make_ssl_context
    from station_client.errors import StationFolderError
    from station_client.station import init_station, read_key_text

    if args.pack is not None:
        return _init_from_pack(args)
    missing = [
        o
        for o, v in (
            ("--station-id", args.station_id),
            ("--polling-area", args.polling_area),
            ("--election", args.election),
            ("--server", args.server),
        )
        if v is None
    ]
    if missing:
        raise StationFolderError(
            en=f"Give --pack FILE (the committee's station pack), or {', '.join(missing)}.",
            vi=f"Cần --pack TỆP (gói trạm của Ủy ban bầu cử), hoặc {', '.join(missing)}.",
            code="P118",
            fields=tuple(m.lstrip("-").replace("-", "_") for m in missing),
        )
    if args.server_key is None and not args.fetch_server_key:
        raise StationFolderError(
            en="Pin the server key: --server-key FILE_OR_TEXT, or --fetch-server-key and compare "
            "its fingerprint with the committee's.",
            vi="Cần ghim khoá máy chủ: --server-key TỆP_HOẶC_CHUỖI, hoặc --fetch-server-key rồi so "
            "dấu vân tay với Ủy ban bầu cử.",
            code="P110",
            fields=("server_key",),
        )
    if args.server_key is not None:
        server_key = read_key_text(args.server_key)
    else:
        transport = Transport(
            args.server, make_ssl_context(args.server_cert, args.ca_file), timeout=args.timeout
        )
        server_key = asyncio.run(fetch_server_key(transport))
        _out("Khoá máy chủ lấy về / server key fetched:")
        _out(f"    {server_key.fingerprint}")
        if args.server_fingerprint:
            given = read_fingerprint(args.server_fingerprint)
            if given != server_key.fingerprint:
                raise StationFolderError(
                    en=f"The server's key fingerprint is {server_key.fingerprint}, not {given}: "
                    "do not use this server.",
                    vi=f"Dấu vân tay khoá máy chủ là {server_key.fingerprint}, không phải {given}: "
                    "không dùng máy chủ này.",
                    code="P111",
                    fields=("server_fingerprint",),
                    figures={"fetched": server_key.fingerprint, "given": given},
                )
            _out("    khớp / matches --server-fingerprint")
        elif sys.stdin.isatty():
            answer = input(
                "Có khớp với dấu vân tay Ủy ban đưa? / does it match the committee's? [c/y/N]: "
            )
            if answer.strip().lower() not in ("c", "có", "co", "y", "yes"):
                _out("Dừng; chưa tạo gì / stopped; nothing created.")
                return 1
        else:
            _out("    So với dấu vân tay của Ủy ban / compare with the committee's fingerprint.")
    if args.server_key is not None and args.server_fingerprint:
        given = read_fingerprint(args.server_fingerprint)
        if given != server_key.fingerprint:
            raise StationFolderError(
                en=f"The server key's fingerprint is {server_key.fingerprint}, not {given}.",
                vi=f"Dấu vân tay khoá máy chủ là {server_key.fingerprint}, không phải {given}.",
                code="P111",
                fields=("server_fingerprint",),
            )
    passphrase = _read_passphrase(args, confirm=True)
    done = init_station(
        args.dir,
        station_id=args.station_id,
        polling_area_id=args.polling_area,
        election_file=args.election,
        server_url=args.server,
        server_key=server_key,
        passphrase=passphrase,
        server_cert=args.server_cert,
        ca_file=args.ca_file,
    )
    return _initialised(done, args.server, ())


def _init_from_pack(args: argparse.Namespace) -> int:
    import tempfile

    from schemas.signing import read_fingerprint
    from station_client.errors import StationFolderError
    from station_client.station import init_station, load_pack

    given = [
        o
        for o, v in (
            ("--station-id", args.station_id),
            ("--polling-area", args.polling_area),
            ("--election", args.election),
            ("--server-key", args.server_key),
            ("--fetch-server-key", args.fetch_server_key or None),
            ("--server-cert", args.server_cert),
        )
        if v is not None
    ]
    if given:
        # The pack is the committee's word on these; a second source could disagree.
        raise StationFolderError(
            en=f"--pack already gives {', '.join(given)}; leave them out.",
            vi=f"--pack đã có {', '.join(given)}; đừng ghi thêm.",
            code="P118",
            fields=tuple(g.lstrip("-").replace("-", "_") for g in given),
        )
    loaded = load_pack(args.pack)
    pack = loaded.pack
    if args.server_fingerprint and read_fingerprint(args.server_fingerprint) != (
        loaded.server_key.fingerprint
    ):
        raise StationFolderError(
            en=f"The pack's server key fingerprint is {loaded.server_key.fingerprint}, not "
            f"{args.server_fingerprint}: do not use this pack.",
            vi=f"Dấu vân tay khoá máy chủ trong gói là {loaded.server_key.fingerprint}, không "
            f"phải {args.server_fingerprint}: không dùng gói này.",
            code="P111",
            fields=("server_fingerprint",),
        )
    server = args.server or pack.server_urls[0]
    passphrase = _read_passphrase(args, confirm=True)
    with tempfile.TemporaryDirectory() as tmp:
        cert = None
        if pack.server_cert is not None:
            cert = Path(tmp) / "server.crt"
            cert.write_text(pack.server_cert, encoding="ascii")
        done = init_station(
            args.dir,
            station_id=pack.station_id,
            polling_area_id=pack.polling_area_id,
            election_file=loaded.election_file,
            server_url=server,
            standby_urls=[u for u in pack.server_urls if u != server],
            server_key=loaded.server_key,
            passphrase=passphrase,
            server_cert=cert,
            ca_file=args.ca_file,
        )
    _out(
        f"Gói trạm / station pack: {pack.station_id} · {pack.polling_area_name} "
        f"({pack.polling_area_id})"
    )
    others = [u for u in pack.server_urls if u != server]
    return _initialised(done, server, others)


def _initialised(done: Initialised, server: str, others: Sequence[str]) -> int:
    from station_client.banner import fingerprint_banner
    from station_client.station import PUBLIC_FILE

    _out(f"Đã tạo trạm / station created in {done.folder}")
    _out(
        "Cuộc bầu cử tại khu vực / races held here: "
        + ", ".join(f"{s.race.id} ({s.constituency.id})" for s in done.races)
    )
    _out(f"Máy chủ / server: {server}")
    for url in others:
        _out(
            f"  máy chủ dự phòng, dùng khi máy chủ trên không trả lời / standby, used when "
            f"the one above does not answer: {url}"
        )
    _out(f"Khoá máy chủ đã ghim / pinned server key: {done.server_fingerprint}")
    _out()
    for line in fingerprint_banner(
        "DẤU VÂN TAY KHOÁ TRẠM / STATION KEY FINGERPRINT", done.fingerprint
    ):
        _out(line)
    _out()
    _out(f"Khoá công khai / public key ({done.folder / PUBLIC_FILE}):")
    _out(done.public_pem.decode("ascii").rstrip())
    _out()
    _out("Đăng ký với Ủy ban / enrol with the committee (read the fingerprint aloud):")
    _out(
        f"  tally-server station enroll --server {server} --token ADMIN_TOKEN "
        f"{done.station_id} --polling-area {done.polling_area_id} "
        f"--public-key station.pub.pem --fingerprint {done.fingerprint}"
    )
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    from station_client.banner import fingerprint_banner
    from station_client.station import open_station

    station = open_station(args.dir)
    try:
        for line in fingerprint_banner(
            f"TRẠM / STATION {station.station_id}", station.config.fingerprint
        ):
            _out(line)
        _out(station.public_key().pem().decode("ascii").rstrip())
    finally:
        station.close()
    return 0


# --- entering and signing ----------------------------------------------------------


def _signed_message(station: Station, stored: StoredBatch) -> None:
    from station_client.entry import paper_digest

    _out()
    _out(
        f"Đã ký và lưu lô số {stored.sequence} / signed and stored batch {stored.sequence} "
        f"({', '.join(stored.races)})"
    )
    _out(
        f"  Mã lô ghi lên biên bản giấy / write on the paper minutes: {paper_digest(stored.digest)}"
    )
    _out(f"  Gửi bằng / send with: station-client sync --dir {station.folder}")


def _enter(args: argparse.Namespace) -> int:
    from station_client.entry import DoubleEntry, StdTerminal, plan_entry
    from station_client.station import open_station

    station = open_station(args.dir)
    try:
        plan, notes = plan_entry(station, race_ids=args.race or (), correction=args.correction)
        for note in notes:
            _out(note)
        if not plan.races:
            _out("Không còn cuộc bầu cử nào để nhập / nothing left to enter.")
            return 1
        flow = DoubleEntry(station, StdTerminal(), plan, round_=args.round)
        stored = flow.run(_key_loader(args, station))
        if stored is None:
            return 1
        _signed_message(station, stored)
        if args.send:
            return _sync_station(args, station)
        return 0
    finally:
        station.close()


def _print_findings(findings: Sequence[object]) -> None:
    from station_client.checks import describe

    for f in findings:
        for line in describe(f):  # type: ignore[arg-type]
            print(line, file=sys.stderr)


def _submit(args: argparse.Namespace) -> int:
    from station_client.station import open_station
    from station_client.submit import FindingsError, read_minutes, submit

    station = open_station(args.dir)
    try:
        minutes = read_minutes(args.file, station)
        try:
            stored, findings = submit(
                station,
                minutes,
                _key_loader(args, station),
                correction=getattr(args, "correction", False),
                reason=getattr(args, "reason", None),
            )
        except FindingsError as exc:
            _print_findings(exc.findings)
            raise
        warnings = [f for f in findings if f.severity == "warning"]
        if warnings:
            _out(f"{len(warnings)} cảnh báo đã giải thích / warnings explained:")
            for f in warnings:
                _out(f"  {f.code} [{f.race_id}]: {f.message_en}")
        _signed_message(station, stored)
        if args.send:
            return _sync_station(args, station)
        return 0
    finally:
        station.close()


def _correct(args: argparse.Namespace) -> int:
    if args.file is not None:
        args.correction = True
        return _submit(args)
    args.correction = True
    return _enter(args)


def _copy(args: argparse.Namespace) -> int:
    from station_client.printout import write_copy
    from station_client.station import open_station

    station = open_station(args.dir)
    try:
        path = write_copy(station, args.batch, args.out)
    finally:
        station.close()
    _out(f"Bản sao đã in ra tệp / copy written: {path}")
    _out("In ra giấy, Tổ bầu cử ký và giữ cùng biên bản / print it; the team signs and keeps it.")
    return 0


# --- delivery ----------------------------------------------------------------------


_last_retry: dict[tuple[str, int], str] = {}


def _moving_on(transport: Transport) -> None:
    if transport.on_standby:
        _out(
            "Máy chủ không trả lời; chuyển sang máy chủ dự phòng / the server does not "
            f"answer; moving on to the standby: {transport.current}"
        )
    else:
        _out(
            "Máy chủ dự phòng không trả lời; thử lại máy chủ chính / the standby does not "
            f"answer; trying the primary again: {transport.current}"
        )


def _report(batch: StoredBatch, outcome: Outcome) -> None:
    from station_client.checks import describe

    head = f"lô / batch #{batch.sequence} ({','.join(batch.races)})"
    if outcome.kind == "delivered" and outcome.standby:
        _out(f"{head} → ĐÃ GỬI TỚI MÁY CHỦ DỰ PHÒNG / ACCEPTED BY THE STANDBY {outcome.server}:")
        _out(f"    {outcome.describe()}")
    elif outcome.kind == "delivered":
        _out(f"{head} → ĐÃ NHẬN / ACCEPTED: {outcome.describe()}")
    elif outcome.kind in ("rejected", "conflict"):
        label = "BỊ TỪ CHỐI / REJECTED" if outcome.kind == "rejected" else "XUNG ĐỘT / CONFLICT"
        _out(f"{head} → {label} (HTTP {outcome.http_status}): {outcome.describe()}")
        for f in outcome.receipt.findings if outcome.receipt else []:
            for line in describe(f):
                _out("    " + line.strip())
        if outcome.kind == "conflict":
            _out(
                "    Máy chủ đã có lô khác cùng số thứ tự: báo ngay Ủy ban bầu cử / the server "
                "holds other bytes for this sequence: tell the committee now."
            )
    elif outcome.kind == "refused":
        _out(f"{head} → MÁY CHỦ KHÔNG NHẬN / REFUSED (HTTP {outcome.http_status}):")
        _out(f"    {outcome.describe()}")
    else:
        # The same failure again is one short line, not the whole message.
        key, text = (batch.station_id, batch.sequence), outcome.describe()
        if outcome.server is not None:
            text += f" · máy chủ / server {outcome.server}"
        if _last_retry.get(key) == text:
            _out(f"{head} → vẫn lỗi đó, thử lại / same failure, retrying")
        else:
            _out(f"{head} → chưa gửi được, sẽ thử lại / not delivered, retrying: {text}")
        _last_retry[key] = text


def _sync_station(args: argparse.Namespace, station: Station) -> int:
    import asyncio
    import json
    import signal
    import time

    import aiohttp

    from schemas._retry import Backoff
    from station_client.delivery import Deliverer
    from station_client.errors import DeliveryError
    from station_client.lineage import Lineage, Loss, alert_lines

    if getattr(args, "retry_refused", False):
        n = station.outbox.requeue_refused(station.station_id)
        if n:
            _out(f"{n} lô bị từ chối trước đây sẽ gửi lại / refused batch(es) queued again")
    transport = _transport(args, station)
    deliverer = Deliverer(
        station.outbox,
        transport,
        station.server_key,
        station.config.election_id,
        backoff=Backoff(args.backoff_base, args.backoff_max),
        report=_report,
    )
    lineage = Lineage(station.outbox, transport, station.station_id)
    watch = getattr(args, "watch", False)
    seen = {"lost": False, "unchecked": False}

    async def show(session: aiohttp.ClientSession) -> tuple[list[Loss], int]:
        """Check that the server still holds our receipts' entries, then show it any
        lost ones. (losses, lost receipts still to show it); DeliveryError when it
        cannot be asked."""
        losses = await lineage.check(session)
        if losses:
            seen["lost"] = True
            for line in alert_lines(losses):
                _out(line)
        waiting, answers = await lineage.report(session)
        for a in answers:
            if a.get("alert_id") is not None:
                _out(
                    f"Đã báo máy chủ / reported to the server: lô / batch #{a['sequence']} → "
                    f"cảnh báo / alert #{a['alert_id']}, bằng chứng / evidence at ledger "
                    f"#{a.get('evidence_index')}"
                )
            else:
                _out(
                    f"Đã báo máy chủ / reported to the server: lô / batch #{a['sequence']} → "
                    f"HTTP {a.get('http_status')} {json.dumps(a, ensure_ascii=False)[:300]}"
                )
        return losses, waiting

    async def look() -> tuple[list[Loss], int]:
        """``show`` on the server in use, or on the next address when it cannot be asked."""
        async with transport.session() as session:
            for _ in transport.urls:
                try:
                    return await show(session)
                except DeliveryError as exc:
                    if not seen["unchecked"]:
                        _out(f"[{exc.code}] {exc.message_vi} / {exc.message_en}")
                    seen["unchecked"] = True
                    if not transport.move_on():
                        break
                    _moving_on(transport)
        return [], 0

    async def moved(session: aiohttp.ClientSession) -> bool:
        # The server moved to sees our receipts before any batch: a standby that
        # lacks acknowledged ones records it, and they are sent again first.
        _moving_on(transport)
        losses, waiting = await show(session)
        return bool(losses or waiting)

    deliverer.on_move = moved

    async def one_pass(deadline: float | None) -> list[tuple[StoredBatch, Outcome]]:
        _, waiting = await look()
        done: list[tuple[StoredBatch, Outcome]] = []
        # A lost entry found after delivering (the server restored meanwhile) sends
        # those batches again at once; bounded, the next sync goes on.
        for _ in range(3):
            if waiting or not station.outbox.pending(station.station_id):
                # Not before the server has seen the lost receipts: it must not hand
                # their indexes out again to the batches sent anew.
                break
            results = await deliverer.drain(station.station_id, deadline=deadline)
            done += results
            if not any(o.receipt is not None for _, o in results):
                break
            # The new receipts, with the one last found held: a server restored
            # while this sync ran is noticed now.
            losses, waiting = await look()
            if not losses:
                break
        return done

    async def loop() -> int:
        worst = 0
        last_look = -float("inf")
        while True:
            pending = station.outbox.pending(station.station_id)
            # --watch: the ledger is looked at when there is something to send, and
            # otherwise once a minute, not at every glance at the outbox.
            if (
                pending
                or not watch
                or time.monotonic() - last_look >= getattr(args, "check_every", 60.0)
            ):
                last_look = time.monotonic()
                deadline = None if watch else time.monotonic() + args.give_up_after
                results = await one_pass(deadline)
                if any(o.kind in ("rejected", "conflict", "refused") for _, o in results):
                    worst = EXIT_NOT_ACCEPTED
            if not watch:
                break
            await asyncio.sleep(args.interval)
        left = station.outbox.pending(station.station_id)
        if seen["lost"]:
            _out(
                "Máy chủ đã làm mất kết quả đã xác nhận; xem status và báo Ủy ban bầu cử / the "
                "server had lost acknowledged results; see status and tell the committee."
            )
        if left:
            _out(
                f"{len(left)} lô vẫn chờ gửi; chạy lại sync sau / {len(left)} batch(es) still "
                "pending; run sync again later."
            )
            return EXIT_PENDING
        if seen["lost"]:
            return EXIT_LOST
        refused = [
            b.sequence for b in station.outbox.batches(station.station_id) if b.state == "refused"
        ]
        if refused:
            listed = ", ".join(f"#{n}" for n in refused)
            _out(
                f"Máy chủ không nhận lô {listed}; xem status, rồi sync --retry-refused khi Ủy "
                f"ban đã xử lý / the server refused batch(es) {listed}; see status, then sync "
                "--retry-refused once the committee has fixed it."
            )
            return EXIT_NOT_ACCEPTED
        if worst == 0:
            _out("Không còn lô chờ gửi / nothing left to send.")
        return worst

    async def until_stopped() -> int | None:
        # SIGINT and SIGTERM stop the loop explicitly: a client started from a
        # script in the background inherits SIGINT ignored, and asyncio's own
        # Ctrl-C handling then never runs (the watcher kept going for ever).
        work = asyncio.ensure_future(loop())
        running = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            running.add_signal_handler(sig, work.cancel)
        try:
            return await work
        except asyncio.CancelledError:
            return None

    try:
        code = asyncio.run(until_stopped())
    except KeyboardInterrupt:
        code = None
    if code is None:
        _out("Dừng; các lô chưa gửi vẫn trong hộp thư đi / stopped; unsent batches stay queued.")
        return EXIT_PENDING
    return code


def _sync(args: argparse.Namespace) -> int:
    from station_client.station import open_station

    station = open_station(args.dir)
    try:
        return _sync_station(args, station)
    finally:
        station.close()


def _status(args: argparse.Namespace) -> int:
    import json

    from station_client.station import open_station
    from station_client.status import status_data, status_lines

    station = open_station(args.dir)
    try:
        if args.json:
            _out(json.dumps(status_data(station), ensure_ascii=False, indent=2))
        else:
            for line in status_lines(station):
                _out(line)
    finally:
        station.close()
    return 0


# --- the app -----------------------------------------------------------------------


def _app(args: argparse.Namespace) -> int:
    from station_client.app import run_app

    return run_app(args.dir, server=args.server, timeout=args.timeout)


# --- simulator ---------------------------------------------------------------------


def _simulate(args: argparse.Namespace) -> int:
    from station_client.simulation import run_cli

    return run_cli(args)


def register_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="drive many simulated stations against a server (load test, demo)",
        description="Many stations at once, through the same outbox and delivery code: real "
        "keys, signatures and HTTP. Enrolls its keys with the admin token.",
    )
    p.add_argument("--server", required=True, help="server address, e.g. http://127.0.0.1:8080")
    p.add_argument("--election", type=Path, help="election definition (default: ask the server)")
    p.add_argument("--token", required=True, help="an admin token (to enroll and revoke keys)")
    p.add_argument("--stations", type=int, help="how many polling areas to simulate (all)")
    p.add_argument("--first", type=int, default=0, help="skip this many polling areas first (0)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--rate", type=float, default=50.0, help="batches per second (50)")
    rate.add_argument("--fast", action="store_true", help="as fast as the server answers")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    p.add_argument(
        "--faults",
        default="",
        help="comma list of: drop,duplicate,correction,errors,warnings,revoked",
    )
    p.add_argument("--minutes-seed", type=int, default=2011, help="seed of the sample minutes")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault choices")
    p.add_argument("--outbox", type=Path, help="shared outbox file (default: a temporary one)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per answer (20)")
    p.add_argument("--server-cert", type=Path, help="pinned server TLS certificate")
    p.add_argument("--ca-file", type=Path, help="CA certificate for the server's TLS")
    p.add_argument("--json", action="store_true", help="print the final report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=_simulate)


# --- the parser --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station-client",
        description="Kiểm phiếu — polling-team client: enter, sign and deliver counting minutes "
        "(nhập, ký và gửi biên bản kiểm phiếu).",
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "init",
        help="create the station folder: key, pinned server key, election, outbox",
        description="Generate the station's Ed25519 key, pin the server's key, copy the "
        "election and create the outbox; print the fingerprint for enrolment.",
    )
    _dir(p)
    p.add_argument(
        "--pack",
        type=Path,
        help="the committee's station pack (from `tally-server station pack`): gives the "
        "station id, polling area, election, server address and server key in one step",
    )
    p.add_argument("--station-id", help="the station's id (as enrolled); without --pack")
    p.add_argument("--polling-area", help="polling area id (khu vực bỏ phiếu); without --pack")
    p.add_argument("--election", type=Path, help="election definition (JSON); without --pack")
    p.add_argument(
        "--server", help="server address, http(s)://HOST:PORT (with --pack: instead of its own)"
    )
    key = p.add_mutually_exclusive_group()
    key.add_argument("--server-key", help="the server's public key: a PEM file, or its text")
    key.add_argument(
        "--fetch-server-key",
        action="store_true",
        help="ask the server for its key and print the fingerprint to compare",
    )
    p.add_argument("--server-fingerprint", help="refuse unless the server key has this fingerprint")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument(
        "--server-cert", type=Path, help="pin the server's TLS certificate (the only one trusted)"
    )
    tls.add_argument("--ca-file", type=Path, help="CA certificate that signs the server's TLS cert")
    p.add_argument("--timeout", type=float, default=20.0, help=argparse.SUPPRESS)
    _passphrase_options(p)
    p.set_defaults(handler=_init)

    p = sub.add_parser("fingerprint", help="show the station key's fingerprint and public key")
    _dir(p)
    p.set_defaults(handler=_fingerprint)

    for name, helptext in (
        ("enter", "type the minutes twice (two officials), check, sign and store"),
        ("correct", "a correction: a new batch replacing a signed one, with a reason"),
    ):
        p = sub.add_parser(name, help=helptext, description=helptext)
        _dir(p)
        p.add_argument(
            "--race", action="append", help="only this race (repeat for several; default: all)"
        )
        p.add_argument(
            "--round",
            default="main",
            choices=["main", "revote", "supplementary"],
            help="the round being counted (main)",
        )
        p.add_argument("--send", action="store_true", help="deliver right after signing")
        _passphrase_options(p)
        _network_options(p)
        if name == "enter":
            p.add_argument("--correction", action="store_true", help="same as the correct command")
            p.set_defaults(handler=_enter)
        else:
            p.add_argument(
                "file",
                nargs="?",
                type=Path,
                help="take the corrected minutes from this JSON/CSV file instead of typing",
            )
            p.add_argument("--reason", help="why the figures change (required with FILE)")
            p.set_defaults(handler=_correct)

    p = sub.add_parser(
        "submit",
        help="sign minutes from a JSON or CSV file (same checks as enter)",
        description="Read counting minutes from JSON (one, or a list) or CSV "
        "(race_id,field,value), run the law's checks, sign and store them. Errors: exit 1 "
        "with the findings; warnings need explanations present in the file.",
    )
    _dir(p)
    p.add_argument("file", type=Path, help="minutes file (.json or .csv)")
    p.add_argument("--send", action="store_true", help="deliver right after signing")
    _passphrase_options(p)
    _network_options(p)
    p.set_defaults(handler=_submit)

    p = sub.add_parser(
        "sync",
        help="deliver signed batches in order, verify and store the receipts",
        description=f"Exit 0: nothing left to send; {EXIT_PENDING}: some still pending; "
        f"{EXIT_NOT_ACCEPTED}: some rejected, conflicting or refused (see status); "
        f"{EXIT_LOST}: the server no longer held batches it had acknowledged (delivered "
        "again, old receipts kept; tell the committee). Every sync first checks that the "
        "server's ledger still holds the entry of the latest receipt.",
    )
    _dir(p)
    _network_options(p)
    p.add_argument("--watch", action="store_true", help="keep running; send new batches as signed")
    p.add_argument("--interval", type=float, default=2.0, help="--watch: seconds between looks")
    p.add_argument(
        "--check-every",
        type=float,
        default=60.0,
        help="--watch: with nothing to send, check the server's ledger this often (60 s)",
    )
    p.add_argument(
        "--retry-refused",
        action="store_true",
        help="send again batches the server refused (for example before the key was enrolled)",
    )
    p.set_defaults(handler=_sync)

    p = sub.add_parser(
        "copy",
        help="a PDF copy of a signed batch and the server's answer, to sign and keep",
        description="Write a PDF of exactly what was signed (every figure, the batch code "
        "and a QR code of its digest) and the server's receipt, with lines for the team's "
        "signatures, to keep with the paper minutes. Print it again after delivery if it "
        "says not delivered yet.",
    )
    _dir(p)
    p.add_argument("--batch", type=int, help="the batch number (default: the latest)")
    p.add_argument("--out", type=Path, help="the PDF to write (default: DIR/copies/batch-N.pdf)")
    p.set_defaults(handler=_copy)

    p = sub.add_parser("status", help="every race: drafted, signed, delivered or rejected")
    _dir(p)
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=_status)

    p = sub.add_parser(
        "app",
        help="the polling team's screen: enter twice, check, sign, send (keyboard, 80x24)",
        description="Full-screen app for the polling team: the form of each race like the "
        "paper minutes, blind double entry, the law's checks as you type, review, signing, "
        "sending and receipts. Vietnamese first; l switches to English. Also opened by "
        "station-client with no command, in a terminal, inside a station folder.",
    )
    _dir(p)
    p.add_argument(
        "--server",
        help="the one server address for this run (default: init's, then its standby)",
    )
    p.add_argument(
        "--timeout", type=float, default=20.0, help="seconds to wait for one answer (20)"
    )
    p.set_defaults(handler=_app)

    register_simulate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    if not given and sys.stdin.isatty() and sys.stdout.isatty() and Path("station.json").exists():
        # An official who types just `station-client` in the station folder gets the app.
        given = ["app", "--dir", "."]
    return run(build_parser(), given)
