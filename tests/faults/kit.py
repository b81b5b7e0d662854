"""The faults suite's tools: an election of many polling areas, stations that sign,
the server as a process that can be killed, and the ledger checks that say whether
anything acknowledged was lost or counted twice.

Everything is real: ``tally-server init``/``serve``/``ledger export``/``verify``
(as subprocesses or through the same functions), Ed25519 keys, HTTP over
127.0.0.1 and SQLite files in a test's ``tmp_path``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from schemas import codec
from schemas.models import CountingMinutes, ResultBatch
from schemas.signing import BATCH_TYPE, SigningKey, seal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"
ELECTION_ID = "vd-2011"
NO_XA_AREA = "NX-01"
"""A polling area that votes in QH and HDND-TP but not in the commune race HDND-XA."""
CREATED_AT = "2011-05-22T19:42:10Z"
ACCEPTED_KINDS = frozenset({"batch_accepted", "correction"})


# -- the election --------------------------------------------------------------------------


def area_ids(n: int) -> list[str]:
    return [f"KV-{i:04d}" for i in range(1, n + 1)]


def write_election(path: Path, areas: int) -> Path:
    """The example election with ``areas`` polling areas of KV-01's size, plus NX-01,
    which holds every race but HDND-XA."""
    data = json.loads((EXAMPLES / "election.json").read_text(encoding="utf-8"))
    template = data["polling_areas"][0]
    ids = area_ids(areas)
    polling = [{**template, "id": a, "name": f"Khu vực bỏ phiếu số {a[3:]}"} for a in ids]
    voters = {r: n for r, n in template["voters"].items() if r != "HDND-XA"}
    polling.append({**template, "id": NO_XA_AREA, "name": "Khu vực bỏ phiếu NX", "voters": voters})
    data["polling_areas"] = polling
    for race in data["races"]:
        for con in race["constituencies"]:
            con["polling_area_ids"] = ids + ([] if race["id"] == "HDND-XA" else [NO_XA_AREA])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


_TEMPLATE: list[CountingMinutes] | None = None


def minutes_for(area: str, moved: int = 0) -> list[CountingMinutes]:
    """KV-01's minutes (tests/assets/examples/batch.json) for ``area``, every error rule
    passing; ``moved`` votes go from the first QH candidate to the second, as a recount
    may find (the sums, and so every rule, still hold)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        data = json.loads((EXAMPLES / "batch.json").read_bytes())
        _TEMPLATE = [codec.convert(m, CountingMinutes) for m in data["minutes"]]
    out = []
    for m in _TEMPLATE:
        if area == NO_XA_AREA and m.race_id == "HDND-XA":
            continue
        votes = dict(m.candidate_votes)
        if moved and m.race_id == "QH":
            votes["QH-10-1"] -= moved
            votes["QH-10-2"] += moved
        out.append(msgspec.structs.replace(m, polling_area_id=area, candidate_votes=votes))
    return out


# -- stations ------------------------------------------------------------------------------


@dataclass
class Signer:
    """A polling station's key and the batches it signs."""

    station_id: str
    polling_area_id: str
    key: SigningKey = field(default_factory=SigningKey.generate)

    def batch(
        self, sequence: int, minutes: list[CountingMinutes] | None = None, **fields: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "schema": "kiemphieu/batch/v1",
            "election_id": ELECTION_ID,
            "station_id": self.station_id,
            "polling_area_id": self.polling_area_id,
            "sequence": sequence,
            "created_at": CREATED_AT,
            "minutes": codec.to_builtins(
                minutes if minutes is not None else minutes_for(self.polling_area_id)
            ),
        }
        values.update(fields)
        return values

    def payload(
        self, sequence: int, minutes: list[CountingMinutes] | None = None, **fields: Any
    ) -> bytes:
        """The canonical bytes of a well-typed batch (fields override)."""
        data = self.batch(sequence, minutes, **fields)
        return codec.encode(msgspec.convert(data, ResultBatch))

    def seal(self, payload: bytes) -> bytes:
        return seal(self.key, BATCH_TYPE, payload)

    def envelope(
        self, sequence: int, minutes: list[CountingMinutes] | None = None, **fields: Any
    ) -> bytes:
        return self.seal(self.payload(sequence, minutes, **fields))


def payload_of(envelope: bytes) -> bytes:
    return base64.b64decode(json.loads(envelope)["payload"])


def receipt_of(body: bytes) -> dict[str, Any]:
    """The payload of a receipt envelope."""
    data: dict[str, Any] = json.loads(payload_of(body))
    return data


# -- the server folder ---------------------------------------------------------------------


def init_folder(path: Path, election: Path) -> None:
    from tally_server.service.folder import init_folder as init

    init(path, election)


def enroll_offline(path: Path, signers: Iterable[Signer]) -> None:
    """Enrol many stations in one transaction (no server running on the folder)."""
    from tally_server.service.folder import now, offline_commit

    todo = list(signers)

    def go(folder: Any, journal: Any) -> Any:
        prepared = []
        for s in todo:
            p = journal.enroll(
                s.station_id, s.polling_area_id, s.key.public, now(), by="cli:faults"
            )
            if p is not None:
                prepared.append(p)
        return prepared, None

    offline_commit(path, "enroll stations", go)


def make_token(path: Path, role: str) -> str:
    from tally_server.service.folder import open_folder
    from tally_server.store import tokens

    conn = open_folder(path).connect()
    try:
        return tokens.create(conn, role, f"faults-{role}")[1]
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the server process --------------------------------------------------------------------


class ServerProcess:
    """``tally-server serve`` on 127.0.0.1, always on the same port, that can be
    stopped, killed and started again on the same folder."""

    def __init__(
        self,
        folder: Path,
        log_path: Path,
        *,
        election: Path | None = None,
        port: int | None = None,
        workers: int = 0,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.folder = folder
        self.workers = workers
        """``serve --workers``: forked checkers beside the writer."""
        self.serve_args = tuple(serve_args)
        """More ``serve`` options (timeouts, ...)."""
        self.election = election or folder / "election.json"
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.tokens: dict[str, str] = {}
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        args = [sys.executable, "-m", "tally_server", "serve", "--dir", str(self.folder)]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        args += self.serve_args
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    args, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env={**os.environ}
                )
            assert self.process.stdout is not None
            for line in self.process.stdout:
                if b'"listening"' in line:
                    self.starts += 1
                    return
            # It exited before listening: the port may still be held for a moment.
            self.process.wait()
            self.process.stdout.close()
            if time.monotonic() > deadline:
                tail = self.log_path.read_text("utf-8", "replace")[-3000:]
                raise RuntimeError(f"the server did not start; log:\n{tail}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, whatever it was doing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.kills += 1

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    # -- HTTP ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        token: str | None = None,
        timeout: float = 20.0,
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def post_batch(self, envelope: bytes) -> tuple[int, bytes]:
        return self.request("POST", "/api/v1/batches", envelope)

    def enroll(self, signer: Signer) -> tuple[int, bytes]:
        """Enrol through the API with the admin token, while the server runs."""
        body = json.dumps(
            {
                "station_id": signer.station_id,
                "polling_area_id": signer.polling_area_id,
                "public_key": signer.key.public.b64,
            }
        ).encode()
        return self.request("POST", "/api/v1/stations", body, token=self.tokens["admin"])

    def get_json(self, path: str, role: str = "viewer") -> Any:
        status, body = self.request("GET", path, token=self.tokens.get(role))
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    def results(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json("/api/v1/results.json")
        return doc

    def ledger(self, since: int = 0) -> list[dict[str, Any]]:
        status, body = self.request(
            "GET", f"/api/v1/ledger?since={since}", token=self.tokens["viewer"]
        )
        assert status == 200, body[:500]
        return [json.loads(line) for line in body.splitlines()]

    def last_entry(self) -> dict[str, Any]:
        head = self.results()["ledger_index"]
        return self.ledger(head)[-1]


def start_server(
    folder: Path,
    log_path: Path,
    election: Path | None = None,
    workers: int = 0,
    serve_args: Sequence[str] = (),
) -> ServerProcess:
    """A server with a viewer, an operator and an admin token."""
    server = ServerProcess(
        folder, log_path, election=election, workers=workers, serve_args=serve_args
    )
    server.tokens = {r: make_token(folder, r) for r in ("viewer", "operator", "admin")}
    server.start()
    return server


# -- polling teams' real client folders -----------------------------------------------


FAST = ["--timeout", "5", "--give-up-after", "30", "--backoff-base", "0.05", "--backoff-max", "0.3"]
ALERT_VI = "Máy chủ không còn giữ kết quả đã xác nhận"
ALERT_EN = "the server no longer holds what it acknowledged"
REASON = "Kiểm lại phiếu theo yêu cầu của Ban bầu cử"


def client(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "station_client", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


class Station:
    """A polling team's real client folder, enrolled through the API."""

    def __init__(
        self, server: ServerProcess, work: Path, area: str, *, pack: Path | None = None
    ) -> None:
        """Set up with init's options, or from the committee's ``pack`` (its
        ``AREA.json``, election.json beside it)."""
        self.area = area
        self.folder = work / area
        if pack is not None:
            rc, out = client("init", "--dir", str(self.folder), "--pack", str(pack))
        else:
            rc, out = client(
                "init", "--dir", str(self.folder), "--station-id", area, "--polling-area", area,
                "--election", str(server.election), "--server", server.url,
                "--server-key", str(server.folder / "server.pub.pem"),
            )  # fmt: skip
        assert rc == 0, out
        body = json.dumps(
            {
                "station_id": area,
                "polling_area_id": area,
                "public_key": (self.folder / "station.pub.pem").read_text(),
            }
        ).encode()
        status, answer = server.request(
            "POST", "/api/v1/stations", body, token=server.tokens["admin"]
        )
        assert status == 201, answer

    def _minutes(self, records: list[CountingMinutes]) -> str:
        path = self.folder.parent / f"{self.area}.minutes.json"
        path.write_bytes(msgspec.json.encode(records))
        return str(path)

    def submit(self) -> None:
        rc, out = client("submit", "--dir", str(self.folder), self._minutes(minutes_for(self.area)))
        assert rc == 0, out

    def correct(self, moved: int, *send: str) -> tuple[int, str]:
        records = [
            msgspec.structs.replace(m, explanations={"W208": REASON}) if m.race_id == "QH" else m
            for m in minutes_for(self.area, moved=moved)
        ]
        path = self._minutes(records)
        return client("correct", "--dir", str(self.folder), path, "--reason", REASON, *send)

    def sync(self) -> tuple[int, str]:
        return client("sync", "--dir", str(self.folder), *FAST)

    def receipts(self) -> dict[int, tuple[int, str, bytes, str]]:
        """sequence -> (ledger index, head, receipt bytes, digest) of the current receipts."""
        db = sqlite3.connect(self.folder / "outbox.sqlite")
        try:
            rows = db.execute(
                "SELECT sequence, ledger_index, ledger_head, receipt, digest FROM batches "
                "WHERE receipt IS NOT NULL"
            ).fetchall()
        finally:
            db.close()
        return {s: (i, h, bytes(r), d) for s, i, h, r, d in rows}

    def status(self) -> dict[str, Any]:
        rc, out = client("status", "--dir", str(self.folder), "--json")
        assert rc == 0, out
        data: dict[str, Any] = json.loads(out)
        return data


# -- Litestream beside the server ---------------------------------------------------------


def litestream_pid(log: Path) -> int:
    for line in log.read_text("utf-8").splitlines():
        if '"replicating"' in line:
            return int(json.loads(line)["pid"])
    raise AssertionError(f"no replicating line in {log}")


def await_gone(pid: int) -> None:
    deadline = time.monotonic() + 60.0
    while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return "zombie"


# -- the command line ----------------------------------------------------------------------


def tally_cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally_server", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def export_ledger(folder: Path, out: Path) -> Path:
    done = tally_cli("ledger", "export", "--dir", str(folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def verify(ledger: Path, election: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``tally-server verify --json`` (exit code, report)."""
    done = tally_cli(
        "verify", str(ledger), "--election", str(election), "--json", "--workers", "1", *extra
    )
    assert done.stdout.strip(), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def read_ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


# -- what the ledger holds of what was acknowledged ----------------------------------------


BatchKey = tuple[str, int]
"""(station id, sequence)."""


@dataclass
class AckCheck:
    acked: int
    lost: list[BatchKey]
    """Acknowledged, but not accepted in the ledger."""
    twice: list[BatchKey]
    """Accepted more than once."""
    other_receipt: list[BatchKey]
    """In the ledger, but its stored receipt is not the bytes the station was given."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.twice or self.other_receipt)


def accepted_entries(entries: Sequence[dict[str, Any]]) -> dict[BatchKey, list[dict[str, Any]]]:
    found: dict[BatchKey, list[dict[str, Any]]] = defaultdict(list)
    for e in entries:
        if e["kind"] in ACCEPTED_KINDS:
            o = json.loads(e["outcome"])
            found[(o["station_id"], o["sequence"])].append(e)
    return found


def check_acks(entries: Sequence[dict[str, Any]], acks: dict[BatchKey, bytes]) -> AckCheck:
    """Every acknowledged batch accepted exactly once, with the very receipt sent."""
    found = accepted_entries(entries)
    lost = sorted(k for k in acks if k not in found)
    twice = sorted(k for k, es in found.items() if len(es) > 1)
    other = sorted(
        k for k, r in acks.items() if k in found and base64.b64decode(found[k][0]["receipt"]) != r
    )
    return AckCheck(len(acks), lost, twice, other)


def expected_results_sha256(election: Path, minutes: Iterable[CountingMinutes]) -> str:
    """The results digest of a from-scratch tally of exactly these minutes."""
    from tally_server.core.definition import load_election
    from tally_server.core.fasttally import tally_from_scratch
    from tally_server.core.tally import results_digest

    return results_digest(tally_from_scratch(load_election(election), minutes).results())
