"""`tally-server verify` on a real server's ledger: clean, and after every kind of tampering."""

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
from serverkit import ROOT, ServerFolder, Station, example_minutes, run_verify

from schemas.signing import BATCH_TYPE, SigningKey, VerifyKey, open_envelope, seal
from tally_server.core.definition import load_election
from tally_server.service.verify import verify_ledger
from tally_server.store import ledger
from tally_server.store.ledger import Entry
from tally_server.web import create_app
from tally_server.web.statuses import STATUS

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def recorded(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station, tmp_path: Path
) -> tuple[Path, dict[str, Any]]:
    """A ledger with every kind of entry, exported, and the results the server published."""
    client = await aiohttp_client(create_app(server_folder.path))
    admin = {"Authorization": f"Bearer {server_folder.token('admin', 'Chủ tịch')}"}

    async def send(body: bytes) -> int:
        return (await client.post("/api/v1/batches", data=body)).status

    assert await send(station.envelope(1)) == 200
    kv2 = server_folder.new_station("KV-02")
    body = {"station_id": "KV-02", "polling_area_id": "KV-02", "public_key": kv2.key.public.b64}
    assert (await client.post("/api/v1/stations", json=body, headers=admin)).status == 201
    odd = example_minutes("KV-02")
    odd[0] = msgspec.structs.replace(odd[0], ballots_issued=odd[0].ballots_issued + 3)
    assert await send(kv2.envelope(1, odd)) == 200  # a warning
    assert await send(kv2.envelope(1, created_at="2011-05-22T23:00:00Z")) == 409
    digest = json.loads(
        base64.b64decode(
            json.loads(
                await (await client.post("/api/v1/batches", data=kv2.envelope(1, odd))).read()
            )["payload"]
        )
    )["batch_digest"]
    assert await send(kv2.envelope(3, reason="Sửa số phiếu phát ra", supersedes=digest)) == 200
    assert await send(kv2.envelope(2)) == 422  # stale
    bad = [
        msgspec.structs.replace(m, invalid_ballots=m.invalid_ballots + 1)
        for m in example_minutes("KV-03")
    ]
    kv3 = server_folder.new_station("KV-03")
    body = {"station_id": "KV-03", "polling_area_id": "KV-03", "public_key": kv3.key.public.b64}
    assert (await client.post("/api/v1/stations", json=body, headers=admin)).status == 201
    assert await send(kv3.envelope(1, bad)) == 422  # law errors
    assert await send(seal(SigningKey.generate(), BATCH_TYPE, kv3.payload(1))) == 401
    assert await send(kv3.envelope(1)) == 200
    assert (await client.post("/api/v1/stations/KV-03/revoke", headers=admin)).status == 200
    assert await send(kv3.envelope(2)) == 401  # revoked
    alerts = await (await client.get("/api/v1/alerts?kind=conflict", headers=admin)).json()
    review = await client.post(
        f"/api/v1/alerts/{alerts['alerts'][0]['id']}/review", json={"note": "đã xem"}, headers=admin
    )
    assert review.status == 200

    path = tmp_path / "ledger.jsonl"
    path.write_bytes(await (await client.get("/api/v1/ledger", headers=admin)).read())
    results = await (await client.get("/api/v1/results.json", headers=admin)).json()
    return path, results


def entries_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write(path: Path, lines: list[bytes]) -> Path:
    out = path.with_name("tampered.jsonl")
    out.write_bytes(b"".join(lines))
    return out


ELECTION = ROOT / "tests" / "assets" / "examples" / "election.json"


@pytest.mark.parametrize(("workers", "chunk"), [(1, 256), (2, 3)])
def test_a_clean_ledger_verifies_and_reproduces_the_published_results(
    recorded: tuple[Path, dict[str, Any]], workers: int, chunk: int
) -> None:
    path, results = recorded
    report = verify_ledger(path, load_election(ELECTION), workers=workers, chunk=chunk)
    assert report.ok, report.bad
    assert report.head_index == results["ledger_index"]
    assert report.head_hash == results["ledger_head"]
    assert report.results_sha256 == results["results_sha256"]
    assert report.kinds == {
        "ledger_opened": 1,
        "station_enrolled": 3,
        "station_revoked": 1,
        "batch_accepted": 3,
        "correction": 1,
        "conflict": 1,
        "batch_rejected": 4,
        "alert_reviewed": 1,
    }
    # Every batch entry but the unknown key's and the revoked key's: refused before a
    # valid signature, they are recorded as a digest and taken as recorded.
    assert report.signatures == 7
    assert report.unsigned == 2


def first_bad(path: Path) -> tuple[int, str]:
    report = verify_ledger(path, load_election(ELECTION), workers=1)
    assert not report.ok
    assert report.bad is not None
    return report.bad.index, report.bad.code


def edit(line: bytes, **changes: Any) -> bytes:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def test_one_flipped_byte_in_an_envelope_names_that_entry(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = recorded
    lines = entries_of(path)
    record = json.loads(lines[4])
    raw = bytearray(base64.b64decode(record["envelope"]))
    raw[len(raw) // 2] ^= 0x01
    lines[4] = edit(lines[4], envelope=base64.b64encode(bytes(raw)).decode())
    assert first_bad(write(path, lines)) == (4, "V112")


def test_an_edited_outcome_names_that_entry(recorded: tuple[Path, dict[str, Any]]) -> None:
    path, _ = recorded
    lines = entries_of(path)
    record = json.loads(lines[5])
    lines[5] = edit(lines[5], outcome=record["outcome"].replace("rejected", "accepted"))
    assert first_bad(write(path, lines)) == (5, "V112")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("delete", (6, "V110")),
        ("reorder", (6, "V110")),
        ("insert", (7, "V110")),
        ("truncate-middle", (3, "V110")),
    ],
)
def test_removing_moving_or_inserting_entries_is_caught(
    recorded: tuple[Path, dict[str, Any]], tamper: str, expected: tuple[int, str]
) -> None:
    path, _ = recorded
    lines = entries_of(path)
    if tamper == "delete":
        del lines[6]
    elif tamper == "reorder":
        lines[6], lines[7] = lines[7], lines[6]
    elif tamper == "insert":
        lines.insert(7, lines[6])
    else:
        del lines[3:5]
    assert first_bad(write(path, lines)) == expected


def test_a_rewritten_chain_is_caught_by_the_receipts(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    """Delete an entry and recompute every later index and hash: the chain is
    whole again, but the later receipts, signed by the server, name other heads."""
    path, _ = recorded
    entries = [Entry.from_export_line(line) for line in entries_of(path)]
    del entries[3]
    fixed: list[Entry] = []
    for i, e in enumerate(entries):
        prev = fixed[-1].hash if fixed else e.prev
        fixed.append(
            Entry.make(i, prev, e.time, e.kind, e.station, e.envelope, e.outcome, e.receipt)
        )
    index, code = first_bad(write(path, [e.export_line() for e in fixed]))
    assert index >= 3
    assert code in {"V131", "V132"}


def rechained(lines: list[bytes], at: int, **outcome: Any) -> list[bytes]:
    """Entry ``at`` with its outcome's fields changed and the chain made whole again."""
    entries = [Entry.from_export_line(line) for line in lines]
    doc = json.loads(entries[at].outcome)
    doc.update(outcome)
    changed = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    entries[at] = Entry.make(at, entries[at].prev, entries[at].time, entries[at].kind,
                             entries[at].station, b"", changed, b"")  # fmt: skip
    fixed: list[Entry] = []
    for i, e in enumerate(entries):
        prev = fixed[-1].hash if fixed else e.prev
        fixed.append(
            Entry.make(i, prev, e.time, e.kind, e.station, e.envelope, e.outcome, e.receipt)
        )
    return [e.export_line() for e in fixed]


def test_a_refusal_before_a_valid_signature_is_a_digest_and_its_claims_are_rechecked(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    """The unknown key's envelope: not kept, only its digest, size and key id; the
    key id is checked against the keys enrolled, and a code decided only after a
    valid signature cannot be recorded without the envelope."""
    path, _ = recorded
    lines = entries_of(path)
    records = [json.loads(line) for line in lines]
    at = next(i for i, r in enumerate(records) if '"code":"K401"' in r["outcome"])
    record = records[at]
    outcome = json.loads(record["outcome"])
    assert record["envelope"] == "" and record["receipt"] == "" and record["station"] == ""
    assert outcome["code"] == "K401" and len(outcome["received_sha256"]) == 64
    assert outcome["received_bytes"] > 0 and len(outcome["keyid"]) <= 64
    assert len(lines[at]) < 1024
    # The same key id made to claim a station's enrolled key, or another code.
    first = next(r for r in records if r["kind"] == "station_enrolled")
    enrolled = json.loads(first["outcome"])["fingerprint"]
    assert first_bad(write(path, rechained(lines, at, keyid=enrolled))) == (at, "V131")
    assert first_bad(write(path, rechained(lines, at, code="K402"))) == (at, "V131")
    assert first_bad(write(path, rechained(lines, at, code="E112"))) == (at, "V134")
    assert first_bad(write(path, rechained(lines, at, received_bytes="many"))) == (at, "V134")
    # Its digest is the server's word, bound by the chain: another one, chained again,
    # passes at that entry, and the next receipt (signed over a later head) names it.
    index, code = first_bad(write(path, rechained(lines, at, received_sha256="0" * 64)))
    assert index > at and code == "V132"


def test_a_receipt_swapped_for_another_is_caught(recorded: tuple[Path, dict[str, Any]]) -> None:
    path, _ = recorded
    lines = entries_of(path)
    other = json.loads(lines[2])["receipt"]
    lines[4] = edit(lines[4], receipt=other)
    assert first_bad(write(path, lines)) == (4, "V132")


def test_another_election_definition_is_refused(
    recorded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, _ = recorded
    definition = json.loads(ELECTION.read_text("utf-8"))
    definition["place"] = definition["place"] + " (sửa)"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    report = verify_ledger(path, load_election(other), workers=1)
    assert report.bad is not None and report.bad.code == "V104"


def test_the_ledger_records_what_became_of_each_batch_not_an_http_status(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = recorded
    entries = [json.loads(line) for line in entries_of(path)]
    assert json.loads(entries[0]["outcome"])["format"] == "kiemphieu-ledger-v2"
    batches = [
        (e["kind"], json.loads(e["outcome"])) for e in entries if e["kind"] in ledger.BATCH_KINDS
    ]
    assert [o.keys() & {"http", "outcome"} for _, o in batches] == [{"outcome"}] * len(batches)
    assert [(kind, o["outcome"], o.get("code")) for kind, o in batches] == [
        ("batch_accepted", "accepted", None),
        ("batch_accepted", "accepted", None),  # with a warning
        ("conflict", "conflict", "Q409"),
        ("correction", "accepted", None),
        ("batch_rejected", "stale", "Q410"),
        ("batch_rejected", "law_error", "E112"),
        ("batch_rejected", "unauthenticated", "K401"),
        ("batch_accepted", "accepted", None),
        ("batch_rejected", "unauthenticated", "K402"),
    ]


def as_v1(lines: list[bytes]) -> list[bytes]:
    """The ledger as the previous format wrote it: ``http`` where ``outcome`` is now,
    entry 0 naming kiemphieu-ledger-v1, and every hash taken with that prefix."""
    out, prev = [], "0" * 64
    for line in lines:
        e = json.loads(line)
        o = json.loads(e["outcome"])
        if e["index"] == 0:
            o["format"] = "kiemphieu-ledger-v1"
        elif "outcome" in o:
            o = {("http" if k == "outcome" else k): v for k, v in o.items()}
            o["http"] = STATUS[o["http"]]
        e["outcome"] = json.dumps(o, ensure_ascii=False, separators=(",", ":"))
        e["prev"] = prev
        h = hashlib.sha256(b"kiemphieu-ledger-v1")
        for field in (
            str(e["index"]).encode(),
            e["prev"].encode(),
            e["time"].encode(),
            e["kind"].encode(),
            e["station"].encode(),
            base64.b64decode(e["envelope"]),
            e["outcome"].encode(),
        ):
            h.update(b" %d " % len(field) + field)
        e["hash"] = prev = h.hexdigest()
        out.append(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    return out


def test_a_ledger_of_the_previous_format_is_refused_naming_both_versions(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = recorded
    old = write(path, as_v1(entries_of(path)))
    recorded_then = [json.loads(json.loads(line)["outcome"]) for line in entries_of(old)]
    # what v1 recorded: the statuses answered
    assert [o["http"] for o in recorded_then if "http" in o] == [
        200, 200, 409, 200, 422, 422, 401, 200, 401
    ]  # fmt: skip
    done = run_verify(str(old), "--election", str(ELECTION))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "V105" in done.stdout and "entry 0" in done.stdout, done.stdout
    assert "kiemphieu-ledger-v1" in done.stdout and "kiemphieu-ledger-v2" in done.stdout


def test_the_command_prints_the_digest_and_exits_by_the_outcome(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    path, results = recorded
    ok = run_verify(str(path), "--election", str(ELECTION))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"results_sha256 {results['results_sha256']}" in ok.stdout

    head = results["ledger_head"]
    report = run_verify(
        str(path), "--election", str(ELECTION), "--json", "--fingerprint", head[:16]
    )
    assert report.returncode == 0
    doc = json.loads(report.stdout)
    assert doc["ok"] is True
    assert doc["fingerprint_index"] == results["ledger_index"]
    assert doc["fingerprint_results_sha256"] == results["results_sha256"]

    unknown = run_verify(str(path), "--election", str(ELECTION), "--fingerprint", "0" * 64)
    assert unknown.returncode == 1

    lines = entries_of(path)
    del lines[5]
    bad = run_verify(str(write(path, lines)), "--election", str(ELECTION))
    assert bad.returncode == 1
    assert "entry 5" in bad.stdout and "V110" in bad.stdout


def test_the_workers_find_what_one_process_finds(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    """Any one entry altered: the parallel check names the same first bad entry as
    the serial one, and on the clean ledger counts every signature it checked."""
    path, results = recorded
    election = load_election(ELECTION)
    lines = entries_of(path)
    clean = [verify_ledger(path, election, workers=w, chunk=2) for w in (1, 2)]
    receipts = sum(1 for line in lines if json.loads(line)["receipt"])
    for report in clean:
        assert report.ok and report.results_sha256 == results["results_sha256"]
        assert (report.signatures, report.receipt_signatures) == (7, receipts)
    assert receipts > 0
    for i, line in enumerate(lines):
        record = json.loads(line)
        record["time"] = record["time"].replace("Z", "1Z")  # the hash no longer matches
        out = write(path, [*lines[:i], json.dumps(record).encode() + b"\n", *lines[i + 1 :]])
        found = [
            verify_ledger(out, election, workers=w, chunk=c) for w, c in ((1, 256), (2, 1), (3, 2))
        ]
        named = {None if r.bad is None else (r.bad.index, r.bad.code) for r in found}
        assert len(named) == 1, (i, named)
        first = named.pop()
        assert first is not None and first[0] == i, (i, first)


def test_keys_read_ahead_are_the_keys_the_ledger_enrolls(
    recorded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from tally_server.service.verify import KeysAhead

    path, results = recorded
    enrolled = {
        json.loads(json.loads(line)["outcome"])["fingerprint"]
        for line in entries_of(path)
        if json.loads(line)["kind"] == "station_enrolled"
    }
    ahead = KeysAhead.start(path)
    assert ahead is not None
    keys = ahead.result()
    assert keys is not None and set(keys) == enrolled and len(enrolled) == 3
    report = verify_ledger(path, load_election(ELECTION), workers=2, keys=keys)
    assert report.ok and report.results_sha256 == results["results_sha256"]
    gone = KeysAhead.start(tmp_path / "missing.jsonl")
    assert gone is not None and gone.result() is None


def test_a_ledger_refused_at_its_opening_leaves_no_key_reader_behind(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    import multiprocessing
    import time

    from tally_server.service.verify import KeysAhead

    path, _ = recorded
    old = write(path, as_v1(entries_of(path)))
    before = set(multiprocessing.active_children())
    ahead = KeysAhead.start(old)
    assert ahead is not None
    report = verify_ledger(old, load_election(ELECTION), workers=2, keys=ahead)
    assert report.bad is not None and report.bad.code == "V105"
    deadline = time.monotonic() + 10
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(multiprocessing.active_children()) - before


def rewritten(path: Path, lines: list[bytes], index: int, outcome: dict[str, Any]) -> Path:
    """The ledger with entry ``index``'s outcome replaced and the chain re-hashed from
    there (as a forger with no server key would)."""
    entries = [Entry.from_export_line(line) for line in lines]
    fixed = entries[:index]
    for i, e in enumerate(entries[index:], start=index):
        body = json.dumps(outcome, ensure_ascii=False).encode() if i == index else e.outcome
        prev = fixed[-1].hash if fixed else e.prev
        fixed.append(Entry.make(i, prev, e.time, e.kind, e.station, e.envelope, body, e.receipt))
    return write(path, [e.export_line() for e in fixed])


def test_who_enrolled_revoked_and_reviewed_is_checked(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = recorded
    lines = entries_of(path)
    entries = [json.loads(line) for line in lines]
    admin = [
        (i, e["kind"], json.loads(e["outcome"]))
        for i, e in enumerate(entries)
        if e["kind"] in ("station_enrolled", "station_revoked", "alert_reviewed")
    ]
    assert [(kind, o["by"].split("#")[0]) for _, kind, o in admin] == [
        ("station_enrolled", "cli:tests"),
        ("station_enrolled", "Chủ tịch"),
        ("station_enrolled", "Chủ tịch"),
        ("station_revoked", "Chủ tịch"),
        ("alert_reviewed", "Chủ tịch"),
    ]
    (enrolled, _, enrolment), (review, _, reviewed) = admin[1], admin[-1]
    assert review == len(lines) - 1  # the last entry: re-hashing it breaks no receipt
    assert first_bad(rewritten(path, lines, enrolled, {**enrolment, "by": " "})) == (
        enrolled,
        "V120",
    )
    assert first_bad(rewritten(path, lines, review, {**reviewed, "by": 7})) == (review, "V125")
    no_one = {k: v for k, v in reviewed.items() if k != "by"}
    assert first_bad(rewritten(path, lines, review, no_one)) == (review, "V125")
    # Enrolments written before `by` was recorded have none, and still verify.
    older = {k: v for k, v in json.loads(entries[1]["outcome"]).items() if k != "by"}
    report = verify_ledger(rewritten(path, lines[:2], 1, older), load_election(ELECTION), workers=1)
    assert report.ok, report.bad


# -- what a server without today's checks would have recorded ------------------------------


IDENTITY = VerifyKey(b"\x01" + bytes(31))
"""The identity point as a public key: 0x01 ‖ 63 × 0x00 verifies as its signature."""


def enrol_bypassing_the_check(folder: Path, key: VerifyKey) -> None:
    """The entry and row ``Journal.enroll`` writes, without its key check (the store
    layer, as a server before the check, or an edited database, would have it)."""
    from tally_server.service.decide import StationKey
    from tally_server.service.folder import now, offline_commit
    from tally_server.service.journal import canonical
    from tally_server.store import db, ledger

    def go(_: Any, journal: Any) -> Any:
        fp = key.fingerprint
        outcome = canonical(
            {"station_id": "KV-01", "polling_area_id": "KV-01", "public_key": key.b64,
             "fingerprint": fp}
        )  # fmt: skip
        entry = journal._entry(now(), ledger.STATION_ENROLLED, "KV-01", b"", outcome)
        p = journal._commit_entry(entry)
        p.writes.add(db.INSERT_KEY, (fp, "KV-01", "KV-01", key.raw, now(), entry.index))
        journal.state.enroll(StationKey(fp, "KV-01", "KV-01", key, entry.index))
        return [p], None

    offline_commit(folder, "enroll a weak key", go)


async def exported(client: Client, server_folder: ServerFolder, path: Path) -> Path:
    admin = {"Authorization": f"Bearer {server_folder.token('admin')}"}
    path.write_bytes(await (await client.get("/api/v1/ledger", headers=admin)).read())
    return path


async def test_a_weak_key_in_the_state_lets_no_forgery_in_and_the_ledger_fails_verify(
    aiohttp_client: MakeClient, server_folder: ServerFolder, tmp_path: Path
) -> None:
    """The issue's attack against a weak key that got past enrolment: the server still
    refuses the forged batch (S320, recorded), and verify refuses the ledger at the
    enrolment (V126), not VALID."""
    enrol_bypassing_the_check(server_folder.path, IDENTITY)
    client = await aiohttp_client(create_app(server_folder.path))
    station = Station("KV-01", "KV-01", SigningKey.generate(), tmp_path, tmp_path)
    forged = json.dumps(
        {
            "payloadType": BATCH_TYPE,
            "payload": base64.b64encode(station.payload(1)).decode(),
            "signatures": [
                {
                    "keyid": IDENTITY.fingerprint,
                    "sig": base64.b64encode(b"\x01" + bytes(63)).decode(),
                }
            ],
        }
    ).encode()
    answer = await client.post("/api/v1/batches", data=forged)
    error = (await answer.json())["error"]
    assert (answer.status, error["code"], error["fields"]) == (
        401, "S320", ["signatures[0].keyid"],
    )  # fmt: skip
    assert "small-order point lets any signature verify" in error["message_en"]
    path = await exported(client, server_folder, tmp_path / "ledger.jsonl")
    report = verify_ledger(path, load_election(ELECTION), workers=1)
    assert report.bad is not None and (report.bad.index, report.bad.code) == (1, "V126")
    assert "small-order point" in report.bad.reason_en
    done = run_verify(str(path), "--election", str(ELECTION))
    assert done.returncode != 0 and "V126" in done.stdout + done.stderr


async def test_a_batch_accepted_with_a_key_given_twice_fails_verify(
    aiohttp_client: MakeClient, server_folder: ServerFolder, station: Station, tmp_path: Path
) -> None:
    """A batch with "sequence":6,"sequence":7 recorded as accepted (as before I-JSON):
    verify decides it again, refuses it (S101) and names the entry."""
    from tally_server.service.decide import decide_opened, utc_now
    from tally_server.service.folder import offline_commit

    text = station.payload(6).decode().replace('"sequence":6', '"sequence":6,"sequence":7', 1)
    body = station.seal(text.encode())

    def go(_: Any, journal: Any) -> Any:
        # ``decoded=True``: the bytes taken as decoded already, the way the old check did
        decision = decide_opened(journal.state, open_envelope(body, BATCH_TYPE), decoded=True)
        assert decision.outcome is not None and decision.outcome.sequence == 7
        return [journal.batch(decision, body, utc_now())], journal.next_index - 1

    index = offline_commit(server_folder.path, "record as before", go)
    client = await aiohttp_client(create_app(server_folder.path))
    # today's server refuses the very same bytes, and records why
    answer = await client.post("/api/v1/batches", data=body)
    assert (answer.status, (await answer.json())["error"]["code"]) == (400, "S101")
    path = await exported(client, server_folder, tmp_path / "ledger.jsonl")
    assert first_bad(path) == (index, "V131")
