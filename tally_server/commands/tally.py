"""``tally-server tally``: the auditors' offline count of a set of minutes files."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemas.models import CountingMinutes, Finding, ResultBatch
    from tally_server.core.definition import Election
    from tally_server.core.fasttally import Tally
    from tally_server.core.tally import ConstituencyResult, FinalResult, Rollup

HELP = "count minutes files offline and determine every constituency's result"
DESCRIPTION = """\
Kiểm phiếu ngoại tuyến / offline tally for auditors.

Reads the election definition (a JSON file or a roster folder of CSV files) and
checks it against the law as `election validate` does: an error stops the tally
(exit status 1, every error listed), warnings are listed and the tally goes on.
Then reads the MINUTES files, checks every counting minutes with the law's rules
(docs/rules.md), leaves out those with errors (and any two minutes for the same
polling area, race and round: E124), tallies the rest and determines each
constituency's result as the law says. Text that is not in Unicode NFC is
normalised as it is read, in the definition as in the minutes, and the output
says how many strings of which file were.

A MINUTES file holds one counting minutes (JSON), a JSON list of them, a
result batch, a DSSE envelope of a batch, or JSON Lines of any of these.
Envelopes: the payload is used but its signature is NOT checked here (no keys
offline); check signatures with the server or `tally-server verify`.
"""

ACCEPTABLE = ("D102",)
"""Definition errors ``--accept`` may pass over: those the law leaves to a decision."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tally",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--election",
        required=True,
        metavar="SOURCE",
        help="election definition: election.json(.gz) or a roster folder of CSV files",
    )
    p.add_argument("minutes", nargs="+", metavar="MINUTES", help="minutes, batch or envelope files")
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"election_id", "results", "rollups", "rejected", "warnings", '
        '"definition_issues", "normalised", "results_sha256", ...}',
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if any minutes was rejected")
    p.add_argument(
        "--accept",
        action="append",
        choices=ACCEPTABLE,
        default=[],
        metavar="CODE",
        help="tally despite this definition error, one the law lets an authority decide: "
        "D102, a list shorter than the law's margin kept by the Council's (or committee's) "
        "decision when a candidate drops out; it is still listed",
    )
    p.set_defaults(handler=run_tally)


@dataclass
class Item:
    """One counting minutes read from a file, with where it came from."""

    source: str
    minutes: CountingMinutes
    findings: list[Finding] = field(default_factory=list)
    batch: ResultBatch | None = None
    """The batch it came in, so that a supplementary minutes is checked again, with
    its first round, exactly as the server checks it."""


@dataclass
class Loaded:
    items: list[Item] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    """Rejected entries of documents that are not well-formed minutes."""
    normalised: dict[str, int] = field(default_factory=dict)
    """File -> how many of its strings were not NFC (normalised as read)."""


def _finding_of(exc: Exception) -> Finding:
    from schemas.errors import KiemphieuError
    from schemas.models import Finding

    if isinstance(exc, KiemphieuError):
        figures = {k: v if isinstance(v, int | str) else str(v) for k, v in exc.figures.items()}
        return Finding(
            code=exc.code,
            severity="error",
            fields=list(exc.fields),
            figures=figures,
            message_vi=exc.message_vi,
            message_en=exc.message_en,
        )
    return Finding(code="S100", severity="error", message_vi=str(exc), message_en=str(exc))


def load(paths: list[Path], election: Election) -> Loaded:
    import msgspec

    from schemas.errors import KiemphieuError

    out = Loaded()
    for path in paths:
        data = path.read_bytes()
        try:
            docs: list[tuple[str, Any]] = [(str(path), _read_json(data))]
        except msgspec.DecodeError:
            docs = []
            for n, line in enumerate(data.splitlines(), start=1):
                if not line.strip():
                    continue
                source = f"{path}:{n}"
                try:
                    docs.append((source, _read_json(line)))
                except msgspec.DecodeError as exc:
                    out.unreadable.append(_rejected(source, {}, [_not_json(source, exc)]))
                except KiemphieuError as exc:
                    out.unreadable.append(_rejected(source, {}, [_finding_of(exc)]))
        except KiemphieuError as exc:
            out.unreadable.append(_rejected(str(path), {}, [_finding_of(exc)]))
        for source, doc in docs:
            _expand(doc, source, str(path), election, out)
    return out


def _read_json(data: bytes) -> Any:
    """The document, refused as the server would if it is not I-JSON (a key twice)."""
    import msgspec

    from schemas import codec

    doc = msgspec.json.decode(data)
    codec.check_ijson(data, doc)
    return doc


def _not_json(source: str, exc: Exception) -> Finding:
    import re

    from schemas.models import Finding

    byte = re.search(r"\(byte (\d+)\)", str(exc))
    at_vi, at_en = (f" (byte {byte[1]})", f" (byte {byte[1]})") if byte else ("", "")
    return Finding(
        code="S100",
        severity="error",
        figures={"detail": str(exc)},
        message_vi=f"S100: tệp {source}: không phải JSON hay JSON Lines{at_vi}",
        message_en=f"S100: file {source}: not JSON nor JSON Lines{at_en}",
    )


def _rejected(source: str, ids: dict[str, str], findings: list[Finding]) -> dict[str, Any]:
    return {"source": source, **ids, "findings": findings}


def _expand(doc: Any, source: str, file: str, election: Election, out: Loaded) -> None:
    import msgspec

    from schemas import codec
    from schemas.errors import DecodeError, KiemphieuError
    from schemas.models import BATCH_SCHEMA, MINUTES_SCHEMA, CountingMinutes, ResultBatch
    from schemas.signing import BATCH_TYPE, open_envelope
    from tally_server.core.rules import check_batch_items, check_minutes

    if isinstance(doc, list):
        for i, each in enumerate(doc):
            _expand(each, f"{source}[{i}]", file, election, out)
        return
    try:
        if not isinstance(doc, dict):
            raise DecodeError(
                en="Expected a minutes, a batch, an envelope or a list of them.",
                vi="Cần một biên bản, một lô, một phong bì hoặc danh sách các thứ đó.",
            )
        batch: ResultBatch | None = None
        if "payloadType" in doc:
            # Signed bytes are used as they are (never normalised); the signature is
            # not checked offline.
            opened = open_envelope(msgspec.json.encode(doc), BATCH_TYPE)
            try:
                batch = codec.decode(opened.payload, ResultBatch)
            except DecodeError as exc:
                _malformed_batch(opened.payload, source, election, out, exc)
                return
        elif doc.get("schema") == BATCH_SCHEMA:
            doc = _nfc(doc, file, out)
            try:
                batch = codec.decode(msgspec.json.encode(doc), ResultBatch)
            except DecodeError as exc:
                _malformed_batch(doc, source, election, out, exc)
                return
        elif doc.get("schema", MINUTES_SCHEMA) == MINUTES_SCHEMA:
            doc = _nfc(doc, file, out)
            try:
                m = codec.decode(msgspec.json.encode(doc), CountingMinutes)
            except DecodeError as exc:
                out.unreadable.append(_malformed(doc, source, election, exc, "minutes"))
                return
            out.items.append(Item(source, m, check_minutes(election, m)))
            return
        else:
            raise DecodeError(
                en=f"Unknown document schema {doc.get('schema')!r}.",
                vi=f"Lược đồ tài liệu không rõ {doc.get('schema')!r}.",
                fields=("schema",),
            )
    except KiemphieuError as exc:
        out.unreadable.append(_rejected(source, {}, [_finding_of(exc)]))
        return
    whole, per_minutes = check_batch_items(election, batch)
    for i, (m, found) in enumerate(zip(batch.minutes, per_minutes, strict=True)):
        out.items.append(Item(f"{source}#minutes[{i}]", m, whole + found, batch))


def _nfc(doc: dict[str, Any], file: str, out: Loaded) -> Any:
    from schemas import codec

    doc, changed = codec.nfc_counted(doc)
    if changed:
        out.normalised[file] = out.normalised.get(file, 0) + changed
    return doc


def _malformed(
    doc: dict[str, Any], source: str, election: Election, exc: Exception, what: str
) -> dict[str, Any]:
    """The rejected entry of a minutes (or batch) that does not decode: where it is
    from, taken from the raw JSON, and each field that is wrong, in words."""
    import re

    import msgspec

    from schemas import codec
    from schemas.errors import KiemphieuError
    from schemas.models import Finding
    from tally_server.core.fields import format_findings, raw_ids, where

    ids = raw_ids(doc)
    findings = format_findings(doc, election, source) if what == "minutes" else []
    if isinstance(exc, KiemphieuError) and exc.code in codec.IJSON_CODES:
        # Not I-JSON: the bytes read two ways, so no field can be trusted; the code says why.
        place = where(source, ids, election)
        findings = [
            msgspec.structs.replace(
                _finding_of(exc),
                message_vi=f"{exc.code}: {place.vi}: {exc.message_vi}",
                message_en=f"{exc.code}: {place.en}: {exc.message_en}",
            )
        ]
    if not findings:
        # Nothing wrong field by field: the whole (or a batch's own field) is, where
        # msgspec says.
        path = re.search(r"at `(\$[^`]*)`", str(exc))
        at = path[1] if path else "$"
        vi_what, en_what = (
            ("biên bản", "counting minutes") if what == "minutes" else ("lô", "batch")
        )
        place = where(source, ids, election)
        findings = [
            Finding(
                code="S100",
                severity="error",
                fields=[at],
                figures={
                    "field": at,
                    "detail": str(getattr(exc, "figures", {}).get("detail", exc)),
                },
                message_vi=f"S100: {place.vi}: {vi_what} không đúng định dạng tại {at}",
                message_en=f"S100: {place.en}: the {en_what} does not match its format at {at}",
            )
        ]
    return _rejected(source, ids, findings)


def _malformed_batch(
    doc: Any, source: str, election: Election, out: Loaded, exc: Exception
) -> None:
    """A batch that does not decode: each of its minutes that is wrong, named; a
    batch is taken whole or not at all, so its other minutes are not counted either."""
    import msgspec

    if isinstance(doc, bytes):
        try:
            doc = msgspec.json.decode(doc)
        except msgspec.DecodeError:
            doc = None
    if not isinstance(doc, dict):
        out.unreadable.append(_rejected(source, {}, [_finding_of(exc)]))
        return
    minutes = doc.get("minutes")
    if not isinstance(minutes, list):
        minutes = []
    bad = [
        _malformed(m, f"{source}#minutes[{i}]", election, exc, "minutes")
        for i, m in enumerate(minutes)
        if isinstance(m, dict) and _not_minutes(m)
    ]
    if not bad:
        out.unreadable.append(_malformed(doc, source, election, exc, "batch"))
        return
    out.unreadable += bad
    if len(minutes) > len(bad):
        from schemas.models import Finding

        area = doc.get("polling_area_id")
        ids = {"polling_area_id": area} if isinstance(area, str) else {}
        others = len(minutes) - len(bad)
        out.unreadable.append(
            _rejected(
                source,
                ids,
                [
                    Finding(
                        code="S100",
                        severity="error",
                        figures={"minutes": len(minutes), "malformed": len(bad)},
                        message_vi=f"S100: tệp {source}: lô có {len(bad)} biên bản sai định "
                        f"dạng; {others} biên bản còn lại của lô cũng không được kiểm "
                        "(một lô được nhận hoặc bị loại cả lô)",
                        message_en=f"S100: file {source}: the batch has {len(bad)} malformed "
                        f"minutes; its {others} other minutes are not counted either (a "
                        "batch is taken whole or not at all)",
                    )
                ],
            )
        )


def _not_minutes(doc: dict[str, Any]) -> bool:
    import msgspec

    from schemas.models import CountingMinutes

    try:
        msgspec.convert(doc, CountingMinutes, strict=True)
    except msgspec.ValidationError:
        return True
    return False


def run_tally(args: argparse.Namespace) -> int:
    from schemas import codec
    from tally_server.commands.election import issue_lines
    from tally_server.core.definition import Election
    from tally_server.core.fasttally import Tally
    from tally_server.core.roster import read_any
    from tally_server.core.tally import results_digest
    from tally_server.core.validate import errors, validate_definition

    definition, normalised = read_any(Path(args.election))
    issues = validate_definition(definition)
    if any(i.code not in args.accept for i in errors(issues)):
        if args.json:
            stopped = {"election_id": definition.id, "definition_issues": issues}
            sys.stdout.write(codec.encode_pretty(stopped).decode("utf-8") + "\n")
        print(
            f"lỗi / error: định nghĩa cuộc bầu cử {args.election} có "
            f"{len(errors(issues))} lỗi, không kiểm phiếu / the election definition "
            f"{args.election} has {len(errors(issues))} error(s); nothing is tallied",
            file=sys.stderr,
        )
        print("\n".join(issue_lines(issues)), file=sys.stderr)
        return 1
    election = Election.from_definition(definition)
    loaded = load([Path(p) for p in args.minutes], election)
    notes = [{"file": f, "what": "definition", "strings": n} for f, n in normalised.items()]
    notes += [{"file": f, "what": "minutes", "strings": n} for f, n in loaded.normalised.items()]

    rejected: list[dict[str, Any]] = list(loaded.unreadable)
    tally = Tally(election)
    accepted: list[Item] = []
    # The main rounds and re-votes first: a supplementary minutes is checked against
    # its constituency's first round once all of that is counted.
    first = [i for i in loaded.items if i.minutes.round != "supplementary"]
    later = [i for i in loaded.items if i.minutes.round == "supplementary"]
    _count(tally, first, accepted, rejected)
    for item in later:
        _recheck(election, tally, item)
    _count(tally, later, accepted, rejected)

    results = tally.results()
    rollups = tally.rollups()
    digest = results_digest(results)
    finals = [
        tally.final(race.id, con.id)
        for race in election.definition.races
        for con in race.constituencies
    ]
    if args.json:
        warnings = [
            _entry(item, [_warning(item, f) for f in item.findings if f.severity == "warning"])
            for item in accepted
            if item.findings
        ]
        doc = {
            "election_id": election.id,
            "definition_issues": issues,
            "definition_accepted": sorted({i.code for i in errors(issues)}),
            "normalised": notes,
            "results": results,
            "finals": finals,
            "rollups": rollups,
            "rejected": rejected,
            "warnings": warnings,
            "accepted": len(accepted),
            "results_sha256": digest,
        }
        sys.stdout.write(codec.encode_pretty(doc).decode("utf-8") + "\n")
    else:
        sys.stdout.write(
            _render(
                election, results, finals, rollups[0], accepted, rejected, digest, issues, notes
            )
        )
    return 1 if args.strict and rejected else 0


def _count(
    tally: Tally, items: list[Item], accepted: list[Item], rejected: list[dict[str, Any]]
) -> None:
    """Tally the items without errors, each (polling area, race, round) once (E124)."""
    from tally_server.core.rules import has_errors

    by_key: dict[tuple[str, str, str], list[Item]] = {}
    for item in items:
        if has_errors(item.findings):
            rejected.append(_entry(item, [f for f in item.findings if f.severity == "error"]))
            continue
        m = item.minutes
        by_key.setdefault((m.polling_area_id, m.race_id, m.round), []).append(item)
    for (area, race, rnd), same in by_key.items():
        if len(same) == 1:
            tally.apply(same[0].minutes)
            accepted.append(same[0])
            continue
        for item in same:
            others = [o.source for o in same if o is not item]
            rejected.append(_entry(item, [_duplicate(area, race, rnd, item.source, others)]))


def _recheck(election: Election, tally: Tally, item: Item) -> None:
    """Check a supplementary minutes again, with its constituency's first round as the
    tally has it (E108, E109, E118; E107 and E115 against the seats still open)."""
    from tally_server.core.rules import check_batch_items, check_minutes

    firsts = {
        (m.race_id, m.constituency_id): tally.first_round(m.race_id, m.constituency_id)
        for m in (item.batch.minutes if item.batch is not None else [item.minutes])
        if m.round == "supplementary" and (m.race_id, m.constituency_id) in election.constituencies
    }
    if item.batch is None:
        item.findings = check_minutes(
            election,
            item.minutes,
            first_round=firsts.get((item.minutes.race_id, item.minutes.constituency_id)),
        )
        return
    whole, per_minutes = check_batch_items(election, item.batch, first_rounds=firsts)
    i = next(i for i, m in enumerate(item.batch.minutes) if m is item.minutes)
    item.findings = whole + per_minutes[i]


def _explanation(item: Item, f: Finding) -> str | None:
    """The minutes' explanation of a warning, if it gives one (blank is none, as
    ``rules.unexplained`` says)."""
    text = item.minutes.explanations.get(f.code, "")
    return text if text.strip() else None


def _warning(item: Item, f: Finding) -> dict[str, Any]:
    from schemas import codec

    text = _explanation(item, f)
    return {**codec.to_builtins(f), "explained": text is not None, "explanation": text}


def _entry(item: Item, findings: list[Any]) -> dict[str, Any]:
    m = item.minutes
    return {
        "source": item.source,
        "polling_area_id": m.polling_area_id,
        "race_id": m.race_id,
        "constituency_id": m.constituency_id,
        "round": m.round,
        "findings": findings,
    }


def _duplicate(area: str, race: str, rnd: str, source: str, others: list[str]) -> Finding:
    from schemas.models import Finding

    both = ", ".join([source, *others])
    return Finding(
        code="E124",
        severity="error",
        race_id=race,
        fields=["polling_area_id", "race_id", "round"],
        figures={"polling_area_id": area, "race_id": race, "round": rnd, "sources": both},
        message_vi=f"E124: khu vực {area}, cuộc bầu cử {race}, vòng {rnd} có nhiều biên bản: "
        f"{both}; không biết biên bản nào đúng nên không kiểm biên bản nào",
        message_en=f"E124: polling area {area}, race {race}, round {rnd} has more than one "
        f"minutes: {both}; none is counted until one is chosen",
    )


# --- the readable table --------------------------------------------------------------


def _render(
    election: Election,
    results: list[ConstituencyResult],
    finals: list[FinalResult],
    overall: Rollup,
    accepted: list[Item],
    rejected: list[dict[str, Any]],
    digest: str,
    issues: list[Finding],
    notes: list[dict[str, Any]],
) -> str:
    from decimal import Decimal

    from tally_server.core.fields import COUNTS
    from tally_server.core.glossary import FIELD, ROUND, status_words
    from tally_server.core.numbers import vn_int, vn_percent

    def pct(text: str) -> str:
        return vn_percent(Decimal(text))

    d = election.definition
    lines = [
        d.name,
        f"{d.place} — {d.date.isoformat()} — id {d.id}",
        f"Biên bản được kiểm / minutes tallied: {vn_int(len(accepted))}; "
        f"bị loại / rejected: {vn_int(len(rejected))}",
        f"Khu vực đã báo cáo đủ / polling areas fully reported: "
        f"{vn_int(overall.areas_reported)}/{vn_int(overall.areas_total)}",
    ]
    for note in notes:
        what = "định nghĩa / definition" if note["what"] == "definition" else "biên bản / minutes"
        lines.append(
            f"Đã chuẩn hoá Unicode NFC / normalised to Unicode NFC: {note['file']} "
            f"({what}): {vn_int(note['strings'])} chuỗi / strings"
        )
    if issues:
        from tally_server.commands.election import issue_lines

        lines += ["", "══ Định nghĩa: vẫn kiểm phiếu / definition: tallied despite ══"]
        lines += issue_lines(issues)
        if accepted_codes := sorted({i.code for i in issues if i.severity == "error"}):
            lines.append(f"  đã chấp nhận (--accept) / accepted: {', '.join(accepted_codes)}")
    race_names = {r.id: r.name for r in d.races}
    later = {(f.race_id, f.constituency_id): f for f in finals if len(f.rounds) > 1}
    current_race = None
    for r in results:
        if r.race_id != current_race:
            current_race = r.race_id
            lines += ["", f"══ {r.race_id} — {race_names.get(r.race_id, '')} ══"]
        missing = ""
        if r.missing_area_ids and r.areas_reported:
            missing = f" (thiếu / missing: {', '.join(r.missing_area_ids)})"
        lines += [
            "",
            f"{r.constituency_name} ({r.constituency_id})"
            + (f" — {ROUND[r.round].both()}" if r.round != "main" else "")
            + f" · {r.seats} ghế / seats · {r.committee_id}",
            f"  {FIELD['status'].both()}: {status_words(r.status).both()} [{r.status}]",
            f"  Khu vực bỏ phiếu / polling areas: "
            f"{vn_int(r.areas_reported)}/{vn_int(r.areas_total)}{missing}",
        ]
        shares = {
            "voters_voted": pct(r.turnout_pct),
            "valid_ballots": pct(r.valid_pct),
            "invalid_ballots": pct(r.invalid_pct),
        }
        for name, words in COUNTS:
            label = f"{words.vi[:1].upper()}{words.vi[1:]} / {words.en}"
            n = getattr(r, name)
            lines.append(f"  {label:<50} {vn_int(n):>12} {shares.get(name, ''):>8}".rstrip())
        lines.append(
            f"  {'#':>2}  {'Người ứng cử / candidate':<40} {'Ngày sinh':<10} "
            f"{'Số phiếu':>10} {'Tỷ lệ':>8}  >½  Trúng cử"
        )
        for c in sorted(r.candidates, key=lambda c: (c.rank or 10**9, c.id)):
            who = f"{c.full_name} ({c.id})"
            lines.append(
                f"  {c.rank or '-':>2}  {who:<40} {c.birth_date.strftime('%d/%m/%Y'):<10} "
                f"{vn_int(c.votes):>10} {pct(c.pct):>8}  {'✓' if c.eligible else '·':^2}  "
                f"{'✓ trúng cử / elected' if c.elected else ''}".rstrip()
            )
        names = {c.id: c.full_name for c in r.candidates}
        if r.winners:
            lines.append(
                f"  {FIELD['winners'].both()}: " + ", ".join(f"{names[w]} ({w})" for w in r.winners)
            )
        if r.unresolved_tie:
            lines.append(
                f"  {FIELD['unresolved_tie'].both()}: "
                + ", ".join(f"{names[w]} ({w})" for w in r.unresolved_tie)
            )
        lines.append(f"  {r.notes_vi}")
        lines.append(f"  {r.notes_en}")
        final = later.get((r.race_id, r.constituency_id))
        if final is not None and final.rounds[-1].round == r.round:
            # After the constituency's last round: who was elected in which round.
            lines += [
                "",
                f"{r.constituency_name} ({r.constituency_id}) — kết quả chung cuộc / "
                f"final result: {final.seats_filled}/{final.seats} ghế / seats · "
                f"{status_words(final.status).both()} [{final.status}]",
                f"  {final.notes_vi}",
                f"  {final.notes_en}",
            ]
    if rejected:
        lines += ["", "══ Biên bản bị loại / rejected minutes ══"]
        for entry in rejected:
            ids = [entry[k] for k in ("polling_area_id", "race_id", "round") if k in entry]
            where = f" — {' '.join(ids)}" if ids else ""
            lines.append(f"{entry['source']}{where}")
            for f in entry["findings"]:
                lines.append(f"  {f.message_vi}")
                lines.append(f"  {f.message_en}")
    flagged = [(i, f) for i in accepted for f in i.findings if f.severity == "warning"]
    if flagged:
        lines += ["", "══ Cảnh báo (đã kiểm) / warnings (counted) ══"]
        for item, f in flagged:
            m = item.minutes
            text = _explanation(item, f)
            lines += [
                f"{item.source} — {m.polling_area_id} {m.race_id} {m.round}",
                f"  {f.message_vi}",
                f"  {f.message_en}",
                f"  đã giải trình / explained: {text}"
                if text is not None
                else "  chưa giải trình / not explained",
            ]
    lines += ["", f"results_sha256: {digest}", ""]
    return "\n".join(lines)
