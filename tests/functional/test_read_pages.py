"""The read routes page, sort, filter and search on the server, so a screen asks for
the rows it shows and not for a national list: the constituency list (with who
leads while a result is partial), the alerts (newest first, counted per kind, none
dropped beyond a page) and the polling areas still to report."""

from __future__ import annotations

import msgspec
from msgspec import structs
from serverkit import RunningServer, ServerFolder, Station, example_minutes

from schemas import read


def get(server: RunningServer, path: str, kind: type[msgspec.Struct], role: str = "viewer"):  # type: ignore[no-untyped-def]
    status, body = server.request("GET", path, token=server.tokens[role])
    assert status == 200, body
    return msgspec.json.decode(body, type=kind)


def test_the_constituency_list_pages_sorts_and_searches_on_the_server(
    tally_server: RunningServer, station: Station
) -> None:
    status, _ = tally_server.request("POST", "/api/v1/batches", station.envelope(1))
    assert status == 200
    whole = get(tally_server, "/api/v1/constituencies", read.ConstituencyList)
    assert whole.total == 3 and whole.offset == 0 and len(whole.constituencies) == 3

    page = get(tally_server, "/api/v1/constituencies?offset=1&limit=1", read.ConstituencyList)
    assert page.total == 3 and page.offset == 1
    assert [r.constituency_id for r in page.constituencies] == ["TP-25"]

    # typed without diacritics, a candidate's name finds the commune council's unit
    found = get(tally_server, "/api/v1/constituencies?q=ngo%20van%20loi", read.ConstituencyList)
    assert [(r.race_id, r.constituency_id) for r in found.constituencies] == [("HDND-XA", "TTH-1")]
    assert found.total == 1
    none = get(tally_server, "/api/v1/constituencies?q=khong%20co%20ai", read.ConstituencyList)
    assert none.total == 0 and none.constituencies == []

    by_name = get(tally_server, "/api/v1/constituencies?sort=name", read.ConstituencyList)
    names = [r.name for r in by_name.constituencies]
    assert names == sorted(names, key=lambda n: n.replace("xã", "xa"))

    # one area of three in: every result partial, and who is ahead is named
    qh = next(r for r in whole.constituencies if r.constituency_id == "QH-10")
    assert qh.status == "partial" and qh.winners == []
    assert len(qh.leading) == qh.seats == 3
    votes = [w.votes for w in qh.leading]
    assert votes == sorted(votes, reverse=True) and votes[0] > 0
    assert all(w.full_name and not w.full_name.startswith("QH") for w in qh.leading)

    status, body = tally_server.request(
        "GET", "/api/v1/constituencies?sort=size", token=tally_server.tokens["viewer"]
    )
    assert status == 400
    err = msgspec.json.decode(body, type=read.ErrorBody).error
    assert err.fields == ["sort"] and "key" in err.message_en and "key" in err.message_vi


def test_alerts_come_newest_first_counted_per_kind_and_none_lost_beyond_a_page(
    tally_server: RunningServer, station: Station, server_folder: ServerFolder
) -> None:
    # one refusal from each of three stations (three alerts): all three still silent
    senders = [station]
    for area in ("KV-02", "KV-03"):
        senders.append(server_folder.new_station(area))
        assert tally_server.enroll(senders[-1])[0] == 201
    for sender in senders:
        good = example_minutes(sender.polling_area_id)
        bad = [structs.replace(good[0], ballots_received=good[0].ballots_received + 1), *good[1:]]
        status, _ = tally_server.request("POST", "/api/v1/batches", sender.envelope(1, bad))
        assert status == 422

    oldest = get(tally_server, "/api/v1/alerts?kind=rejected", read.AlertsPage, "operator")
    assert oldest.total == 3
    newest = get(
        tally_server,
        "/api/v1/alerts?kind=rejected&order=newest&limit=1",
        read.AlertsPage,
        "operator",
    )
    assert newest.total == oldest.total and len(newest.alerts) == 1
    assert newest.alerts[0].id == oldest.alerts[-1].id  # the latest is on the first page
    second = get(
        tally_server,
        "/api/v1/alerts?kind=rejected&order=newest&limit=1&offset=1",
        read.AlertsPage,
        "operator",
    )
    assert second.offset == 1 and second.alerts[0].id == oldest.alerts[-2].id
    counts = {c.kind: (c.total, c.open) for c in newest.counts}
    assert counts["rejected"] == (oldest.total, oldest.total)
    assert counts["silent_station"] == (3, 3) and newest.silent_total == 3
    assert set(counts) == set(read.ALERT_KINDS)

    silent = get(
        tally_server,
        "/api/v1/alerts?kind=silent_station&limit=1&offset=1",
        read.AlertsPage,
        "operator",
    )
    assert silent.silent_total == 3 and [s.station_id for s in silent.silent_stations] == ["KV-02"]


def test_missing_areas_across_the_election_and_under_a_committee(
    tally_server: RunningServer, station: Station, server_folder: ServerFolder
) -> None:
    other = server_folder.new_station("KV-02")
    assert tally_server.enroll(other)[0] == 201
    status, _ = tally_server.request("POST", "/api/v1/batches", station.envelope(1))
    assert status == 200

    doc = get(tally_server, "/api/v1/missing", read.MissingAreas)
    assert doc.scope == "election" and doc.total == 2
    assert [a.polling_area_id for a in doc.areas] == ["KV-02", "KV-03"]
    kv2, kv3 = doc.areas
    assert kv2.station_id == "KV-02" and kv2.silent
    assert kv3.station_id is None and not kv3.silent
    assert (doc.silent_total, doc.no_station_total) == (1, 1)
    assert kv2.races_missing == ["QH", "HDND-TP", "HDND-XA"]
    assert kv2.name == "Khu vực bỏ phiếu số 2"

    commune = get(tally_server, "/api/v1/missing?committee=UBBC-TTH&limit=1", read.MissingAreas)
    assert commune.scope == "committee:UBBC-TTH" and commune.total == 2
    assert [a.races_missing for a in commune.areas] == [["HDND-XA"]]

    status, body = tally_server.request(
        "GET", "/api/v1/missing?committee=NOPE", token=tally_server.tokens["viewer"]
    )
    assert status == 404
    err = msgspec.json.decode(body, type=read.ErrorBody).error
    assert err.figures == {"committee": "NOPE"}


def test_progress_lists_only_the_committees_of_the_levels_asked(
    tally_server: RunningServer,
) -> None:
    whole = get(tally_server, "/api/v1/progress", read.Progress)
    assert [c.committee_id for c in whole.committees or []] == ["HDBCQG", "UBBC-HCM", "UBBC-TTH"]
    top = get(tally_server, "/api/v1/progress?levels=national,province", read.Progress)
    assert [c.committee_id for c in top.committees or []] == ["HDBCQG", "UBBC-HCM"]
    assert top.overall == whole.overall  # the running totals are the election's still
    status, body = tally_server.request(
        "GET", "/api/v1/progress?levels=ward", token=tally_server.tokens["viewer"]
    )
    assert status == 400
    assert msgspec.json.decode(body, type=read.ErrorBody).error.fields == ["levels"]
