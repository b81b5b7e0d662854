"""The law's checks before signing: the very module the server runs.

Also what the station already holds: the minutes last signed for each race
(what a correction replaces and what the "correction changes figures"
warning compares with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from schemas import codec
from schemas.models import CountingMinutes, Finding, ResultBatch
from schemas.signing import BATCH_TYPE, open_envelope
from station_client.outbox import StoredBatch
from station_client.signer import provisional_batch
from station_client.station import Station
from tally_server.core import rules


def batch_of(stored: StoredBatch) -> ResultBatch:
    return codec.decode(open_envelope(stored.envelope, BATCH_TYPE).payload, ResultBatch)


@dataclass(frozen=True, slots=True)
class Signed:
    """The last live signed batch holding a race: delivered, or still pending."""

    batch: StoredBatch
    minutes: CountingMinutes


def signed_races(station: Station) -> dict[str, Signed]:
    """Race id -> the latest batch (pending, accepted, or refused) that carries it.

    A refused batch still counts: it waits to be sent again once the committee
    fixes the enrolment (``sync --retry-refused``). Rejected and conflicting
    batches do not: their minutes are not on record, so the race can be
    entered afresh."""
    out: dict[str, Signed] = {}
    for stored in station.outbox.batches(station.station_id):
        if stored.state not in ("pending", "delivered", "refused"):
            continue
        for m in batch_of(stored).minutes:
            out[m.race_id] = Signed(stored, m)
    return out


def previous_minutes(station: Station) -> dict[str, CountingMinutes]:
    return {race: s.minutes for race, s in signed_races(station).items()}


def check(
    station: Station,
    minutes: Sequence[CountingMinutes],
    *,
    previous: Mapping[str, CountingMinutes] | None = None,
    supersedes: str | None = None,
    reason: str | None = None,
) -> list[Finding]:
    batch = provisional_batch(
        election_id=station.config.election_id,
        station_id=station.station_id,
        polling_area_id=station.polling_area_id,
        sequence=station.outbox.last_sequence(station.station_id) + 1,
        minutes=minutes,
        supersedes=supersedes,
        reason=reason,
    )
    return rules.check_batch(station.election, batch, previous=previous)


def errors(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def unexplained(findings: Sequence[Finding], minutes: Sequence[CountingMinutes]) -> list[Finding]:
    return rules.unexplained(findings, {m.race_id: m for m in minutes})


def keep_explanations(minutes: CountingMinutes, findings: Sequence[Finding]) -> CountingMinutes:
    """Drop explanations of warnings the minutes no longer trip."""
    codes = {f.code for f in findings if f.severity == "warning" and f.race_id == minutes.race_id}
    kept = {c: t for c, t in minutes.explanations.items() if c in codes}
    if kept == minutes.explanations:
        return minutes
    return msgspec.structs.replace(minutes, explanations=kept)


def title(code: str) -> str:
    rule = rules.RULES.get(code)
    return f"{rule.title_vi} / {rule.title_en}" if rule else code


def describe(finding: Finding | Mapping[str, Any]) -> list[str]:
    """A finding as lines for a terminal: code, race, both languages."""
    if isinstance(finding, Finding):
        data: Mapping[str, Any] = codec.to_builtins(finding)
    else:
        data = finding
    severity = data.get("severity", "error")
    mark = "LỖI / ERROR" if severity == "error" else "CẢNH BÁO / WARNING"
    race = f" [{data['race_id']}]" if data.get("race_id") else ""
    return [
        f"{mark} {data.get('code', '?')}{race}",
        f"    {data.get('message_vi', '')}",
        f"    {data.get('message_en', '')}",
    ]
