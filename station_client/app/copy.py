"""The printed copy's one entry point in the app."""

from __future__ import annotations

import importlib
from pathlib import Path

from station_client.outbox import StoredBatch
from station_client.station import Station


def print_copy(station: Station, batch: StoredBatch) -> Path | None:
    """The PDF copy of what was signed and delivered, for the team to sign and keep with
    the paper minutes; None while this build has no ``station_client.printout``."""
    try:
        printout = importlib.import_module("station_client.printout")
    except ModuleNotFoundError:
        return None
    path: Path = printout.write_copy(station, batch)
    return path
