"""The fields of a counting minutes in words, and the format check that names them.

One table of labels (the law's words, Art. 75.2, and their English; the totals
and rounds as ``glossary`` words them) for every surface that names a field: the
rules' messages, the offline tally, and any form or sheet that wants them.
``format_findings`` says, field by field, why a minutes as received (JSON, not
yet a ``CountingMinutes``) does not match the wire format: the schema's own types
judge each value, so the two cannot drift.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from schemas.models import Constituency, Count, CountingMinutes, Finding, Id, Round
from tally_server.core.definition import Election
from tally_server.core.glossary import FIELD, ROUND, Words
from tally_server.core.numbers import en_int, vn_int

COUNT_NAMES = (
    "voters_on_list",
    "voters_voted",
    "ballots_issued",
    "ballots_received",
    "valid_ballots",
    "invalid_ballots",
)
"""The minutes' six counts, in the order of the form (Art. 75.2)."""

COUNTS: tuple[tuple[str, Words], ...] = tuple(
    (name, Words(vi=FIELD[name].vi[:1].lower() + FIELD[name].vi[1:], en=FIELD[name].en.lower()))
    for name in COUNT_NAMES
)
"""The six totals of a counting minutes, in the order of the form, worded by the
glossary (as a sentence says them: 'số phiếu hợp lệ', 'valid ballots')."""

COMPLAINTS: tuple[tuple[str, Words], ...] = (
    ("received", Words(vi="số khiếu nại, tố cáo nhận được", en="complaints received")),
    (
        "resolved",
        Words(vi="số khiếu nại, tố cáo đã giải quyết", en="complaints resolved by the team"),
    ),
    ("forwarded", Words(vi="số khiếu nại, tố cáo chuyển lên cấp trên", en="complaints forwarded")),
)

LABELS: dict[str, Words] = {
    "schema": Words(vi="lược đồ tài liệu", en="document schema"),
    "race_id": Words(vi="mã cuộc bầu cử", en="race id"),
    "constituency_id": Words(vi="mã đơn vị bầu cử", en="constituency id"),
    "polling_area_id": Words(vi="mã khu vực bỏ phiếu", en="polling area id"),
    "round": Words(vi="vòng bầu cử", en="round"),
    **dict(COUNTS),
    "candidate_votes": Words(
        vi="số phiếu bầu cho từng người ứng cử", en="votes for each candidate"
    ),
    "ballots_by_names_kept": Words(
        vi="số phiếu hợp lệ theo số tên giữ lại", en="valid ballots by the number of names kept"
    ),
    "complaints": Words(vi="khiếu nại, tố cáo", en="complaints and denunciations"),
    **{f"complaints.{name}": words for name, words in COMPLAINTS},
    "signatories": Words(vi="người ký biên bản", en="signatories"),
    "explanations": Words(vi="giải trình cảnh báo", en="explanations of warnings"),
}
"""Field path -> its label in both languages; ``label`` adds the per-candidate and
per-pile ones."""

_PILE = re.compile(r"ballots_by_names_kept\[(\d+)\]")
_MAX_COUNT: int = next(
    m.le for m in getattr(Count, "__metadata__", ()) if getattr(m, "le", None) is not None
)


def label(path: str, con: Constituency | None = None) -> Words:
    """The field at ``path`` in words: ``candidate_votes.X`` names the candidate
    (from ``con``'s list when it is there), ``ballots_by_names_kept[k]`` its pile."""
    if path.startswith("candidate_votes."):
        cid = path.removeprefix("candidate_votes.")
        name = next((c.full_name for c in con.candidates if c.id == cid), None) if con else None
        if name is None:
            return Words(vi=f"số phiếu bầu cho người ứng cử {cid}", en=f"votes for candidate {cid}")
        return Words(vi=f"số phiếu bầu cho {name} ({cid})", en=f"votes for {name} ({cid})")
    if m := _PILE.fullmatch(path):
        k = int(m[1]) + 1
        return Words(
            vi=f"số phiếu hợp lệ giữ {k} tên", en=f"valid ballots keeping {k} name{'s' * (k > 1)}"
        )
    return LABELS.get(path, Words(vi=path, en=path))


def count_finding(
    path: str, value: object, con: Constituency | None, race_id: str | None
) -> Finding:
    """E100 for a figure that is not a count, naming the field in words."""
    field = label(path, con)
    shown = _json(value)
    return Finding(
        code="E100",
        severity="error",
        race_id=race_id,
        fields=[path],
        figures={"field": path, "value": shown},
        message_vi=f"E100: {field.vi} là {shown}: không phải số nguyên không âm",
        message_en=f"E100: {field.en} is {shown}: not a non-negative whole number",
    )


def _json(value: object) -> str:
    try:
        return msgspec.json.encode(value).decode("utf-8")
    except (TypeError, msgspec.EncodeError):
        return repr(value)


def raw_ids(doc: Mapping[str, Any]) -> dict[str, str]:
    """The race, constituency, polling area and round a raw minutes names, those
    that are text (a minutes that fails to decode still says where it is from)."""
    return {
        k: v
        for k in ("polling_area_id", "race_id", "constituency_id", "round")
        if isinstance(v := doc.get(k), str)
    }


def where(source: str, ids: Mapping[str, str], election: Election) -> Words:
    """Where a minutes is from, in Vietnamese (file, polling area and race, with
    their names) and in English (their ids only: the names are Vietnamese words)."""
    vi, en = [f"tệp {source}"], [f"file {source}"]
    area_id, race_id = ids.get("polling_area_id"), ids.get("race_id")
    if area_id is None:
        vi.append("khu vực bỏ phiếu không rõ")
        en.append("polling area not given")
    else:
        area = election.polling_areas.get(area_id)
        vi.append(f"khu vực bỏ phiếu {area_id}" + (f" ({area.name})" if area else ""))
        en.append(f"polling area {area_id}")
    if race_id is None:
        vi.append("cuộc bầu cử không rõ")
        en.append("race not given")
    else:
        race = election.races.get(race_id)
        vi.append(f"cuộc bầu cử {race_id}" + (f" ({race.name})" if race else ""))
        en.append(f"race {race_id}")
    rnd = ids.get("round", "main")
    if rnd != "main" and rnd in ROUND:
        vi.append(ROUND[rnd].vi)
        en.append(ROUND[rnd].en)
    return Words(vi=", ".join(vi), en=", ".join(en))


_COUNT_NAMES = frozenset(COUNT_NAMES)
_FIELDS = {f.encode_name: f for f in msgspec.structs.fields(CountingMinutes)}


def format_findings(doc: Mapping[str, Any], election: Election, source: str) -> list[Finding]:
    """Why ``doc`` is not a well-formed counting minutes, one finding per field,
    each naming the file, the polling area, the race and the field (and candidate)
    in words, in Vietnamese and in English apart. Empty when every field is right
    (what is wrong is then the whole, and the caller says so)."""
    ids = raw_ids(doc)
    at = where(source, ids, election)
    con = election.constituencies.get((ids.get("race_id", ""), ids.get("constituency_id", "")))
    race_id = ids.get("race_id")
    out: list[Finding] = []

    def bad(code: str, path: str, value: object, *, vi: str, en: str) -> None:
        field = label(path, con)
        figures: dict[str, int | str] = {"field": path, **ids}
        if value is not _MISSING:
            figures["value"] = _json(value)
        if path.startswith("candidate_votes."):
            figures["candidate"] = path.removeprefix("candidate_votes.")
        out.append(
            Finding(
                code=code,
                severity="error",
                race_id=race_id,
                fields=[path],
                figures=figures,
                message_vi=f"{code}: {at.vi}: {field.vi} {vi}",
                message_en=f"{code}: {at.en}: {field.en} {en}",
            )
        )

    def count(path: str, value: object) -> None:
        if not _fits(value, Count):
            shown = _json(value)
            bad(
                "E100",
                path,
                value,
                vi=f"là {shown}: phải là số nguyên từ 0 đến {vn_int(_MAX_COUNT)}",
                en=f"is {shown}: must be a whole number from 0 to {en_int(_MAX_COUNT)}",
            )

    for name in doc:
        if name not in _FIELDS:
            bad(
                "S100",
                name,
                _MISSING,
                vi="không có trong định dạng biên bản",
                en="is not a field of the counting minutes",
            )
    for name, f in _FIELDS.items():
        if name not in doc:
            if f.required:
                bad("S100", name, _MISSING, vi="bị thiếu", en="is missing")
            continue
        value = doc[name]
        if name in ("race_id", "constituency_id", "polling_area_id"):
            if not _fits(value, Id):
                bad(
                    "S100",
                    name,
                    value,
                    vi=f"“{_json(value)}” không hợp lệ (chữ cái không dấu, chữ số, . _ -)",
                    en=f"“{_json(value)}” is not valid (ASCII letters, digits, . _ -)",
                )
        elif name == "round":
            if not _fits(value, Round):
                bad(
                    "S100",
                    name,
                    value,
                    vi=f"là {_json(value)}: phải là main, revote hoặc supplementary",
                    en=f"is {_json(value)}: must be main, revote or supplementary",
                )
        elif name in _COUNT_NAMES:
            count(name, value)
        elif name == "candidate_votes" and isinstance(value, dict):
            for cid, votes in value.items():
                if _fits(cid, Id):
                    count(f"candidate_votes.{cid}", votes)
                else:
                    bad(
                        "S100",
                        name,
                        cid,
                        vi=f"có mã người ứng cử “{cid}” không hợp lệ",
                        en=f"has a candidate id “{cid}” that is not valid",
                    )
        elif name == "ballots_by_names_kept" and isinstance(value, list):
            for i, pile in enumerate(value):
                count(f"ballots_by_names_kept[{i}]", pile)
        elif name == "complaints" and isinstance(value, dict):
            for key, n in value.items():
                path = f"complaints.{key}"
                if path in LABELS:
                    count(path, n)
                else:
                    bad(
                        "S100",
                        path,
                        _MISSING,
                        vi="không có trong định dạng biên bản",
                        en="is not a field of the counting minutes",
                    )
        elif not _fits(value, f.type):
            bad(
                "S100",
                name,
                value,
                vi="không đúng định dạng biên bản",
                en="does not match the format of the counting minutes",
            )
    return out


_MISSING = object()


def _fits(value: object, kind: Any) -> bool:
    try:
        msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError:
        return False
    return True
