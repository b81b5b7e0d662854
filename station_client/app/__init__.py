"""The polling team's Textual app (``station-client app``). Imported only when run:
the line-prompt commands never load Textual."""

from __future__ import annotations

from pathlib import Path


def run_app(folder: Path, *, server: str | None = None, timeout: float = 20.0) -> int:
    from station_client.app.app import StationApp
    from station_client.station import open_station

    station = open_station(folder)
    try:
        StationApp(station, server=server, timeout=timeout).run()
    finally:
        station.close()
    return 0
