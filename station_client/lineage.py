"""Does the server still hold what it acknowledged? Checked on every sync.

A receipt names the ledger entry that recorded the batch: its index and its
hash. The hash covers every entry before it, so when the server still has the
entry of the station's latest receipt (highest index) with that hash, it has
all the earlier ones too, provided they were seen together once. So each look
asks, in one snapshot (``GET /api/v1/ledger/hashes``, a few bytes, no token,
nothing downloaded), for the receipt last found held with all the others and
every receipt of a higher index (those obtained since); when all are there,
the highest becomes the one to ask for next time (kept in the outbox, so a
look that could not be made is made by the next sync).

When an entry is gone (a restored backup: the index is beyond the head, or
another entry now sits there), the station keeps the receipt as evidence
beside the batch, shows the receipt to the server (``POST /api/v1/receipts``;
the server records it and raises an alert there) and only then delivers the
same signed bytes again: the server has seen that index and never hands it
out again, so the new receipt names a new one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from station_client.delivery import Transport
from station_client.errors import DeliveryError
from station_client.outbox import Outbox, StoredBatch

HASHES_PATH = "/api/v1/ledger/hashes"
RECEIPTS_PATH = "/api/v1/receipts"
MAX_AT = 64
"""Indexes per look (the server's limit)."""


@dataclass(frozen=True, slots=True)
class Loss:
    """A batch whose receipt names an entry the server no longer holds."""

    sequence: int
    races: tuple[str, ...]
    ledger_index: int
    ledger_head: str
    held_hash: str | None
    head_index: int


class Lineage:
    def __init__(self, outbox: Outbox, transport: Transport, station_id: str) -> None:
        self.outbox = outbox
        self.transport = transport
        self.station_id = station_id

    def to_check(self) -> list[StoredBatch]:
        """The receipt last found held with all the others, and those above it."""
        held = self.outbox.receipted(self.station_id)
        mark = self.outbox.checked_up_to(self.station_id)
        return held if mark is None else [b for b in held if (b.ledger_index or 0) >= mark]

    async def _hashes(
        self, session: aiohttp.ClientSession, indexes: Sequence[int]
    ) -> tuple[int, dict[int, str | None]]:
        at = ",".join(str(i) for i in sorted(set(indexes)))
        try:
            async with session.get(self.transport.url(HASHES_PATH), params={"at": at}) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(
                en=f"Could not ask the server whether its ledger still holds our receipts: "
                f"{exc or type(exc).__name__}",
                vi=f"Không hỏi được máy chủ sổ cái còn giữ các biên nhận của trạm không: "
                f"{exc or type(exc).__name__}",
                code="P211",
            ) from exc
        try:
            if status != 200:
                raise ValueError(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
            data = json.loads(body)
            found = {int(e["index"]): e["hash"] for e in data["entries"]}
            return int(data["head_index"]), found
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(
                en=f"The server's answer about its ledger is not understood: {exc}",
                vi=f"Không hiểu câu trả lời của máy chủ về sổ cái: {exc}",
                code="P211",
                figures={"http_status": status},
            ) from exc

    async def lost(
        self, session: aiohttp.ClientSession, batches: Sequence[StoredBatch]
    ) -> list[Loss]:
        """Those of ``batches`` whose entry the server does not hold (each look is one
        snapshot of its ledger). Raises DeliveryError when it cannot be asked."""
        out: list[Loss] = []
        todo = [b for b in batches if b.ledger_index is not None and b.ledger_head]
        for i in range(0, len(todo), MAX_AT):
            part = todo[i : i + MAX_AT]
            head_index, found = await self._hashes(session, [b.ledger_index or 0 for b in part])
            for b in part:
                assert b.ledger_index is not None and b.ledger_head is not None
                held = found.get(b.ledger_index)
                if held != b.ledger_head:
                    out.append(
                        Loss(b.sequence, b.races, b.ledger_index, b.ledger_head, held, head_index)
                    )
        return out

    async def check(self, session: aiohttp.ClientSession) -> list[Loss]:
        """Look at ``to_check()`` together; if any is lost, find every receipt of ours
        that is, keep each as evidence and queue its batch again."""
        batches = self.to_check()
        if not batches:
            return []
        if not await self.lost(session, batches):
            self.outbox.set_checked_up_to(self.station_id, batches[-1])
            return []
        losses = await self.lost(session, self.outbox.receipted(self.station_id))
        for loss in losses:
            self.outbox.mark_lost(self.station_id, loss.sequence, loss.held_hash)
        held = self.outbox.receipted(self.station_id)
        self.outbox.set_checked_up_to(self.station_id, held[-1] if held else None)
        return losses

    async def report(self, session: aiohttp.ClientSession) -> tuple[int, list[dict[str, Any]]]:
        """Show the server every lost receipt not yet shown. (still to show, answers)."""
        answers: list[dict[str, Any]] = []
        waiting = 0
        for lost in self.outbox.lost_receipts(self.station_id):
            if lost.reported_at is not None:
                continue
            try:
                async with session.post(
                    self.transport.url(RECEIPTS_PATH),
                    data=lost.receipt,
                    headers={"Content-Type": "application/json"},
                ) as resp:
                    body = await resp.read()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError):
                waiting += 1
                continue
            if status >= 500 or status in (408, 429):
                waiting += 1
                continue
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {"raw": body[:200].decode("utf-8", "replace")}
            if not isinstance(answer, dict):
                answer = {"raw": answer}
            answer["http_status"] = status
            # A final answer, whatever it says: kept with the evidence, not asked again.
            self.outbox.record_report(self.station_id, lost.ledger_index, lost.ledger_head, answer)
            answers.append({"sequence": lost.sequence, **answer})
        return waiting, answers


def alert_lines(losses: Sequence[Loss]) -> list[str]:
    """The loud alert: plain Vietnamese first, then English."""
    bar = "!" * 78
    out = [bar]
    for loss in losses:
        if loss.held_hash is not None:
            where_vi = f"mục #{loss.ledger_index} giờ là mục khác ({loss.held_hash[:12]})"
            where_en = f"entry #{loss.ledger_index} is now another one ({loss.held_hash[:12]})"
        elif loss.ledger_index > loss.head_index:
            where_vi = f"sổ cái chỉ đến mục #{loss.head_index}"
            where_en = f"its ledger ends at #{loss.head_index}"
        else:
            where_vi = f"sổ cái không có mục #{loss.ledger_index}"
            where_en = f"its ledger has no entry #{loss.ledger_index}"
        races = ",".join(loss.races)
        out.append(
            f"!! CẢNH BÁO: Máy chủ không còn giữ kết quả đã xác nhận: lô {loss.sequence} "
            f"({races}), biên nhận sổ cái #{loss.ledger_index} ({where_vi})."
        )
        out.append(
            f"!! ALERT: the server no longer holds what it acknowledged: batch "
            f"{loss.sequence} ({races}), receipt for ledger #{loss.ledger_index} ({where_en})."
        )
    out += [
        "!! Trạm giữ nguyên lô và biên nhận cũ làm bằng chứng, báo cho máy chủ và gửi lại lô.",
        "!! Báo ngay cho Ủy ban bầu cử: có thể máy chủ đã bị khôi phục từ bản sao lưu cũ.",
        "!! The station keeps its batches and the old receipts as evidence, tells the server",
        "!! and delivers the batches again. Tell the committee now: the server may have",
        "!! been restored from an older backup.",
        bar,
    ]
    return out
