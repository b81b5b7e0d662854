"""The outbox keeps what was signed, in order, across restarts and crashes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from schemas import BATCH_TYPE, SigningKey, codec, open_envelope, sha256_hex
from schemas.models import CountingMinutes, ResultBatch
from station_client.outbox import Outbox, Sealed
from station_client.signer import batch_sealer, sign_and_store

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "examples"


def minutes() -> list[CountingMinutes]:
    data = json.loads((ASSETS / "batch.json").read_text(encoding="utf-8"))
    return [codec.convert(m, CountingMinutes) for m in data["minutes"]]


def store(outbox: Outbox, key: SigningKey, station: str = "KV-01") -> int:
    stored = sign_and_store(
        outbox,
        key,
        election_id="vd-2011",
        station_id=station,
        polling_area_id="KV-01",
        minutes=minutes(),
    )
    return stored.sequence


def test_sequences_only_grow_and_survive_a_restart(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with Outbox(tmp_path / "o.sqlite") as outbox:
        assert [store(outbox, key) for _ in range(3)] == [1, 2, 3]
    with Outbox(tmp_path / "o.sqlite") as outbox:
        assert store(outbox, key) == 4
        assert outbox.last_sequence("KV-01") == 4
        assert store(outbox, key, station="KV-02") == 1


def test_two_connections_never_hand_out_the_same_sequence(tmp_path: Path) -> None:
    key = SigningKey.generate()
    a, b = Outbox(tmp_path / "o.sqlite"), Outbox(tmp_path / "o.sqlite")
    try:
        got = [store(a, key), store(b, key), store(a, key), store(b, key)]
    finally:
        a.close()
        b.close()
    assert got == [1, 2, 3, 4]


def test_a_failed_signature_stores_nothing_and_burns_no_sequence(tmp_path: Path) -> None:
    key = SigningKey.generate()

    def broken(sequence: int) -> Sealed:
        raise RuntimeError("signing device unplugged")

    with Outbox(tmp_path / "o.sqlite") as outbox:
        with pytest.raises(RuntimeError):
            outbox.add("KV-01", broken)
        assert outbox.batches("KV-01") == []
        assert store(outbox, key) == 1


def test_the_stored_envelope_is_the_signed_batch_with_its_sequence(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with Outbox(tmp_path / "o.sqlite") as outbox:
        seq = store(outbox, key)
        stored = outbox.get("KV-01", seq)
    assert stored is not None and stored.state == "pending"
    opened = open_envelope(stored.envelope, BATCH_TYPE)
    opened.verify(key.public)
    assert stored.digest == sha256_hex(opened.payload)
    batch = codec.decode(opened.payload, ResultBatch)
    assert (batch.sequence, batch.station_id, batch.election_id) == (1, "KV-01", "vd-2011")
    assert batch.created_at.utcoffset() == dt.timedelta(0)
    assert stored.races == ("QH", "HDND-TP", "HDND-XA")


def test_sealer_encodes_once_so_digest_matches_the_payload() -> None:
    key = SigningKey.generate()
    sealed = batch_sealer(
        key, election_id="vd-2011", station_id="KV-01", polling_area_id="KV-01", minutes=minutes()
    )(7)
    assert sealed.digest == sha256_hex(sealed.payload)
    assert open_envelope(sealed.envelope, BATCH_TYPE).payload == sealed.payload


def test_pending_is_in_order_and_refused_batches_can_be_queued_again(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with Outbox(tmp_path / "o.sqlite") as outbox:
        for _ in range(3):
            store(outbox, key)
        outbox.record_refusal("KV-01", 1, {"code": "A401", "message_en": "unknown key"})
        outbox.record_attempt("KV-01", 2, "[P304] connection refused")
        assert [b.sequence for b in outbox.pending("KV-01")] == [2, 3]
        refused = outbox.get("KV-01", 1)
        assert refused is not None and refused.state == "refused"
        assert refused.findings[0]["code"] == "A401"
        second = outbox.get("KV-01", 2)
        assert second is not None and second.attempts == 1 and "P304" in (second.last_error or "")
        assert outbox.requeue_refused("KV-01") == 1
        assert [b.sequence for b in outbox.pending("KV-01")] == [1, 2, 3]


def test_drafts_keep_every_field_typed_before_a_crash(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        outbox.save_field("KV-01", "QH", "main", "A", "voters_on_list", "1250")
        outbox.save_field("KV-01", "QH", "main", "A", "voters_voted", "1238")
        outbox.save_field("KV-01", "QH", "main", "A", "voters_voted", "1239")
    # No close-time flush is needed: each field is its own committed transaction.
    with Outbox(tmp_path / "o.sqlite") as outbox:
        assert outbox.draft("KV-01", "QH", "main", "A") == {
            "voters_on_list": "1250",
            "voters_voted": "1239",
        }
        assert outbox.draft("KV-01", "QH", "main", "B") == {}
        assert outbox.drafted_races("KV-01") == {("QH", "main")}
        outbox.clear_drafts("KV-01", [("QH", "main")])
        assert outbox.drafted_races("KV-01") == set()


def test_outbox_commits_with_wal_and_full_sync(tmp_path: Path) -> None:
    import sqlite3

    with Outbox(tmp_path / "o.sqlite") as outbox:
        # 2 = FULL: fsync at every commit, so a stored batch survives power loss.
        assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    db = sqlite3.connect(tmp_path / "o.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
