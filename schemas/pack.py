"""The station pack: what the committee hands a polling team to set up its client in
one step (``tally-server station pack`` writes it, ``station-client init --pack`` reads it).

A pack folder holds the election definition once (``election.json``) and one
``STATION.json`` per station; each names the definition's SHA-256, so a station is
never set up with another election than the one its pack was made for.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from msgspec import Meta

from schemas.models import Id, Name, Seats, Sha256Hex, _Record

PACK_SCHEMA: Final = "kiemphieu/station-pack/v1"


class PackRace(_Record, frozen=True, kw_only=True):
    """One race held at the station's polling area, as the officials will see it."""

    race_id: Id
    race_name: Name
    constituency_id: Id
    constituency_name: Name
    seats: Seats


class StationPack(_Record, frozen=True, kw_only=True):
    schema: Literal["kiemphieu/station-pack/v1"] = PACK_SCHEMA
    election_id: Id
    election_file: Annotated[str, Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "election.json"
    """The definition's file name, in the pack's own folder."""
    election_sha256: Sha256Hex
    """Of that file's bytes."""
    station_id: Id
    polling_area_id: Id
    polling_area_name: Name
    server_urls: Annotated[list[str], Meta(min_length=1)]
    """The server's addresses, the usual one first."""
    server_public_key: str
    """The key receipts are signed with: base64 of the raw 32 bytes."""
    server_fingerprint: str
    """The same key's fingerprint, to read aloud and compare."""
    server_cert: str | None = None
    """The server's TLS certificate (PEM) to pin, when it has its own."""
    races: Annotated[list[PackRace], Meta(min_length=1)]


PACK_TYPES: dict[str, object] = {"station-pack": StationPack}
