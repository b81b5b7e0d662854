"""The app's view of one double entry: drafts, live checks, settling, signing.

No Textual here: the drafts are the very rows the line-prompt ``enter`` keeps
(copies A, B and R in the outbox), so an entry begun in one can be finished in
the other, and the checks are the server's rules through ``station_client.checks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.models import CountingMinutes, Finding
from schemas.signing import SigningKey
from station_client import checks
from station_client.entry import BATCH_RACE, DONE, Plan, Race, minutes_of
from station_client.errors import EntryError
from station_client.forms import FormField, check_format, keys_for, minutes_from_values, normalise
from station_client.outbox import StoredBatch
from station_client.signer import sign_and_store
from station_client.station import Station


@dataclass(frozen=True, slots=True)
class Live:
    """The checks on what one official has typed so far."""

    by_key: dict[str, list[Finding]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Review:
    """The settled minutes and the law's findings on them, before signing."""

    minutes: list[CountingMinutes]
    findings: list[Finding]
    broken: dict[str, EntryError]
    """Race id -> fields that cannot make a record (P403)."""

    @property
    def errors(self) -> list[Finding]:
        return checks.errors(self.findings)

    def unexplained(self) -> list[Finding]:
        return checks.unexplained(self.findings, self.minutes)


class EntryModel:
    def __init__(self, station: Station, plan: Plan, *, round_: str = "main") -> None:
        self.station = station
        self.plan = plan
        self.round = round_
        self.sid = station.station_id

    # --- drafts --------------------------------------------------------------------

    def draft(self, race_id: str, copy: str) -> dict[str, str]:
        return self.station.outbox.draft(self.sid, race_id, self.round, copy)

    def save(self, race_id: str, copy: str, key: str, value: str) -> None:
        self.station.outbox.save_field(self.sid, race_id, self.round, copy, key, value)

    def done(self, race: Race, copy: str) -> bool:
        return DONE in self.draft(race.id, copy)

    def next_race(self, copy: str) -> Race | None:
        return next((r for r in self.plan.races if not self.done(r, copy)), None)

    def start(self, race: Race, copy: str) -> dict[str, str]:
        """The copy's values, a correction's signed figures filled in where nothing
        is typed yet (both officials start from what was signed)."""
        values = self.draft(race.id, copy)
        if not values:
            for key, value in race.defaults.items():
                if not key.startswith("explain:"):
                    self.save(race.id, copy, key, value)
            values = self.draft(race.id, copy)
        return values

    def finish(self, race: Race, copy: str) -> None:
        self.save(race.id, copy, DONE, "1")

    def missing(self, race: Race, copy: str) -> FormField | None:
        """The first field that must be filled before this copy of the race is done."""
        values = self.draft(race.id, copy)
        for f in race.fields:
            if check_format(f, values.get(f.key, "")) is not None:
                return f
        return None

    # --- checks as the official types ------------------------------------------------

    def live(self, race: Race, copy: str) -> Live:
        """The law's findings on this copy so far: a finding is shown once every
        field it names is filled (a half-typed form is not an error)."""
        values = self.draft(race.id, copy)
        filled = {f.key for f in race.fields if values.get(f.key, "").strip()}
        trial: dict[str, str] = {}
        for f in race.fields:
            text = values.get(f.key, "")
            if check_format(f, text) is None and text.strip():
                trial[f.key] = normalise(f, text)
            elif f.kind == "count":
                trial[f.key] = "0"
        piles = [f.key for f in race.fields if f.kind == "pile"]
        if not all(k in trial for k in piles):
            for k in piles:
                trial.pop(k, None)
        try:
            minutes = minutes_from_values(
                race.seat, self.station.polling_area_id, trial, round_=self.round
            )
        except EntryError:
            return Live()
        found = checks.check(
            self.station,
            [minutes],
            previous=self.plan.previous or None,
            supersedes=self.plan.supersedes,
            reason=self.reason() or "…",
        )
        by_key: dict[str, list[Finding]] = {}
        shown: list[Finding] = []
        for finding in found:
            keys = keys_for(finding.fields, race.seat)
            if not keys or not all(k in filled for k in keys):
                continue
            shown.append(finding)
            for k in keys:
                by_key.setdefault(k, []).append(finding)
        return Live(by_key, shown)

    # --- settling the two entries -------------------------------------------------------

    def differences(self) -> list[tuple[Race, FormField, str, str]]:
        """Every field where A and B differ and that is not settled yet, in form order."""
        out = []
        for race in self.plan.races:
            a, b = self.draft(race.id, "A"), self.draft(race.id, "B")
            settled = self.draft(race.id, "R")
            if DONE in settled:
                continue
            for f in race.fields:
                if normalise(f, a.get(f.key, "")) != normalise(f, b.get(f.key, "")):
                    out.append((race, f, a.get(f.key, ""), b.get(f.key, "")))
        return out

    def settled(self, race: Race, key: str) -> str | None:
        return self.draft(race.id, "R").get(key)

    def settle(self, race: Race, key: str, value: str) -> None:
        self.save(race.id, "R", key, value)

    def close_differences(self) -> None:
        for race in self.plan.races:
            self.save(race.id, "R", DONE, "1")

    # --- review --------------------------------------------------------------------

    def values(self, race: Race) -> dict[str, str]:
        """A's entry, each settled or edited field over it; a correction's earlier
        explanations kept unless changed (they need not be typed again)."""
        values = {k: v for k, v in race.defaults.items() if k.startswith("explain:")}
        values.update(self.draft(race.id, "A"))
        values.update(self.draft(race.id, "R"))
        values.pop(DONE, None)
        return values

    def reason(self) -> str:
        return self.draft(BATCH_RACE, "R").get("reason", "")

    def set_reason(self, text: str) -> None:
        self.save(BATCH_RACE, "R", "reason", text)

    def edit(self, race: Race, key: str, value: str) -> None:
        self.save(race.id, "R", key, value)

    def review(self) -> Review:
        minutes, failed = minutes_of(self.station, self.plan.races, self.values, round_=self.round)
        if failed:
            return Review(minutes, [], {race.id: exc for race, exc in failed})
        findings = checks.check(
            self.station,
            minutes,
            previous=self.plan.previous or None,
            supersedes=self.plan.supersedes,
            reason=self.reason() or None,
        )
        return Review(minutes, findings, {})

    def sign(self, key: SigningKey, review: Review) -> StoredBatch:
        stored = sign_and_store(
            self.station.outbox,
            key,
            election_id=self.station.config.election_id,
            station_id=self.sid,
            polling_area_id=self.station.polling_area_id,
            minutes=[checks.keep_explanations(m, review.findings) for m in review.minutes],
            supersedes=self.plan.supersedes,
            reason=self.reason() if self.plan.correction else None,
        )
        self.discard()
        return stored

    def discard(self) -> None:
        self.station.outbox.clear_drafts(
            self.sid, [(r.id, self.round) for r in self.plan.races] + [(BATCH_RACE, self.round)]
        )
