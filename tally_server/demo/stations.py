"""The polling stations of the demo, over real HTTP: the simulator for almost
every polling area, and three stations of our own whose stories give the
committee's alerts something to show.

    rejected then fixed   minutes with an error (valid + invalid ≠ received) are
                          rejected; the team fixes them and sends the same sequence
    conflict              accepted, then a second copy of the station signs other
                          figures under the same sequence: a security alert
    revoked, re-enrolled  the committee revokes the key before it sends (refused),
                          then enrolls the team's new key, and the minutes go through

The simulator adds answers dropped on the way, batches sent twice, corrections
and explained warnings. Everything is paced so the whole sample arrives in
about ``duration`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby, islice
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from schemas.models import CountingMinutes
from schemas.signing import SigningKey, VerifyKey
from station_client.errors import ClientError
from station_client.receipts import verify_receipt
from station_client.signer import batch_sealer
from station_client.simulation import Simulation, SimulationConfig
from tally_server.core.definition import Election
from tally_server.core.sample import sample_minutes
from tally_server.demo.election import SCRIPTED

SIM_FAULTS = frozenset({"drop", "duplicate", "correction", "warnings"})
FAULT_SHARE = 0.003
"""Of the simulated stations, about this share gets each fault (at least one)."""

# When each step of the scripted stories happens, as a share of the duration.
_REJECT, _FIX, _FIRST_COPY, _SECOND_COPY, _REVOKE, _REENROLL = 0.10, 0.20, 0.30, 0.40, 0.50, 0.65

Say = Callable[[str], None]


@dataclass(slots=True)
class StationsReport:
    """What the stations did and anything that did not go as the story says."""

    simulated: int = 0
    scripted: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    """Simulator fault -> how many stations had it."""
    story: list[str] = field(default_factory=list)
    """One line per step of the scripted stories, as it happened."""
    unexpected: list[str] = field(default_factory=list)
    posts: int = 0
    cancelled: bool = False


def paced_rate(areas: int, duration: float, share: float = FAULT_SHARE) -> float:
    """Batches a second so ``areas`` simulated stations finish in about ``duration``:
    each station posts once, and each fault adds one post (a dropped answer is
    sent again, a duplicate is sent twice, a correction is one more batch)."""
    per_fault = max(1, round(areas * share))
    posts = areas + per_fault * 3
    return max(1.0, posts / max(duration, 1.0))


def scripted_minutes(election: Election, seed: int) -> list[tuple[str, list[CountingMinutes]]]:
    """The sample minutes of the first polling areas (the scripted stations')."""
    stream = groupby(sample_minutes(election, seed), key=lambda m: m.polling_area_id)
    return [(area, list(group)) for area, group in islice(stream, SCRIPTED)]


def _broken(m: CountingMinutes) -> CountingMinutes:
    """One valid ballot too many: valid + invalid ≠ received, an error (docs/rules.md)."""
    return msgspec.structs.replace(m, valid_ballots=m.valid_ballots + 1)


def _other_copy(m: CountingMinutes) -> CountingMinutes:
    """The same sheet with one vote moved between two candidates."""
    ids = sorted(m.candidate_votes, key=lambda c: -m.candidate_votes[c])
    votes = dict(m.candidate_votes)
    votes[ids[0]] -= 1
    votes[ids[-1]] += 1
    return msgspec.structs.replace(m, candidate_votes=votes)


@dataclass(slots=True)
class _Answer:
    kind: str
    """accepted, rejected, conflict or refused."""
    http: int
    codes: list[str]

    def text(self) -> str:
        codes = f" {', '.join(self.codes)}" if self.codes else ""
        return f"HTTP {self.http} {self.kind}{codes}"


class ScriptedStations:
    """Three stations driven step by step, each answer checked against the story."""

    def __init__(
        self,
        url: str,
        admin_token: str,
        election: Election,
        server_key: VerifyKey,
        minutes: list[tuple[str, list[CountingMinutes]]],
        duration: float,
        report: StationsReport,
        say: Say,
    ) -> None:
        self.url = url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {admin_token}"}
        self.election = election
        self.server_key = server_key
        self.minutes = minutes
        self.duration = duration
        self.report = report
        self.say = say
        self.started = time.monotonic()

    async def _at(self, share: float) -> None:
        await asyncio.sleep(max(0.0, self.started + share * self.duration - time.monotonic()))

    async def _admin(self, session: aiohttp.ClientSession, path: str, body: Any = None) -> int:
        async with session.post(self.url + path, json=body, headers=self.auth) as response:
            await response.read()
            return response.status

    async def _enroll(
        self, session: aiohttp.ClientSession, station: str, area: str, key: SigningKey
    ) -> None:
        body = {"station_id": station, "polling_area_id": area, "public_key": key.public.b64}
        status = await self._admin(session, "/api/v1/stations", body)
        if status not in (200, 201):
            self.report.unexpected.append(f"{station}: enrolment answered HTTP {status}")

    async def _send(
        self,
        session: aiohttp.ClientSession,
        key: SigningKey,
        area: str,
        sequence: int,
        minutes: list[CountingMinutes],
    ) -> _Answer:
        sealed = batch_sealer(
            key,
            election_id=self.election.id,
            station_id=area,
            polling_area_id=area,
            minutes=minutes,
        )(sequence)
        async with session.post(
            self.url + "/api/v1/batches",
            data=sealed.envelope,
            headers={"Content-Type": "application/json"},
        ) as response:
            body = await response.read()
            status = response.status
        self.report.posts += 1
        if status in (200, 409, 422):
            receipt = verify_receipt(
                body,
                self.server_key,
                election_id=self.election.id,
                station_id=area,
                sequence=sequence,
                digest=sealed.digest,
            )
            kind = {200: "accepted", 409: "conflict", 422: "rejected"}[status]
            codes = [f.code for f in receipt.findings if f.severity == "error"]
            return _Answer(kind, status, codes)
        try:
            code = str(msgspec.json.decode(body)["error"]["code"])
        except (msgspec.DecodeError, KeyError, TypeError):
            code = f"H{status}"
        return _Answer("refused", status, [code])

    def _step(self, station: str, what: str, answer: _Answer, expected: str) -> None:
        line = f"{station}: {what} → {answer.text()}"
        self.report.story.append(line)
        self.say(line)
        if answer.kind != expected:
            self.report.unexpected.append(f"{line} (expected {expected})")

    async def rejected_then_fixed(self, session: aiohttp.ClientSession) -> None:
        area, sheets = self.minutes[0]
        key = SigningKey.generate()
        await self._at(_REJECT)
        await self._enroll(session, area, area, key)
        answer = await self._send(session, key, area, 1, [_broken(sheets[0]), *sheets[1:]])
        self._step(area, "biên bản sai / minutes with an error", answer, "rejected")
        await self._at(_FIX)
        answer = await self._send(session, key, area, 1, sheets)
        self._step(area, "đã sửa, gửi lại / fixed, sent again", answer, "accepted")

    async def conflict(self, session: aiohttp.ClientSession) -> None:
        area, sheets = self.minutes[1]
        key = SigningKey.generate()
        await self._at(_FIRST_COPY)
        await self._enroll(session, area, area, key)
        answer = await self._send(session, key, area, 1, sheets)
        self._step(area, "biên bản / minutes", answer, "accepted")
        await self._at(_SECOND_COPY)
        answer = await self._send(session, key, area, 1, [_other_copy(sheets[0]), *sheets[1:]])
        self._step(
            area, "bản sao thứ hai, số khác / a second copy, other figures", answer, "conflict"
        )

    async def revoked_then_reenrolled(self, session: aiohttp.ClientSession) -> None:
        area, sheets = self.minutes[2]
        lost, new = SigningKey.generate(), SigningKey.generate()
        await self._at(_REVOKE)
        await self._enroll(session, area, area, lost)
        status = await self._admin(session, f"/api/v1/stations/{area}/revoke")
        if status not in (200, 204):
            self.report.unexpected.append(f"{area}: revoke answered HTTP {status}")
        answer = await self._send(session, lost, area, 1, sheets)
        self._step(area, "khoá đã thu hồi / revoked key", answer, "refused")
        await self._at(_REENROLL)
        await self._enroll(session, area, area, new)
        answer = await self._send(session, new, area, 1, sheets)
        self._step(area, "khoá mới đã đăng ký / new key enrolled", answer, "accepted")

    async def run(self) -> None:
        self.started = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            stories = (self.rejected_then_fixed, self.conflict, self.revoked_then_reenrolled)
            done = await asyncio.gather(*(s(session) for s in stories), return_exceptions=True)
        for story, outcome in zip(stories, done, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, ClientError):
                self.report.unexpected.append(f"{story.__name__}: [{outcome.code}] {outcome}")
            elif isinstance(outcome, (aiohttp.ClientError, TimeoutError)):
                self.report.unexpected.append(
                    f"{story.__name__}: {type(outcome).__name__}: {outcome}"
                )
            elif isinstance(outcome, BaseException):
                raise outcome


async def run_stations(
    url: str,
    admin_token: str,
    election: Election,
    server_key: VerifyKey,
    *,
    duration: float,
    seed: int,
    outbox: Path,
    say: Say,
    report: StationsReport | None = None,
) -> StationsReport:
    """Every polling area reports: the scripted stations and the simulator, together.
    ``report`` is filled in as they go (what is there stays if this is cancelled)."""
    report = report if report is not None else StationsReport()
    n_sim = len(election.definition.polling_areas) - SCRIPTED
    report.simulated, report.scripted = n_sim, SCRIPTED
    config = SimulationConfig(
        server_url=url,
        admin_token=admin_token,
        election=election,
        first=SCRIPTED,
        rate=paced_rate(n_sim, duration),
        concurrency=8,
        faults=SIM_FAULTS,
        fault_share=FAULT_SHARE,
        minutes_seed=seed,
        seed=seed,
        outbox_path=outbox,
    )
    scripted = ScriptedStations(
        url,
        admin_token,
        election,
        server_key,
        scripted_minutes(election, seed),
        duration,
        report,
        say,
    )
    simulation = Simulation(config)
    try:
        await asyncio.gather(simulation.run(), scripted.run())
    finally:  # what was done stays in the report, even when stopped early
        sim = simulation.report
        report.faults = {f: len(s) for f, s in sorted(sim.faults.items())}
        report.unexpected.extend(sim.unexpected)
        report.posts += sim.progress.sent
    return report
