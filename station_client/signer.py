"""Turning checked minutes into a signed batch, stored before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from schemas import codec
from schemas.models import CountingMinutes, ResultBatch
from schemas.signing import BATCH_TYPE, SigningKey, seal, sha256_hex
from station_client.outbox import Outbox, Sealed, StoredBatch, utc_now


def batch_sealer(
    key: SigningKey,
    *,
    election_id: str,
    station_id: str,
    polling_area_id: str,
    minutes: Sequence[CountingMinutes],
    supersedes: str | None = None,
    reason: str | None = None,
) -> Callable[[int], Sealed]:
    """A function the outbox calls with the sequence it allocates.

    The batch is encoded exactly once; those bytes are what is signed, stored,
    sent and hashed into the digest the receipt must repeat.
    """

    def make(sequence: int) -> Sealed:
        created_at = utc_now()
        batch = ResultBatch(
            schema="kiemphieu/batch/v1",
            election_id=election_id,
            station_id=station_id,
            polling_area_id=polling_area_id,
            sequence=sequence,
            created_at=created_at,
            minutes=list(minutes),
            supersedes=supersedes,
            reason=reason,
        )
        payload = codec.encode(batch)
        return Sealed(
            payload=payload,
            envelope=seal(key, BATCH_TYPE, payload),
            digest=sha256_hex(payload),
            created_at=created_at.isoformat(),
            races=tuple(m.race_id for m in minutes),
            supersedes=supersedes,
            reason=reason,
        )

    return make


def sign_and_store(
    outbox: Outbox,
    key: SigningKey,
    *,
    election_id: str,
    station_id: str,
    polling_area_id: str,
    minutes: Sequence[CountingMinutes],
    supersedes: str | None = None,
    reason: str | None = None,
) -> StoredBatch:
    return outbox.add(
        station_id,
        batch_sealer(
            key,
            election_id=election_id,
            station_id=station_id,
            polling_area_id=polling_area_id,
            minutes=minutes,
            supersedes=supersedes,
            reason=reason,
        ),
    )


def provisional_batch(
    *,
    election_id: str,
    station_id: str,
    polling_area_id: str,
    sequence: int,
    minutes: Sequence[CountingMinutes],
    supersedes: str | None = None,
    reason: str | None = None,
) -> ResultBatch:
    """The batch as it will be signed, for running the checks before signing."""
    return ResultBatch(
        schema="kiemphieu/batch/v1",
        election_id=election_id,
        station_id=station_id,
        polling_area_id=polling_area_id,
        sequence=sequence,
        created_at=utc_now(),
        minutes=list(minutes),
        supersedes=supersedes,
        reason=reason,
    )
