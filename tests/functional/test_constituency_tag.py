"""A constituency's page is tagged with the last entry that changed it, not the head:
the public's proxy revalidates it with a 304 while batches arrive elsewhere, and sees
the new figures as soon as one of its own areas reports (issue 18)."""

from __future__ import annotations

import hashlib
import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from serverkit import RunningServer, ServerFolder, Station, example_minutes

from schemas import codec
from schemas.models import CountingMinutes, Receipt
from schemas.signing import RECEIPT_TYPE, open_envelope
from tally_server.web.cache import CONSTITUENCY, LIVE

QH = "/api/v1/constituencies/QH/QH-10"
PAGES = [
    f"/api/v1/constituencies/{race}/{con}{query}"
    for race, con in [("QH", "QH-10"), ("HDND-TP", "TP-25"), ("HDND-XA", "TTH-1")]
    for query in ("", "?round=revote", "?round=supplementary")
]
REASON = "Kiểm lại: một phiếu bị tính nhầm là không hợp lệ."


@pytest.fixture
def stations(server_folder: ServerFolder, station: Station) -> dict[str, Station]:
    """KV-01, KV-02 and KV-03 enrolled before the server starts."""
    return {
        "KV-01": station,
        "KV-02": server_folder.enroll("KV-02", "KV-02"),
        "KV-03": server_folder.enroll("KV-03", "KV-03"),
    }


@pytest.fixture
def server(
    server_folder: ServerFolder, stations: dict[str, Station], tmp_path: Path
) -> Iterator[RunningServer]:
    server = RunningServer(server_folder, public=True, log_path=tmp_path / "server.log")
    server.tokens = {"admin": server_folder.token("admin")}
    server.start()
    try:
        yield server
    finally:
        server.stop()


def get(
    server: RunningServer, path: str, tag: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` (with ``If-None-Match: tag``): status, headers, body."""
    req = urllib.request.Request(server.url + path)
    if tag is not None:
        req.add_header("If-None-Match", tag)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def send(server: RunningServer, envelope: bytes) -> tuple[int, Receipt | None]:
    """Post a batch: its status and, if it was accepted, the receipt (signature checked)."""
    status, body = server.request("POST", "/api/v1/batches", envelope)
    if status != 200:
        return status, None
    opened = open_envelope(body, RECEIPT_TYPE)
    opened.verify(server.server_key)
    return status, codec.decode(opened.payload, Receipt)


def of_race(area: str, *races: str) -> list[CountingMinutes]:
    return [m for m in example_minutes(area) if m.race_id in races]


def qh_corrected() -> list[CountingMinutes]:
    """KV-01's minutes with one invalid ballot found valid for QH-10-5 (as
    test_server_ingest's correction)."""
    out = []
    for m in example_minutes():
        if m.race_id == "QH":
            m = msgspec.structs.replace(
                m,
                invalid_ballots=17,
                valid_ballots=1221,
                candidate_votes={**m.candidate_votes, "QH-10-5": 302},
                ballots_by_names_kept=[7, 214, 1000],
                explanations={"W208": "Đếm lại phiếu không hợp lệ theo yêu cầu của Ban bầu cử."},
            )
        out.append(m)
    return out


def head(server: RunningServer) -> int:
    _, headers, _ = get(server, "/api/v1/progress")
    return int(headers["ETag"][1:].split("-")[0])


def test_a_constituency_page_keeps_its_tag_until_one_of_its_own_areas_reports(
    server: RunningServer, stations: dict[str, Station]
) -> None:
    status, first, before = get(server, QH)
    assert status == 200 and first["Cache-Control"] == CONSTITUENCY
    tag = first["ETag"]
    # nothing reported yet: the page is as the ledger's opening entry left it
    assert tag.startswith('"0-') and json.loads(before)["ledger"]["index"] == 0

    # KV-02 reports its commune race only: another constituency's page moves on
    _, elsewhere = send(server, stations["KV-02"].envelope(1, of_race("KV-02", "HDND-XA")))
    assert elsewhere is not None
    status, same, empty = get(server, QH, tag)
    assert (status, empty, same["ETag"]) == (304, b"", tag)
    assert same["Cache-Control"] == CONSTITUENCY
    assert get(server, QH) == (200, first, before)  # the same tag is the same bytes
    tth = json.loads(get(server, "/api/v1/constituencies/HDND-XA/TTH-1")[2])
    assert (tth["areas_reported"], tth["ledger"]["index"]) == (1, elsewhere.ledger_index)
    assert tth["ledger"]["head"] == elsewhere.ledger_head
    # the live views move with the head as before
    _, progress, _ = get(server, "/api/v1/progress")
    assert progress["Cache-Control"] == LIVE
    assert progress["ETag"].startswith(f'"{elsewhere.ledger_index}-')

    # a refused batch and the committee's actions are entries too, but change no figures
    wrong = of_race("KV-03", "QH")
    wrong = [msgspec.structs.replace(wrong[0], valid_ballots=wrong[0].valid_ballots + 1)]
    assert send(server, stations["KV-03"].envelope(1, wrong))[0] == 422
    kv04 = server.folder.new_station("KV-04", "KV-03")
    assert server.enroll(kv04)[0] == 201
    revoked, _ = server.request(
        "POST", "/api/v1/stations/KV-04/revoke", b"{}", server.tokens["admin"]
    )
    assert revoked == 200
    assert head(server) == elsewhere.ledger_index + 3
    assert get(server, QH, tag)[0] == 304

    # one of its own areas reports: the old tag gets the new figures
    _, own = send(server, stations["KV-01"].envelope(1))
    assert own is not None
    status, moved, body = get(server, QH, tag)
    assert status == 200 and moved["ETag"] != tag
    assert moved["ETag"].startswith(f'"{own.ledger_index}-')
    page = json.loads(body)
    assert page["ledger"] == {"index": own.ledger_index, "head": own.ledger_head}
    assert page["reported_area_ids"] == ["KV-01"] and page["valid_ballots"] == 1220
    assert get(server, QH, moved["ETag"])[0] == 304

    # a correction of that area: the page moves on again, with the corrected figures
    digest = hashlib.sha256(stations["KV-01"].payload(1)).hexdigest()
    fixed = stations["KV-01"].envelope(2, qh_corrected(), reason=REASON, supersedes=digest)
    _, corrected = send(server, fixed)
    assert corrected is not None and corrected.correction
    status, again, body = get(server, QH, moved["ETag"])
    assert status == 200 and again["ETag"].startswith(f'"{corrected.ledger_index}-')
    assert json.loads(body)["valid_ballots"] == 1221


def test_every_page_keeps_its_tag_and_bytes_across_a_restart(
    server: RunningServer, stations: dict[str, Station]
) -> None:
    """The start-up replay gives every constituency the point the live path had: a
    proxy's tags stay good after a restart, and each still names the same bytes."""
    rng = random.Random(18)
    races = ["QH", "HDND-TP", "HDND-XA"]
    sequence = dict.fromkeys(stations, 0)
    counting = ""  # the digest of KV-01's batch whose QH minutes are counted
    for area in ["KV-01"] + [rng.choice(sorted(stations)) for _ in range(8)]:
        chosen = races if area == "KV-01" and not counting else rng.sample(races, 2)
        sequence[area] += 1
        payload = stations[area].payload(sequence[area], of_race(area, *chosen))
        assert send(server, stations[area].seal(payload))[0] == 200
        if area == "KV-01" and "QH" in chosen:
            counting = hashlib.sha256(payload).hexdigest()
    digest = counting
    sequence["KV-01"] += 1
    fixed = stations["KV-01"].envelope(
        sequence["KV-01"], qh_corrected(), reason=REASON, supersedes=digest
    )
    _, last = send(server, fixed)
    assert last is not None
    live = {path: get(server, path) for path in PAGES}
    assert {s for s, _, _ in live.values()} == {200}

    server.restart()
    for path, (_, headers, body) in live.items():
        status, now, again = get(server, path)
        assert (status, now["ETag"], again) == (200, headers["ETag"], body), path
        assert get(server, path, headers["ETag"])[0] == 304
    qh = json.loads(live[QH][2])
    assert qh["ledger"] == {"index": last.ledger_index, "head": last.ledger_head}


@pytest.mark.parametrize("seed", range(4))
async def test_the_points_replayed_at_start_are_those_the_live_path_kept(
    server_folder: ServerFolder, stations: dict[str, Station], seed: int
) -> None:
    """Batches of random races from random areas, some refused, several in one write
    group: each page's point is the last accepted entry that brought one of its minutes,
    and the tally rebuilt from the database has every point and page the same."""
    import asyncio

    from tally_server.service import views
    from tally_server.service.folder import open_folder
    from tally_server.service.ingest import Ingest

    rng = random.Random(seed)
    races = ["QH", "HDND-TP", "HDND-XA"]
    sequence = dict.fromkeys(stations, 0)
    expected: dict[tuple[str, str], tuple[int, str]] = {}
    ingest = Ingest(open_folder(server_folder.path))
    await ingest.start()
    try:
        opened = ingest.changed[("QH", "QH-10")]
        assert opened[0] == 0 and set(ingest.changed.values()) == {opened}
        for _ in range(6):
            sent: list[tuple[bool, list[CountingMinutes]]] = []
            envelopes = []
            for area in rng.sample(sorted(stations), rng.randint(1, 3)):
                minutes = of_race(area, *rng.sample(races, rng.randint(1, 3)))
                lawful = rng.random() > 0.25
                if not lawful:  # one ballot too many: refused, yet an entry of the ledger
                    m = minutes[0]
                    minutes[0] = msgspec.structs.replace(m, valid_ballots=m.valid_ballots + 1)
                sequence[area] += 1
                sent.append((lawful, minutes))
                envelopes.append(stations[area].envelope(sequence[area], minutes))
            # decided one after the other, written in one group
            answers = await asyncio.gather(*(ingest.submit(e) for e in envelopes))
            for (lawful, minutes), answer in zip(sent, answers, strict=True):
                assert (answer.outcome == "accepted") == lawful
                receipt = codec.decode(open_envelope(answer.body, RECEIPT_TYPE).payload, Receipt)
                if lawful:
                    for m in minutes:
                        point = (receipt.ledger_index, receipt.ledger_head)
                        expected[(m.race_id, m.constituency_id)] = max(
                            expected.get((m.race_id, m.constituency_id), point), point
                        )
            assert ingest.changed == {**dict.fromkeys(ingest.changed, opened), **expected}
        pages = {
            (race, con, rnd): msgspec.json.encode(views.constituency(ingest, race, con, rnd))
            for race, con in ingest.changed
            for rnd in ("main", "revote", "supplementary")
        }
        live = dict(ingest.changed)
    finally:
        await ingest.close()

    again = Ingest(open_folder(server_folder.path))
    await again.start()
    try:
        assert again.changed == live
        for (race, con, rnd), body in pages.items():
            assert msgspec.json.encode(views.constituency(again, race, con, rnd)) == body
    finally:
        await again.close()


async def test_a_page_moved_by_a_write_that_failed_goes_back(
    server_folder: ServerFolder, station: Station
) -> None:
    """The tally publishes a group before writing it: when the disk refuses the group,
    the points are those of the database again (no tag names what was not stored)."""
    from tally_server.service.folder import open_folder
    from tally_server.service.ingest import Ingest, StorageError

    size = (server_folder.path / "tally.db").stat().st_size
    ingest = Ingest(open_folder(server_folder.path), max_db_bytes=size)
    await ingest.start()
    try:
        before = dict(ingest.changed)
        with pytest.raises(StorageError) as refused:
            await ingest.submit(station.envelope(1))
        assert refused.value.code == "H507"
        assert ingest.changed == before
    finally:
        await ingest.close()
