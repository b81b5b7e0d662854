"""One wording per decision: the law's determination is data (codes and figures),
the glossary words it in both languages, and the command line, the dashboard and
the sheets say the same thing for the same status."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import get_args

import pytest
from lawkit import make_election, sheet
from pdfkit import pdf_text

from schemas import codec
from schemas.models import CountingMinutes
from tally_server.core import glossary, rules, validate
from tally_server.core.decision import REASON_CODES, STATUSES, Determination, ReasonCode, Status
from tally_server.core.fasttally import Tally
from tally_server.core.glossary import Words
from tally_server.core.tally import determine
from tui.labels import status_label
from tui.model import ConstituencyRow
from tui.pdf import Fingerprint
from tui.pdf.printing import SheetSource, print_constituency
from tui.widgets.constituencies.table import row_cells


def _vietnamese(text: str) -> bool:
    """Has a letter only Vietnamese writes here (a diacritic, or đ)."""
    return any(ch in "đĐ" or (ch.isalpha() and unicodedata.decomposition(ch) != "") for ch in text)


def _tables() -> list[tuple[str, Words]]:
    out: list[tuple[str, Words]] = []
    for name, table in [
        ("status", glossary.STATUS),
        ("round", glossary.ROUND),
        ("field", glossary.FIELD),
        ("reason", glossary.REASON),
        ("no_supplementary", glossary.NO_SUPPLEMENTARY),
        ("rule", glossary.RULE_TITLE),
    ]:
        out += [(f"{name}:{key}", words) for key, words in table.items()]
    return out


def test_every_status_reason_round_and_rule_has_both_wordings() -> None:
    assert tuple(get_args(Status)) == STATUSES and set(glossary.STATUS) == set(STATUSES)
    assert tuple(get_args(ReasonCode)) == REASON_CODES
    assert set(glossary.REASON) == set(REASON_CODES)
    assert set(glossary.ROUND) == {"main", "revote", "supplementary"}
    assert set(glossary.RULE_TITLE) == set(rules.RULES) | set(validate.RULES)
    for key, words in _tables():
        assert words.vi.strip() and words.en.strip(), key
        # Never swapped: the Vietnamese is Vietnamese and the English is not.
        assert _vietnamese(words.vi), key
        assert not _vietnamese(words.en), key


def test_each_status_is_worded_once_across_the_statuses() -> None:
    vi = [w.vi for w in glossary.STATUS.values()]
    en = [w.en for w in glossary.STATUS.values()]
    assert len(set(vi)) == len(vi) and len(set(en)) == len(en)
    assert glossary.STATUS["unresolved_tie"] == Words(
        vi="Bằng phiếu chưa xác định", en="Unresolved tie"
    )
    assert glossary.status_words("from_a_newer_server") == Words(
        vi="from_a_newer_server", en="from_a_newer_server"
    )


def test_rules_take_their_titles_from_the_glossary() -> None:
    assert rules.RULES["E110"].title is glossary.RULE_TITLE["E110"]
    assert rules.RULES["E110"].title_vi == "Số cử tri đã bỏ phiếu ≤ tổng số cử tri"
    assert validate.RULES["D101"].title_en == glossary.RULE_TITLE["D101"].en


# --- the determination as data ----------------------------------------------------------


def _det(**kw: object) -> Determination:
    e = make_election(seats=2, births=["1970-01-01", "1965-05-05", "1958-12-31"], areas=1)
    con = e.constituencies[("R", "C")]
    args: dict[str, object] = {
        "level": "national_assembly",
        "round": "main",
        "seats": 2,
        "candidates": con.candidates,
        "votes": {"C-1": 800, "C-2": 600, "C-3": 600},
        "voters_on_list": 1000,
        "voters_voted": 1000,
        "valid_ballots": 1000,
        "areas_total": 1,
        "areas_reported": 1,
    }
    return determine(**{**args, **kw})  # type: ignore[arg-type]


def test_turnout_not_over_half_carries_its_code_and_figures() -> None:
    det = _det(voters_voted=500)
    assert det.status == "revote" and det.winners == ()
    (reason,) = det.reasons
    assert reason.code == "turnout_not_over_half"
    assert reason.figures == {"voters_voted": 500, "voters_on_list": 1000}
    notes = glossary.notes(det, [])
    assert notes.vi.startswith("Số cử tri đi bầu (500/1.000 = 50,00%) chưa quá một nửa")
    assert notes.en.startswith("Turnout (500/1,000 = 50.00%) is not more than half")


def test_a_tie_resolved_by_age_says_who_tied_at_which_votes() -> None:
    det = _det()
    assert det.status == "elected"
    tie = det.tie
    assert tie is not None
    assert (tie.votes, tie.tied, tie.resolved_by, tie.elected) == (
        600,
        ("C-3", "C-2"),
        "older",
        ("C-3",),
    )
    assert [r.code for r in det.reasons] == [
        "all_seats_filled",
        "tie_older_elected",
        "elected",
        "majority_not_seated",
    ]
    reason = det.reason("tie_older_elected")
    assert reason is not None and reason.figures == {"votes": 600, "tied": 2}
    assert det.shortfall is None


def test_a_tie_on_the_same_birth_date_is_unresolved_data() -> None:
    e = make_election(seats=2, births=["1970-01-01", "1965-05-05", "1965-05-05"], areas=1)
    det = determine(
        level="province",
        round="main",
        seats=2,
        candidates=e.constituencies[("R", "C")].candidates,
        votes={"C-1": 800, "C-2": 600, "C-3": 600},
        voters_on_list=1000,
        voters_voted=1000,
        valid_ballots=1000,
        areas_total=1,
        areas_reported=1,
    )
    assert det.status == "unresolved_tie" and det.winners == ("C-1",)
    assert det.tie is not None and det.tie.resolved_by == "unresolved"
    assert det.tie.tied == det.unresolved_tie == ("C-2", "C-3") and det.tie.elected == ()
    assert det.reasons[-1].code == "tie_same_birth_date"
    assert det.reasons[-1].figures == {"votes": 600, "tied": 2}


@pytest.mark.parametrize(
    ("level", "round", "follows", "rule", "figures"),
    [
        ("national_assembly", "main", "supplementary_proposed", "council_decides", None),
        ("province", "main", "supplementary_proposed", "under_two_thirds", (1, 3)),
        ("commune", "supplementary", "seats_left_empty", "no_second_supplementary", None),
    ],
)
def test_a_shortfall_says_what_follows_and_by_which_rule(
    level: str, round: str, follows: str, rule: str, figures: tuple[int, int] | None
) -> None:
    e = make_election(seats=3, births=3, areas=1)
    det = determine(
        level=level,  # type: ignore[arg-type]
        round=round,  # type: ignore[arg-type]
        seats=3,
        candidates=e.constituencies[("R", "C")].candidates,
        votes={"C-1": 800, "C-2": 400, "C-3": 300},
        voters_on_list=1000,
        voters_voted=1000,
        valid_ballots=1000,
        areas_total=1,
        areas_reported=1,
    )
    assert det.status == follows and det.winners == ("C-1",)
    assert det.shortfall is not None
    assert (det.shortfall.seats, det.shortfall.filled, det.shortfall.empty) == (3, 1, 2)
    assert (det.shortfall.follows, det.shortfall.rule) == (follows, rule)
    assert det.reasons[0].code == "seats_short"
    assert det.reasons[0].figures == {"seats_filled": 1, "seats": 3, "seats_empty": 2}
    last = det.reasons[-1]
    assert last.code == rule
    want = (
        {"seats_empty": 2} if figures is None else {"seats_filled": figures[0], "seats": figures[1]}
    )
    assert last.figures == want


def test_partial_results_give_the_areas_in_and_expected() -> None:
    det = _det(areas_total=3, areas_reported=2)
    assert det.status == "partial"
    assert [(r.code, dict(r.figures)) for r in det.reasons] == [
        ("areas_missing", {"areas_reported": 2, "areas_total": 3})
    ]


# --- one status, one wording on every surface -------------------------------------------


def test_cli_dashboard_and_sheet_word_an_unresolved_tie_identically(tmp_path: Path) -> None:
    e = make_election(seats=2, births=["1970-01-01", "1965-05-05", "1965-05-05"], areas=1)
    minutes: CountingMinutes = sheet([800, 600, 600], valid=1000)
    tally = Tally(e)
    tally.apply(minutes)
    result = tally.result("R", "C")
    assert result.status == "unresolved_tie"
    words = glossary.STATUS["unresolved_tie"]

    definition = tmp_path / "election.json"
    definition.write_bytes(codec.encode(e.definition))
    sheet_file = tmp_path / "a1.json"
    sheet_file.write_bytes(codec.encode(minutes))
    cli = subprocess.run(
        [sys.executable, "-m", "tally_server", "tally", "--election", str(definition), "--accept",
         "D102", sheet_file],  # a list short of the margin, as the Council may allow
        capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert f"Tình trạng / Status: {words.vi} / {words.en} [unresolved_tie]" in cli.stdout

    row = ConstituencyRow(
        race_id="R",
        constituency_id="C",
        name=result.constituency_name,
        committee_id=result.committee_id,
        seats=result.seats,
        areas_reported=result.areas_reported,
        areas_total=result.areas_total,
        status=result.status,
    )
    assert row_cells(row, "vi", ["status"]) == [f"[bold red]{words.vi}[/]"]
    assert row_cells(row, "en", ["status"]) == [f"[bold red]{words.en}[/]"]
    assert status_label("unresolved_tie", "en") == words.en

    fp = Fingerprint.from_ledger(e.id, "4f" * 32, 1, "ab" * 32)
    source = SheetSource(e, [result], fp, {"A1": [minutes]}, made_on=dt.date(2026, 3, 16))
    text = " ".join(" ".join(pdf_text(print_constituency(source, "R", "C", tmp_path))).split())
    assert f"Tình trạng: {words.vi}." in text


def test_docs_decisions_tables_match_the_glossary() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text("utf-8")
    start, end = "<!-- decisions-table:start -->\n", "<!-- decisions-table:end -->"
    table = text.split(start, 1)[1].split(end, 1)[0]
    assert table == glossary.decisions_markdown(), (
        "docs/rules.md drifted from the glossary: paste in the output of "
        "tally_server.core.glossary.decisions_markdown()"
    )
