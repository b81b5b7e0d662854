"""The dashboard's pure logic: reading the server's documents, diffing the rows
of a page, asking the server for a page of the list."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec

from schemas import read
from schemas._retry import Backoff
from tui.bindings import bilingual, lang_allows
from tui.model import (
    ConstituencyRow,
    ListQuery,
    alerts_from,
    diff_rows,
    fold,
    majority_bar,
    progress_from,
    row_from,
    since_text,
)


def parse_row(doc: dict[str, object]) -> ConstituencyRow:
    return row_from(msgspec.convert(doc, read.ConstituencyRow))


def rollup(scope: str, **figures: object) -> dict[str, object]:
    counts = ("areas_total", "areas_reported", "voters_on_list", "voters_voted", "seats")
    return {
        "scope": scope,
        **dict.fromkeys(counts, 0),
        "constituencies_total": 1,
        "constituencies_complete": 0,
        "valid_ballots": 0,
        "invalid_ballots": 0,
        "turnout_pct": "0.00",
        "seats_filled": 0,
        "by_status": {},
        **figures,
    }


def row(cid: str, status: str = "partial", reported: int = 1, **kw: object) -> dict[str, object]:
    return {
        "race_id": "QH",
        "constituency_id": cid,
        "name": kw.get("name", f"Đơn vị bầu cử số {cid}"),
        "committee_id": "UBBC-HCM",
        "round": kw.get("round", "main"),
        "seats": 3,
        "areas_reported": reported,
        "areas_total": 3,
        "turnout_pct": "99.04",
        "status": status,
        "seats_filled": 0,
        "winners": kw.get("winners", []),
    }


def test_search_ignores_diacritics_and_case() -> None:
    assert fold("Nguyễn Thị Ánh — Đơn vị") == "nguyen thi anh — don vi"
    winner = {"id": "x", "full_name": "Võ Đức Ễnh", "votes": 900, "pct": "72.00"}
    r = parse_row(row("QH-10", winners=[winner]))
    assert r.winners == ("Võ Đức Ễnh",)
    assert fold("ĐỨC enh") == "duc enh"


def test_the_list_asks_the_server_for_one_page() -> None:
    q = ListQuery(race_id="QH", status="partial", text="  nguyen van ", sort="reported")
    assert q.params(100) == {
        "race": "QH",
        "status": "partial",
        "q": "nguyen van",
        "sort": "reported",
        "offset": None,
        "limit": "100",
    }
    # the defaults are left to the server: the definition's order, from the first row
    assert ListQuery(offset=200).params(100) == {
        "race": None,
        "status": None,
        "q": None,
        "sort": None,
        "offset": "200",
        "limit": "100",
    }


def test_who_leads_a_partial_result_is_read_by_name() -> None:
    ahead = [
        {"id": "QH-10-1", "full_name": "Nguyễn Thị Ánh", "votes": 900, "pct": "72.00"},
        {"id": "QH-10-3", "full_name": "Lê Hoàng Cường", "votes": 800, "pct": "64.00"},
    ]
    r = parse_row({**row("QH-10"), "leading": ahead})
    assert r.leading == ("Nguyễn Thị Ánh", "Lê Hoàng Cường") and r.winners == ()


def test_diff_names_only_what_changed() -> None:
    old = {r.key: r for r in map(parse_row, [row("QH-1"), row("QH-2"), row("QH-3")])}
    fresh = [parse_row(row("QH-1")), parse_row(row("QH-2", "elected", 3)), parse_row(row("QH-4"))]
    d = diff_rows(old, fresh)
    assert [r.key for r in d.changed] == ["QH/QH-2"]
    assert [r.key for r in d.added] == ["QH/QH-4"]
    assert d.removed == ("QH/QH-3",)
    partial = diff_rows(old, fresh[1:2], complete=False)
    assert partial.removed == () and [r.key for r in partial.changed] == ["QH/QH-2"]
    assert not diff_rows(old, list(old.values()))


def test_a_later_round_is_a_row_of_its_own() -> None:
    assert parse_row(row("QH-1", round="revote")).key == "QH/QH-1/revote"
    assert parse_row(row("QH-1")).key == "QH/QH-1"


def test_majority_bar_puts_the_line_at_half() -> None:
    assert majority_bar("50.00", 24) == (12, 12)
    assert majority_bar("82.05", 24) == (20, 12)
    assert majority_bar("0.00", 24) == (0, 12)
    assert majority_bar("100.00", 24) == (24, 12)


def test_progress_reads_the_servers_document() -> None:
    figures = {"areas_total": 3, "areas_reported": 1, "turnout_pct": "99.04"}
    doc = {
        "election_id": "HCM-2011",
        "overall": rollup("election", voters_on_list=1250, voters_voted=1238, **figures),
        "races": [{**rollup("race:QH", **figures), "race_id": "QH", "name": "Quốc hội"}],
        "committees": [
            {
                **rollup("committee:UBBC-HCM", areas_total=3),
                "committee_id": "UBBC-HCM",
                "name": "UB",
            }
        ],
        "batches": {
            "accepted": 4,
            "flagged": 1,
            "rejected": 2,
            "conflicts": 1,
            "corrections": 0,
            "throttled": 0,
        },
        "last_batch_at": "2011-05-22T19:42:10Z",
        "ledger": {"index": 7, "head": "ab" * 32},
    }
    p = progress_from(msgspec.convert(doc, read.Progress))
    assert (p.overall.areas_reported, p.overall.accepted, p.overall.rejected) == (1, 4, 2)
    assert p.overall.conflicts == 1 and p.overall.last_batch_at is not None
    assert str(p.overall.reported_pct) == "33.33"
    assert [r.scope for r in p.races] == ["QH"] and p.committees[0].scope == "UBBC-HCM"
    assert (p.ledger_index, p.ledger_head) == (7, "ab" * 32)


def test_alerts_read_messages_and_list_silent_stations() -> None:
    def finding(code: str, vi: str, en: str) -> dict[str, object]:
        return {"code": code, "severity": "error", "message_vi": vi, "message_en": en}

    def alert(**fields: object) -> dict[str, object]:
        return {
            "ledger_index": 9,
            "reviewed_at": None,
            "review_note": None,
            "reviewed_by": None,
            "review_ledger_index": None,
            "count": 1,
            "last_at": fields["at"],
            "last_ledger_index": 9,
            **fields,
        }

    doc = {
        "alerts": [
            alert(
                id=3,
                kind="rejected",
                at="2011-05-22T20:00:00Z",
                station_id="KV-01",
                polling_area_id="KV-01",
                codes=["E112"],
                data={
                    "findings": [finding("E112", "vi", "en"), finding("W201", "v2", "e2")],
                },
                reviewed=False,
            ),
            alert(
                id=4,
                kind="rejected",
                at="2011-05-22T20:01:00Z",
                station_id=None,
                polling_area_id=None,
                codes=["K401"],
                data={"findings": [finding("K401", "v", "e")]},
                reviewed=False,
                count=57,
            ),
        ],
        "silent_stations": [
            {
                "station_id": "KV-03",
                "polling_area_id": "KV-03",
                "fingerprint": "ABCD",
                "enrolled_at": "2011-05-22T07:00:00Z",
            }
        ],
    }
    rejected, junk, silent = alerts_from(msgspec.convert(doc, read.AlertsPage))
    assert rejected.codes == ("E112", "W201") and rejected.message_en == "en · e2"
    assert (rejected.count, junk.count) == (1, 57)  # refusals of one sender, coalesced
    assert silent.id == "silent:KV-03" and silent.kind == "silent_station"


def test_backoff_bound_doubles_up_to_its_cap_with_full_jitter() -> None:
    b, rng = Backoff(base=0.5, cap=4), random.Random(7)
    for attempt, bound in enumerate([0.5, 1, 2, 4, 4, 4, 4]):
        pauses = [b.delay(attempt, rng) for _ in range(400)]
        assert all(0 <= p <= bound for p in pauses)
        # full jitter: the pauses spread over the whole range, not bunched at the top
        assert min(pauses) < 0.1 * bound and max(pauses) > 0.9 * bound
    assert b.delay(10_000, rng) <= 4  # no overflow far out


def test_bindings_follow_the_language() -> None:
    vi, en = bilingual("p", "print", "print")
    assert (vi.description, en.description) == ("In biên bản", "Print sheet")
    assert vi.action == "print('vi')" and en.action == "print('en')"
    assert lang_allows(("vi",), "vi") and not lang_allows(("vi",), "en")
    assert bilingual("o", "switch_mode('overview')", "overview")[1].action == (
        "switch_mode('overview', 'en')"
    )


def test_time_since_last_batch() -> None:
    import datetime as dt

    now = dt.datetime(2011, 5, 22, 20, 0, tzinfo=dt.UTC)
    assert since_text(None, now, "chưa có") == "chưa có"
    assert since_text(now - dt.timedelta(seconds=42), now, "") == "42 s"
    assert since_text(now - dt.timedelta(minutes=3, seconds=5), now, "") == "3 min"
    assert since_text(now - dt.timedelta(hours=2, minutes=5), now, "") == "2 h 05"


def test_docs_list_every_key_of_the_dashboard(assets: Path) -> None:
    """docs/dashboard.md's key table cannot fall behind the bindings."""
    from tui.app import DashboardApp
    from tui.screens.alerts import AlertsScreen
    from tui.screens.constituencies import ConstituenciesScreen
    from tui.screens.constituency import ConstituencyScreen
    from tui.screens.missing import MissingScreen
    from tui.screens.overview import OverviewScreen
    from tui.screens.polling_area import PollingAreaScreen

    docs = (assets.parent.parent / "docs" / "dashboard.md").read_text(encoding="utf-8")
    keys = set()
    for owner in (
        DashboardApp,
        OverviewScreen,
        ConstituenciesScreen,
        ConstituencyScreen,
        PollingAreaScreen,
        AlertsScreen,
        MissingScreen,
    ):
        for binding in owner.BINDINGS:
            keys.add(binding.key if hasattr(binding, "key") else binding[0])  # type: ignore[union-attr,index]
    missing = [k for k in sorted(keys) if f"| `{k}` |" not in docs and f"| `{k}` (" not in docs]
    assert not missing, f"keys missing from docs/dashboard.md: {missing}"
