"""Polling-team client: keys, double entry, signing, durable outbox, delivery.

The public surface, for the demo, the benchmark and tests:

- ``init_station`` / ``open_station``: the station folder
- ``Outbox``: signed batches, receipts and drafts in one SQLite file
- ``sign_and_store``: encode once, seal, commit before sending
- ``Deliverer``, ``Transport``, ``Backoff``, ``make_ssl_context``: delivery
- ``verify_receipt``: a receipt proves this batch was recorded by the pinned key
- ``simulate``, ``SimulationConfig``: many stations against one server
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station_client.delivery import Backoff, Deliverer, Outcome, Transport, make_ssl_context
    from station_client.errors import (
        ChecksFailed,
        ClientError,
        DeliveryError,
        EntryError,
        ReceiptError,
    )
    from station_client.outbox import Outbox, StoredBatch
    from station_client.receipts import verify_receipt
    from station_client.signer import sign_and_store
    from station_client.simulation import SimulationConfig, SimulationReport, simulate
    from station_client.station import Station, init_station, open_station

_WHERE = {
    "Backoff": "delivery",
    "Deliverer": "delivery",
    "Outcome": "delivery",
    "Transport": "delivery",
    "make_ssl_context": "delivery",
    "ChecksFailed": "errors",
    "ClientError": "errors",
    "DeliveryError": "errors",
    "EntryError": "errors",
    "ReceiptError": "errors",
    "Outbox": "outbox",
    "StoredBatch": "outbox",
    "verify_receipt": "receipts",
    "sign_and_store": "signer",
    "SimulationConfig": "simulation",
    "SimulationReport": "simulation",
    "simulate": "simulation",
    "Station": "station",
    "init_station": "station",
    "open_station": "station",
}


def __getattr__(name: str) -> Any:
    # Lazy: `station-client --help` should not wait for aiohttp to import.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'station_client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"station_client.{module}"), name)


__all__ = [
    "Backoff",
    "ChecksFailed",
    "ClientError",
    "Deliverer",
    "DeliveryError",
    "EntryError",
    "Outbox",
    "Outcome",
    "ReceiptError",
    "SimulationConfig",
    "SimulationReport",
    "Station",
    "StoredBatch",
    "Transport",
    "init_station",
    "make_ssl_context",
    "open_station",
    "sign_and_store",
    "simulate",
    "verify_receipt",
]
