"""The counting minutes as a form: one flat key per field, in the paper's order.

Keys (also the ``field`` column of the CSV that ``submit`` reads):

    voters_on_list, voters_voted, ballots_issued, ballots_received,
    valid_ballots, invalid_ballots          whole numbers
    votes:<candidate id>                    whole number, one per candidate
    piles:<k>                               ballots keeping k names, k = 1..seats;
                                            all blank = not counted
    complaints.received / .resolved / .forwarded     whole numbers, blank = 0
    signatory:head, signatory:secretary,
    signatory:witness1, signatory:witness2  full names, blank = not given
    explain:<rule code>                     explanation of a warning
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.models import Complaints, CountingMinutes, Signatory
from station_client.errors import EntryError
from tally_server.core.definition import Seat
from tally_server.core.fields import COUNT_NAMES
from tally_server.core.glossary import FIELD
from tally_server.core.numbers import vn_int

Kind = Literal["count", "pile", "optional_count", "name"]

_COMPLAINTS = (
    ("complaints.received", "Khiếu nại, tố cáo nhận được", "Complaints received"),
    ("complaints.resolved", "Khiếu nại đã giải quyết tại Tổ", "Complaints resolved by the team"),
    ("complaints.forwarded", "Khiếu nại chuyển lên cấp trên", "Complaints forwarded"),
)
_SIGNATORIES = (
    ("signatory:head", "head", "Họ tên Tổ trưởng", "Team head's full name"),
    ("signatory:secretary", "secretary", "Họ tên Thư ký", "Secretary's full name"),
    ("signatory:witness1", "witness", "Họ tên cử tri chứng kiến 1", "Witness voter 1"),
    ("signatory:witness2", "witness", "Họ tên cử tri chứng kiến 2", "Witness voter 2"),
)


@dataclass(frozen=True, slots=True)
class FormField:
    key: str
    label_vi: str
    label_en: str
    kind: Kind

    @property
    def label(self) -> str:
        return f"{self.label_vi} / {self.label_en}"


def form_fields(seat: Seat) -> list[FormField]:
    fields = [FormField(k, FIELD[k].vi, FIELD[k].en, "count") for k in COUNT_NAMES]
    for c in seat.constituency.candidates:
        vi, en = f"Số phiếu bầu cho {c.full_name}", f"Votes for {c.full_name}"
        fields.append(FormField(f"votes:{c.id}", vi, en, "count"))
    for k in range(1, seat.constituency.seats + 1):
        fields.append(
            FormField(
                f"piles:{k}",
                f"Phiếu hợp lệ giữ {k} tên (trống: không đếm)",
                f"ballots keeping {k} name{'s' if k > 1 else ''} (blank: not counted)",
                "pile",
            )
        )
    fields += [FormField(k, vi, en, "optional_count") for k, vi, en in _COMPLAINTS]
    fields += [FormField(k, vi, en, "name") for k, _, vi, en in _SIGNATORIES]
    return fields


_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}([. ][0-9]{3})+")


def parse_count(text: str) -> int | None:
    """A whole number as an official types it: 1238, or 1.238 / 1 238 with the
    Vietnamese thousands separator. None when it is not one."""
    text = unicodedata.normalize("NFKC", text).strip()
    if _PLAIN.fullmatch(text):
        return int(text)
    if _GROUPED.fullmatch(text):
        return int(text.replace(".", "").replace(" ", ""))
    return None


def clean_text(text: str) -> str:
    """NFC, single spaces: how names are stored and compared."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalise(field: FormField, text: str) -> str:
    """The canonical text of a typed value (1.238 -> 1238), for storing and comparing."""
    if field.kind == "name":
        return clean_text(text)
    value = parse_count(text)
    if value is None:
        return clean_text(text)
    return str(value)


def check_format(field: FormField, text: str) -> str | None:
    """A message (vi / en) when ``text`` cannot be this field's value."""
    text = text.strip()
    if field.kind == "name":
        if len(clean_text(text)) > 200:
            return "Tên dài quá 200 ký tự / a name is at most 200 characters"
        return None
    if not text and field.kind in ("pile", "optional_count"):
        return None
    if not text:
        return "Ô này bắt buộc / this field is required"
    value = parse_count(text)
    if value is None:
        return (
            f"{text!r} không phải số nguyên không âm (ví dụ 1238 hoặc 1.238) / "
            f"{text!r} is not a whole number (for example 1238 or 1.238)"
        )
    if value > 1_000_000_000:
        return "Số quá lớn / number too large"
    return None


def show(field: FormField, value: str | None) -> str:
    """A stored value as the official reads it."""
    if value is None or value == "":
        return "(trống / blank)"
    if field.kind != "name":
        n = parse_count(value)
        if n is not None:
            return vn_int(n)
    return value


def minutes_from_values(
    seat: Seat,
    polling_area_id: str,
    values: Mapping[str, str],
    *,
    round_: str = "main",
) -> CountingMinutes:
    """Build the record from typed values; EntryError names every unusable field."""
    problems: list[str] = []
    bad: list[str] = []
    fields = form_fields(seat)

    def count(key: str, default: int | None = None) -> int:
        text = values.get(key, "").strip()
        if not text and default is not None:
            return default
        value = parse_count(text)
        if value is None:
            bad.append(key)
            problems.append(f"{key}: {text!r}")
            return 0
        return value

    figures = {k: count(k) for k in COUNT_NAMES}
    votes = {c.id: count(f"votes:{c.id}") for c in seat.constituency.candidates}
    pile_keys = [f.key for f in fields if f.kind == "pile"]
    given = [k for k in pile_keys if values.get(k, "").strip()]
    piles: list[int] | None = None
    if given and len(given) != len(pile_keys):
        missing = [k for k in pile_keys if k not in given]
        bad.extend(missing)
        problems.append(
            "piles: điền tất cả hoặc để trống tất cả / fill every pile or none "
            f"({', '.join(missing)})"
        )
    elif given:
        piles = [count(k) for k in pile_keys]
    complaints = Complaints(
        received=count("complaints.received", 0),
        resolved=count("complaints.resolved", 0),
        forwarded=count("complaints.forwarded", 0),
    )
    signatories = [
        Signatory(role=role, full_name=clean_text(values[key]))  # type: ignore[arg-type]
        for key, role, _, _ in _SIGNATORIES
        if clean_text(values.get(key, ""))
    ]
    explanations = {
        key.removeprefix("explain:"): clean_text(value)
        for key, value in sorted(values.items())
        if key.startswith("explain:") and clean_text(value)
    }
    if problems:
        raise EntryError(
            en=f"Race {seat.race.id}: these fields are not usable: {'; '.join(problems)}",
            vi=f"Cuộc bầu cử {seat.race.id}: các ô sau không dùng được: {'; '.join(problems)}",
            code="P403",
            fields=tuple(bad),
            figures={"race_id": seat.race.id},
        )
    return CountingMinutes(
        race_id=seat.race.id,
        constituency_id=seat.constituency.id,
        polling_area_id=polling_area_id,
        round=round_,  # type: ignore[arg-type]
        voters_on_list=figures["voters_on_list"],
        voters_voted=figures["voters_voted"],
        ballots_issued=figures["ballots_issued"],
        ballots_received=figures["ballots_received"],
        valid_ballots=figures["valid_ballots"],
        invalid_ballots=figures["invalid_ballots"],
        candidate_votes=votes,
        ballots_by_names_kept=piles,
        complaints=complaints,
        signatories=signatories,
        explanations=explanations,
    )


def values_from_minutes(minutes: CountingMinutes) -> dict[str, str]:
    """The form values of a record (for corrections and the CSV round trip)."""
    values = {k: str(getattr(minutes, k)) for k in COUNT_NAMES}
    for cid, n in minutes.candidate_votes.items():
        values[f"votes:{cid}"] = str(n)
    for k, n in enumerate(minutes.ballots_by_names_kept or [], start=1):
        values[f"piles:{k}"] = str(n)
    values["complaints.received"] = str(minutes.complaints.received)
    values["complaints.resolved"] = str(minutes.complaints.resolved)
    values["complaints.forwarded"] = str(minutes.complaints.forwarded)
    witnesses = iter(("signatory:witness1", "signatory:witness2"))
    for s in minutes.signatories:
        if s.role == "witness":
            key = next(witnesses, None)
            if key is None:
                continue
        else:
            key = f"signatory:{s.role}"
        values[key] = s.full_name
    for code, text in minutes.explanations.items():
        values[f"explain:{code}"] = text
    return values


def name_fields(
    text: str, paths: Sequence[str], seat: Seat, say: Callable[[FormField], str]
) -> str:
    """W208 names the fields a correction changed as paths (candidate_votes.QH-10-2):
    put each one's name, as ``say`` words the form field, in their place."""
    form = form_fields(seat)
    for path in sorted(paths, key=len, reverse=True):
        found = keys_for([path], seat)
        f = next((x for x in form if [x.key] == found), None)
        if f is not None:
            text = re.sub(rf"(?<![\w.]){re.escape(path)}(?![\w.])", say(f), text)
    return text


def keys_for(fields_named: Iterable[str], seat: Seat) -> list[str]:
    """Form keys for the fields a finding names (``valid_ballots``,
    ``candidate_votes.QH-10-1``, ``ballots_by_names_kept`` ...), in form order."""
    form = [f.key for f in form_fields(seat)]
    wanted: set[str] = set()
    for name in fields_named:
        name = name.removeprefix("$.").removeprefix("minutes.")
        name = re.sub(r"^minutes\[\d+\]\.", "", name)
        if name in form:
            wanted.add(name)
        elif name.startswith("candidate_votes"):
            cid = re.sub(r"^candidate_votes[.\[]?", "", name).strip("]'\"")
            if f"votes:{cid}" in form:
                wanted.add(f"votes:{cid}")
            else:
                wanted.update(k for k in form if k.startswith("votes:"))
        elif name.startswith("ballots_by_names_kept"):
            wanted.update(k for k in form if k.startswith("piles:"))
        elif name.startswith("complaints"):
            part = name.split(".", 1)[1] if "." in name else ""
            key = f"complaints.{part}"
            wanted.update([key] if key in form else [k for k in form if k.startswith("complaints")])
        elif f"votes:{name}" in form:
            wanted.add(f"votes:{name}")
    return [k for k in form if k in wanted]
