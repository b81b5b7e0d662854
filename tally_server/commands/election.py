"""``tally-server election``: check a definition, and write sample data to try things on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.models import Finding


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser(
        "election",
        help="election definitions: validate one, write sample data",
        description="Election definitions (định nghĩa cuộc bầu cử): validate a JSON file or a "
        "roster folder of CSV files (docs/rosters.md), or write a seeded sample election "
        "with its counting minutes.",
    )
    group.set_defaults(handler=lambda _args: _usage(group))
    esub = group.add_subparsers(dest="election_command", metavar="SUBCOMMAND")

    v = esub.add_parser(
        "validate",
        help="check a definition against the law and summarise it",
        description="Load a definition (election.json, election.json.gz or a roster folder "
        "of CSV files), print its summary and every issue (D1xx errors, D2xx warnings). "
        "Exit status 1 when there is an error.",
    )
    v.add_argument("source", nargs="?", type=Path, help="election.json(.gz) or a roster folder")
    v.add_argument(
        "--bundled",
        action="store_true",
        help="validate the sample shipped with the package (Ho Chi Minh City 2011)",
    )
    v.add_argument(
        "--min-age",
        type=int,
        default=18,
        metavar="YEARS",
        help="youngest candidate allowed on election day (default 18)",
    )
    v.add_argument("--json", action="store_true", help="print the issues as JSON")
    v.set_defaults(handler=_validate)

    s = esub.add_parser(
        "sample",
        help="write a seeded sample election and its counting minutes",
        description="Write DIR/election.json and DIR/minutes/<polling area id>.json (a JSON "
        "list of that area's counting minutes, one per race), ready for "
        "`tally-server tally --election DIR/election.json DIR/minutes/*.json`. The same seed "
        "always writes the same files.",
    )
    s.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write")
    s.add_argument(
        "--scale",
        choices=("hcmc2011", "national"),
        default="hcmc2011",
        help="Ho Chi Minh City 2011 (about 4,500 polling areas, default) or the whole "
        "country (90,189)",
    )
    s.add_argument(
        "--seed",
        type=int,
        help="seed of the definition and the minutes (default: 2011 for hcmc2011, the "
        "bundled sample; 2026 for national)",
    )
    s.add_argument(
        "--warnings",
        type=int,
        default=12,
        metavar="N",
        help="about how many minutes trip a warning on purpose, explained (default 12)",
    )
    s.add_argument("--csv", action="store_true", help="also write the definition as a roster")
    s.add_argument(
        "--jsonl",
        action="store_true",
        help="write the minutes as one DIR/minutes.jsonl (one minutes a line) instead of a "
        "file per polling area: 90,189 files are too many for a shell's command line",
    )
    s.add_argument("--no-minutes", action="store_true", help="write the definition only")
    s.set_defaults(handler=_sample)


def issue_lines(issues: list[Finding]) -> list[str]:
    """A definition's issues as `election validate` and `tally` print them."""
    lines = []
    for issue in issues:
        label = "LỖI / ERROR" if issue.severity == "error" else "cảnh báo / warning"
        lines += [f"{label} {issue.message_vi}", f"    {issue.message_en}"]
    return lines


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _validate(args: argparse.Namespace) -> int:
    import msgspec

    from tally_server.core.definition import Election, summarise
    from tally_server.core.roster import load_any
    from tally_server.core.sample import bundled_election
    from tally_server.core.validate import ValidationConfig, errors, validate_definition

    if args.bundled == (args.source is not None):
        print(
            "lỗi / error: cần đúng một nguồn: tệp, thư mục hoặc --bundled "
            "/ give exactly one source: a file, a folder or --bundled",
            file=sys.stderr,
        )
        return 2
    definition = bundled_election() if args.bundled else load_any(args.source)
    issues = validate_definition(definition, ValidationConfig(min_age=args.min_age))
    bad = errors(issues)
    if args.json:
        sys.stdout.buffer.write(
            msgspec.json.encode(
                {
                    "election_id": definition.id,
                    "errors": len(bad),
                    "warnings": len(issues) - len(bad),
                    "issues": issues,
                }
            )
            + b"\n"
        )
        return 1 if bad else 0
    print(summarise(Election.from_definition(definition)))
    for line in issue_lines(issues):
        print(line)
    print(
        f"{len(bad)} lỗi / errors, {len(issues) - len(bad)} cảnh báo / warnings"
        + ("" if bad else " — hợp lệ / valid")
    )
    return 1 if bad else 0


def _sample(args: argparse.Namespace) -> int:
    from schemas import codec
    from tally_server.core.definition import Election, summarise
    from tally_server.core.roster import write_roster
    from tally_server.core.sample import (
        BUNDLED_SEED,
        bundled_election,
        hcmc2011,
        national,
        sample_minutes,
    )

    out: Path = args.out
    if args.scale == "hcmc2011":
        seed = BUNDLED_SEED if args.seed is None else args.seed
        definition = bundled_election() if seed == BUNDLED_SEED else hcmc2011(seed)
    else:
        seed = 2026 if args.seed is None else args.seed
        definition = national(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "election.json").write_bytes(codec.encode(definition) + b"\n")
    election = Election.from_definition(definition)
    print(summarise(election))
    print(f"→ {out / 'election.json'}")
    if args.csv:
        write_roster(definition, out / "roster")
        print(f"→ {out / 'roster'}/ (CSV)")
    if args.no_minutes:
        return 0

    stream = sample_minutes(election, seed, warnings=args.warnings)
    if args.jsonl:
        path = out / "minutes.jsonl"
        sheets = 0
        with path.open("wb") as f:
            for minutes in stream:
                f.write(codec.encode(minutes) + b"\n")
                sheets += 1
        print(f"→ {path}: {sheets} biên bản / minutes")
        print(f"tally-server tally --election {out / 'election.json'} {path}")
        return 0

    folder = out / "minutes"
    folder.mkdir(exist_ok=True)
    sheets = files = 0
    area_id: str | None = None
    batch: list[bytes] = []

    def flush() -> None:
        nonlocal files
        if area_id is not None:
            (folder / f"{area_id}.json").write_bytes(b"[" + b",\n".join(batch) + b"]\n")
            files += 1

    for minutes in stream:
        if minutes.polling_area_id != area_id:
            flush()
            area_id, batch = minutes.polling_area_id, []
        batch.append(codec.encode(minutes))
        sheets += 1
    flush()
    print(f"→ {folder}/: {sheets} biên bản / minutes in {files} tệp / files")
    print(f"tally-server tally --election {out / 'election.json'} {folder}/*.json")
    return 0
