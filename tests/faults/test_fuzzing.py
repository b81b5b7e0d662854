"""Fuzzing the running server with Hypothesis: random bytes, mutated envelopes, batches
mutated and then properly signed by an enrolled station, and random reads and
committee requests. Never a 5xx, never a crash, and nothing accepted that the
contract and the law forbid: every accepted batch decodes strictly, passes
``rules.check_batch`` with no error, and the whole ledger verifies."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from schemas import codec
from schemas.errors import KiemphieuError
from schemas.models import ResultBatch
from schemas.signing import BATCH_TYPE, open_envelope
from tally_server.core.definition import Election, load_election
from tally_server.core.rules import check_batch
from tally_server.web.openapi import document

from .conftest import Record, Scale
from .kit import (
    ELECTION_ID,
    ServerProcess,
    Signer,
    check_acks,
    enroll_offline,
    export_ledger,
    init_folder,
    read_ledger,
    start_server,
    verify,
    write_election,
)

CATEGORY = "fuzzing"


class Http:
    """One kept-alive connection to the server, opened again when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)

    def request(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        for again in (False, True):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                return resp.status, data
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                if again:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Target:
    server: ServerProcess
    http: Http
    election_path: Path
    election: Election
    signer: Signer
    tmp: Path
    sequence: int = 0
    """The fuzz station's last accepted sequence."""
    acks: dict[tuple[str, int], bytes] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)

    def post(self, body: bytes, strategy: str) -> tuple[int, bytes]:
        status, answer = self.http.request("POST", "/api/v1/batches", body)
        self.statuses[f"{strategy} {status}"] += 1
        assert status < 500, answer[:500]
        if status == 200:
            self.accepted(body, answer)
        return status, answer

    def accepted(self, body: bytes, answer: bytes) -> None:
        """An accepted envelope holds a batch the contract and the law allow."""
        opened = open_envelope(body, BATCH_TYPE)
        batch = codec.decode(opened.payload, ResultBatch)  # strict: types, NFC, no controls
        assert (batch.election_id, batch.station_id, batch.polling_area_id) == (
            ELECTION_ID,
            self.signer.station_id,
            self.signer.polling_area_id,
        )
        opened.verify(self.signer.key.public)
        errors = [f.code for f in check_batch(self.election, batch) if f.severity == "error"]
        assert errors == []
        receipt = json.loads(base64.b64decode(json.loads(answer)["payload"]))
        assert receipt["status"] == "accepted" and receipt["sequence"] == batch.sequence
        self.acks.setdefault((batch.station_id, batch.sequence), answer)
        self.sequence = max(self.sequence, batch.sequence)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzzing")
    election = write_election(tmp / "election.json", 4)
    init_folder(tmp / "server", election)
    signer = Signer("KV-0001", "KV-0001")
    enroll_offline(tmp / "server", [signer, Signer("KV-0002", "KV-0002")])
    server = start_server(tmp / "server", tmp / "server.log", election)
    t = Target(server, Http(server.port), election, load_election(election), signer, tmp)
    try:
        status, answer = server.post_batch(signer.envelope(1))
        assert status == 200
        t.accepted(signer.envelope(1), answer)
        yield t
    finally:
        t.http.conn.close()
        server.stop()


def fuzz_settings(scale: Scale, examples: int | None = None) -> settings:
    return settings(
        max_examples=examples or scale.fuzz_examples,
        deadline=None,
        database=None,
        derandomize=scale.name == "ci",  # the same cases on every CI run
        suppress_health_check=list(HealthCheck),
    )


# -- values --------------------------------------------------------------------------------

TRICKY_CHARS = ["\x00", "\x07", "\x7f", "\x85", "\u0301", "\u200b", "\u202e", "\ufeff", "ễ"]
TRICKY_TEXT = [
    "Nguyễn Văn Tổ",
    "Nguye\u0302\u0303n",  # NFD
    "KV-0002",
    "QH",
    "vd-2016",
    "1238",
    "1.238",
    "",
    " ",
    "2011-05-22T19:42:10Z",
    "a" * 300,
]
texts = st.one_of(
    st.text(alphabet=st.one_of(st.characters(), st.sampled_from(TRICKY_CHARS)), max_size=24),
    st.sampled_from(TRICKY_TEXT),
)
numbers = st.one_of(
    st.integers(min_value=-5, max_value=3000),
    st.sampled_from([0, -1, 2**31, 2**53, 2**53 - 1, 2**63, 2**64, 10**9, 10**9 + 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place inside a JSON value, the value itself included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def mutate(doc: Any, data: st.DataObject) -> Any:
    """One change at a random place: replaced, removed, a key added, or a list item
    duplicated."""
    where = data.draw(st.sampled_from(list(paths(doc))[1:]), label="where")
    how = data.draw(st.sampled_from(["replace", "remove", "add", "duplicate"]), label="how")
    parent = doc
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    if how == "replace":
        parent[last] = data.draw(json_values, label="value")
    elif how == "remove":
        del parent[last]
    elif how == "add" and isinstance(parent[last], dict):
        parent[last][data.draw(texts, label="key")] = data.draw(json_values, label="value")
    elif how == "duplicate" and isinstance(parent[last], list) and parent[last]:
        parent[last].append(parent[last][0])
    return doc


def encode(doc: Any, data: st.DataObject) -> bytes:
    ascii_only = data.draw(st.booleans(), label="ascii")
    # Lone surrogates pass through as the invalid UTF-8 they make: bytes to send too.
    return json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# -- the ingest endpoint ---------------------------------------------------------------------


def test_random_bytes_never_break_ingest(target: Target, scale: Scale) -> None:
    @fuzz_settings(scale)
    @given(
        body=st.one_of(st.binary(max_size=3000), json_values.map(lambda v: json.dumps(v).encode()))
    )
    def run(body: bytes) -> None:
        status, _ = target.post(body, "bytes")
        assert status in (400, 401, 413)

    run()


def test_mutated_envelopes_never_break_ingest(target: Target, scale: Scale) -> None:
    @fuzz_settings(scale)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        envelope = json.loads(target.signer.envelope(target.sequence + 1))
        if data.draw(st.booleans(), label="payload as JSON"):
            envelope["payload"] = json.loads(base64.b64decode(envelope["payload"]))
            envelope = mutate(envelope, data)
            if isinstance(envelope.get("payload"), dict | list):
                envelope["payload"] = base64.b64encode(encode(envelope["payload"], data)).decode()
        else:
            envelope = mutate(envelope, data)
        target.post(encode(envelope, data), "envelope")

    run()


def test_batches_mutated_then_signed_are_accepted_only_when_lawful(
    target: Target, scale: Scale
) -> None:
    """The station's own key signs whatever the mutation made: only the contract's
    decoding and the law's checks stand between it and the tally."""

    @fuzz_settings(scale)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        batch = target.signer.batch(target.sequence + 1)
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            batch = mutate(batch, data)
        target.post(target.signer.seal(encode(batch, data)), "signed")

    run()


def test_mutated_figures_signed_are_accepted_only_when_lawful(target: Target, scale: Scale) -> None:
    """Aimed at the law: only numbers change, so most batches decode and the checks decide."""
    fields = [
        "voters_on_list",
        "voters_voted",
        "ballots_issued",
        "ballots_received",
        "valid_ballots",
        "invalid_ballots",
    ]

    @fuzz_settings(scale)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        batch = target.signer.batch(target.sequence + 1)
        minutes = batch["minutes"][data.draw(st.integers(0, 2), label="race")]
        name = data.draw(st.sampled_from([*fields, "candidate_votes", "ballots_by_names_kept"]))
        value = data.draw(st.integers(min_value=-3, max_value=2000), label="value")
        if name == "candidate_votes":
            minutes[name][data.draw(st.sampled_from(sorted(minutes[name])))] = value
        elif name == "ballots_by_names_kept":
            minutes[name][data.draw(st.integers(0, len(minutes[name]) - 1))] = value
        else:
            minutes[name] = value
        if data.draw(st.booleans(), label="as a correction"):
            batch["reason"] = "Kiểm lại phiếu"
            digests = [json.loads(base64.b64decode(json.loads(a)["payload"]))["batch_digest"]
                       for a in target.acks.values()]  # fmt: skip
            batch["supersedes"] = data.draw(st.sampled_from(digests))
        target.post(target.signer.seal(encode(batch, data)), "figures")

    run()


# -- the read API and the committee routes -----------------------------------------------------


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="", errors="surrogatepass")


READ_PATHS = [
    "/api/v1/progress",
    "/api/v1/constituencies",
    "/api/v1/constituencies/{a}/{b}",
    "/api/v1/constituencies/QH/QH-10",
    "/api/v1/polling-areas/{a}",
    "/api/v1/polling-areas/KV-0001",
    "/api/v1/alerts",
    "/api/v1/ledger",
    "/api/v1/results.json",
    "/api/v1/results.csv",
    "/api/v1/stations",
    "/api/v1/election",
    "/api/v1/server-key",
    "/api/v1/feed",
    "/api/openapi.json",
    "/api/v1/{a}",
    "/{a}",
]
PARAMS = ["race", "committee", "status", "round", "kind", "reviewed", "limit", "after", "since"]


def test_random_reads_never_break_the_api(target: Target, scale: Scale) -> None:
    tokens: dict[str | None, str | None] = {None: None, "junk": "kpt_junk"}
    tokens.update(target.server.tokens)

    @fuzz_settings(scale)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        template = data.draw(st.sampled_from(READ_PATHS), label="path")
        a, b = data.draw(texts, label="a"), data.draw(texts, label="b")
        path = template.format(a=quote(a), b=quote(b))
        keys = st.one_of(st.sampled_from(PARAMS), texts)
        query = data.draw(st.lists(st.tuples(keys, texts | numbers.map(str)), max_size=3))
        if query:
            path += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
        method = data.draw(st.sampled_from(["GET", "GET", "GET", "HEAD", "DELETE", "PUT"]))
        token = tokens[data.draw(st.sampled_from(list(tokens)), label="token")]
        status, body = target.http.request(method, path, token=token)
        target.statuses[f"read {status}"] += 1
        assert status < 500, (path, body[:300])

    run()


def test_random_committee_requests_never_break_the_api(target: Target, scale: Scale) -> None:
    protected = {target.signer.station_id}

    @fuzz_settings(scale)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        what = data.draw(st.sampled_from(["enroll", "revoke", "review"]), label="what")
        body: bytes | None = None
        if what == "enroll":
            doc: dict[str, Any] = {
                "station_id": data.draw(texts),
                "polling_area_id": data.draw(st.sampled_from(["KV-0003", "KV-0004"]) | texts),
                "public_key": data.draw(texts | st.binary(max_size=40).map(lambda b: b.hex())),
            }
            if data.draw(st.booleans()):
                doc["fingerprint"] = data.draw(json_values)
            body = encode(mutate(doc, data) if data.draw(st.booleans()) else doc, data)
            path = "/api/v1/stations"
        elif what == "revoke":
            station = data.draw(texts.filter(lambda t: t not in protected), label="station")
            path = f"/api/v1/stations/{quote(station)}/revoke"
        else:
            alert = data.draw(st.one_of(st.integers(-3, 50).map(str), texts), label="alert")
            body = encode({"note": data.draw(json_values)}, data)
            path = f"/api/v1/alerts/{quote(alert)}/review"
        status, answer = target.http.request("POST", path, body, target.server.tokens["admin"])
        target.statuses[f"committee {status}"] += 1
        assert status < 500, (path, answer[:300])

    run()


# -- every operation, from the served OpenAPI document ---------------------------------------


def error_lines(log: Path) -> list[str]:
    return [line for line in log.read_text("utf-8", "replace").splitlines() if '"error"' in line]


def test_the_openapi_document_fuzzed_never_breaks_the_api(
    target: Target, scale: Scale, record: Record
) -> None:
    """schemathesis reads ``GET /api/openapi.json`` and generates requests for every
    operation in it: within the documented types, bounds and enums (positive) and outside
    them (negative). Each is sent with the admin token, with a viewer token, and as
    generated (no token, or a made-up one). Never a 5xx, no error in the server's log,
    and the server still answers afterwards."""
    server = target.server
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    documented = document()["paths"]
    runs: list[tuple[Any, GenerationMode]] = []
    for result in schema.get_all_operations():
        op = result.ok()
        raw = documented[op.path][op.method.lower()]
        runs.append((op, GenerationMode.POSITIVE))
        # With no parameter, body or token, there is nothing invalid to generate.
        if raw.get("parameters") or raw.get("requestBody") or raw.get("security"):
            runs.append((op, GenerationMode.NEGATIVE))
    labels = {op.label for op, _ in runs}
    # Every operation but the one that serves the document schemathesis is reading.
    every = {f"{m.upper()} {p}" for p, item in documented.items() for m in item}
    assert labels == every - {"GET /api/openapi.json"}
    senders = {
        "admin": {"Authorization": f"Bearer {server.tokens['admin']}"},
        "viewer": {"Authorization": f"Bearer {server.tokens['viewer']}"},
        "as generated": {},
    }
    varied = sum(mode == GenerationMode.NEGATIVE for _, mode in runs)
    examples = scale.api_fuzz_requests * 11 // 10 // (2 * varied * len(senders)) + 1
    per_operation: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    errors_before = len(error_lines(server.log_path))
    session = requests.Session()
    started = time.monotonic()

    for op, mode in runs:

        @fuzz_settings(scale, examples)
        @given(case=op.as_strategy(mode))
        def run(case: Any) -> None:
            for headers in senders.values():
                resp = case.call(base_url=server.url, session=session, headers=headers, timeout=20)
                per_operation[case.operation.label] += 1
                statuses[resp.status_code] += 1
                assert resp.status_code < 500, (case.as_curl_command(headers), resp.text[:500])

        run()

    took = time.monotonic() - started
    session.close()
    total = sum(statuses.values())
    shown = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    by_operation = "; ".join(f"{label} {n}" for label, n in sorted(per_operation.items()))
    record.note(
        CATEGORY,
        f"schemathesis: {total} requests over {len(labels)} operations in {took:.0f} s, "
        f"none 5xx; statuses {shown}; per operation: {by_operation}",
    )
    assert total >= scale.api_fuzz_requests
    assert set(per_operation) == labels
    assert statuses[200] > 0 and all(code < 500 for code in statuses)
    assert error_lines(server.log_path)[errors_before:] == []
    assert server.alive()
    assert server.get_json("/api/v1/progress")["overall"]["areas_reported"] >= 1


# -- and afterwards ------------------------------------------------------------------------


def test_after_fuzzing_the_server_runs_and_its_ledger_verifies(
    target: Target, record: Record
) -> None:
    assert target.server.alive()
    published = target.server.results()
    ledger = export_ledger(target.server.folder, target.tmp / "ledger.jsonl")
    entries = read_ledger(ledger)
    check = check_acks(entries, target.acks)
    record.acknowledged(CATEGORY, check.acked, len(check.lost))
    rc, report = verify(ledger, target.election_path)
    total = sum(target.statuses.values())
    shown = ", ".join(f"{k}: {n}" for k, n in sorted(target.statuses.items()))
    record.note(CATEGORY, f"{total} requests, none 5xx; by strategy and status: {shown}")
    assert check.ok, check
    assert rc == 0, report["first_bad_entry"]
    assert report["results_sha256"] == published["results_sha256"]
    # Every batch the ledger accepted, whoever sent it, passes the law with no error.
    for e in entries:
        if e["kind"] in ("batch_accepted", "correction"):
            payload = open_envelope(base64.b64decode(e["envelope"]), BATCH_TYPE).payload
            try:
                batch = codec.decode(payload, ResultBatch)
            except KiemphieuError as exc:  # pragma: no cover - the failure names the entry
                raise AssertionError(f"entry {e['index']}: {exc}") from exc
            found = check_batch(target.election, batch)
            assert not [f for f in found if f.severity == "error"], e["index"]
