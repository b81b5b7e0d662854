"""One rejection table (service/codes.py) and one place that turns outcomes into HTTP
statuses (web/statuses.py): every code the server refuses with has an outcome, and
every outcome is answered with the status stations and clients have always seen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tally_server.core import rules
from tally_server.service.codes import (
    OUTCOME_KINDS,
    RECEIPTED,
    REJECTIONS,
    outcome_of,
    rejection,
    severity_of,
)
from tally_server.web.statuses import STATUS

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("schemas", "tally_server/service", "tally_server/web", "tally_server/store")
CODE = re.compile(r"""["']([A-Z][0-9]{3})["']""")
"""Every code written in the sources: raised, returned, a finding's or a table's."""
NOT_ANSWERED = {
    "K000": "the base class's code: every error raised names its own",
    "S300": "an unreadable key file; the API answers it as A400",
    "D100": "a definition that breaks the law: refused by `init`, never over HTTP",
    "F100": "a server folder missing or in use: the command line's",
    "F409": "the folder's writer lock: the command line's",
    "L100": "an export line that is not an entry: verify's and the command line's",
    "L105": "a ledger of another format version: refused when the folder is opened",
    "F110": "not a server database: refused when the folder is opened",
    "F111": "a server database of a newer schema: refused when the folder is opened",
    "F112": "a server database of an unknown schema version: refused when it is opened",
    "F113": "an older server database opened only to read: the command line's",
    "F500": "the start-up integrity check's base class: every error names F501 or F502",
    "F501": "derived tables that disagree with the ledger: the server refuses to start",
    "F502": "a broken or cut ledger: the server refuses to start",
    "F600": "replication's base class: every error names F601-F605",
    "F601": "no Litestream binary: serve --replicate and standby restore refuse",
    "F602": "a replica URL that is not one: refused before serving",
    "F603": "Litestream that did not start replicating: the server does not serve",
    "F604": "a replica's folder files that do not check out: standby restore's",
    "F605": "a failed litestream restore: standby restore's",
}
"""Codes in the scanned sources that no HTTP answer carries (V-codes are verify's own)."""


def codes_in_sources() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for code in CODE.findall(path.read_text("utf-8")):
                found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_code_raised_in_the_server_has_an_outcome() -> None:
    found = codes_in_sources()
    assert {"K401", "C404", "Q409", "A403", "H507", "L401", "S320"} <= found.keys()  # the scan
    missing = {
        code: where
        for code, where in found.items()
        if rejection(code) is None
        and code[0] != "V"
        and code not in NOT_ANSWERED
        and not (code in rules.RULES and rules.RULES[code].severity == "warning")
    }
    assert missing == {}
    assert {code for code in REJECTIONS if code not in found} == set()
    assert NOT_ANSWERED.keys() <= found.keys()


def test_the_laws_errors_are_law_errors_and_its_warnings_refuse_nothing() -> None:
    for code, rule in rules.RULES.items():
        if rule.severity == "error":
            assert (outcome_of(code), severity_of(code)) == ("law_error", "error"), code
        else:
            assert rejection(code) is None, code


# What each code was answered with before the table: it must not change.
TODAY = {
    **dict.fromkeys(["A400", "S100", "S101", "S102", "S103", "S320"], 400),
    **dict.fromkeys(["A401", "A402", "K401", "K402", "S200", "S201", "S202", "S203"], 401),
    **dict.fromkeys(["A403", "C403", "C404", "C405"], 403),
    "A404": 404,
    "A405": 405,
    "H408": 408,
    **dict.fromkeys(["A409", "Q409", "L409"], 409),
    "H413": 413,
    **dict.fromkeys(["Q410", "Q411", "Q412", "L401", "E110", "E124"], 422),
    "H429": 429,
    "H503": 503,
    "H507": 507,
}


@pytest.mark.parametrize(("code", "status"), sorted(TODAY.items()))
def test_each_code_is_answered_with_todays_status(code: str, status: int) -> None:
    assert STATUS[outcome_of(code)] == status


def test_a_batch_under_a_weak_key_is_unauthenticated_and_a_weak_key_enrolled_is_bad() -> None:
    assert STATUS[outcome_of("S320", batch=True)] == 401
    assert STATUS[outcome_of("S320")] == 400
    # Every other code means the same of a batch as of any request.
    assert all(outcome_of(c, batch=True) == outcome_of(c) for c in REJECTIONS if c != "S320")


def test_every_outcome_has_one_status_and_receipts_answer_200_409_422() -> None:
    assert set(STATUS) == set(OUTCOME_KINDS)
    assert {r.outcome for r in REJECTIONS.values()} | {"accepted", "law_error"} == set(
        OUTCOME_KINDS
    )
    # station_client/delivery.py reads a receipt from exactly these.
    assert {STATUS[kind] for kind in RECEIPTED} == {200, 409, 422}


def test_an_unknown_code_is_a_bad_request_as_before() -> None:
    assert (outcome_of("Z999"), STATUS[outcome_of("Z999")], severity_of("Z999")) == (
        "invalid_request",
        400,
        "error",
    )


def test_security_severity_marks_forgery_replay_and_misused_keys() -> None:
    security = {c for c, r in REJECTIONS.items() if r.severity == "security"}
    assert {"Q409", "S201", "K402", "C404", "C405", "L401", "L409", "S320"} <= security
    assert not security & {"A400", "Q410", "H429", "K401"}
