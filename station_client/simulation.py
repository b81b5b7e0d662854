"""Many polling stations at once, for load tests and the demo.

Every simulated station goes through the code a real one runs: its own
Ed25519 key (enrolled with the admin token), the law's checks before
signing, the batch encoded once, sealed and committed to an outbox (one
shared SQLite file with a station column) before sending, the same
``Deliverer`` with receipts verified against the server key. Faults are
injected on purpose and each one's expected outcome is checked:

    drop        the first answer is forgotten; the retry must get the identical receipt
    duplicate   the accepted envelope is sent again; the identical receipt must come back
    correction  a later batch with a higher sequence, ``supersedes`` and a reason
    errors      minutes that break a rule (signed without the local checks): rejected
    warnings    minutes that trip a warning, explained: accepted and flagged
    revoked     the station's key is revoked before it sends: refused

``simulate(config)`` is the importable core (the demo and the benchmark call it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from schemas import codec
from schemas._retry import Backoff
from schemas.models import CountingMinutes, ElectionDefinition
from schemas.signing import SigningKey, VerifyKey
from station_client import checks
from station_client.delivery import Deliverer, Outcome, Transport
from station_client.errors import ClientError
from station_client.outbox import Outbox, StoredBatch
from station_client.signer import provisional_batch, sign_and_store
from tally_server.core import rules
from tally_server.core.definition import Election

FAULTS = ("drop", "duplicate", "correction", "errors", "warnings", "revoked")


class SimulationError(ClientError):
    code = "P501"


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    server_url: str
    admin_token: str
    election: Election | None = None
    """None: fetched from the server (GET /api/v1/election)."""
    stations: int | None = None
    """How many polling areas to simulate, in definition order; None = all."""
    first: int = 0
    """Skip this many polling areas first (several simulators can share one server)."""
    rate: float | None = 50.0
    """New batches per second over all stations; None = as fast as answered."""
    concurrency: int = 16
    faults: frozenset[str] = frozenset()
    fault_share: float = 0.05
    """Share of stations given each fault (at least one station per fault)."""
    minutes_seed: int = 2011
    seed: int = 1
    outbox_path: Path | None = None
    timeout: float = 20.0
    ssl_context: ssl.SSLContext | None = None
    station_prefix: str = ""
    """Station ids are prefix + polling area id."""


@dataclass(slots=True)
class Progress:
    elapsed: float = 0.0
    stations_total: int = 0
    stations_done: int = 0
    sent: int = 0
    """HTTP posts of a batch, retries and duplicates included."""
    accepted: int = 0
    rejected: int = 0
    conflicts: int = 0
    refused: int = 0
    retries: int = 0
    dropped: int = 0
    identical_receipts: int = 0
    corrections: int = 0

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.elapsed:7.1f} s  trạm/stations {self.stations_done}/{self.stations_total}  "
            f"sent {self.sent}  accepted {self.accepted}  rejected {self.rejected}  "
            f"conflicts {self.conflicts}  refused {self.refused}  retries {self.retries}  "
            f"{self.rate:.1f}/s"
        )


@dataclass(slots=True)
class SimulationReport:
    progress: Progress
    faults: dict[str, list[str]] = field(default_factory=dict)
    """Fault -> station ids it was applied to."""
    unexpected: list[str] = field(default_factory=list)
    """Outcomes that differ from what the fault (or its absence) should give."""
    outbox_path: str = ""
    server_fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return not self.unexpected

    def to_dict(self) -> dict[str, Any]:
        p = dataclasses.asdict(self.progress)
        p["rate"] = round(self.progress.rate, 2)
        return {
            "ok": self.ok,
            "progress": p,
            "faults": self.faults,
            "unexpected": self.unexpected,
            "outbox": self.outbox_path,
            "server_fingerprint": self.server_fingerprint,
        }


class _Pace:
    """At most ``rate`` starts a second, evenly spaced."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(self.next, now)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def _by_area(minutes: Iterable[CountingMinutes]) -> Iterator[tuple[str, list[CountingMinutes]]]:
    for area, group in groupby(minutes, key=lambda m: m.polling_area_id):
        yield area, list(group)


def _broken(m: CountingMinutes) -> CountingMinutes:
    """One more valid ballot than received: valid + invalid ≠ received (an error)."""
    return msgspec.structs.replace(m, valid_ballots=m.valid_ballots + 1)


def _odd(m: CountingMinutes) -> CountingMinutes:
    """Three ballots issued beyond the voters who voted (a warning)."""
    return msgspec.structs.replace(m, ballots_issued=m.ballots_issued + 3)


def _recounted(m: CountingMinutes) -> CountingMinutes | None:
    """The same sheet with one vote moved between candidates, as a recount may find."""
    ids = sorted(m.candidate_votes)
    for give in ids:
        for take in ids:
            if (
                give != take
                and m.candidate_votes[give] > 0
                and m.candidate_votes[take] < m.valid_ballots
            ):
                votes = dict(m.candidate_votes)
                votes[give] -= 1
                votes[take] += 1
                return msgspec.structs.replace(m, candidate_votes=votes, explanations={})
    return None


class Simulation:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.progress = Progress()
        self.report = SimulationReport(self.progress)
        self.rng = random.Random(config.seed)
        self.pace = _Pace(config.rate)
        self.transport = Transport(
            config.server_url, config.ssl_context, timeout=config.timeout, connect_timeout=10.0
        )
        self._started = time.monotonic()

    # --- HTTP to the committee's admin routes ------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.admin_token}"}

    async def _json(
        self, session: aiohttp.ClientSession, method: str, path: str, body: Any = None
    ) -> tuple[int, Any]:
        async with session.request(
            method, self.transport.url(path), json=body, headers=self._auth()
        ) as response:
            raw = await response.read()
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, raw.decode("utf-8", "replace")

    async def _server_key(self, session: aiohttp.ClientSession) -> VerifyKey:
        status, data = await self._json(session, "GET", "/api/v1/server-key")
        if status != 200 or not isinstance(data, dict):
            raise SimulationError(
                en=f"The server did not give its key (HTTP {status}).",
                vi=f"Máy chủ không trả khoá (HTTP {status}).",
                figures={"http_status": status},
            )
        return VerifyKey.from_text(str(data["public_key_b64"]))

    async def _election(self, session: aiohttp.ClientSession) -> Election:
        if self.config.election is not None:
            return self.config.election
        async with session.get(self.transport.url("/api/v1/election")) as response:
            raw = await response.read()
            if response.status != 200:
                raise SimulationError(
                    en=f"The server did not give the election (HTTP {response.status}).",
                    vi=f"Máy chủ không trả định nghĩa cuộc bầu cử (HTTP {response.status}).",
                )
        return Election.from_definition(codec.decode(raw, ElectionDefinition))

    async def _enroll(
        self, session: aiohttp.ClientSession, station_id: str, area_id: str, key: SigningKey
    ) -> bool:
        status, data = await self._json(
            session,
            "POST",
            "/api/v1/stations",
            {"station_id": station_id, "polling_area_id": area_id, "public_key": key.public.b64},
        )
        if status in (200, 201):
            return True
        self.report.unexpected.append(f"{station_id}: enrolment answered HTTP {status}: {data}")
        return False

    async def _revoke(self, session: aiohttp.ClientSession, station_id: str) -> None:
        status, data = await self._json(session, "POST", f"/api/v1/stations/{station_id}/revoke")
        if status not in (200, 204):
            self.report.unexpected.append(f"{station_id}: revoke answered HTTP {status}: {data}")

    # --- one station ---------------------------------------------------------------

    def _count(self, batch: StoredBatch, outcome: Outcome) -> None:
        p = self.progress
        p.sent += 1
        if outcome.kind == "delivered":
            p.accepted += 1
        elif outcome.kind == "rejected":
            p.rejected += 1
        elif outcome.kind == "conflict":
            p.conflicts += 1
        elif outcome.kind == "refused":
            p.refused += 1
        else:
            p.retries += 1

    def _sign(
        self,
        outbox: Outbox,
        key: SigningKey,
        election: Election,
        station_id: str,
        area_id: str,
        minutes: list[CountingMinutes],
        *,
        check: bool = True,
        previous: dict[str, CountingMinutes] | None = None,
        supersedes: str | None = None,
        reason: str | None = None,
    ) -> StoredBatch:
        if check:
            batch = provisional_batch(
                election_id=election.id,
                station_id=station_id,
                polling_area_id=area_id,
                sequence=outbox.last_sequence(station_id) + 1,
                minutes=minutes,
                supersedes=supersedes,
                reason=reason,
            )
            findings = rules.check_batch(election, batch, previous=previous)
            if rules.has_errors(findings):
                codes = ",".join(f.code for f in checks.errors(findings))
                raise SimulationError(
                    en=f"{station_id}: sample minutes break the law's checks ({codes}).",
                    vi=f"{station_id}: biên bản mẫu vi phạm kiểm tra ({codes}).",
                )
            missing = rules.unexplained(findings, {m.race_id: m for m in minutes})
            if missing:
                notes: dict[str, dict[str, str]] = {}
                for f in missing:
                    notes.setdefault(f.race_id or "", {})[f.code] = (
                        f"Mô phỏng: đã kiểm tra lại ({f.code}) / simulated: checked again"
                    )
                minutes = [
                    msgspec.structs.replace(
                        m, explanations={**m.explanations, **notes.get(m.race_id, {})}
                    )
                    for m in minutes
                ]
        return sign_and_store(
            outbox,
            key,
            election_id=election.id,
            station_id=station_id,
            polling_area_id=area_id,
            minutes=minutes,
            supersedes=supersedes,
            reason=reason,
        )

    async def _send(
        self, deliverer: Deliverer, session: aiohttp.ClientSession, batch: StoredBatch
    ) -> Outcome:
        await self.pace.wait()
        return await deliverer.deliver(
            session, batch, deadline=time.monotonic() + 6 * self.config.timeout
        )

    def _expect(self, station_id: str, what: str, outcome: Outcome, *kinds: str) -> None:
        if outcome.kind not in kinds:
            self.report.unexpected.append(
                f"{station_id}: {what}: expected {'/'.join(kinds)}, got {outcome.kind} "
                f"({outcome.describe()})"
            )

    async def _station(
        self,
        session: aiohttp.ClientSession,
        deliverer: Deliverer,
        election: Election,
        area_id: str,
        minutes: list[CountingMinutes],
        faults: set[str],
    ) -> None:
        outbox = deliverer.outbox
        sid = self.config.station_prefix + area_id
        key = SigningKey.generate()
        if not await self._enroll(session, sid, area_id, key):
            return
        if "revoked" in faults:
            await self._revoke(session, sid)
        if "errors" in faults:
            minutes = [_broken(minutes[0]), *minutes[1:]]
        elif "warnings" in faults:
            minutes = [_odd(minutes[0]), *minutes[1:]]
        stored = self._sign(
            outbox, key, election, sid, area_id, minutes, check="errors" not in faults
        )
        if "drop" in faults:
            await self.pace.wait()
            lost = await deliverer.attempt(session, stored)
            self.progress.sent += 1
            self.progress.dropped += 1
            outcome = await self._send(deliverer, session, stored)
            if lost.receipt_bytes is not None and outcome.receipt_bytes is not None:
                if lost.receipt_bytes == outcome.receipt_bytes:
                    self.progress.identical_receipts += 1
                else:
                    self.report.unexpected.append(
                        f"{sid}: a retry after a lost answer got a different receipt"
                    )
        else:
            outcome = await self._send(deliverer, session, stored)
        if "revoked" in faults:
            self._expect(sid, "revoked key", outcome, "refused")
            return
        if "errors" in faults:
            self._expect(sid, "minutes with an error", outcome, "rejected")
            return
        self._expect(sid, "batch", outcome, "delivered")
        if outcome.kind != "delivered":
            return
        if "duplicate" in faults:
            await self.pace.wait()
            again = await deliverer.attempt(session, stored)
            self.progress.sent += 1
            if again.receipt_bytes == outcome.receipt_bytes:
                self.progress.identical_receipts += 1
            else:
                self.report.unexpected.append(
                    f"{sid}: the same envelope again got {again.kind}, not the identical receipt"
                )
        if "correction" in faults:
            fixed = _recounted(minutes[0])
            if fixed is None:
                return
            correction = self._sign(
                outbox,
                key,
                election,
                sid,
                area_id,
                [fixed],
                previous={m.race_id: m for m in minutes},
                supersedes=stored.digest,
                reason="Kiểm lại phiếu theo yêu cầu của Ban bầu cử / recount asked by the board",
            )
            self.progress.corrections += 1
            outcome = await self._send(deliverer, session, correction)
            self._expect(sid, "correction", outcome, "delivered")

    # --- the run -------------------------------------------------------------------

    def _assign(self, areas: list[str]) -> dict[str, set[str]]:
        """Faults to stations: a share of them each, at least one, never two faults
        that would hide each other (a revoked or broken station tests nothing else)."""
        plan: dict[str, set[str]] = {a: set() for a in areas}
        if not areas:
            return plan
        exclusive: list[str] = [f for f in ("revoked", "errors") if f in self.config.faults]
        others = [f for f in FAULTS if f in self.config.faults and f not in exclusive]
        per = max(1, round(len(areas) * self.config.fault_share))
        pool = list(areas)
        self.rng.shuffle(pool)
        for fault in exclusive:
            chosen, pool = pool[:per], pool[per:] or pool
            for a in chosen:
                plan[a] = {fault}
        free = [a for a in areas if not plan[a]] or list(areas)
        for other in others:
            for a in self.rng.sample(free, min(per, len(free))):
                plan[a].add(other)
        for a, fs in plan.items():
            for f in fs:
                self.report.faults.setdefault(f, []).append(self.config.station_prefix + a)
        return plan

    async def run(
        self, progress: Callable[[Progress], None] | None = None, interval: float = 1.0
    ) -> SimulationReport:
        unknown = set(self.config.faults) - set(FAULTS)
        if unknown:
            raise SimulationError(
                en=f"Unknown fault(s): {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}.",
                vi=f"Lỗi giả lập không có: {', '.join(sorted(unknown))}; có: {', '.join(FAULTS)}.",
                fields=("faults",),
            )
        self._started = time.monotonic()
        tmp: tempfile.TemporaryDirectory[str] | None = None
        if self.config.outbox_path is None:
            tmp = tempfile.TemporaryDirectory(prefix="kiemphieu-sim-")
            path = Path(tmp.name) / "outbox.sqlite"
        else:
            path = self.config.outbox_path
        self.report.outbox_path = str(path)
        outbox = Outbox(path, durable=False)
        ticker: asyncio.Task[None] | None = None
        try:
            async with self.transport.session(limit=max(1, self.config.concurrency)) as session:
                server_key = await self._server_key(session)
                self.report.server_fingerprint = server_key.fingerprint
                election = await self._election(session)
                from tally_server.core.sample import sample_minutes

                stream = _by_area(sample_minutes(election, self.config.minutes_seed))
                work: list[tuple[str, list[CountingMinutes]]] = []
                for n, (area, sheets) in enumerate(stream):
                    if n < self.config.first:
                        continue
                    if self.config.stations is not None and len(work) >= self.config.stations:
                        break
                    work.append((area, sheets))
                plan = self._assign([a for a, _ in work])
                self.progress.stations_total = len(work)
                deliverer = Deliverer(
                    outbox,
                    self.transport,
                    server_key,
                    election.id,
                    backoff=Backoff(0.1, 2.0),
                    rng=random.Random(self.config.seed),
                    report=self._count,
                )
                queue: asyncio.Queue[tuple[str, list[CountingMinutes]]] = asyncio.Queue()
                for item in work:
                    queue.put_nowait(item)

                async def worker() -> None:
                    while True:
                        try:
                            area, sheets = queue.get_nowait()
                        except asyncio.QueueEmpty:
                            return
                        try:
                            await self._station(
                                session, deliverer, election, area, sheets, plan[area]
                            )
                        except ClientError as exc:
                            self.report.unexpected.append(f"{area}: [{exc.code}] {exc.message_en}")
                        self.progress.stations_done += 1

                if progress is not None:
                    ticker = asyncio.create_task(self._tick(progress, interval))
                await asyncio.gather(*(worker() for _ in range(max(1, self.config.concurrency))))
        finally:
            if ticker is not None:
                ticker.cancel()
            outbox.close()
            if tmp is not None:
                tmp.cleanup()
        self.progress.elapsed = time.monotonic() - self._started
        if progress is not None:
            progress(self.progress)
        return self.report

    async def _tick(self, progress: Callable[[Progress], None], interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.progress.elapsed = time.monotonic() - self._started
            progress(self.progress)


async def simulate(
    config: SimulationConfig,
    *,
    progress: Callable[[Progress], None] | None = None,
    interval: float = 1.0,
) -> SimulationReport:
    """Run the simulation; ``progress`` is called every ``interval`` seconds."""
    return await Simulation(config).run(progress, interval)


def parse_faults(text: str) -> frozenset[str]:
    return frozenset(f.strip() for f in text.split(",") if f.strip())


def run_cli(args: Any) -> int:
    from station_client.delivery import make_ssl_context
    from tally_server.core.definition import load_election

    config = SimulationConfig(
        server_url=args.server,
        admin_token=args.token,
        election=load_election(args.election) if args.election else None,
        stations=args.stations,
        first=args.first,
        rate=None if args.fast else args.rate,
        concurrency=args.concurrency,
        faults=parse_faults(args.faults),
        minutes_seed=args.minutes_seed,
        seed=args.seed,
        outbox_path=args.outbox,
        timeout=args.timeout,
        ssl_context=make_ssl_context(args.server_cert, args.ca_file),
    )

    def show(p: Progress) -> None:
        if not args.quiet:
            print(p.line(), flush=True)

    report = asyncio.run(simulate(config, progress=show))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        p = report.progress
        print(
            f"Xong / done: {p.stations_done} stations, {p.accepted} accepted, {p.rejected} "
            f"rejected, {p.conflicts} conflicts, {p.refused} refused, {p.corrections} "
            f"corrections, {p.dropped} answers dropped, {p.identical_receipts} identical "
            f"receipts on resend, {p.rate:.1f} posts/s"
        )
        for fault, stations in sorted(report.faults.items()):
            print(f"  {fault}: {len(stations)} station(s), e.g. {', '.join(stations[:3])}")
        for line in report.unexpected:
            print(f"  UNEXPECTED: {line}")
    return 0 if report.ok else 1
