"""What the station has done, per race and per batch, for the officials' screen."""

from __future__ import annotations

import datetime as dt
from typing import Any

from station_client.checks import describe
from station_client.entry import paper_digest
from station_client.outbox import StoredBatch
from station_client.station import Station

STATE_LABEL = {
    "drafted": "bản nháp / drafted",
    "pending": "đã ký, chờ gửi / signed, not yet delivered",
    "delivered": "đã gửi / delivered",
    "rejected": "bị từ chối / rejected",
    "conflict": "XUNG ĐỘT / CONFLICT",
    "refused": "máy chủ không nhận / refused by the server",
    "none": "chưa nhập / not entered",
}


VIETNAM = dt.timezone(dt.timedelta(hours=7))
"""The polling team's clock (Vietnam keeps no daylight saving)."""


def short_time(iso: str | None) -> str:
    """2011-05-22T12:15:21.649+00:00 -> 19:15:21 22/05/2011 (Vietnam time, as the
    paper minutes write it; what fits a line)."""
    if not iso:
        return ""
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(VIETNAM)
    return t.strftime("%H:%M:%S %d/%m/%Y")


def batch_info(b: StoredBatch) -> dict[str, Any]:
    return {
        "sequence": b.sequence,
        "state": b.state,
        "races": list(b.races),
        "digest": b.digest,
        "created_at": b.created_at,
        "supersedes": b.supersedes,
        "reason": b.reason,
        "attempts": b.attempts,
        "last_error": b.last_error,
        "ledger_index": b.ledger_index,
        "ledger_head": b.ledger_head,
        "received_at": b.received_at,
        "findings": b.findings,
    }


def status_data(station: Station) -> dict[str, Any]:
    batches = station.outbox.batches(station.station_id)
    drafted = {race for race, _ in station.outbox.drafted_races(station.station_id)}
    races = []
    for seat in station.seats():
        rid = seat.race.id
        holding = [b for b in batches if rid in b.races]
        latest = holding[-1] if holding else None
        on_record = [b.sequence for b in holding if b.state == "delivered"]
        races.append(
            {
                "race_id": rid,
                "race_name": seat.race.name,
                "constituency_id": seat.constituency.id,
                "state": latest.state if latest else ("drafted" if rid in drafted else "none"),
                "draft": rid in drafted,
                "batch": latest.sequence if latest else None,
                "accepted_batch": on_record[-1] if on_record else None,
            }
        )
    return {
        "station_id": station.station_id,
        "polling_area_id": station.polling_area_id,
        "election_id": station.config.election_id,
        "fingerprint": station.config.fingerprint,
        "server_url": station.config.server_url,
        "standby_urls": list(station.config.standby_urls),
        "server_fingerprint": station.config.server_fingerprint,
        "races": races,
        "batches": [batch_info(b) for b in batches],
        "lost_receipts": [
            {
                "sequence": x.sequence,
                "state": x.state,
                "ledger_index": x.ledger_index,
                "ledger_head": x.ledger_head,
                "received_at": x.received_at,
                "held_hash": x.held_hash,
                "detected_at": x.detected_at,
                "reported_at": x.reported_at,
                "report": x.report,
            }
            for x in station.outbox.lost_receipts(station.station_id)
        ],
    }


def status_lines(station: Station) -> list[str]:
    data = status_data(station)
    area = station.election.polling_areas[station.polling_area_id]
    out = [
        f"Trạm / station {data['station_id']} · {area.name} ({data['polling_area_id']}) · "
        f"{data['election_id']}",
        f"Khoá trạm / station key {data['fingerprint']} · máy chủ / server "
        f"{data['server_url']} ({data['server_fingerprint']})"
        + "".join(f" · dự phòng / standby {u}" for u in data["standby_urls"]),
        "",
        "Cuộc bầu cử / race",
    ]
    by_seq = {b["sequence"]: b for b in data["batches"]}
    for race in data["races"]:
        line = f"  {race['race_id']:<10} {STATE_LABEL[race['state']]}"
        b = by_seq.get(race["batch"])
        if b is not None:
            line += f" · lô/batch {b['sequence']}"
            if b["state"] == "delivered":
                line += (
                    f" · sổ cái/ledger #{b['ledger_index']} · {short_time(b['received_at'])} · "
                    f"head {(b['ledger_head'] or '')[:12]}"
                )
            elif b["state"] == "pending" and b["attempts"]:
                line += f" · {b['attempts']} lần thử / attempts · {b['last_error'] or ''}"
            elif b["state"] in ("rejected", "conflict", "refused") and b["findings"]:
                codes = ", ".join(str(f.get("code")) for f in b["findings"])
                line += f" · {codes}"
        kept = race["accepted_batch"]
        if race["state"] != "delivered" and kept is not None:
            line += f" · số liệu đang có hiệu lực / figures on record: lô/batch {kept}"
        if race["draft"] and race["state"] != "drafted":
            line += " · có bản nháp mới / a newer draft exists"
        out.append(line)
    if data["batches"]:
        out += ["", "Lô đã ký / signed batches"]
    for b in data["batches"]:
        out.append(
            f"  #{b['sequence']:<3} {b['state']:<9} {','.join(b['races']):<24} "
            f"{paper_digest(b['digest'])} · {short_time(b['created_at'])}"
        )
        if b["supersedes"]:
            out.append(
                f"       đính chính lô / corrects {paper_digest(b['supersedes'])}: {b['reason']}"
            )
        if b["state"] == "delivered":
            out.append(
                f"       biên nhận / receipt: ledger #{b['ledger_index']} at "
                f"{short_time(b['received_at'])}, "
                f"head {(b['ledger_head'] or '')[:16]}"
            )
        if b["state"] in ("rejected", "conflict", "refused"):
            for f in b["findings"]:
                out += ["       " + x.strip() for x in describe(f)]
    if data["lost_receipts"]:
        out += [
            "",
            "!! Máy chủ không còn giữ kết quả đã xác nhận / the server no longer holds what it "
            "acknowledged",
            "   biên nhận cũ giữ làm bằng chứng / earlier receipts kept as evidence:",
        ]
    for x in data["lost_receipts"]:
        shown = (
            f"đã báo máy chủ / reported {short_time(x['reported_at'])}"
            if x["reported_at"]
            else "chưa báo được máy chủ / not yet reported"
        )
        out.append(
            f"  #{x['sequence']:<3} ledger #{x['ledger_index']} head {x['ledger_head'][:16]} "
            f"({x['state']}, {short_time(x['received_at'])}) · {shown}"
        )
    return out
