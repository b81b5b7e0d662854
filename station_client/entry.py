"""Entering the counting minutes twice, by two officials, in a plain terminal.

Official A types every race; official B types them again without seeing A's
figures; every field where the two differ is shown side by side and settled
alone (A, B, or the right value typed for that field only). Then the law's
checks: errors name the fields to fix and offer to fix just those; each
warning needs an explanation. Then the officials confirm and the batch is
signed and stored. Every field is saved in the outbox as soon as it is typed,
so a crash loses at most the field being typed, and running ``enter`` again
resumes where it stopped.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from schemas.models import CountingMinutes, Finding
from schemas.signing import SigningKey
from station_client import checks
from station_client.errors import ClientError, EntryError
from station_client.forms import (
    FormField,
    check_format,
    clean_text,
    form_fields,
    keys_for,
    minutes_from_values,
    normalise,
    show,
    values_from_minutes,
)
from station_client.outbox import StoredBatch
from station_client.signer import sign_and_store
from station_client.station import Station
from tally_server.core.definition import Seat
from tally_server.core.numbers import vn_int

DONE = "_done"
BATCH_RACE = "*"
"""Draft rows that belong to the whole batch (the correction's reason)."""
SUPERSEDES = "supersedes"
"""The batch draft's row naming the signed batch a correction was begun against."""

_YES = {"ký", "ky", "sign", "y", "yes", "có", "co", "c"}
_QUIT = {"q", "quit", "thoát", "thoat"}


class Terminal(Protocol):
    def ask(self, prompt: str) -> str: ...
    def say(self, text: str = "") -> None: ...
    def clear(self) -> None: ...


class EntryAborted(ClientError):
    code = "P409"


class StdTerminal:
    """input()/print(): works in any terminal, and with scripted stdin."""

    def ask(self, prompt: str) -> str:
        try:
            answer = input(prompt)
        except EOFError:
            print()
            raise EntryAborted(
                en="Input ended; everything typed so far is saved. Run the same command to resume.",
                vi="Hết dữ liệu nhập; mọi thứ đã gõ đều được lưu. Chạy lại lệnh để tiếp tục.",
            ) from None
        return unicodedata.normalize("NFC", answer)

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def clear(self) -> None:
        if sys.stdout.isatty():
            print("\033[2J\033[H", end="", flush=True)
        else:
            print("\n" * 3, flush=True)


@dataclass(slots=True)
class Race:
    seat: Seat
    fields: list[FormField]
    defaults: dict[str, str] = field(default_factory=dict)
    """Previous signed values (corrections): Enter keeps them."""

    @property
    def id(self) -> str:
        return self.seat.race.id

    def heading(self) -> str:
        s = self.seat
        return (
            f"── {s.race.id} · {s.race.name} · {s.constituency.name} "
            f"({s.constituency.seats} ghế / seats, {len(s.constituency.candidates)} "
            "người ứng cử / candidates) ──"
        )


@dataclass(slots=True)
class Plan:
    races: list[Race]
    correction: bool = False
    supersedes: str | None = None
    previous: dict[str, CountingMinutes] = field(default_factory=dict)


def plan_entry(
    station: Station,
    *,
    race_ids: Sequence[str] = (),
    correction: bool = False,
) -> tuple[Plan, list[str]]:
    """Which races to enter, and notes about races left out (already signed)."""
    seats = station.seats()
    known = {s.race.id for s in seats}
    unknown = [r for r in race_ids if r not in known]
    if unknown:
        raise EntryError(
            en=f"Race(s) {', '.join(unknown)} are not held at polling area "
            f"{station.polling_area_id}; held here: {', '.join(sorted(known))}.",
            vi=f"Cuộc bầu cử {', '.join(unknown)} không tổ chức tại khu vực "
            f"{station.polling_area_id}; tại đây có: {', '.join(sorted(known))}.",
            code="P404",
            fields=("race",),
        )
    if race_ids:
        seats = [s for s in seats if s.race.id in race_ids]
    signed = checks.signed_races(station)
    notes: list[str] = []
    if not correction:
        kept = []
        for s in seats:
            done = signed.get(s.race.id)
            if done is None:
                kept.append(s)
            else:
                notes.append(
                    f"{s.race.id}: đã ký trong lô số {done.batch.sequence} "
                    f"({done.batch.state}); muốn sửa hãy dùng station-client correct / "
                    f"already signed in batch {done.batch.sequence} ({done.batch.state}); "
                    "use station-client correct to change it"
                )
        return Plan([Race(s, form_fields(s)) for s in kept]), notes
    if not race_ids:
        latest = max(signed.values(), key=lambda x: x.batch.sequence, default=None)
        if latest is not None:
            seats = [s for s in seats if s.race.id in latest.batch.races]
    missing = [s.race.id for s in seats if s.race.id not in signed]
    if missing or not seats:
        raise EntryError(
            en=f"Nothing signed to correct for race(s) {', '.join(missing) or '—'}; use enter.",
            vi=f"Chưa có biên bản đã ký để đính chính cho {', '.join(missing) or '—'}; "
            "hãy dùng enter.",
            code="P405",
            fields=("race",),
        )
    digests = {signed[s.race.id].batch.digest for s in seats}
    if len(digests) > 1:
        raise EntryError(
            en="These races were signed in different batches; correct one batch at a time "
            "(choose with --race).",
            vi="Các cuộc bầu cử này được ký trong các lô khác nhau; hãy đính chính từng lô "
            "(chọn bằng --race).",
            code="P406",
            fields=("race",),
        )
    # The earlier explanations are offered again, but not W208's: it explained the
    # change the earlier correction made, not the one this correction makes.
    races = [
        Race(s, form_fields(s), _without_w208(values_from_minutes(signed[s.race.id].minutes)))
        for s in seats
    ]
    previous = {s.race.id: signed[s.race.id].minutes for s in seats}
    return Plan(races, True, digests.pop(), previous), notes


def minutes_of(
    station: Station,
    races: Sequence[Race],
    values: Callable[[Race], dict[str, str]],
    *,
    round_: str,
) -> tuple[list[CountingMinutes], list[tuple[Race, EntryError]]]:
    """Each race's minutes from the values entered for it, and the races whose values
    do not make one (with why); the line prompts and the app both build them here."""
    minutes: list[CountingMinutes] = []
    broken: list[tuple[Race, EntryError]] = []
    for race in races:
        try:
            minutes.append(
                minutes_from_values(race.seat, station.polling_area_id, values(race), round_=round_)
            )
        except EntryError as exc:
            broken.append((race, exc))
    return minutes, broken


class DoubleEntry:
    """One run of the double-entry flow over a station's outbox drafts."""

    def __init__(
        self, station: Station, term: Terminal, plan: Plan, *, round_: str = "main"
    ) -> None:
        self.station = station
        self.term = term
        self.plan = plan
        self.round = round_
        self.outbox = station.outbox

    # --- drafts --------------------------------------------------------------------

    def _draft(self, race_id: str, copy: str) -> dict[str, str]:
        return self.outbox.draft(self.station.station_id, race_id, self.round, copy)

    def _save(self, race_id: str, copy: str, key: str, value: str) -> None:
        self.outbox.save_field(self.station.station_id, race_id, self.round, copy, key, value)

    # --- typing one field ----------------------------------------------------------

    def _ask_field(self, f: FormField, prefix: str, default: str | None) -> str:
        hint = ""
        if default is not None:
            hint = f" [{show(f, default)}; Enter = giữ / keep" + (
                ", - = xoá / clear]" if f.kind != "count" else "]"
            )
        while True:
            text = self.term.ask(f"  {prefix}{f.label}{hint}: ").strip()
            if default is not None:
                if text == "":
                    return default
                if text == "-" and f.kind != "count":
                    return ""
            problem = check_format(f, text)
            if problem is None:
                return normalise(f, text)
            self.term.say(f"    ✗ {problem}")

    def enter_copy(self, copy: str) -> None:
        who = (
            "A (lần nhập thứ nhất / first entry)"
            if copy == "A"
            else "B (lần nhập thứ hai / second entry)"
        )  # noqa: E501
        self.term.say(f"Cán bộ {who}")
        for race in self.plan.races:
            draft = self._draft(race.id, copy)
            self.term.say(race.heading())
            if DONE in draft:
                self.term.say("  (đã nhập xong / already entered)")
                continue
            if draft:
                self.term.say(
                    f"  Tiếp tục bản nháp: {len(draft)} ô đã lưu / resuming the draft: "
                    f"{len(draft)} fields already saved"
                )
            total = len(race.fields)
            for i, f in enumerate(race.fields, start=1):
                if f.key in draft:
                    continue
                value = self._ask_field(f, f"[{i}/{total}] ", race.defaults.get(f.key))
                self._save(race.id, copy, f.key, value)
            self._save(race.id, copy, DONE, "1")

    # --- settling differences ------------------------------------------------------

    def differences(self, race: Race) -> list[tuple[FormField, str, str]]:
        a, b = self._draft(race.id, "A"), self._draft(race.id, "B")
        return [
            (f, a.get(f.key, ""), b.get(f.key, ""))
            for f in race.fields
            if normalise(f, a.get(f.key, "")) != normalise(f, b.get(f.key, ""))
        ]

    def resolve(self, race: Race) -> None:
        settled = self._draft(race.id, "R")
        if DONE in settled:
            return
        diffs = self.differences(race)
        if not diffs:
            self.term.say(f"{race.id}: hai lần nhập khớp nhau / both entries agree.")
            self._save(race.id, "R", DONE, "1")
            return
        self.term.say()
        self.term.say(
            f"{race.id}: hai lần nhập khác nhau ở {len(diffs)} ô / the two entries differ "
            f"in {len(diffs)} field{'s' if len(diffs) > 1 else ''}:"
        )
        width = max(len(f.label) for f, _, _ in diffs)
        self.term.say(f"  {'Ô / field':<{width}}  {'A':>14}  {'B':>14}")
        for f, a, b in diffs:
            self.term.say(f"  {f.label:<{width}}  {show(f, a):>14}  {show(f, b):>14}")
        for n, (f, a, b) in enumerate(diffs, start=1):
            if f.key in settled:
                continue
            self.term.say(f"  ({n}/{len(diffs)}) {f.label}: A = {show(f, a)}, B = {show(f, b)}")
            while True:
                text = self.term.ask(
                    "    Chọn A, B hoặc gõ giá trị đúng / choose A, B or type the right value: "
                ).strip()
                if text.lower() == "a":
                    value = a
                elif text.lower() == "b":
                    value = b
                elif text == "":
                    continue
                else:
                    problem = check_format(f, text)
                    if problem is not None:
                        self.term.say(f"    ✗ {problem}")
                        continue
                    value = normalise(f, text)
                break
            self._save(race.id, "R", f.key, value)
            self.term.say(f"    → {show(f, value)}")
        self._save(race.id, "R", DONE, "1")

    def values(self, race: Race) -> dict[str, str]:
        values = dict(self._draft(race.id, "A"))
        values.update(self._draft(race.id, "R"))
        values.pop(DONE, None)
        return values

    # --- the law's checks ----------------------------------------------------------

    def _fix(self, race: Race, keys: Sequence[str]) -> None:
        values = self.values(race)
        by_key = {f.key: f for f in race.fields}
        for key in keys:
            f = by_key[key]
            new = self._ask_field(f, "sửa / fix: ", values.get(key, ""))
            self._save(race.id, "R", key, new)

    def build(self) -> list[CountingMinutes] | None:
        """Minutes that pass the checks with every warning explained, or None (quit)."""
        while True:
            minutes, broken = minutes_of(
                self.station, self.plan.races, self.values, round_=self.round
            )
            if broken:
                for race, problem in broken:
                    self.term.say(f"✗ [{problem.code}] {problem.message_vi}")
                    self.term.say(f"  {problem.message_en}")
                    self._fix(race, [k for k in problem.fields if k])
                continue
            findings = checks.check(
                self.station,
                minutes,
                previous=self.plan.previous or None,
                supersedes=self.plan.supersedes,
                reason=self._reason() or None,
            )
            errors = checks.errors(findings)
            if errors:
                if not self._offer_fixes(errors):
                    return None
                continue
            missing = checks.unexplained(findings, minutes)
            if missing:
                self._explain(missing)
                continue
            return [checks.keep_explanations(m, findings) for m in minutes]

    def _offer_fixes(self, errors: list[Finding]) -> bool:
        self.term.say()
        self.term.say(
            f"Kiểm tra theo Luật: {len(errors)} lỗi phải sửa trước khi ký / "
            f"the law's checks: {len(errors)} error(s) to fix before signing:"
        )
        for f in errors:
            for line in checks.describe(f):
                self.term.say(line)
        answer = self.term.ask(
            "Sửa các ô được nêu ngay? / correct the named fields now? [Enter = có/yes, q = thoát/quit]: "  # noqa: E501
        ).strip()
        if answer.lower() in _QUIT:
            self.term.say(
                "Bản nháp được giữ lại; chạy lại lệnh để tiếp tục / the draft is kept; run the "
                "same command to continue."
            )
            return False
        races = {r.id: r for r in self.plan.races}
        asked: set[tuple[str, str]] = set()
        for f in errors:
            race = races.get(f.race_id or "")
            targets = [race] if race is not None else self.plan.races
            for r in targets:
                keys = [k for k in keys_for(f.fields, r.seat) if (r.id, k) not in asked]
                if not keys:
                    continue
                self.term.say(f"{f.code} [{r.id}]: {f.message_vi}")
                self._fix(r, keys)
                asked.update((r.id, k) for k in keys)
        if not asked:
            self.term.say(
                "Không có ô nào sửa được ở đây; hãy kiểm tra định nghĩa cuộc bầu cử / "
                "no field here can fix this; check the election definition."
            )
            return False
        return True

    def _explain(self, warnings: list[Finding]) -> None:
        self.term.say()
        self.term.say(
            "Cảnh báo: mỗi cảnh báo cần một lời giải thích được ghi vào biên bản / "
            "warnings: each needs an explanation, recorded in the minutes:"
        )
        for f in warnings:
            for line in checks.describe(f):
                self.term.say(line)
            while True:
                text = clean_text(self.term.ask("    Giải thích / explanation: "))
                if text:
                    break
            self._save(f.race_id or BATCH_RACE, "R", f"explain:{f.code}", text)

    # --- correction reason ---------------------------------------------------------

    def _reason(self) -> str:
        return self._draft(BATCH_RACE, "R").get("reason", "")

    def ask_reason(self) -> str:
        reason = self._reason()
        while not reason:
            reason = clean_text(
                self.term.ask(
                    "Lý do đính chính (bắt buộc) / reason for the correction (required): "
                )
            )
        self._save(BATCH_RACE, "R", "reason", reason)
        return reason

    # --- a correction's draft belongs to one signed batch ----------------------------

    def forget_stale_draft(self) -> bool:
        """Set aside a correction draft begun against another batch than the one it
        would now replace (a newer batch was signed meanwhile, say from a file): its
        entries and reason were about figures no longer current, and signing them
        would silently undo the newer batch. True when one was set aside."""
        if not self.plan.correction or self.plan.supersedes is None:
            return False
        sid = self.station.station_id
        keys = [(r.id, self.round) for r in self.plan.races] + [(BATCH_RACE, self.round)]
        begun = self._draft(BATCH_RACE, "R").get(SUPERSEDES)
        drafted = self.outbox.drafted_races(sid)
        stale = begun != self.plan.supersedes and any(k in drafted for k in keys)
        if stale:
            self.outbox.clear_drafts(sid, keys)
            old = paper_digest(begun) if begun else "?"
            new = paper_digest(self.plan.supersedes)
            self.term.say(
                f"Bản đang nhập dở để đính chính lô {old} đã bỏ: lô {new} đã được ký sau đó. "
                "Nhập lại từ đầu. / The correction begun against batch "
                f"{old} is set aside: batch {new} was signed since. Enter it again."
            )
        self._save(BATCH_RACE, "R", SUPERSEDES, self.plan.supersedes)
        return stale

    # --- the whole flow ------------------------------------------------------------

    def summary(self, minutes: Sequence[CountingMinutes]) -> None:
        self.term.say()
        self.term.say("Biên bản sẽ ký / the minutes to sign:")
        races = {r.id: r for r in self.plan.races}
        for m in minutes:
            seat = races[m.race_id].seat
            self.term.say(races[m.race_id].heading())
            self.term.say(
                f"  cử tri / voters {vn_int(m.voters_on_list)} · đã bầu / voted "
                f"{vn_int(m.voters_voted)} · phát ra / issued {vn_int(m.ballots_issued)}"
            )
            self.term.say(
                f"  thu vào / received {vn_int(m.ballots_received)} · hợp lệ / valid "
                f"{vn_int(m.valid_ballots)} · không hợp lệ / invalid {vn_int(m.invalid_ballots)}"
            )
            for c in seat.constituency.candidates:
                self.term.say(f"    {c.full_name:<32} {vn_int(m.candidate_votes[c.id]):>9}")
            for code, text in m.explanations.items():
                self.term.say(f"  giải thích / explained {code}: {text}")

    def run(self, load_key: Callable[[], SigningKey]) -> StoredBatch | None:
        sid = self.station.station_id
        if self.plan.correction:
            self.forget_stale_draft()
            self.term.say(
                "ĐÍNH CHÍNH: lô mới thay thế lô "
                f"{(self.plan.supersedes or '')[:16]} / CORRECTION: a new batch replacing it"
            )
            self.ask_reason()
        self.enter_copy("A")
        if any(DONE not in self._draft(r.id, "B") for r in self.plan.races):
            self.term.say()
            self.term.ask(
                "Chuyển cho cán bộ B nhập lại độc lập; nhấn Enter khi sẵn sàng / "
                "hand over to official B for the independent second entry; press Enter: "
            )
            self.term.clear()
        self.enter_copy("B")
        for race in self.plan.races:
            self.resolve(race)
        minutes = self.build()
        if minutes is None:
            return None
        self.summary(minutes)
        while True:
            answer = self.term.ask(
                "Gõ KÝ (hoặc SIGN) để ký và lưu, Q để thoát và giữ bản nháp / "
                "type KÝ (or SIGN) to sign and store, Q to quit keeping the draft: "
            ).strip()
            if answer.lower() in _QUIT:
                return None
            if answer.lower() in _YES:
                break
        key = load_key()
        reason = self._reason() if self.plan.correction else None
        stored = sign_and_store(
            self.station.outbox,
            key,
            election_id=self.station.config.election_id,
            station_id=sid,
            polling_area_id=self.station.polling_area_id,
            minutes=minutes,
            supersedes=self.plan.supersedes,
            reason=reason,
        )
        self.outbox.clear_drafts(
            sid, [(r.id, self.round) for r in self.plan.races] + [(BATCH_RACE, self.round)]
        )
        return stored


def _without_w208(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if k != "explain:W208"}


def paper_digest(digest: str) -> str:
    """The batch's digest as written on the paper minutes: 16 hex digits in fours."""
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4)).upper()
