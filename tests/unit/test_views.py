"""The read API's encodings: what is hashed and sent equals encoding it whole."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

from schemas import read
from tally_server.core.definition import load_election
from tally_server.core.fasttally import tally_from_scratch
from tally_server.core.sample import sample_minutes
from tally_server.core.tally import results_digest
from tally_server.service.views import ResultsCache, constituencies, results_sha256

ROOT = Path(__file__).resolve().parents[2]
ELECTION = load_election(ROOT / "tests" / "assets" / "examples" / "election.json")


def test_results_are_hashed_and_sent_a_slice_at_a_time_as_if_whole() -> None:
    tally = tally_from_scratch(ELECTION, sample_minutes(ELECTION, seed=3, warnings=0))
    results = tally.results()
    assert len(results) == 3 and all(r.areas_reported for r in results)
    assert results_sha256(results) == results_digest(results)
    doc = read.ResultsDocument(
        election_id=ELECTION.id,
        ledger_index=41,
        ledger_head="ab" * 32,
        results_sha256=results_sha256(results),
        results=results,
    )
    whole = msgspec.json.encode(doc)
    # the bytes the document was sent as before it was a record
    assert whole == msgspec.json.encode(msgspec.structs.asdict(doc))
    for size in (1, 2, len(results), len(results) + 5):
        assert b"".join(ResultsCache.chunks(doc, size)) == whole
    assert msgspec.json.decode(whole, type=read.ResultsDocument) == doc
    empty = msgspec.structs.replace(doc, results=[], results_sha256=results_sha256([]))
    assert b"".join(ResultsCache.chunks(empty)) == msgspec.json.encode(empty)
    assert results_sha256([]) == results_digest([])


def test_the_constituency_list_is_the_same_text_in_any_slices() -> None:
    from tally_server.service.views import _constituency_pieces

    tally = tally_from_scratch(ELECTION, sample_minutes(ELECTION, seed=3, warnings=0))
    results = tally.results()
    point = read.LedgerPoint(index=41, head="ab" * 32)
    finals = {(r.race_id, r.constituency_id): None for r in results}
    texts = {b"".join(_constituency_pieces(results, finals, point, size)) for size in (1, 2, 1000)}
    assert len(texts) == 1
    text = texts.pop()
    assert msgspec.json.decode(text, type=read.ConstituencyList).ledger == point
    doc = json.loads(text)
    assert doc["ledger"] == {"index": 41, "head": "ab" * 32}
    assert [(r["race_id"], r["constituency_id"]) for r in doc["constituencies"]] == [
        (r.race_id, r.constituency_id) for r in results
    ]
    winners = doc["constituencies"][0]["winners"]
    assert winners and set(winners[0]) == {"id", "full_name", "votes", "pct"}
    assert all("final" not in r for r in doc["constituencies"])  # one round each: left out
    empty = json.loads(b"".join(_constituency_pieces([], {}, point, 5)))
    assert empty == {
        "constituencies": [],
        "ledger": {"index": 41, "head": "ab" * 32},
        "total": 0,
        "offset": 0,
    }


def test_each_row_of_a_constituency_with_a_later_round_says_where_it_stands() -> None:
    """Three seats, two filled in the main round, the third in the supplementary one:
    both rows say 3/3 filled, and the published results (and their hash) are the
    rounds' own, not the list's."""
    from lawkit import make_election, sheet

    from tally_server.service.views import _final_seats

    election = make_election(seats=3, areas=1)
    main = sheet([800, 700, 400, 300, 200], valid=900, on_list=1000, piles=[0, 300, 600])
    supp = sheet({"C-3": 500, "C-4": 250, "C-5": 150}, valid=900, round="supplementary")
    tally = tally_from_scratch(election, [main])

    # what ``constituencies`` reads of the ingest service: its tally at a ledger point
    ingest: Any = SimpleNamespace(tally=tally, published_index=7, published_hash="cd" * 32)
    assert _final_seats(ingest, "R", "C") is None
    before = results_sha256(tally.results())
    tally.apply(supp)
    doc = msgspec.json.decode(b"".join(constituencies(ingest)), type=read.ConstituencyList)
    final = read.FinalSeats(
        seats=3, seats_filled=3, status="elected", rounds=["main", "supplementary"]
    )
    assert [(r.round, r.status, r.seats_filled, r.final) for r in doc.constituencies] == [
        ("main", "supplementary_proposed", 2, final),
        ("supplementary", "elected", 1, final),
    ]
    results = tally.results()
    assert results_sha256(results) == results_digest(results) != before
    assert b"final" not in msgspec.json.encode(results)


def test_every_order_and_filter_pages_into_the_same_list_as_one_read() -> None:
    """The pages of the list (built from the definition where they can, from the
    results where the order needs the figures) join into the list read whole, for
    every order; a search narrows it without diacritics."""
    one_area = [
        m for m in sample_minutes(ELECTION, seed=3, warnings=0) if m.polling_area_id == "KV-01"
    ]
    tally = tally_from_scratch(ELECTION, one_area)
    ingest: Any = SimpleNamespace(
        tally=tally, election=ELECTION, published_index=7, published_hash="cd" * 32
    )

    def ids(**query: Any) -> tuple[int, list[tuple[str, str]]]:
        doc = msgspec.json.decode(
            b"".join(constituencies(ingest, **query)), type=read.ConstituencyList
        )
        return doc.total, [(r.race_id, r.constituency_id) for r in doc.constituencies]

    for sort in read.LIST_SORTS:
        total, whole = ids(sort=sort)
        assert total == len(whole) == 3
        pages = [ids(sort=sort, offset=i, limit=1) for i in range(3)]
        assert [p[1][0] for p in pages] == whole and {p[0] for p in pages} == {3}
    assert ids(sort="key")[1] == [("QH", "QH-10"), ("HDND-TP", "TP-25"), ("HDND-XA", "TTH-1")]
    assert ids(q="TAN THONG")[1] == [("HDND-XA", "TTH-1")]
    assert ids(committee="UBBC-TTH")[1] == [("HDND-XA", "TTH-1")]
    assert ids(race="QH", status="partial") == (1, [("QH", "QH-10")])
    assert ids(status="elected") == (0, [])
