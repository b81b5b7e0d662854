"""The national night, pre-generated: the election, one key per station, one signed
batch per station (every race of its polling area in one batch).

Cached in a work folder keyed by the seed and the number of areas, so a second
run skips this. Signing runs in a process pool while the main process streams
the sample minutes (which are deterministic per area, so the pool's order does
not matter).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from schemas import codec
from schemas.models import CountingMinutes, ResultBatch
from schemas.signing import BATCH_TYPE, SigningKey, seal

CREATED_AT = dt.datetime(2026, 3, 15, 19, 30, tzinfo=dt.UTC)
"""Every batch's creation time (fixed, so the files are the same for a seed)."""
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Night:
    """The pre-generated files of one run."""

    dir: Path
    election_id: str
    areas: int
    sheets: int
    constituencies: int
    probe_area: str
    """The station held back from the load, posted while the dashboard watches."""

    @property
    def election(self) -> Path:
        return self.dir / "election.json"

    @property
    def stations(self) -> Path:
        return self.dir / "stations.csv"

    @property
    def envelopes(self) -> Path:
        """Every station's envelope but the probe's, one per line."""
        return self.dir / "envelopes.jsonl"

    @property
    def probe(self) -> Path:
        return self.dir / "probe.json"


def station_key(seed: int, area_id: str) -> SigningKey:
    seed_bytes = hashlib.sha256(f"kiemphieu-bench:{seed}:{area_id}".encode()).digest()
    return SigningKey.from_seed(seed_bytes)


def station_id(area_id: str) -> str:
    return f"TBC-{area_id}"


def _sign_chunk(
    args: tuple[int, str, list[tuple[str, bytes]]],
) -> list[tuple[str, str, str, int]]:
    """(area, public key b64, envelope, sheets) for each area's minutes (JSON list)."""
    seed, election_id, chunk = args
    decoder = codec.decode
    out = []
    for area_id, minutes_json in chunk:
        minutes = decoder(minutes_json, list[CountingMinutes])
        key = station_key(seed, area_id)
        batch = ResultBatch(
            schema="kiemphieu/batch/v1",
            election_id=election_id,
            station_id=station_id(area_id),
            polling_area_id=area_id,
            sequence=1,
            created_at=CREATED_AT,
            minutes=minutes,
        )
        envelope = seal(key, BATCH_TYPE, codec.encode(batch))
        out.append((area_id, key.public.b64, envelope.decode("ascii"), len(minutes)))
    return out


def _by_area(
    minutes: Iterator[CountingMinutes], limit: int
) -> Iterator[tuple[str, list[CountingMinutes]]]:
    area: str | None = None
    group: list[CountingMinutes] = []
    n = 0
    for m in minutes:
        if m.polling_area_id != area:
            if group:
                yield area or "", group
                n += 1
                if n >= limit:
                    return
            area, group = m.polling_area_id, []
        group.append(m)
    if group and n < limit:
        yield area or "", group


def night(work: Path, seed: int, areas: int | None, *, log: bool = True) -> Night:
    """The files for ``areas`` polling areas (all when None), made once per key."""
    from tally_server.core.definition import Election
    from tally_server.core.sample import national, sample_minutes

    key = f"seed-{seed}-areas-{areas or 'all'}"
    folder = work / key
    meta = folder / "night.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        # Made by a tree whose key ids (fingerprints) differ from this one's: make again.
        if m.get("probe_keyid") == station_key(seed, m["probe_area"]).public.fingerprint:
            return Night(
                folder,
                m["election_id"],
                m["areas"],
                m["sheets"],
                m["constituencies"],
                m["probe_area"],
            )
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    definition = national(seed=seed)
    election = Election.from_definition(definition)
    (folder / "election.json").write_bytes(codec.encode(definition))
    limit = areas or len(definition.polling_areas)
    constituencies = sum(len(r.constituencies) for r in definition.races)

    def chunks() -> Iterator[tuple[int, str, list[tuple[str, bytes]]]]:
        chunk: list[tuple[str, bytes]] = []
        for area_id, group in _by_area(sample_minutes(election, seed), limit):
            chunk.append((area_id, codec.encode(group)))
            if len(chunk) == CHUNK:
                yield seed, election.id, chunk
                chunk = []
        if chunk:
            yield seed, election.id, chunk

    sheets = 0
    done = 0
    rows: list[tuple[str, str, str, int]] = []
    tmp_env = folder / "envelopes.all.tmp"
    with (
        multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool,
        open(tmp_env, "w") as out,
    ):
        for part in pool.imap(_sign_chunk, chunks()):
            for area_id, pub, envelope, n in part:
                out.write(envelope + "\n")
                rows.append((area_id, pub, "", n))
                sheets += n
            done += len(part)
            if log and done % 10_000 < CHUNK:
                print(
                    f"  generated {done:,} batches ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    # The probe: the last station whose NA constituency it completes (its row changes
    # from partial to a result when it lands).
    probe_index = len(rows) - 1
    with open(folder / "stations.csv", "w") as csv:
        csv.write("station_id,polling_area_id,public_key\n")
        for area_id, pub, _, _ in rows:
            csv.write(f"{station_id(area_id)},{area_id},{pub}\n")
    with open(tmp_env) as src, open(folder / "envelopes.jsonl", "w") as dst:
        for i, line in enumerate(src):
            if i == probe_index:
                (folder / "probe.json").write_text(line.strip())
            else:
                dst.write(line)
    tmp_env.unlink()
    probe_area = rows[probe_index][0]
    meta.write_text(
        json.dumps(
            {
                "election_id": election.id,
                "areas": len(rows),
                "sheets": sheets,
                "constituencies": constituencies,
                "probe_area": probe_area,
                "probe_keyid": station_key(seed, probe_area).public.fingerprint,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    )
    return Night(folder, election.id, len(rows), sheets, constituencies, probe_area)


def probe_payload(n: Night) -> dict[str, object]:
    envelope = json.loads(n.probe.read_text())
    return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]
