"""Slow and silent clients over raw sockets on 127.0.0.1: a connection that sends
nothing, half a header, its header a byte at a time, or a body that never completes
is closed within ``serve --header-timeout`` / ``--body-timeout`` (the body one with a
408 ``H408``), while a station's batch sent meanwhile is accepted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Record
from .kit import ServerProcess, Signer, enroll_offline, init_folder, start_server, write_election

CATEGORY = "attacks"
TIMEOUT = 1.0
"""Both timeouts, in seconds, for these tests (the defaults are 20 and 30)."""
SLACK = 2.0
"""How much later than the timeout a close may come on a loaded machine."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Signer]]:
    tmp = tmp_path_factory.mktemp("slow")
    election = write_election(tmp / "election.json", 2)
    init_folder(tmp / "server", election)
    signer = Signer("KV-0001", "KV-0001")
    enroll_offline(tmp / "server", [signer])
    args = ("--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT))
    server = start_server(tmp / "server", tmp / "server.log", election, serve_args=args)
    try:
        yield server, signer
    finally:
        server.stop()


async def held(
    port: int, first: bytes, trickle: bytes = b"", every: float = 0.2
) -> tuple[float, bytes]:
    """Send ``first``, then ``trickle`` a byte every ``every`` s; how long until the
    server closed the connection, and what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(first)

    async def dribble() -> None:
        for byte in trickle:
            await asyncio.sleep(every)
            writer.write(bytes([byte]))
            await writer.drain()

    sender = asyncio.create_task(dribble())
    try:
        answer = await asyncio.wait_for(reader.read(), TIMEOUT + SLACK + 5)
    except ConnectionResetError:
        # The server closed while bytes it will never read were still coming: the
        # kernel answers those with a reset, which may overtake what it had sent.
        answer = RESET
    finally:
        sender.cancel()
        writer.close()
    return time.monotonic() - started, answer


RESET = b"<reset>"


def test_slow_and_silent_connections_are_closed_in_time(
    served: tuple[ServerProcess, Signer], record: Record
) -> None:
    server, signer = served
    batch = signer.envelope(1)
    head = b"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cases = {
        "nothing sent": (b"", b""),
        "half a header": (b"GET /api/v1/progress HTTP/1.1\r\nHost: x\r\nX-Half: ", b""),
        "a header byte by byte": (
            b"G",
            b"ET /api/v1/progress HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 60,
        ),
        "a body cut short": (head + f"Content-Length: {len(batch)}\r\n\r\n".encode(), b""),
        "a body byte by byte": (
            head + f"Content-Length: {len(batch)}\r\n\r\n".encode() + batch[:50],
            batch[50:100],
        ),
    }

    async def attack() -> tuple[dict[str, list[tuple[float, bytes]]], tuple[int, bytes]]:
        tasks = {
            name: [asyncio.create_task(held(server.port, *how)) for _ in range(10)]
            for name, how in cases.items()
        }
        # Meanwhile a station sends its batch, and it goes in.
        sent = await asyncio.to_thread(server.post_batch, batch)
        results = {name: [await t for t in ts] for name, ts in tasks.items()}
        return results, sent

    results, (status, _) = asyncio.run(attack())
    assert status == 200
    figures = []
    for name, outcomes in results.items():
        slowest = max(took for took, _ in outcomes)
        figures.append(f"{name} closed after ≤ {slowest:.2f} s")
        for took, answer in outcomes:
            assert TIMEOUT - 0.1 <= took <= TIMEOUT + SLACK, (name, took)
            if answer == RESET:
                # only where the client was still sending when the server closed
                assert name in ("a header byte by byte", "a body byte by byte"), name
            elif name.startswith("a body"):
                head_, _, body = answer.partition(b"\r\n\r\n")
                assert head_.startswith(b"HTTP/1.1 408 "), (name, answer[:200])
                assert json.loads(body)["error"]["code"] == "H408"
            else:
                assert answer == b"", (name, answer[:200])
    record.note(
        CATEGORY,
        f"slow clients (timeouts {TIMEOUT:g} s, 10 connections each): " + "; ".join(figures),
    )
    assert server.alive()
    assert server.get_json("/api/v1/progress")["overall"]["areas_reported"] == 1


def test_an_idle_kept_alive_connection_is_closed_after_the_header_timeout(
    served: tuple[ServerProcess, Signer],
) -> None:
    server, _ = served
    took, answer = asyncio.run(
        held(server.port, b"GET /api/v1/server-key HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert TIMEOUT - 0.1 <= took <= TIMEOUT + SLACK


def test_the_timeouts_are_serve_options(tmp_path: Path) -> None:
    from .kit import tally_cli

    done = tally_cli("serve", "--help")
    assert "--header-timeout S" in done.stdout and "--body-timeout S" in done.stdout
    done = tally_cli("serve", "--dir", str(tmp_path), "--body-timeout", "0")
    assert done.returncode == 2 and "--body-timeout" in done.stderr
