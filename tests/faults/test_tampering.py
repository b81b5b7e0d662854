"""Tampering: one byte flipped in, an entry deleted from, two entries swapped in, or an
entry inserted into the ledger, in an export and in the server's SQLite file (edited
with sqlite3 after the server stopped). ``tally-server verify`` fails and names the
first bad entry; an insider who recomputes every hash after the change is still
caught by the server's signed receipts."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas.signing import SigningKey

from .conftest import Record
from .kit import (
    Signer,
    area_ids,
    enroll_offline,
    export_ledger,
    init_folder,
    minutes_for,
    read_ledger,
    receipt_of,
    start_server,
    verify,
    write_election,
)

CATEGORY = "tampering"
REASON = "Kiểm lại phiếu theo yêu cầu của Ban bầu cử"
Entry = dict[str, Any]


@dataclass
class Recorded:
    """A stopped server's folder, its export, and what it published."""

    folder: Path
    election: Path
    ledger: Path
    entries: list[Entry]
    published: dict[str, Any]
    at: dict[str, int]
    """Named positions: the first entry of each kind, and the last."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    tmp = tmp_path_factory.mktemp("tampering")
    election = write_election(tmp / "election.json", 6)
    folder = tmp / "server"
    init_folder(folder, election)
    s = {a: Signer(a, a) for a in area_ids(4)}
    enroll_offline(folder, s.values())
    server = start_server(folder, tmp / "server.log", election)
    try:
        post = server.post_batch
        assert post(s["KV-0001"].envelope(1))[0] == 200
        status, body = post(s["KV-0002"].envelope(1))
        assert status == 200
        assert post(s["KV-0002"].envelope(1, created_at="2011-05-22T21:00:00Z"))[0] == 409
        digest = receipt_of(body)["batch_digest"]
        fixed = s["KV-0002"].envelope(
            2, minutes_for("KV-0002", 4), supersedes=digest, reason=REASON
        )
        assert post(fixed)[0] == 200
        assert post(Signer("KV-0003", "KV-0003").envelope(1))[0] == 401  # unknown key
        assert post(s["KV-0003"].envelope(1, minutes_for("KV-0004")))[0] == 422  # law
        assert post(s["KV-0003"].envelope(1))[0] == 200
        admin = server.tokens["admin"]
        assert server.request("POST", "/api/v1/stations/KV-0004/revoke", token=admin)[0] == 200
        assert post(s["KV-0004"].envelope(1))[0] == 401  # revoked
        [alert] = server.get_json("/api/v1/alerts?kind=conflict", "operator")["alerts"]
        note = json.dumps({"note": "Đã gọi điện cho tổ bầu cử"}).encode()
        path = f"/api/v1/alerts/{alert['id']}/review"
        assert server.request("POST", path, note, token=server.tokens["operator"])[0] == 200
        assert post(s["KV-0001"].envelope(2))[0] == 200  # the same figures again
        published = server.results()
    finally:
        server.stop()
    ledger = export_ledger(folder, tmp / "ledger.jsonl")
    entries = read_ledger(ledger)
    at: dict[str, int] = {}
    for e in entries:
        outcome = json.loads(e["outcome"])
        name = e["kind"] if e["kind"] != "batch_rejected" else f"rejected {outcome['code']}"
        at.setdefault(name, e["index"])
    at["last"] = len(entries) - 1
    rc, report = verify(ledger, election)
    assert rc == 0 and report["results_sha256"] == published["results_sha256"]
    return Recorded(folder, election, ledger, entries, published, at)


# -- edits ---------------------------------------------------------------------------------


def flip_base64(text: str, rng: random.Random) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[rng.randrange(len(raw))] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def flip_text(text: str, rng: random.Random) -> str:
    """One ASCII letter or digit with its lowest bit flipped: one byte changed."""
    spots = [i for i, c in enumerate(text) if c.isascii() and c.isalnum()]
    i = rng.choice(spots)
    return text[:i] + chr(ord(text[i]) ^ 0x01) + text[i + 1 :]


def flip(entry: Entry, name: str, rng: random.Random) -> Entry:
    e = dict(entry)
    if name in ("envelope", "receipt"):
        e[name] = flip_base64(e[name], rng)
    elif name == "index":
        e[name] = e[name] ^ 0x01
    else:
        e[name] = flip_text(e[name], rng)
    return e


def line(e: Entry) -> bytes:
    return json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def entry_hash(e: Entry) -> str:
    """docs/ledger.md's hash, as an insider rewriting the chain would compute it."""
    fields = [
        str(e["index"]).encode(),
        e["prev"].encode(),
        e["time"].encode(),
        e["kind"].encode(),
        e["station"].encode(),
        base64.b64decode(e["envelope"]),
        e["outcome"].encode(),
    ]
    h = hashlib.sha256(b"kiemphieu-ledger-v2")
    for f in fields:
        h.update(b" %d " % len(f) + f)
    return h.hexdigest()


def rechain(entries: list[Entry]) -> list[Entry]:
    """Renumber and re-hash every entry, so the chain itself holds."""
    out, prev = [], "0" * 64
    for i, e in enumerate(entries):
        e = {**e, "index": i, "prev": prev}
        e["hash"] = entry_hash(e)
        out.append(e)
        prev = e["hash"]
    return out


def first_bad(
    r: Recorded, lines: list[bytes], tmp: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    path = tmp / "tampered.jsonl"
    path.write_bytes(b"".join(lines))
    return verify(path, r.election, *extra)


def assert_named(rc: int, report: dict[str, Any], index: int, codes: set[str]) -> None:
    if index == 0:  # the opening entry is read for what it opens before its hash
        codes = codes | OPENING
    assert rc == 1 and not report["ok"]
    bad = report["first_bad_entry"]
    assert bad is not None, report
    assert (bad["index"], bad["code"] in codes) == (index, True), bad
    assert bad["reason_en"] and bad["reason_vi"]


# -- in an export --------------------------------------------------------------------------

ALTERED = {"V112"}
"""Contents altered (the entry's hash no longer matches)."""
OUT_OF_PLACE = {"V110"}
"""Index out of place: removed, inserted or moved."""
OPENING = {"V101", "V104"}
"""The first entry does not open the ledger, or opens it for another definition."""
MOVED_ROWS = {"V110", "V111"}
"""In the database the index is the row's key: rows moved there keep their index, and
show as entries that do not follow the one before."""


FLIPS = [
    ("ledger_opened", "outcome"),
    ("station_enrolled", "outcome"),
    ("batch_accepted", "envelope"),
    ("batch_accepted", "outcome"),
    ("batch_accepted", "time"),
    ("batch_accepted", "station"),
    ("batch_accepted", "kind"),
    ("conflict", "envelope"),
    ("correction", "envelope"),
    ("rejected K401", "outcome"),
    ("rejected E120", "envelope"),
    ("rejected E120", "outcome"),
    ("station_revoked", "outcome"),
    ("rejected K402", "outcome"),
    ("alert_reviewed", "outcome"),
    ("last", "envelope"),
]


@pytest.mark.parametrize(("where", "name"), FLIPS, ids=[f"{w}.{n}" for w, n in FLIPS])
def test_one_flipped_byte_in_an_export_names_that_entry(
    where: str, name: str, recorded: Recorded, tmp_path: Path
) -> None:
    p = recorded.at[where]
    rng = random.Random(f"{where}.{name}")
    lines = [line(e) for e in recorded.entries]
    lines[p] = line(flip(recorded.entries[p], name, rng))
    assert_named(*first_bad(recorded, lines, tmp_path), p, ALTERED)


@pytest.mark.parametrize(
    ("name", "codes"),
    [("prev", {"V111"}), ("hash", {"V112"}), ("index", {"V110"}), ("receipt", {"V132"})],
)
def test_the_chain_fields_and_the_receipt_are_checked_too(
    name: str, codes: set[str], recorded: Recorded, tmp_path: Path
) -> None:
    p = recorded.at["correction"]
    lines = [line(e) for e in recorded.entries]
    lines[p] = line(flip(recorded.entries[p], name, random.Random(name)))
    assert_named(*first_bad(recorded, lines, tmp_path), p, codes)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_raw_byte_flipped_anywhere_in_a_line(
    seed: int, recorded: Recorded, tmp_path: Path
) -> None:
    """Whatever the byte, even one that breaks the JSON or the UTF-8 of the line."""
    rng = random.Random(seed)
    p = rng.randrange(len(recorded.entries))
    lines = [line(e) for e in recorded.entries]
    raw = bytearray(lines[p])
    raw[rng.randrange(len(raw) - 1)] ^= 1 << rng.randrange(8)
    lines[p] = bytes(raw)
    rc, report = first_bad(recorded, lines, tmp_path)
    assert rc == 1 and report["first_bad_entry"]["index"] == p, report["first_bad_entry"]


POSITIONS = ["ledger_opened", "station_enrolled", "batch_accepted", "correction", "alert_reviewed"]


@pytest.mark.parametrize("where", POSITIONS)
def test_a_deleted_entry_is_named(where: str, recorded: Recorded, tmp_path: Path) -> None:
    p = recorded.at[where]
    lines = [line(e) for e in recorded.entries]
    del lines[p]
    assert_named(*first_bad(recorded, lines, tmp_path), p, OUT_OF_PLACE)


def test_entries_cut_off_the_end_are_caught_against_the_published_head(
    recorded: Recorded, tmp_path: Path
) -> None:
    """A chain cannot show its own tail was cut (docs/ledger.md); the head the server
    published (on a receipt, a sheet, the results) can."""
    lines = [line(e) for e in recorded.entries][:-2]
    rc, report = first_bad(recorded, lines, tmp_path)
    assert rc == 0 and report["head_index"] == recorded.published["ledger_index"] - 2
    head = recorded.published["ledger_head"]
    rc, report = first_bad(recorded, lines, tmp_path, "--fingerprint", head)
    assert rc == 1 and report["fingerprint_index"] is None


@pytest.mark.parametrize("where", POSITIONS[:-1] + ["last"])
def test_two_swapped_entries_are_named(where: str, recorded: Recorded, tmp_path: Path) -> None:
    p = min(recorded.at[where], len(recorded.entries) - 2)
    lines = [line(e) for e in recorded.entries]
    lines[p], lines[p + 1] = lines[p + 1], lines[p]
    assert_named(*first_bad(recorded, lines, tmp_path), p, OUT_OF_PLACE)


@pytest.mark.parametrize("where", POSITIONS[1:] + ["last"])
def test_an_inserted_entry_is_named(where: str, recorded: Recorded, tmp_path: Path) -> None:
    """A copy of the entry before, slipped in after it."""
    p = recorded.at[where]
    lines = [line(e) for e in recorded.entries]
    lines.insert(p, lines[p - 1])
    assert_named(*first_bad(recorded, lines, tmp_path), p, OUT_OF_PLACE)


def forged_batch(r: Recorded, p: int) -> Entry:
    """An accepted batch no station sent: a new key's signature, an outcome and a
    receipt copied from a real accepted entry."""
    model = next(e for e in r.entries if e["kind"] == "batch_accepted")
    stranger = Signer("KV-0001", "KV-0001", SigningKey.generate())
    return {**model, "envelope": base64.b64encode(stranger.envelope(7)).decode(), "index": p}


REWRITES: dict[str, Callable[[Recorded, int], list[Entry]]] = {
    "an accepted batch inserted": lambda r, p: r.entries[:p] + [forged_batch(r, p)] + r.entries[p:],
    "a batch deleted": lambda r, p: r.entries[:p] + r.entries[p + 1 :],
    "a batch's figures changed": lambda r, p: r.entries[:p]
    + [{**r.entries[p], "envelope": base64.b64encode(
        Signer("KV-0001", "KV-0001").envelope(1, minutes_for("KV-0001", 200))
    ).decode()}]
    + r.entries[p + 1 :],
    "a rejection turned into an acceptance": lambda r, p: r.entries[:p]
    + [{**r.entries[p], "kind": "batch_accepted"}]
    + r.entries[p + 1 :],
}  # fmt: skip


REWRITE_CAUGHT_BY = {
    "an accepted batch inserted": "V131",  # re-deciding its envelope refuses it
    "a batch deleted": "V132",  # the next receipt names another index and head
    "a batch's figures changed": "V131",
    "a rejection turned into an acceptance": "V131",
}


@pytest.mark.parametrize("how", list(REWRITES))
def test_rewriting_the_chain_after_a_change_is_caught_at_the_change(
    how: str, recorded: Recorded, tmp_path: Path
) -> None:
    """Every hash recomputed from the change on: the chain holds, but the decisions and
    the server's signed receipts do not."""
    where = "rejected E120" if "rejection" in how else "batch_accepted"
    p = recorded.at[where]
    entries = rechain(REWRITES[how](recorded, p))
    rc, report = first_bad(recorded, [line(e) for e in entries], tmp_path)
    assert_named(rc, report, p, {REWRITE_CAUGHT_BY[how]})


# -- in the server's database --------------------------------------------------------------

Edit = Callable[[sqlite3.Connection, int], None]


def db_flip(column: str) -> Edit:
    def edit(db: sqlite3.Connection, p: int) -> None:
        (value,) = db.execute(f"SELECT {column} FROM ledger WHERE idx = ?", (p,)).fetchone()
        raw = bytearray(value)
        raw[len(raw) // 2] ^= 0x01
        db.execute(f"UPDATE ledger SET {column} = ? WHERE idx = ?", (bytes(raw), p))

    return edit


def db_delete(db: sqlite3.Connection, p: int) -> None:
    db.execute("DELETE FROM ledger WHERE idx = ?", (p,))


def db_swap(db: sqlite3.Connection, p: int) -> None:
    db.execute("UPDATE ledger SET idx = -1 WHERE idx = ?", (p,))
    db.execute("UPDATE ledger SET idx = ? WHERE idx = ?", (p, p + 1))
    db.execute("UPDATE ledger SET idx = ? WHERE idx = -1", (p + 1,))


def db_insert(db: sqlite3.Connection, p: int) -> None:
    """Every entry from ``p`` on moved one place down, and a copy of entry p-1 at p."""
    db.execute("UPDATE ledger SET idx = -idx - 1 WHERE idx >= ?", (p,))
    db.execute("UPDATE ledger SET idx = -idx WHERE idx < 0")
    db.execute(
        "INSERT INTO ledger (idx, prev, hash, at, kind, station, envelope, outcome, receipt) "
        "SELECT ?, prev, hash, at, kind, station, envelope, outcome, receipt FROM ledger "
        "WHERE idx = ?",
        (p, p - 1),
    )


def db_time(db: sqlite3.Connection, p: int) -> None:
    db.execute("UPDATE ledger SET at = replace(at, '.', ',') WHERE idx = ?", (p,))


DB_EDITS: list[tuple[str, str, Edit, set[str]]] = [
    ("envelope flipped", "batch_accepted", db_flip("envelope"), ALTERED),
    ("envelope flipped", "correction", db_flip("envelope"), ALTERED),
    ("outcome flipped", "rejected E120", db_flip("outcome"), ALTERED),
    ("outcome flipped", "station_enrolled", db_flip("outcome"), ALTERED),
    ("receipt flipped", "batch_accepted", db_flip("receipt"), {"V132"}),
    ("time changed", "conflict", db_time, ALTERED),
    ("deleted", "ledger_opened", db_delete, OUT_OF_PLACE),
    ("deleted", "batch_accepted", db_delete, OUT_OF_PLACE),
    ("deleted", "alert_reviewed", db_delete, OUT_OF_PLACE),
    ("swapped with the next", "station_enrolled", db_swap, MOVED_ROWS),
    ("swapped with the next", "correction", db_swap, MOVED_ROWS),
    ("inserted", "batch_accepted", db_insert, MOVED_ROWS),
    ("inserted", "station_revoked", db_insert, MOVED_ROWS),
]


@pytest.fixture
def folder_copy(recorded: Recorded, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "server"
    shutil.copytree(recorded.folder, copy)
    yield copy


@pytest.mark.parametrize(
    ("what", "where", "edit", "codes"), DB_EDITS, ids=[f"{w} at {p}" for w, p, _, _ in DB_EDITS]
)
def test_the_database_edited_with_sqlite3_is_caught_at_that_entry(
    what: str,
    where: str,
    edit: Edit,
    codes: set[str],
    recorded: Recorded,
    folder_copy: Path,
    tmp_path: Path,
) -> None:
    p = recorded.at[where]
    db = sqlite3.connect(folder_copy / "tally.db", isolation_level=None)
    try:
        db.execute("BEGIN")
        edit(db, p)
        db.execute("COMMIT")
    finally:
        db.close()
    ledger = export_ledger(folder_copy, tmp_path / "export.jsonl")
    assert_named(*verify(ledger, recorded.election), p, codes)


def test_the_ledger_tampered_with_holds_every_kind_of_entry(
    recorded: Recorded, record: Record
) -> None:
    kinds = sorted({e["kind"] for e in recorded.entries})
    record.note(
        CATEGORY,
        f"a ledger of {len(recorded.entries)} entries ({', '.join(kinds)}); "
        f"each change named at its entry by `tally-server verify`",
    )
    assert len(kinds) == 8
