"""The failover drill (issue 18, item 5): the primary dies mid-night, a standby
restored from its replica takes over, and nothing acknowledged is lost.

A primary ``serve --replicate DIR`` (Litestream beside it); polling teams' real
``station-client`` folders made from the committee's pack (primary, then standby)
submit, deliver, correct and deliver again, all at once. At a seeded moment (after a
seeded number of batches were accepted) the host dies: Litestream and the server by
SIGKILL, so the replica lacks the last acknowledged batches. ``tally-server standby
restore`` brings up the standby folder, ``serve`` answers on the standby's address,
and the stations carry on until each has delivered everything.

At the end every batch any station holds a receipt for (today's, or the old
primary's one it found lost) is in the standby's ledger exactly once, the results
are a from-scratch tally of each station's latest minutes, and ``tally-server
verify`` on the standby's export is VALID with the standby's ``results.json``.

    nice -n 15 .venv/bin/python bench/failover_drill.py --seed 1 [--stations 8]

prints the figures (and ``--json`` them as one JSON line); exit 0 when every check
held, 1 otherwise. tests/faults/test_failover_drill.py runs it with one seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.kit import (  # noqa: E402
    ServerProcess,
    Station,
    accepted_entries,
    area_ids,
    await_gone,
    client,
    expected_results_sha256,
    export_ledger,
    free_port,
    init_folder,
    litestream_pid,
    make_token,
    minutes_for,
    read_ledger,
    start_server,
    tally_cli,
    verify,
    write_election,
)

PATIENT = ["--timeout", "5", "--give-up-after", "90", "--backoff-base", "0.05"]
PATIENT += ["--backoff-max", "0.5"]
"""Sync options: quick retries, and patient enough to outlast the takeover."""
MOVED = 1
"""Votes each station's correction moves between two QH candidates."""
DEADLINE = 120.0


@dataclass
class Figures:
    seed: int
    stations: int
    batches: int
    """Batches the stations signed (each: its minutes, then one correction)."""
    killed_after: int
    """Batches the primary had accepted when the host died."""
    restored_head: int
    """The last ledger index the replica held."""
    beyond_replica: int
    """Batches the dead primary had accepted after the replica's last entry."""
    take_over_s: float
    """From the kill to the standby answering (restore, start check, serve)."""
    acknowledged: int
    """Batches any station holds a receipt for (the primary's or the standby's)."""
    redelivered: int
    """Acknowledged by the primary after the replica's last entry: shown back by the
    stations (``rollback_detected``) and delivered again to the standby."""
    lost: list[tuple[str, int]] = field(default_factory=list)
    twice: list[tuple[str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Every other check that failed, in words (empty: the drill passed)."""
    verify_valid: bool = False
    results_equal: bool = False
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not (self.lost or self.twice or self.problems)
            and self.verify_valid
            and self.results_equal
        )

    def summary(self) -> str:
        verdict = "PASSED" if self.ok else "FAILED"
        return (
            f"failover drill seed {self.seed}: {verdict}\n"
            f"  stations {self.stations}, batches signed {self.batches}; primary killed "
            f"(kill -9, with Litestream) after {self.killed_after} accepted, the replica "
            f"held up to entry {self.restored_head} ({self.beyond_replica} accepted batches "
            f"beyond it)\n"
            f"  time to take over (kill -> standby answering): {self.take_over_s:.2f} s\n"
            f"  acknowledged {self.acknowledged}, re-delivered {self.redelivered}, "
            f"acknowledged lost {len(self.lost)}, counted twice {len(self.twice)}\n"
            f"  verify {'VALID' if self.verify_valid else 'INVALID'}, results equal to the "
            f"standby's results.json and to a fresh tally: {self.results_equal}; "
            f"drill {self.wall_s:.1f} s" + "".join(f"\n  PROBLEM: {p}" for p in self.problems)
        )


def outbox_rows(station: Station, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(station.folder / "outbox.sqlite", timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def sync(station: Station) -> int:
    return client("sync", "--dir", str(station.folder), *PATIENT)[0]


def night(station: Station, start_after: float, errors: list[str]) -> None:
    """One polling team: its minutes, delivered; a recount's correction, delivered."""
    time.sleep(start_after)
    station.submit()
    if (rc := sync(station)) not in (0, 5):
        errors.append(f"{station.area}: sync of its minutes ended {rc}")
    rc, out = station.correct(MOVED)
    if rc != 0:
        errors.append(f"{station.area}: correct ended {rc}: {out[-300:]}")
    if (rc := sync(station)) not in (0, 5):
        errors.append(f"{station.area}: sync of its correction ended {rc}")


def accepted_count(server: ServerProcess) -> int:
    return sum(1 for e in server.ledger() if e["kind"] in ("batch_accepted", "correction"))


def drill(work: Path, seed: int, stations: int = 8) -> Figures:
    rng = random.Random(seed)
    began = time.monotonic()
    election = write_election(work / "election.json", stations)
    init_folder(work / "primary", election)
    replica = work / "replica"
    primary = start_server(
        work / "primary", work / "primary.log", election, serve_args=["--replicate", str(replica)]
    )
    standby_port = free_port()
    standby_url = f"http://127.0.0.1:{standby_port}"
    standby: ServerProcess | None = None
    try:
        packs = work / "packs"
        done = tally_cli(
            "station", "pack", "--dir", str(primary.folder), "--out", str(packs),
            "--server", primary.url, "--server", standby_url,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        team = [
            Station(primary, work / "stations", a, pack=packs / f"{a}.json")
            for a in area_ids(stations)
        ]
        # The moment the host dies: after a seeded number of accepted batches, while
        # stations are still submitting and correcting (each team starts at a seeded time).
        kill_after = rng.randint(stations // 2, 3 * stations // 2)
        errors: list[str] = []
        threads = [
            threading.Thread(target=night, args=(st, rng.uniform(0, 1.5), errors), daemon=True)
            for st in team
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + DEADLINE
        while (accepted := accepted_count(primary)) < kill_after:
            assert time.monotonic() < deadline, f"the primary accepted only {accepted}"
            time.sleep(0.05)

        # The host dies: Litestream first, so it cannot ship its last seconds.
        litestream = litestream_pid(primary.log_path)
        killed_at = time.monotonic()
        os.kill(litestream, signal.SIGKILL)
        primary.kill()
        await_gone(litestream)

        standby_dir = work / "standby"
        done = tally_cli("standby", "restore", "--from", str(replica), "--dir", str(standby_dir))
        assert done.returncode == 0, done.stdout + done.stderr
        head = re.search(r"head (\d+) ", done.stdout)
        assert head is not None, done.stdout
        standby = ServerProcess(standby_dir, work / "standby.log", election=election)
        standby.port = standby_port
        standby.tokens = {r: make_token(standby_dir, r) for r in ("viewer", "admin")}
        standby.start()
        take_over = time.monotonic() - killed_at

        for t in threads:
            t.join(DEADLINE)
        # Teams that finished before the kill sync once more, as sync --watch would:
        # they show the standby their receipts and deliver what it lacks.
        for _ in range(3):
            codes = {st.area: sync(st) for st in team}
            if set(codes.values()) == {0}:
                break
        else:
            errors.append(f"syncs still not clean after 3 rounds: {codes}")
        results = standby.results()
        standby.stop()
        figures = check(work, team, election, results, int(head.group(1)), errors)
    finally:
        primary.stop()
        if standby is not None:
            standby.stop()
    figures.seed, figures.killed_after, figures.take_over_s = seed, accepted, take_over
    figures.wall_s = time.monotonic() - began
    return figures


def check(
    work: Path,
    team: list[Station],
    election: Path,
    results: dict[str, object],
    restored_head: int,
    errors: list[str],
) -> Figures:
    entries = read_ledger(export_ledger(work / "standby", work / "ledger.jsonl"))
    found = accepted_entries(entries)
    at = {e["index"]: e for e in entries}
    # The dead primary's folder is evidence: up to the replica's head the standby's
    # ledger is the primary's, entry for entry; after it, only what stations re-deliver.
    old = read_ledger(export_ledger(work / "primary", work / "primary-ledger.jsonl"))
    for e in old:
        if e["index"] <= restored_head and at.get(e["index"], {}).get("hash") != e["hash"]:
            errors.append(f"entry {e['index']} differs from the primary's, below the replica head")
    beyond = {k for k, es in accepted_entries(old).items() if es[-1]["index"] > restored_head}
    acked: set[tuple[str, int]] = set()
    redelivered: set[tuple[str, int]] = set()
    states: set[object] = set()
    for st in team:
        for seq, (index, head, _, _) in st.receipts().items():
            acked.add((st.area, seq))
            if at.get(index, {}).get("hash") != head:
                errors.append(f"{st.area} #{seq}: receipt for entry {index} not in the ledger")
        lost_rows = "SELECT sequence, ledger_index FROM lost_receipts"
        for sequence, lost_index in outbox_rows(st, lost_rows):
            assert isinstance(sequence, int) and isinstance(lost_index, int)
            acked.add((st.area, sequence))
            redelivered.add((st.area, sequence))
            if lost_index <= restored_head:
                errors.append(f"{st.area} #{sequence}: entry {lost_index} was in the replica")
        states |= {s for (s,) in outbox_rows(st, "SELECT state FROM batches")}
    if states != {"delivered"}:
        errors.append(f"batches left in states {sorted(map(str, states))}")
    shown = sum(1 for e in entries if e["kind"] == "rollback_detected")
    if bool(shown) != bool(redelivered):
        errors.append(f"{shown} rollback_detected entries for {len(redelivered)} re-delivered")
    if not redelivered <= beyond:
        errors.append(f"re-delivered {sorted(redelivered - beyond)}: not beyond the replica")
    rc, report = verify(work / "ledger.jsonl", election)
    fresh = expected_results_sha256(
        election, [m for st in team for m in minutes_for(st.area, moved=MOVED)]
    )
    return Figures(
        seed=0,
        stations=len(team),
        batches=2 * len(team),
        killed_after=0,
        restored_head=restored_head,
        beyond_replica=len(beyond),
        take_over_s=0.0,
        acknowledged=len(acked),
        redelivered=len(redelivered),
        lost=sorted(k for k in acked if not found[k]),
        twice=sorted(k for k, es in found.items() if len(es) > 1),
        problems=errors,
        verify_valid=rc == 0 and bool(report["ok"]),
        results_equal=report["results_sha256"] == results["results_sha256"] == fresh,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1, help="the moment of the kill, the teams' starts")
    p.add_argument("--stations", type=int, default=8, help="polling teams (8)")
    p.add_argument("--work", type=Path, help="keep the folders, logs and ledger here")
    p.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="failover-drill-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures = drill(work, args.seed, args.stations)
    print(figures.summary())
    if args.json:
        print(json.dumps({**asdict(figures), "ok": figures.ok}))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
