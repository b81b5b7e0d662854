"""Helpers for functional tests of the tally server (fixtures are in conftest.py):
stations that sign batches, a server folder, a server running in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from schemas import codec
from schemas.models import CountingMinutes, ResultBatch
from schemas.signing import BATCH_TYPE, SigningKey, VerifyKey, seal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "assets" / "examples"
EXAMPLE_ELECTION = EXAMPLES / "election.json"


def free_port() -> int:
    """A port of 127.0.0.1 free now, for a server whose address must be known first."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example_minutes(polling_area_id: str = "KV-01") -> list[CountingMinutes]:
    """Counting minutes for every race at a polling area of the example election that
    pass every error rule (KV-01: tests/assets/examples/batch.json; others: sample data)."""
    if polling_area_id == "KV-01":
        data = json.loads((EXAMPLES / "batch.json").read_bytes())
        return [msgspec.convert(m, CountingMinutes) for m in data["minutes"]]
    from tally_server.core.definition import load_election
    from tally_server.core.sample import sample_minutes

    election = load_election(EXAMPLE_ELECTION)
    return [
        m
        for m in sample_minutes(election, seed=7, warnings=0)
        if m.polling_area_id == polling_area_id
    ]


@dataclass
class Station:
    """An enrolled polling station with its key, able to sign batches."""

    station_id: str
    polling_area_id: str
    key: SigningKey
    key_path: Path
    pub_path: Path
    election_id: str = "vd-2011"

    @property
    def fingerprint(self) -> str:
        return self.key.public.fingerprint

    def payload(
        self, sequence: int, minutes: list[CountingMinutes] | None = None, **fields: Any
    ) -> bytes:
        """The exact bytes of a result batch (fields override the batch's own)."""
        values: dict[str, Any] = {
            "schema": "kiemphieu/batch/v1",
            "election_id": self.election_id,
            "station_id": self.station_id,
            "polling_area_id": self.polling_area_id,
            "sequence": sequence,
            "created_at": "2011-05-22T19:42:10Z",
            "minutes": minutes if minutes is not None else example_minutes(self.polling_area_id),
        }
        values.update(fields)
        return codec.encode(msgspec.convert(values, ResultBatch, from_attributes=True))

    def seal(self, payload: bytes) -> bytes:
        return seal(self.key, BATCH_TYPE, payload)

    def envelope(
        self, sequence: int, minutes: list[CountingMinutes] | None = None, **fields: Any
    ) -> bytes:
        return self.seal(self.payload(sequence, minutes, **fields))


@dataclass
class ServerFolder:
    """A folder made by ``tally-server init`` for the example election."""

    path: Path
    election_path: Path = EXAMPLE_ELECTION
    keys_dir: Path = field(default_factory=Path)

    def token(self, role: str, name: str = "") -> str:
        from tally_server.service.folder import open_folder
        from tally_server.store import tokens

        conn = open_folder(self.path).connect()
        try:
            return tokens.create(conn, role, name or role)[1]
        finally:
            conn.close()

    def new_station(self, station_id: str, polling_area_id: str | None = None) -> Station:
        """A station with a fresh key saved under keys_dir (not enrolled)."""
        key = SigningKey.generate()
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        stem, n = station_id, 1
        while (self.keys_dir / f"{stem}.pem").exists():
            n += 1
            stem = f"{station_id}.{n}"
        key_path = self.keys_dir / f"{stem}.pem"
        pub_path = self.keys_dir / f"{stem}.pub.pem"
        key.save(key_path)
        pub_path.write_bytes(key.public.pem())
        return Station(station_id, polling_area_id or station_id, key, key_path, pub_path)

    def enroll(
        self, station_id: str, polling_area_id: str | None = None, key: SigningKey | None = None
    ) -> Station:
        """Enroll a station offline (the server must not be running on this folder)."""
        from tally_server.service.folder import now, offline_commit

        station = self.new_station(station_id, polling_area_id)
        if key is not None:
            station.key = key
        public: VerifyKey = station.key.public

        def go(folder: Any, journal: Any) -> Any:
            p = journal.enroll(
                station.station_id, station.polling_area_id, public, now(), by="cli:tests"
            )
            return ([p] if p else []), None

        offline_commit(self.path, "enroll a station", go)
        return station


@dataclass
class RunningServer:
    """`tally-server serve` in a subprocess on 127.0.0.1."""

    folder: ServerFolder
    public: bool = False
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path = field(default_factory=Path)
    extra_args: list[str] = field(default_factory=list)
    """More `serve` options, e.g. ["--tls-cert", F, "--tls-key", F]."""
    ssl_context: ssl.SSLContext | None = None
    """Used by ``request`` (HTTPS)."""

    def start(self) -> None:
        args = [sys.executable, "-m", "tally_server", "serve", "--dir", str(self.folder.path)]
        args += ["--host", "127.0.0.1", "--port", "0", *self.extra_args]
        if self.public:
            args.append("--public")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env={**os.environ}
        )
        log.close()
        assert self.process.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "listening":
                self.url = event["url"]
                return
        self.stop()
        raise RuntimeError(f"the server did not start; log:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def server_key(self) -> VerifyKey:
        return VerifyKey.from_pem((self.folder.path / "server.pub.pem").read_bytes())

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        token: str | None = None,
    ) -> tuple[int, bytes]:
        """A plain HTTP request; (status, body) whatever the status."""
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def enroll(self, station: Station) -> tuple[int, bytes]:
        """Enroll through the API (admin token), while the server runs."""
        body = json.dumps(
            {
                "station_id": station.station_id,
                "polling_area_id": station.polling_area_id,
                "public_key": station.key.public.pem().decode(),
            }
        ).encode()
        return self.request("POST", "/api/v1/stations", body, self.tokens["admin"])


def run_verify(*args: str) -> subprocess.CompletedProcess[str]:
    """``tally-server verify ARGS`` in a fresh interpreter, as an auditor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tally_server", "verify", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def verify_json(ledger: Path, election: Path) -> dict[str, Any]:
    """The ``--json`` report of a ledger that must verify (exit 0)."""
    done = run_verify(str(ledger), "--election", str(election), "--json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc
