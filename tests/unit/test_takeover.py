"""The ``server_takeover`` entry: verify and the start check accept the one a standby
records, and refuse (V150) one not signed by the server key, misplaced or malformed,
even when its hash is recomputed to fit the chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.signing import SigningKey
from tally_server.service import takeover
from tally_server.service.folder import Folder, init_folder, now, offline_commit, open_folder
from tally_server.service.integrity import full_check, start_check
from tally_server.service.journal import Journal, Prepared, Sealer
from tally_server.service.verify import verify_ledger
from tally_server.service.verify.report import Report
from tally_server.store import db, ledger
from tally_server.store.ledger import Entry
from tests.faults.kit import area_ids, write_election

REPLICA = "sftp://kiemphieu:***@replica.example/night"


@pytest.fixture(scope="module")
def standby(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Entry]]:
    tmp = tmp_path_factory.mktemp("takeover")
    folder = tmp / "standby"
    init_folder(folder, write_election(tmp / "election.json", 2))
    station = SigningKey.generate()

    def go(_: Folder, journal: Journal) -> tuple[list[Prepared], None]:
        enrolled = journal.enroll("TBC-1", area_ids(1)[0], station.public, now(), by="cli:t")
        took = journal.takeover(now(), REPLICA, None, "primary disk failed", "cli:t")
        assert enrolled is not None
        return [enrolled, took], None

    offline_commit(folder, "take over", go)
    conn = open_folder(folder).connect()
    try:
        entries = list(db.ledger_entries(conn))
    finally:
        conn.close()
    return folder, entries


def check(folder: Path, entries: list[Entry], path: Path) -> tuple[str | None, Report]:
    path.write_bytes(b"".join(e.export_line() for e in entries))
    report = verify_ledger(path, open_folder(folder).election, workers=1)
    return (None if report.bad is None else report.bad.code), report


def test_the_takeover_a_standby_records_verifies_and_replays(
    standby: tuple[Path, list[Entry]], tmp_path: Path
) -> None:
    folder, entries = standby
    took = entries[-1]
    assert took.kind == ledger.SERVER_TAKEOVER and took.index == 2
    code, report = check(folder, entries, tmp_path / "ledger.jsonl")
    assert code is None
    [t] = report.takeovers
    assert (t.index, t.head_index, t.head_hash) == (2, 1, entries[1].hash)
    assert (t.replica, t.reason, t.by, t.restored_to) == (
        REPLICA,
        "primary disk failed",
        "cli:t",
        None,
    )
    assert report.kinds[ledger.SERVER_TAKEOVER] == 1
    # The start check and `tally-server check` replay it as the server records it.
    conn = open_folder(folder).connect()
    try:
        assert full_check(conn, open_folder(folder)).ok
        assert start_check(conn, open_folder(folder)).ok
    finally:
        conn.close()


def _resigned(key: SigningKey, outcome: Callable[[bytes], bytes]) -> Callable[[Entry], Entry]:
    """The takeover remade: another outcome, signed by ``key``, the hash recomputed so
    only the takeover's own checks can tell."""

    def remake(e: Entry) -> Entry:
        o = outcome(e.outcome)
        signed = Sealer(key).seal(takeover.TAKEOVER_TYPE, o)
        return Entry.make(e.index, e.prev, e.time, e.kind, e.station, signed, o)

    return remake


def _forged(e: Entry) -> Entry:
    return _resigned(SigningKey.generate(), lambda o: o)(e)


def _payload_not_outcome(e: Entry) -> Entry:
    return Entry.make(
        e.index, e.prev, e.time, e.kind, e.station, e.envelope, e.outcome.replace(b"disk", b"fan!")
    )


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_forged, "not signed by the server key"),
        (_payload_not_outcome, "signed payload is not the recorded outcome"),
        ("misplaced", "follows entry 1"),
        ("malformed", "unreadable"),
    ],
)
def test_a_forged_misplaced_or_malformed_takeover_is_refused_v150(
    standby: tuple[Path, list[Entry]], tmp_path: Path, tamper: object, says: str
) -> None:
    folder, entries = standby
    key = open_folder(folder).server_key
    if tamper == "misplaced":  # signed by the server key, but naming another head
        tamper = _resigned(key, lambda o: o.replace(b'"head_index":1', b'"head_index":0'))
    elif tamper == "malformed":  # signed, but who did it is not said
        tamper = _resigned(key, lambda o: o.replace(b'"by":"cli:t"', b'"by":" "'))
    assert callable(tamper)
    code, report = check(folder, [*entries[:-1], tamper(entries[-1])], tmp_path / "l.jsonl")
    assert code == "V150"
    bad = report.bad
    assert bad is not None
    assert bad.index == 2 and says in bad.reason_en and "mục tiếp quản 2" in bad.reason_vi
