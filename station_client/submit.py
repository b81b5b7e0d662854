"""Minutes from a file (JSON or CSV), checked exactly as typed ones are, then signed.

CSV: one row per field, columns ``race_id,field,value`` (header optional),
``field`` being a form key (see station_client.forms). JSON: one counting
minutes, or a list of them (schemas/json/minutes.v1.schema.json).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from schemas import codec
from schemas.models import CountingMinutes, Finding
from schemas.signing import SigningKey
from station_client import checks
from station_client.entry import plan_entry
from station_client.errors import ChecksFailed, EntryError
from station_client.forms import form_fields, minutes_from_values
from station_client.outbox import StoredBatch
from station_client.signer import sign_and_store
from station_client.station import Station

SigningKeyLoader = Callable[[], SigningKey]


def read_minutes(path: Path, station: Station) -> list[CountingMinutes]:
    raw = path.read_bytes()
    try:
        text = unicodedata.normalize("NFC", raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise EntryError(
            en=f"{path.name} is not UTF-8 text: {exc}",
            vi=f"{path.name} không phải văn bản UTF-8: {exc}",
            code="P410",
            fields=("file",),
        ) from exc
    if path.suffix.lower() == ".csv":
        return _from_csv(text, path.name, station)
    if text.lstrip().startswith("["):
        return codec.decode(text.encode("utf-8"), list[CountingMinutes])
    return [codec.decode(text.encode("utf-8"), CountingMinutes)]


def _from_csv(text: str, name: str, station: Station) -> list[CountingMinutes]:
    seats = {s.race.id: s for s in station.seats()}
    values: dict[str, dict[str, str]] = {}
    rows = list(csv.reader(io.StringIO(text)))
    start = (
        1
        if rows and [c.strip().lower() for c in rows[0][:3]] == ["race_id", "field", "value"]
        else 0
    )  # noqa: E501
    for line, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise EntryError(
                en=f"{name} line {line}: expected 3 columns race_id,field,value, found {len(row)}.",
                vi=f"{name} dòng {line}: cần 3 cột race_id,field,value, có {len(row)}.",
                code="P410",
                fields=(f"{name}:{line}",),
            )
        race_id, key, value = (c.strip() for c in row)
        seat = seats.get(race_id)
        if seat is None:
            raise EntryError(
                en=f"{name} line {line}: race {race_id!r} is not held at polling area "
                f"{station.polling_area_id}.",
                vi=f"{name} dòng {line}: cuộc bầu cử {race_id!r} không tổ chức tại khu vực "
                f"{station.polling_area_id}.",
                code="P410",
                fields=(f"{name}:{line}", "race_id"),
            )
        known = {f.key for f in form_fields(seat)}
        if key not in known and not key.startswith("explain:"):
            raise EntryError(
                en=f"{name} line {line}: unknown field {key!r} for race {race_id}.",
                vi=f"{name} dòng {line}: không có ô {key!r} cho cuộc bầu cử {race_id}.",
                code="P410",
                fields=(f"{name}:{line}", "field"),
            )
        race_values = values.setdefault(race_id, {})
        if key in race_values:
            raise EntryError(
                en=f"{name} line {line}: field {key!r} of race {race_id} given twice.",
                vi=f"{name} dòng {line}: ô {key!r} của cuộc bầu cử {race_id} xuất hiện hai lần.",
                code="P410",
                fields=(f"{name}:{line}", "field"),
            )
        race_values[key] = value
    return [
        minutes_from_values(seats[race_id], station.polling_area_id, v)
        for race_id, v in values.items()
    ]


class FindingsError(ChecksFailed):
    """Checks failed; ``findings`` holds what to show."""

    def __init__(self, findings: Sequence[Finding], *, unexplained: bool) -> None:
        self.findings = list(findings)
        codes = ", ".join(f"{f.code}[{f.race_id}]" for f in self.findings)
        if unexplained:
            super().__init__(
                en=f"Warnings without an explanation: {codes}. Add an explanation for each in "
                "the minutes' explanations (JSON) or as explain:<code> rows (CSV).",
                vi=f"Cảnh báo chưa có giải thích: {codes}. Thêm lời giải thích cho từng cảnh báo "
                "vào explanations (JSON) hoặc dòng explain:<mã> (CSV).",
                code="P408",
                fields=tuple(f"{f.race_id}.explanations.{f.code}" for f in self.findings),
            )
        else:
            super().__init__(
                en=f"The law's checks found errors: {codes}. Nothing was signed.",
                vi=f"Kiểm tra theo Luật phát hiện lỗi: {codes}. Chưa ký gì.",
                code="P407",
                fields=tuple(sorted({x for f in self.findings for x in f.fields})),
            )


def submit(
    station: Station,
    minutes: Sequence[CountingMinutes],
    load_key: SigningKeyLoader,
    *,
    correction: bool = False,
    reason: str | None = None,
) -> tuple[StoredBatch, list[Finding]]:
    """Check and sign minutes read from a file; raise with the findings otherwise."""
    if not minutes:
        raise EntryError(
            en="The file holds no minutes.", vi="Tệp không có biên bản nào.", code="P411"
        )
    for m in minutes:
        if m.polling_area_id != station.polling_area_id:
            raise EntryError(
                en=f"Minutes for polling area {m.polling_area_id}; this station is "
                f"{station.polling_area_id}.",
                vi=f"Biên bản của khu vực {m.polling_area_id}; "
                f"trạm này là {station.polling_area_id}.",
                code="P412",
                fields=("polling_area_id",),
            )
    race_ids = [m.race_id for m in minutes]
    plan, notes = plan_entry(station, race_ids=race_ids, correction=correction)
    if not correction and len(plan.races) != len(set(race_ids)):
        raise EntryError(
            en="Already signed: " + "; ".join(notes),
            vi="Đã ký: " + "; ".join(notes),
            code="P413",
            fields=("race_id",),
        )
    if correction and not (reason and reason.strip()):
        raise EntryError(
            en="A correction needs a reason (--reason).",
            vi="Đính chính phải có lý do (--reason).",
            code="P414",
            fields=("reason",),
        )
    reason = unicodedata.normalize("NFC", reason.strip()) if reason else None
    findings = checks.check(
        station,
        minutes,
        previous=plan.previous or None,
        supersedes=plan.supersedes,
        reason=reason,
    )
    errors = checks.errors(findings)
    if errors:
        raise FindingsError(errors, unexplained=False)
    missing = checks.unexplained(findings, minutes)
    if missing:
        raise FindingsError(missing, unexplained=True)
    stored = sign_and_store(
        station.outbox,
        load_key(),
        election_id=station.config.election_id,
        station_id=station.station_id,
        polling_area_id=station.polling_area_id,
        minutes=[checks.keep_explanations(m, findings) for m in minutes],
        supersedes=plan.supersedes,
        reason=reason,
    )
    return stored, findings
