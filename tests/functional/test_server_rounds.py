"""A supplementary round over the real server: its minutes are judged at ingest against
the constituency's main round as the ledger has it, and ``verify`` decides the same."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from serverkit import ROOT, ServerFolder, Station

from schemas.models import CountingMinutes
from tally_server.core.definition import load_election
from tally_server.service.verify import verify_ledger
from tally_server.web import create_app

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]
CASE = ROOT / "tests" / "assets" / "law" / "na-supplementary"


@pytest.fixture
def election_path(tmp_path: Path) -> Path:
    """The na-supplementary case (NA, 3 seats, candidates C-1..C-5) over two areas."""
    doc = json.loads((CASE / "election.json").read_text(encoding="utf-8"))
    doc["races"][0]["constituencies"][0]["polling_area_ids"] = ["A1", "A2"]
    area = doc["polling_areas"][0]
    doc["polling_areas"] = [area, dict(area, id="A2", name="Khu vực 2")]
    path = tmp_path / "election.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path, election_path: Path) -> ServerFolder:
    from tally_server.service.folder import init_folder

    init_folder(tmp_path / "server", election_path)
    return ServerFolder(tmp_path / "server", election_path, tmp_path / "keys")


def minutes(area: str, rnd: str, votes: dict[str, int], piles: list[int] | None) -> CountingMinutes:
    """1,000 voters, 900 voted, 900 valid ballots."""
    return msgspec.convert(
        {
            "race_id": "R",
            "constituency_id": "C",
            "polling_area_id": area,
            "round": rnd,
            "voters_on_list": 1000,
            "voters_voted": 900,
            "ballots_issued": 900,
            "ballots_received": 900,
            "valid_ballots": 900,
            "invalid_ballots": 0,
            "candidate_votes": votes,
            "ballots_by_names_kept": piles,
        },
        CountingMinutes,
    )


MAIN = {
    "C-1": 800,
    "C-2": 700,
    "C-3": 400,
    "C-4": 300,
    "C-5": 200,
}  # 2,400 names kept on 900 ballots
MAIN_PILES = [0, 300, 600]
LAWFUL = {"C-3": 500, "C-4": 250, "C-5": 150}


async def test_a_supplementary_round_at_ingest_and_on_replay(
    aiohttp_client: MakeClient, folder: ServerFolder, election_path: Path, tmp_path: Path
) -> None:
    stations: dict[str, Station] = {}
    for area in ("A1", "A2"):
        stations[area] = folder.enroll(area, area)
        stations[area].election_id = "na-supplementary"
    client = await aiohttp_client(create_app(folder.path))
    admin = {"Authorization": f"Bearer {folder.token('admin')}"}

    async def send(area: str, seq: int, *ms: CountingMinutes) -> tuple[int, dict[str, Any]]:
        body = stations[area].envelope(seq, list(ms))
        resp = await client.post("/api/v1/batches", data=body)
        return resp.status, await answer(resp)

    async def answer(resp: Any) -> dict[str, Any]:
        doc = json.loads(await resp.read())
        if "payload" in doc:  # a receipt
            out: dict[str, Any] = json.loads(base64.b64decode(doc["payload"]))
            return out
        err: dict[str, Any] = doc["error"]
        return err

    assert (await send("A1", 1, minutes("A1", "main", MAIN, MAIN_PILES)))[0] == 200
    lawful = stations["A1"].envelope(2, [minutes("A1", "supplementary", LAWFUL, [900, 0, 0])])

    # The main round is not complete: who was elected is not known yet.
    resp = await client.post("/api/v1/batches", data=lawful)
    early = await answer(resp)
    assert resp.status == 422 and early["status"] == "rejected"
    (f,) = early["findings"]
    assert f["code"] == "E118"
    assert (f["figures"]["areas_reported"], f["figures"]["areas_total"]) == (1, 2)
    assert "send the supplementary minutes again once it is complete" in f["message_en"]

    assert (await send("A2", 1, minutes("A2", "main", MAIN, MAIN_PILES)))[0] == 200

    # C-1 was elected in the main round: not on a supplementary ballot.
    again = {"C-1": 600, "C-3": 300}
    status, refused = await send("A1", 3, minutes("A1", "supplementary", again, [900, 0, 0]))
    assert status == 422
    assert [f["code"] for f in refused["findings"] if f["severity"] == "error"] == ["E108"]
    e108 = next(f for f in refused["findings"] if f["code"] == "E108")
    assert e108["message_en"].startswith("E108: Ứng cử viên 1 (C-1) already elected")
    # One seat open: ballots keeping two names are invalid.
    two = {"C-3": 900, "C-4": 900}
    status, refused = await send("A1", 3, minutes("A1", "supplementary", two, [0, 900, 0]))
    assert status == 422
    assert {f["code"] for f in refused["findings"] if f["severity"] == "error"} == {
        "E107",
        "E115",
    }

    # The first minutes, sent again unchanged, now pass; then the other area's.
    resp = await client.post("/api/v1/batches", data=lawful)
    assert resp.status == 200 and (await answer(resp))["status"] == "accepted"
    later = minutes("A2", "supplementary", {"C-3": 450, "C-4": 300, "C-5": 150}, None)
    assert (await send("A2", 2, later))[0] == 200

    got = await (
        await client.get("/api/v1/constituencies/R/C?round=supplementary", headers=admin)
    ).json()
    assert (got["round"], got["seats"], got["winners"]) == ("supplementary", 1, ["C-3"])
    final = got["final"]
    assert (final["status"], final["seats_filled"], final["seats"]) == ("elected", 3, 3)
    assert [(e["id"], e["round"], e["votes"]) for e in final["elected"]] == [
        ("C-1", "main", 1600),
        ("C-2", "main", 1400),
        ("C-3", "supplementary", 950),
    ]
    assert [(r["round"], r["seats"], r["valid_ballots"]) for r in final["rounds"]] == [
        ("main", 3, 1800),
        ("supplementary", 1, 1800),
    ]
    main = await (await client.get("/api/v1/constituencies/R/C", headers=admin)).json()
    assert main["final"] == final

    # The auditor's replay decides every one of these the same way, in ledger order.
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(await (await client.get("/api/v1/ledger", headers=admin)).read())
    results = await (await client.get("/api/v1/results.json", headers=admin)).json()
    for workers, chunk in ((1, 256), (2, 2)):
        report = verify_ledger(path, load_election(election_path), workers=workers, chunk=chunk)
        assert report.ok, report.bad
        assert report.kinds["batch_rejected"] == 3 and report.accepted == 4
        assert report.results_sha256 == results["results_sha256"]
