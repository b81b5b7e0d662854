"""Delivering stored envelopes over bad links, in order, until each is answered.

Every attempt sends the exact stored bytes, so a retry after a lost answer is
the same batch again and the server answers the identical receipt. Transient
failures (timeouts, dropped connections, 5xx, a full disk on the server) back
off exponentially with full jitter; an answer that is final for the batch
(accepted, rejected with findings, conflict, refused without a receipt) is
stored and never retried.

A station may know more than one server address (the pack's primary, then its
standby): the first is used while it answers; when it does not (no connection,
no answer in time, a 5xx), the next one is tried at once, and only when every
address has failed in turn does the pause come. A 4xx is an answer, not a
silence: it never moves the station on. Every address is the same election
signing with the same key, so receipts are checked against the one pinned key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import aiohttp

from schemas._retry import Backoff as Backoff  # part of the client's public surface
from schemas.models import Receipt
from schemas.signing import VerifyKey
from station_client.errors import DeliveryError, ReceiptError
from station_client.outbox import Outbox, StoredBatch
from station_client.receipts import verify_receipt

BATCHES_PATH = "/api/v1/batches"
SERVER_KEY_PATH = "/api/v1/server-key"

OutcomeKind = Literal["delivered", "rejected", "conflict", "refused", "retry", "moved"]
"""``moved``: the server the station moved on to lacked batches it had receipts for;
they were queued again and go first (nothing was sent of this batch)."""


def make_ssl_context(
    server_cert: Path | None = None, ca_file: Path | None = None
) -> ssl.SSLContext | None:
    """Trust only the pinned server certificate (or the given CA) when one is named.

    ``server_cert`` is used as the sole trust anchor: a self-signed server
    certificate verifies, nothing else does. None means the system's CAs for
    https:// addresses (and nothing at all for plain http on a closed network).
    """
    if server_cert is None and ca_file is None:
        return None
    # A bare context, not the default one: the system store is never loaded.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    context.load_verify_locations(cafile=str(server_cert or ca_file))
    if server_cert is not None:
        # The pinned certificate is itself the anchor, even when a CA issued it.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


@dataclass(slots=True)
class Transport:
    """Where and how to reach the server: its addresses in order, and the one in use."""

    base_url: str
    """The usual (primary) address."""
    ssl_context: ssl.SSLContext | None = None
    timeout: float = 20.0
    connect_timeout: float = 10.0
    standby_urls: tuple[str, ...] = ()
    """The other addresses of the same server (a standby restored from its replica)."""
    active: int = field(default=0, compare=False)
    """Index in ``urls`` of the address in use."""

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.base_url, *self.standby_urls)

    @property
    def current(self) -> str:
        return self.urls[self.active]

    @property
    def on_standby(self) -> bool:
        return self.active > 0

    def url(self, path: str) -> str:
        return self.current.rstrip("/") + path

    def move_on(self) -> bool:
        """Use the next address (after the last: the first again). False when there
        is only one."""
        if len(self.urls) < 2:
            return False
        self.active = (self.active + 1) % len(self.urls)
        return True

    def session(self, *, limit: int = 4) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self.ssl_context if self.ssl_context is not None else True, limit=limit
        )
        timeout = aiohttp.ClientTimeout(
            total=self.timeout, connect=self.connect_timeout, sock_read=self.timeout
        )
        return aiohttp.ClientSession(connector=connector, timeout=timeout)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    http_status: int | None = None
    receipt: Receipt | None = None
    receipt_bytes: bytes | None = None
    error: dict[str, Any] | None = None
    """For ``refused`` and ``retry``: code and messages (ours or the server's)."""
    server: str | None = None
    """The address that answered (or did not)."""
    standby: bool = False
    """That address is not the usual one: the station moved on to a standby."""

    def describe(self) -> str:
        if self.receipt is not None:
            r = self.receipt
            return (
                f"sổ cái / ledger #{r.ledger_index} · "
                f"{r.received_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC · "
                f"head {r.ledger_head[:12]}"
            )
        if self.error is not None:
            return (
                f"[{self.error.get('code', '?')}] {self.error.get('message_vi', '')} / "
                f"{self.error.get('message_en', '')}"
            )
        return self.kind


def _error_body(status: int, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and "code" in error:
            return error
    except (ValueError, UnicodeDecodeError):
        pass
    text = body[:200].decode("utf-8", "replace")
    return {
        "code": f"H{status:03d}"[:4],
        "message_vi": f"Máy chủ trả lời HTTP {status}: {text}",
        "message_en": f"The server answered HTTP {status}: {text}",
        "fields": [],
        "figures": {"http_status": status},
    }


def _transient(code: str, *, en: str, vi: str, **figures: Any) -> Outcome:
    return Outcome(
        "retry",
        error={"code": code, "message_en": en, "message_vi": vi, "fields": [], "figures": figures},
    )


# Answers that say "not now" rather than "not this batch".
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 507})


def unanswered(outcome: Outcome) -> bool:
    """The server did not answer (no connection, no answer in time, TLS not the pinned
    one) or failed (5xx): try the next address. A 4xx, even 429, is an answer."""
    if outcome.kind != "retry":
        return False
    return outcome.http_status is None or outcome.http_status >= 500


def interpret(
    status: int, body: bytes, batch: StoredBatch, server_key: VerifyKey, election_id: str
) -> Outcome:
    """What an HTTP answer means for the batch. Raises ReceiptError for a receipt
    that does not verify: that is never a delivery."""
    if status in (200, 409, 422):
        try:
            receipt = verify_receipt(
                body,
                server_key,
                election_id=election_id,
                station_id=batch.station_id,
                sequence=batch.sequence,
                digest=batch.digest,
            )
        except ReceiptError:
            if status == 200:
                raise
            # A 409/422 that is not a receipt is an ordinary error answer.
            error = _error_body(status, body)
            if error.get("code", "").startswith("H"):
                raise
            return Outcome("refused", http_status=status, error=error)
        expected = "accepted" if status == 200 else "rejected"
        if receipt.status != expected:
            raise ReceiptError(
                en=f"HTTP {status} with a receipt saying "
                f"{receipt.status!r}; the batch stays pending.",
                vi=f"HTTP {status} kèm biên nhận ghi {receipt.status!r}; lô vẫn chờ gửi.",
                code="P203",
                fields=("status",),
                figures={"http_status": status, "receipt_status": receipt.status},
            )
        kind: OutcomeKind = (
            "delivered" if status == 200 else ("conflict" if status == 409 else "rejected")
        )
        return Outcome(kind, http_status=status, receipt=receipt, receipt_bytes=body)
    if status in _RETRY_STATUSES or status >= 500:
        return Outcome("retry", http_status=status, error=_error_body(status, body))
    return Outcome("refused", http_status=status, error=_error_body(status, body))


class Deliverer:
    """Sends one station's (or many stations') stored envelopes and records answers."""

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        server_key: VerifyKey,
        election_id: str,
        *,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        report: Callable[[StoredBatch, Outcome], None] | None = None,
        on_move: Callable[[aiohttp.ClientSession], Awaitable[bool]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.server_key = server_key
        self.election_id = election_id
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.report = report
        self.on_move = on_move
        """Shows the server moved to our receipts before anything is sent to it (the
        lineage check); True when it lacked some (queued again, they go first).
        Raises DeliveryError when that server cannot be asked either."""
        self.unchecked = False
        """Moved on, and the new server not yet shown our receipts."""

    async def arrive(self, session: aiohttp.ClientSession) -> Outcome | None:
        """After moving on: the lineage check on the new server. An Outcome when it
        stands in the way of sending (lost batches first, or no answer)."""
        if not self.unchecked or self.on_move is None:
            return None
        try:
            lacked = await self.on_move(session)
        except DeliveryError as exc:
            return self._here(Outcome("retry", error=exc.to_dict()))
        self.unchecked = False
        return self._here(Outcome("moved")) if lacked else None

    def _here(self, outcome: Outcome) -> Outcome:
        return replace(outcome, server=self.transport.current, standby=self.transport.on_standby)

    async def attempt(self, session: aiohttp.ClientSession, batch: StoredBatch) -> Outcome:
        """One POST of the stored bytes; nothing recorded."""
        return self._here(await self._post(session, batch))

    async def _post(self, session: aiohttp.ClientSession, batch: StoredBatch) -> Outcome:
        try:
            async with session.post(
                self.transport.url(BATCHES_PATH),
                data=batch.envelope,
                headers={"Content-Type": "application/json"},
            ) as response:
                body = await response.read()
                status = response.status
        except aiohttp.ClientSSLError as exc:
            return _transient(
                "P302",
                en=f"TLS: the server's certificate is not the pinned one or does not verify: {exc}",
                vi="TLS: chứng chỉ của máy chủ không phải "
                f"chứng chỉ đã ghim hoặc không hợp lệ: {exc}",
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            return _transient(
                "P303",
                en=f"No answer within {self.transport.timeout:g} s ({type(exc).__name__}).",
                vi=f"Không có trả lời trong {self.transport.timeout:g} "
                f"giây ({type(exc).__name__}).",
            )
        except aiohttp.ClientError as exc:
            return _transient(
                "P304",
                en=f"Connection failed: {exc or type(exc).__name__}",
                vi=f"Lỗi kết nối: {exc or type(exc).__name__}",
            )
        return interpret(status, body, batch, self.server_key, self.election_id)

    def record(self, batch: StoredBatch, outcome: Outcome) -> None:
        if outcome.kind == "moved":
            return  # nothing was sent of this batch
        if outcome.receipt is not None and outcome.receipt_bytes is not None:
            assert outcome.kind in ("delivered", "rejected", "conflict")
            self.outbox.record_receipt(
                batch.station_id, batch.sequence, outcome.kind, outcome.receipt_bytes,
                outcome.receipt,
            )  # fmt: skip
        elif outcome.kind == "refused":
            self.outbox.record_refusal(batch.station_id, batch.sequence, outcome.error or {})
        else:
            self.outbox.record_attempt(batch.station_id, batch.sequence, _line(outcome.error or {}))
        if self.report is not None:
            self.report(batch, outcome)

    async def deliver(
        self,
        session: aiohttp.ClientSession,
        batch: StoredBatch,
        *,
        deadline: float | None = None,
    ) -> Outcome:
        """Send one batch until it has a final answer or the deadline passes, moving on
        to the next address when one does not answer (``moved``: the server moved to
        lacked earlier batches of ours, which go first)."""
        attempt = 0
        failed_in_turn = 0
        while True:
            outcome = await self.arrive(session)
            if outcome is None:
                try:
                    outcome = await self.attempt(session, batch)
                except ReceiptError as exc:
                    # Never a delivery: keep the batch pending and say why.
                    self.outbox.record_attempt(
                        batch.station_id, batch.sequence, f"[{exc.code}] {exc.message_en}"
                    )
                    raise
            self.record(batch, outcome)
            if outcome.kind != "retry":
                return outcome
            if unanswered(outcome) and self.transport.move_on():
                self.unchecked = True
                failed_in_turn += 1
                if failed_in_turn < len(self.transport.urls):
                    continue  # the next address at once: the pause is for a whole turn
                failed_in_turn = 0
            pause = self.backoff.delay(attempt, self.rng)
            attempt += 1
            if deadline is not None and time.monotonic() + pause > deadline:
                return outcome
            await asyncio.sleep(pause)

    async def drain(
        self, station_id: str, *, deadline: float | None = None
    ) -> list[tuple[StoredBatch, Outcome]]:
        """Deliver a station's pending batches in sequence order; stop at the
        first one that is still unanswered at the deadline (order matters: a
        correction must not overtake what it corrects)."""
        done: list[tuple[StoredBatch, Outcome]] = []
        async with self.transport.session() as session:
            # Read again after each batch: moving on may queue earlier ones again.
            while pending := self.outbox.pending(station_id):
                batch = pending[0]
                outcome = await self.deliver(session, batch, deadline=deadline)
                if outcome.kind == "moved":
                    continue
                done.append((batch, outcome))
                if outcome.kind == "retry":
                    break
        return done


def _line(error: dict[str, Any]) -> str:
    return f"[{error.get('code', '?')}] {error.get('message_en', '')}"


async def fetch_server_key(transport: Transport) -> VerifyKey:
    """GET /api/v1/server-key: for init, whose fingerprint the official compares."""
    try:
        async with (
            transport.session() as session,
            session.get(transport.url(SERVER_KEY_PATH)) as response,
        ):
            body = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DeliveryError(
            en=f"Cannot fetch the server key from {transport.base_url}: {exc}",
            vi=f"Không lấy được khoá máy chủ từ {transport.base_url}: {exc}",
            code="P305",
            figures={"server": transport.base_url},
        ) from exc
    if status != 200:
        raise DeliveryError(
            en=f"The server answered HTTP {status} for its key.",
            vi=f"Máy chủ trả lời HTTP {status} khi hỏi khoá.",
            code="P305",
            figures={"http_status": status},
        )
    try:
        data = json.loads(body)
        key = VerifyKey.from_text(str(data["public_key_b64"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise DeliveryError(
            en=f"The server's key answer is not understood: {exc}",
            vi=f"Không hiểu câu trả lời khoá của máy chủ: {exc}",
            code="P305",
        ) from exc
    if data.get("fingerprint") not in (None, key.fingerprint):
        raise DeliveryError(
            en="The server's key and the fingerprint it names differ.",
            vi="Khoá máy chủ và dấu vân tay nó ghi không khớp nhau.",
            code="P305",
            figures={"fingerprint": str(data.get("fingerprint")), "computed": key.fingerprint},
        )
    return key
