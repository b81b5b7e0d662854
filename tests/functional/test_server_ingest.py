"""POST /api/v1/batches over the real app, a real SQLite file and real keys: every answer."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from serverkit import EXAMPLE_ELECTION, ServerFolder, Station, example_minutes

from schemas import codec
from schemas.models import CountingMinutes, Receipt
from schemas.signing import RECEIPT_TYPE, SigningKey, VerifyKey, open_envelope
from tally_server.web import create_app

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> Client:
    return await aiohttp_client(create_app(server_folder.path))


def server_key(folder: ServerFolder) -> VerifyKey:
    return VerifyKey.from_pem((folder.path / "server.pub.pem").read_bytes())


async def post(client: Client, body: bytes) -> tuple[int, bytes]:
    resp = await client.post("/api/v1/batches", data=body)
    return resp.status, await resp.read()


def receipt_of(body: bytes, folder: ServerFolder) -> Receipt:
    """The receipt in an answer, after checking the server's signature over it."""
    opened = open_envelope(body, RECEIPT_TYPE)
    opened.verify(server_key(folder))
    return codec.decode(opened.payload, Receipt)


def error_of(body: bytes) -> dict[str, Any]:
    err: dict[str, Any] = json.loads(body)["error"]
    assert err["message_vi"] and err["message_en"]
    return err


async def ledger(client: Client, token: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/ledger", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    return [json.loads(line) for line in (await resp.read()).splitlines()]


def changed(minutes: list[CountingMinutes], race: str, **figures: Any) -> list[CountingMinutes]:
    return [msgspec.structs.replace(m, **figures) if m.race_id == race else m for m in minutes]


async def test_accepted_batch_gets_a_receipt_signed_by_the_server(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    payload = station.payload(1)
    status, body = await post(client, station.seal(payload))
    assert status == 200
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "accepted"
    assert receipt.station_id == "KV-01" and receipt.sequence == 1
    assert receipt.batch_digest == hashlib.sha256(payload).hexdigest()
    assert receipt.findings == [] and receipt.correction is False
    entries = await ledger(client, server_folder.token("viewer"))
    assert [e["kind"] for e in entries] == ["ledger_opened", "station_enrolled", "batch_accepted"]
    last = entries[-1]
    assert receipt.ledger_index == last["index"] == 2
    assert receipt.ledger_head == last["hash"]
    assert base64.b64decode(last["envelope"]) == station.seal(payload)
    assert base64.b64decode(last["receipt"]) == body


async def test_the_same_batch_again_gets_the_identical_receipt_bytes(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    envelope = station.envelope(1)
    first = await post(client, envelope)
    again = await post(client, envelope)
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    entries = await ledger(client, server_folder.token("viewer"))
    assert sum(e["kind"] == "batch_accepted" for e in entries) == 1


async def test_unknown_key_is_refused_and_recorded(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    stranger = SigningKey.generate()
    status, body = await post(client, codec_seal(stranger, station.payload(1)))
    assert status == 401
    err = error_of(body)
    assert err["code"] == "K401"
    assert err["figures"]["keyid"] == stranger.public.fingerprint
    entries = await ledger(client, server_folder.token("viewer"))
    assert entries[-1]["kind"] == "batch_rejected"
    outcome = json.loads(entries[-1]["outcome"])
    assert outcome["code"] == "K401"
    assert outcome["keyid"] == stranger.public.fingerprint
    # Anyone can send this: the ledger keeps what came as a digest, not the bytes.
    assert entries[-1]["envelope"] == ""
    assert outcome["received_bytes"] == len(codec_seal(stranger, station.payload(1)))


def codec_seal(key: SigningKey, payload: bytes) -> bytes:
    from schemas.signing import BATCH_TYPE, seal

    return seal(key, BATCH_TYPE, payload)


async def test_revoked_key_is_refused(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    admin = {"Authorization": f"Bearer {server_folder.token('admin')}"}
    resp = await client.post("/api/v1/stations/KV-01/revoke", headers=admin)
    assert resp.status == 200
    assert (await resp.json())["fingerprint"] == station.fingerprint
    status, body = await post(client, station.envelope(1))
    assert status == 401
    assert error_of(body)["code"] == "K402"


async def test_a_signature_over_other_bytes_is_refused(client: Client, station: Station) -> None:
    envelope = json.loads(station.envelope(1))
    envelope["signatures"][0]["sig"] = json.loads(station.envelope(2))["signatures"][0]["sig"]
    status, body = await post(client, json.dumps(envelope).encode())
    assert status == 401
    assert error_of(body)["code"] == "S201"


async def test_one_byte_changed_after_signing_is_refused(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    envelope = json.loads(station.envelope(1))
    payload = bytearray(base64.b64decode(envelope["payload"]))
    i = payload.index(b'"valid_ballots":1220')
    payload[i + len('"valid_ballots":122')] = ord("1")  # 1220 -> 1221
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    status, body = await post(client, json.dumps(envelope).encode())
    assert status == 401
    assert error_of(body)["code"] == "S201"
    progress = await (
        await client.get(
            "/api/v1/progress",
            headers={"Authorization": f"Bearer {server_folder.token('viewer')}"},
        )
    ).json()
    assert progress["overall"]["areas_reported"] == 0
    assert progress["batches"]["rejected"] == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"station_id": "KV-02"}, "C404"),
        ({"polling_area_id": "KV-02"}, "C405"),
        ({"election_id": "vd-2016"}, "C403"),
    ],
)
async def test_a_batch_naming_another_context_is_forbidden(
    client: Client, station: Station, fields: dict[str, str], code: str
) -> None:
    minutes = example_minutes("KV-01")
    if "polling_area_id" in fields:
        minutes = example_minutes("KV-02")
    status, body = await post(client, station.envelope(1, minutes, **fields))
    assert status == 403
    err = error_of(body)
    assert err["code"] == code
    assert list(fields.values())[0] in json.dumps(err["figures"])


async def test_minutes_of_another_polling_area_are_a_law_error(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    # Signed by KV-01 for KV-01, but one sheet is KV-02's.
    minutes = example_minutes("KV-01")[:2] + example_minutes("KV-02")[2:]
    status, body = await post(client, station.envelope(1, minutes))
    assert status == 422
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "rejected"
    assert "E120" in {f.code for f in receipt.findings}


async def test_stale_sequence_is_rejected(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    assert (await post(client, station.envelope(5)))[0] == 200
    older = changed(example_minutes(), "QH", explanations={"W200": "x"})
    status, body = await post(client, station.envelope(4, older))
    assert status == 422
    receipt = receipt_of(body, server_folder)
    assert [f.code for f in receipt.findings] == ["Q410"]
    assert receipt.findings[0].figures == {"sequence": 4, "last_accepted": 5}


async def test_same_sequence_other_bytes_is_a_conflict_and_a_security_alert(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    first = await post(client, station.envelope(1))
    assert first[0] == 200
    status, body = await post(client, station.envelope(1, created_at="2011-05-22T20:00:00Z"))
    assert status == 409
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "rejected"
    assert [f.code for f in receipt.findings] == ["Q409"]
    assert (
        receipt.findings[0].figures["accepted_digest"]
        == receipt_of(first[1], server_folder).batch_digest
    )
    operator = {"Authorization": f"Bearer {server_folder.token('operator')}"}
    alerts = await (await client.get("/api/v1/alerts?kind=conflict", headers=operator)).json()
    assert [a["codes"] for a in alerts["alerts"]] == [["Q409"]]
    assert alerts["alerts"][0]["station_id"] == "KV-01"


async def test_a_correction_needs_a_reason(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    first = await post(client, station.envelope(1))
    digest = receipt_of(first[1], server_folder).batch_digest
    fixed = changed(example_minutes(), "QH", invalid_ballots=17, valid_ballots=1221)
    fixed = changed(
        fixed,
        "QH",
        candidate_votes={**fixed[0].candidate_votes, "QH-10-5": 302},
        ballots_by_names_kept=[7, 214, 1000],
    )
    status, body = await post(client, station.envelope(2, fixed, supersedes=digest))
    assert status == 422
    findings = receipt_of(body, server_folder).findings
    assert [f.code for f in findings if f.severity == "error"] == ["Q411"]


async def test_a_correction_with_its_reason_is_accepted_and_history_kept(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    first = await post(client, station.envelope(1))
    digest = receipt_of(first[1], server_folder).batch_digest
    minutes = example_minutes()
    qh = minutes[0]
    fixed = changed(
        minutes,
        "QH",
        invalid_ballots=17,
        valid_ballots=1221,
        candidate_votes={**qh.candidate_votes, "QH-10-5": 302},
        ballots_by_names_kept=[7, 214, 1000],
        explanations={"W208": "Đếm lại phiếu không hợp lệ theo yêu cầu của Ban bầu cử."},
    )
    reason = "Kiểm lại: một phiếu bị tính nhầm là không hợp lệ."
    # supersedes must name the batch being corrected
    wrong = await post(client, station.envelope(2, fixed, reason=reason, supersedes="0" * 64))
    assert wrong[0] == 422
    assert "Q412" in {f.code for f in receipt_of(wrong[1], server_folder).findings}

    status, body = await post(client, station.envelope(3, fixed, reason=reason, supersedes=digest))
    assert status == 200
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "accepted" and receipt.correction is True
    assert "W208" in {f.code for f in receipt.findings}

    viewer = {"Authorization": f"Bearer {server_folder.token('viewer')}"}
    area = await (await client.get("/api/v1/polling-areas/KV-01", headers=viewer)).json()
    qh_history = [h for h in area["history"] if h["race_id"] == "QH"]
    assert [h["minutes"]["valid_ballots"] for h in qh_history] == [1220, 1221]
    assert [h["correction"] for h in qh_history] == [False, True]
    assert area["corrections"][0]["reason"] == reason
    current_qh = [c for c in area["current"] if c["race_id"] == "QH"]
    assert current_qh[0]["minutes"]["valid_ballots"] == 1221
    # the tally counts the corrected figures, once
    con = await (await client.get("/api/v1/constituencies/QH/QH-10", headers=viewer)).json()
    assert con["valid_ballots"] == 1221
    assert {c["id"]: c["votes"] for c in con["candidates"]}["QH-10-5"] == 302
    operator = {"Authorization": f"Bearer {server_folder.token('operator')}"}
    alerts = await (await client.get("/api/v1/alerts?kind=correction", headers=operator)).json()
    assert len(alerts["alerts"]) == 1
    assert alerts["alerts"][0]["data"]["reason"] == reason
    assert alerts["alerts"][0]["reviewed"] is False


async def test_a_law_error_is_rejected_with_its_rule_code(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    bad = changed(example_minutes(), "HDND-TP", invalid_ballots=19)  # 1210 + 19 != 1228
    status, body = await post(client, station.envelope(1, bad))
    assert status == 422
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "rejected"
    e112 = [f for f in receipt.findings if f.code == "E112"]
    assert e112 and e112[0].race_id == "HDND-TP"
    assert "1.210" in e112[0].message_vi and "1210" in json.dumps(e112[0].figures)
    viewer = {"Authorization": f"Bearer {server_folder.token('viewer')}"}
    progress = await (await client.get("/api/v1/progress", headers=viewer)).json()
    assert progress["overall"]["areas_reported"] == 0
    # a rejected batch does not use up its sequence number
    assert (await post(client, station.envelope(1)))[0] == 200


async def test_a_warning_is_accepted_flagged_and_its_explanation_recorded(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    # ballots issued (1240) differ from voters who voted (1238): a warning (W200)
    odd = changed(example_minutes(), "QH", ballots_issued=1240)
    status, body = await post(client, station.envelope(1, odd))
    assert status == 200
    receipt = receipt_of(body, server_folder)
    assert receipt.status == "accepted"
    assert [(f.code, f.severity) for f in receipt.findings] == [("W200", "warning")]
    viewer = {"Authorization": f"Bearer {server_folder.token('viewer')}"}
    area = await (await client.get("/api/v1/polling-areas/KV-01", headers=viewer)).json()
    assert [(w["code"], w["explained"]) for w in area["warnings"]] == [("W200", False)]
    progress = await (await client.get("/api/v1/progress", headers=viewer)).json()
    assert progress["batches"]["flagged"] == 1

    explained = changed(
        odd, "QH", explanations={"W200": "Hai cử tri làm hỏng phiếu, xin phiếu khác."}
    )
    assert (await post(client, station.envelope(2, explained)))[0] == 200
    area = await (await client.get("/api/v1/polling-areas/KV-01", headers=viewer)).json()
    assert [(w["code"], w["explained"]) for w in area["warnings"]] == [("W200", True)]
    operator = {"Authorization": f"Bearer {server_folder.token('operator')}"}
    alerts = await (await client.get("/api/v1/alerts?kind=warning", headers=operator)).json()
    assert [a["data"]["unexplained"] for a in alerts["alerts"]] == [["QH:W200"], []]


async def test_not_an_envelope_and_a_signed_non_batch_are_bad_requests(
    client: Client, server_folder: ServerFolder, station: Station
) -> None:
    status, body = await post(client, b"not json")
    assert status == 400 and error_of(body)["code"] == "S100"
    status, body = await post(client, station.seal(b'{"schema": "kiemphieu/batch/v1"}'))
    assert status == 400 and error_of(body)["code"] == "S100"
    entries = await ledger(client, server_folder.token("viewer"))
    # the signed one is recorded (it came from an enrolled key); the garbage is not
    assert [e["kind"] for e in entries[2:]] == ["batch_rejected"]


async def test_text_not_in_nfc_is_refused(client: Client, station: Station) -> None:
    import unicodedata

    minutes = example_minutes()
    head = msgspec.structs.replace(
        minutes[0].signatories[0], full_name=unicodedata.normalize("NFD", "Nguyễn Văn Tổ")
    )
    minutes[0] = msgspec.structs.replace(minutes[0], signatories=[head])
    status, body = await post(client, station.envelope(1, minutes))
    assert status == 400
    assert "NFC" in error_of(body)["message_en"]


async def test_a_body_over_256_kib_is_refused(client: Client) -> None:
    status, body = await post(client, b"{" + b" " * (256 * 1024) + b"}")
    assert status == 413
    assert error_of(body)["code"] == "H413"


async def test_a_wrong_payload_type_is_refused(client: Client, station: Station) -> None:
    from schemas.signing import seal

    status, body = await post(client, seal(station.key, RECEIPT_TYPE, station.payload(1)))
    assert status == 401
    assert error_of(body)["code"] == "S202"


async def test_a_race_not_held_at_the_area_is_a_law_error(
    aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    """Chosen: 422 with the law's finding (the same code the station's own checks
    show), not 403: the batch's context is right, one of its sheets is not."""
    from tally_server.service.folder import init_folder

    definition = json.loads(EXAMPLE_ELECTION.read_text("utf-8"))
    for race in definition["races"]:
        if race["id"] == "HDND-XA":
            race["constituencies"][0]["polling_area_ids"].remove("KV-03")
    for area in definition["polling_areas"]:
        if area["id"] == "KV-03":
            del area["voters"]["HDND-XA"]
    source = tmp_path / "election.json"
    source.write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    folder = ServerFolder(tmp_path / "server", source, tmp_path / "keys")
    init_folder(folder.path, source)
    kv3 = folder.enroll("KV-03", "KV-03")
    client = await aiohttp_client(create_app(folder.path))
    status, body = await post(client, kv3.envelope(1, example_minutes("KV-03")))
    assert status == 422
    receipt = receipt_of(body, folder)
    errors = {(f.code, f.race_id) for f in receipt.findings if f.severity == "error"}
    assert ("E104", "HDND-XA") in errors
    held = [m for m in example_minutes("KV-03") if m.race_id != "HDND-XA"]
    assert (await post(client, kv3.envelope(1, held)))[0] == 200


async def test_a_full_disk_stores_nothing_and_says_send_again(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station
) -> None:
    # The database may not grow: the first batch cannot be written.
    size = (server_folder.path / "tally.db").stat().st_size
    client = await aiohttp_client(create_app(server_folder.path, max_db_bytes=size))
    envelope = station.envelope(1)
    status, body = await post(client, envelope)
    assert status == 507
    assert error_of(body)["code"] == "H507"
    viewer = {"Authorization": f"Bearer {server_folder.token('viewer')}"}
    entries = await ledger(client, server_folder.token("viewer"))
    assert [e["kind"] for e in entries] == ["ledger_opened", "station_enrolled"]
    progress = await (await client.get("/api/v1/progress", headers=viewer)).json()
    assert progress["batches"]["accepted"] == 0
    await client.close()

    # with room again, the same bytes are accepted as new: nothing was half-recorded
    client = await aiohttp_client(create_app(server_folder.path))
    status, body = await post(client, envelope)
    assert status == 200
    assert receipt_of(body, server_folder).ledger_index == 2


def _qh_fixed() -> list[CountingMinutes]:
    """The example's QH minutes with one ballot moved from invalid to candidate QH-10-5."""
    qh = example_minutes()[0]
    return changed(
        example_minutes(),
        "QH",
        invalid_ballots=17,
        valid_ballots=1221,
        candidate_votes={**qh.candidate_votes, "QH-10-5": 302},
        ballots_by_names_kept=[7, 214, 1000],
        explanations={"W208": "Đếm lại phiếu không hợp lệ theo yêu cầu của Ban bầu cử."},
    )


async def test_a_correction_of_a_batch_not_yet_on_disk_and_after_a_restart(
    server_folder: ServerFolder, station: Station
) -> None:
    """The decision state keeps only where the counted minutes are in the ledger: the
    previous minutes come from the write group still in memory, then from the file."""
    import asyncio

    from tally_server.service.folder import open_folder
    from tally_server.service.ingest import Ingest
    from tally_server.web.statuses import STATUS

    first = station.payload(1)
    digest = hashlib.sha256(first).hexdigest()
    reason = "Kiểm lại: một phiếu bị tính nhầm là không hợp lệ."
    fixed = station.payload(2, _qh_fixed(), reason=reason, supersedes=digest)
    ingest = Ingest(open_folder(server_folder.path))
    await ingest.start()
    try:
        # Both are decided before the writer runs: the second sees the first only in memory.
        answers = await asyncio.gather(
            ingest.submit(station.seal(first)), ingest.submit(station.seal(fixed))
        )
        assert ingest.write_groups == 1
        receipts = [receipt_of(a.body, server_folder) for a in answers]
        assert [
            (STATUS[a.outcome], r.correction) for a, r in zip(answers, receipts, strict=True)
        ] == [
            (200, False),
            (200, True),
        ]
        assert ingest.tally.result("QH", "QH-10", "main").valid_ballots == 1221
    finally:
        await ingest.close()

    # After a restart the state is rebuilt from the database: a further correction must
    # name the batch now counted (read back from its ledger entry), and the tally is the
    # corrected one.
    again = Ingest(open_folder(server_folder.path))
    await again.start()
    try:
        assert again.tally.result("QH", "QH-10", "main").valid_ballots == 1221
        back = changed(_qh_fixed(), "QH", explanations={})
        back = changed(
            back,
            "QH",
            invalid_ballots=18,
            valid_ballots=1220,
            candidate_votes=example_minutes()[0].candidate_votes,
            ballots_by_names_kept=example_minutes()[0].ballots_by_names_kept,
        )
        stale = await again.submit(station.envelope(3, back, reason=reason, supersedes=digest))
        found = receipt_of(stale.body, server_folder).findings
        expected = hashlib.sha256(fixed).hexdigest()
        assert STATUS[stale.outcome] == 422
        assert [(f.code, f.figures.get("expected")) for f in found if f.code == "Q412"] == [
            ("Q412", expected)
        ]
        ok = await again.submit(station.envelope(4, back, reason=reason, supersedes=expected))
        assert STATUS[ok.outcome] == 200 and receipt_of(ok.body, server_folder).correction is True
        assert again.tally.result("QH", "QH-10", "main").valid_ballots == 1220
    finally:
        await again.close()
