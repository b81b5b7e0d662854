"""Where the sheets' data comes from (a server, or files tallied offline) and
which files they are written to. Shared by the dashboard and ``tally-tui print``.

File names: ``ket-qua_<race>_<constituency>.pdf`` (constituency result minutes),
``kiem-phieu_<polling area>[_<race>].pdf`` (counting minutes),
``tong-ket_<committee>.pdf`` (summary minutes).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from schemas import codec, read
from schemas.errors import KiemphieuError
from schemas.models import CountingMinutes, ElectionDefinition, Envelope, ResultBatch
from tally_server.core.definition import Election, load_election
from tally_server.core.fasttally import tally_from_scratch
from tally_server.core.rules import check_minutes, has_errors
from tally_server.core.tally import ConstituencyResult, final_of, results_digest
from tui.client import ApiClient
from tui.errors import BadAnswer, SheetError
from tui.pdf.document import write_pdf
from tui.pdf.fingerprint import Fingerprint
from tui.pdf.forms import Meeting
from tui.pdf.sheets import constituency_sheet, polling_area_sheet, summary_sheets


# repr=False: the repr of a whole election and its results is megabytes long.
@dataclass(slots=True, repr=False)
class SheetSource:
    """An election, its results, and the fingerprint of the state they come from."""

    election: Election
    results: list[ConstituencyResult]
    fingerprint: Fingerprint
    minutes: dict[str, list[CountingMinutes]] = field(default_factory=dict)
    """Polling area id -> its current minutes (offline: every one read)."""
    rejected: list[str] = field(default_factory=list)
    """Offline: minutes left out because the law's checks found errors."""
    made_on: dt.date | None = None
    """The day the committee or board met, from the print command; None leaves the
    minutes' "ngày … tháng … năm" blank (never the printing day)."""
    meeting: Meeting = field(default_factory=Meeting)
    """The meeting's time, place and members, from the print command."""
    corrections: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(polling area, race, round) -> the reason, for minutes that correct earlier ones."""

    def meeting_on(self) -> Meeting:
        m = self.meeting
        return Meeting(m.day or self.made_on, m.time, m.place, m.members)

    def result(
        self, race_id: str, constituency_id: str, round_: str = "main"
    ) -> ConstituencyResult:
        for r in self.results:
            if (r.race_id, r.constituency_id, r.round) == (race_id, constituency_id, round_):
                return r
        raise SheetError(
            en=f"No result for constituency {race_id}/{constituency_id} (round {round_}).",
            vi=f"Không có kết quả của đơn vị bầu cử {race_id}/{constituency_id} (vòng {round_}).",
            fields=("constituency",),
            figures={"race_id": race_id, "constituency_id": constituency_id, "round": round_},
        )


# --- from a server ----------------------------------------------------------------------


def source_from_results(
    definition: ElectionDefinition, doc: read.ResultsDocument, made_on: dt.date | None = None
) -> SheetSource:
    election = Election.from_definition(definition)
    fp = Fingerprint.from_ledger(election.id, doc.ledger_head, doc.ledger_index, doc.results_sha256)
    return SheetSource(election, doc.results, fp, made_on=made_on)


async def source_from_server(client: ApiClient) -> SheetSource:
    """The election and every result at one ledger head (``GET /results.json``)."""
    election_bytes = await client.election_bytes()
    results_doc = await client.results()
    try:
        definition = codec.decode(election_bytes, ElectionDefinition)
    except KiemphieuError as exc:
        raise BadAnswer(
            en=f"The server's election definition does not decode: {exc.message_en}",
            vi=f"Định nghĩa cuộc bầu cử của máy chủ không đọc được: {exc.message_vi}",
            fields=("election",),
        ) from exc
    return source_from_results(definition, results_doc)


def minutes_from_area(doc: read.PollingAreaView) -> list[CountingMinutes]:
    """The current minutes of ``GET /polling-areas/{id}``."""
    return [item.minutes for item in doc.current]


def corrections_from_area(doc: read.PollingAreaView) -> dict[tuple[str, str, str], str]:
    """The current minutes that correct earlier ones, with the reason the team gave."""
    return {
        (doc.polling_area.id, item.race_id, item.round): item.reason or ""
        for item in doc.current
        if item.correction
    }


async def add_constituency_minutes(
    client: ApiClient, source: SheetSource, race_id: str, constituency_id: str
) -> None:
    """Fetch the current minutes of a constituency's polling areas (a few at a time),
    for 19/HĐBC-QH's table per commune."""
    con = source.election.constituencies.get((race_id, constituency_id))
    if con is None:
        return
    gate = asyncio.Semaphore(8)

    async def one(area_id: str) -> read.PollingAreaView:
        async with gate:
            return await client.polling_area(area_id)

    for doc in await asyncio.gather(*(one(a) for a in con.polling_area_ids)):
        source.minutes[doc.polling_area.id] = minutes_from_area(doc)
        source.corrections.update(corrections_from_area(doc))


# --- offline, from files -----------------------------------------------------------------


Read = tuple[CountingMinutes, str | None]
"""A minutes read from a file, with the correction's reason if its batch corrects one."""


def _minutes_in(doc: object, where: str) -> list[Read]:
    """Minutes in one JSON value: a minutes, a list, a batch, or a DSSE envelope."""
    if isinstance(doc, list):
        return [m for item in doc for m in _minutes_in(item, where)]
    if not isinstance(doc, dict):
        raise SheetError(
            en=f"{where}: not counting minutes, a batch or an envelope.",
            vi=f"{where}: không phải biên bản kiểm phiếu, gói kết quả hay phong bì ký.",
            fields=("file",),
            figures={"file": where},
        )
    raw = json.dumps(doc, ensure_ascii=False)
    if "payloadType" in doc:
        envelope = codec.decode(raw, Envelope)
        # offline: the payload is read, its signature is not checked here
        return _minutes_in(json.loads(base64.b64decode(envelope.payload)), where)
    schema = doc.get("schema")
    if schema == "kiemphieu/batch/v1":
        batch = codec.decode(raw, ResultBatch)
        reason = (batch.reason or "") if batch.supersedes else None
        return [(m, reason) for m in batch.minutes]
    return [(codec.decode(raw, CountingMinutes), None)]


def read_minutes_files(paths: Iterable[Path]) -> list[Read]:
    out: list[Read] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        try:
            docs = [json.loads(text)]
        except json.JSONDecodeError:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        for doc in docs:
            out.extend(_minutes_in(doc, str(path)))
    return out


def source_offline(
    election_path: Path, minutes_paths: Sequence[Path], made_on: dt.date | None = None
) -> SheetSource:
    """Tally the files here (``tally_from_scratch``), as an auditor would; minutes
    the law's checks reject are left out and listed in ``rejected``."""
    election = load_election(election_path)
    kept: list[CountingMinutes] = []
    rejected: list[str] = []
    corrections: dict[tuple[str, str, str], str] = {}
    seen: set[tuple[str, str, str]] = set()
    for m, reason in read_minutes_files(minutes_paths):
        findings = check_minutes(election, m)
        key = (m.polling_area_id, m.race_id, m.round)
        if has_errors(findings):
            codes = ", ".join(f.code for f in findings if f.severity == "error")
            rejected.append(f"{m.polling_area_id}/{m.race_id}/{m.round}: {codes}")
            continue
        if key in seen:
            raise SheetError(
                en=f"Two minutes for polling area {key[0]}, race {key[1]}, round {key[2]}.",
                vi=f"Hai biên bản cho khu vực bỏ phiếu {key[0]}, "
                f"cuộc bầu cử {key[1]}, vòng {key[2]}.",
                fields=("polling_area_id", "race_id", "round"),
                figures={"polling_area_id": key[0], "race_id": key[1], "round": key[2]},
            )
        seen.add(key)
        kept.append(m)
        if reason is not None:
            corrections[key] = reason
    tally = tally_from_scratch(election, kept)
    results = tally.results()
    minutes: dict[str, list[CountingMinutes]] = {}
    for m in kept:
        minutes.setdefault(m.polling_area_id, []).append(m)
    fp = Fingerprint.from_files(
        election.id, [election_path, *minutes_paths], results_digest(results)
    )
    return SheetSource(
        election, results, fp, minutes, rejected, made_on=made_on, corrections=corrections
    )


# --- writing -----------------------------------------------------------------------------


def _safe(part: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in part)


def print_constituency(
    source: SheetSource, race_id: str, constituency_id: str, out_dir: Path
) -> Path:
    results = [
        r for r in source.results if (r.race_id, r.constituency_id) == (race_id, constituency_id)
    ]
    if not results:
        source.result(race_id, constituency_id)  # raises, naming what is missing
    con = source.election.constituencies.get((race_id, constituency_id))
    # One sheet per round; a later round's ends with the result over the rounds.
    final = final_of(results, con.seats) if con is not None and len(results) > 1 else None
    stories = [
        constituency_sheet(
            source.election,
            r,
            final=final,
            meeting=source.meeting_on(),
            area_minutes=[
                m
                for area in (con.polling_area_ids if con else [])
                for m in source.minutes.get(area, [])
                if (m.race_id, m.constituency_id, m.round) == (race_id, constituency_id, r.round)
            ],
        )
        for r in results
    ]
    path = out_dir / f"ket-qua_{_safe(race_id)}_{_safe(constituency_id)}.pdf"
    title = f"Biên bản xác định kết quả bầu cử — {results[0].constituency_name}"
    return write_pdf(path, stories, source.fingerprint, title)


def print_polling_area(
    source: SheetSource,
    polling_area_id: str,
    race_id: str | None,
    out_dir: Path,
    minutes: Sequence[CountingMinutes] | None = None,
) -> Path:
    chosen = list(minutes if minutes is not None else source.minutes.get(polling_area_id, []))
    chosen = [
        m
        for m in chosen
        if m.polling_area_id == polling_area_id and (race_id is None or m.race_id == race_id)
    ]
    if not chosen:
        raise SheetError(
            en=f"No counting minutes for polling area {polling_area_id}"
            + (f", race {race_id}." if race_id else "."),
            vi=f"Không có biên bản kết quả kiểm phiếu của khu vực bỏ phiếu {polling_area_id}"
            + (f", cuộc bầu cử {race_id}." if race_id else "."),
            fields=("polling_area_id", "race_id"),
            figures={"polling_area_id": polling_area_id, "race_id": race_id or ""},
        )
    order = {r.id: i for i, r in enumerate(source.election.definition.races)}
    chosen.sort(key=lambda m: (order.get(m.race_id, 99), m.round))
    stories = [
        polling_area_sheet(
            source.election,
            m,
            correction=source.corrections.get((m.polling_area_id, m.race_id, m.round)),
        )
        for m in chosen
    ]
    suffix = f"_{_safe(race_id)}" if race_id else ""
    path = out_dir / f"kiem-phieu_{_safe(polling_area_id)}{suffix}.pdf"
    return write_pdf(
        path, stories, source.fingerprint, f"Biên bản kết quả kiểm phiếu — {polling_area_id}"
    )


def print_committee(source: SheetSource, committee_id: str, out_dir: Path) -> Path:
    stories = summary_sheets(
        source.election, committee_id, source.results, meeting=source.meeting_on()
    )
    path = out_dir / f"tong-ket_{_safe(committee_id)}.pdf"
    name = source.election.committees[committee_id].name
    return write_pdf(path, stories, source.fingerprint, f"Biên bản của {name}")


def print_summaries(source: SheetSource, out_dir: Path) -> list[Path]:
    """The minutes of every committee that runs at least one constituency, and the
    National Election Council's summary when the National Assembly race has results."""
    running = {r.committee_id for r in source.results}
    if any(source.election.races[r.race_id].level == "national_assembly" for r in source.results):
        running |= {c.id for c in source.election.definition.committees if c.level == "national"}
    return [
        print_committee(source, c.id, out_dir)
        for c in source.election.definition.committees
        if c.id in running
    ]


def print_all(source: SheetSource, out_dir: Path) -> list[Path]:
    """Every constituency's result minutes and every committee's summary."""
    seen: list[tuple[str, str]] = []
    for r in source.results:
        if (r.race_id, r.constituency_id) not in seen:
            seen.append((r.race_id, r.constituency_id))
    paths = [print_constituency(source, race, con, out_dir) for race, con in seen]
    return paths + print_summaries(source, out_dir)
