"""The read API keeps its typed contract (schemas/read.py): every answer of a real
server, after real batches (accepted, refused, corrected) and a review, decodes
strictly into its type, and so does every event of the feed. An answer that drifts
from its type, by a field added, left out or of another kind, is refused."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import msgspec
import pytest
from serverkit import RunningServer, ServerFolder, Station, example_minutes

from schemas import read
from schemas.models import Receipt
from schemas.signing import RECEIPT_TYPE, open_envelope
from tui.client import decode, parse_event
from tui.errors import BadAnswer

ROUTES: dict[str, tuple[str, type[msgspec.Struct]]] = {
    "progress": ("/api/v1/progress", read.Progress),
    "constituencies": ("/api/v1/constituencies", read.ConstituencyList),
    "constituency": ("/api/v1/constituencies/QH/QH-10?round=main", read.ConstituencyDetail),
    "polling-area": ("/api/v1/polling-areas/KV-01", read.PollingAreaView),
    "alerts": ("/api/v1/alerts", read.AlertsPage),
    "missing": ("/api/v1/missing", read.MissingAreas),
    "stations": ("/api/v1/stations", read.StationList),
    "results": ("/api/v1/results.json", read.ResultsDocument),
    "ledger-hashes": ("/api/v1/ledger/hashes?at=0,1,999", read.LedgerHashes),
    "server-key": ("/api/v1/server-key", read.ServerKey),
    "error": ("/api/v1/constituencies/QH/QH-99", read.ErrorBody),
}


def night(server: RunningServer, folder: ServerFolder, station: Station) -> None:
    """KV-01 reports, is refused once, corrects QH (with its reason); KV-02 and KV-03
    report; an operator reviews the correction's alert."""

    def post(envelope: bytes) -> tuple[int, bytes]:
        return server.request("POST", "/api/v1/batches", envelope)

    status, body = post(station.envelope(1))
    assert status == 200
    opened = open_envelope(body, RECEIPT_TYPE)
    opened.verify(server.server_key)
    receipt = msgspec.json.decode(opened.payload, type=Receipt)
    assert post(station.envelope(2, election_id="other"))[0] == 403
    qh, *rest = example_minutes()
    fixed = msgspec.structs.replace(
        qh,
        invalid_ballots=17,
        valid_ballots=1221,
        candidate_votes={**qh.candidate_votes, "QH-10-5": 302},
        ballots_by_names_kept=[7, 214, 1000],
        explanations={"W208": "Đếm lại phiếu không hợp lệ."},
    )
    reason = "Kiểm lại: một phiếu bị tính nhầm là không hợp lệ."
    envelope = station.envelope(3, [fixed, *rest], reason=reason, supersedes=receipt.batch_digest)
    assert post(envelope)[0] == 200
    for area in ("KV-02", "KV-03"):
        other = folder.new_station(area)
        assert server.enroll(other)[0] == 201
        assert post(other.envelope(1))[0] == 200
    status, body = server.request("GET", "/api/v1/alerts", token=server.tokens["operator"])
    correction = next(a for a in json.loads(body)["alerts"] if a["kind"] == "correction")
    note = json.dumps({"note": "Đã xem biên bản."}).encode()
    path = f"/api/v1/alerts/{correction['id']}/review"
    assert server.request("POST", path, note, server.tokens["operator"])[0] == 200


@pytest.mark.timeout(120)
async def test_every_read_answer_and_feed_event_decodes_strictly_into_its_type(
    tally_server: RunningServer, server_folder: ServerFolder, station: Station
) -> None:
    await asyncio.to_thread(night, tally_server, server_folder, station)
    answers: dict[str, bytes] = {}
    for name, (path, _) in ROUTES.items():
        status, body = await asyncio.to_thread(
            tally_server.request, "GET", path, token=tally_server.tokens["operator"]
        )
        assert status == (404 if name == "error" else 200), (path, body[:300])
        answers[name] = body
    # every answer type has its route here, so a new one cannot go untested
    assert set(ROUTES) == set(read.READ_TYPES) - {"feed-event"}
    typed = {name: decode(answers[name], kind, name) for name, (_, kind) in ROUTES.items()}

    qh10 = typed["constituency"]
    assert isinstance(qh10, read.ConstituencyDetail)
    assert qh10.status == "elected" and len(qh10.winners) == qh10.seats == 3
    assert qh10.final.seats_filled == 3 and qh10.reported_area_ids == ["KV-01", "KV-02", "KV-03"]
    area = typed["polling-area"]
    assert isinstance(area, read.PollingAreaView)
    assert [h.correction for h in area.history if h.race_id == "QH"] == [False, True]
    assert [b.status for b in area.batches] == ["accepted", "rejected", "accepted"]
    assert any(w.code == "W208" and w.explained for w in area.warnings)
    alerts = typed["alerts"]
    assert isinstance(alerts, read.AlertsPage)
    kinds = {a.kind: a for a in alerts.alerts}
    assert {"rejected", "correction", "warning"} <= set(kinds)
    assert kinds["correction"].reviewed and kinds["correction"].review_note == "Đã xem biên bản."
    results = typed["results"]
    assert isinstance(results, read.ResultsDocument)
    progress = typed["progress"]
    assert isinstance(progress, read.Progress) and progress.committees
    assert progress.ledger.index == results.ledger_index == kinds["correction"].review_ledger_index
    hashes = typed["ledger-hashes"]
    assert isinstance(hashes, read.LedgerHashes)
    assert [e.hash is None for e in hashes.entries] == [False, False, True]
    error = typed["error"]
    assert isinstance(error, read.ErrorBody) and error.error.code == "A404"

    # the feed, replayed from its first event: every event typed by its "type"
    events: list[read.FeedEvent] = []
    ws_url = tally_server.url.replace("http", "ws", 1) + "/api/v1/feed?since=0"
    headers = {"Authorization": f"Bearer {tally_server.tokens['viewer']}"}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, headers=headers) as ws,
    ):
        while not any(isinstance(e, read.AlertEvent) and e.data.reviewed for e in events):
            msg = await asyncio.wait_for(ws.receive(), 20)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            events.append(parse_event(msg.data))
    assert {type(e) for e in events} == {
        read.ProgressEvent,
        read.BatchAcceptedEvent,
        read.CorrectionEvent,
        read.AlertEvent,
    }
    [corrected] = [e for e in events if isinstance(e, read.CorrectionEvent)]
    assert corrected.data.changed_races == ["QH"] and corrected.data.reason
    assert [e.data.count for e in events if isinstance(e, read.AlertEvent)][0] == 1

    # an answer that drifts from its type is refused, naming what differs
    for name, (path, kind) in ROUTES.items():
        doc = json.loads(answers[name])
        first = next(iter(doc))
        for drifted, why in (
            ({**doc, "surprise": 1}, "unknown field"),
            ({k: v for k, v in doc.items() if k != first}, f"missing required field `{first}`"),
            ({**doc, first: True}, "Expected"),
        ):
            with pytest.raises(BadAnswer, match=why):
                decode(json.dumps(drifted).encode(), kind, path)
    # the list's row is not the full result: each is read only as its own type
    with pytest.raises(BadAnswer):
        decode(answers["constituencies"], read.ConstituencyDetail, "constituencies")
    row = json.loads(answers["constituencies"])["constituencies"][0]
    with pytest.raises(BadAnswer, match="Invalid enum value 'won'"):
        decode(json.dumps({**row, "status": "won"}).encode(), read.ConstituencyRow, "row")
