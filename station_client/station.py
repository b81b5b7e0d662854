"""The station folder: the key, the pinned server key, the election, the outbox.

DIR/station.json      who this station is and where its server is
DIR/station.key.pem   the Ed25519 signing key (owner-only, optional passphrase)
DIR/station.pub.pem   its public half, for enrolment
DIR/server.pub.pem    the server key receipts must be signed with (pinned)
DIR/server.crt        the server's TLS certificate, when pinned
DIR/election.json     the election definition, as copied at init
DIR/outbox.sqlite     signed batches, receipts, drafts
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from schemas import codec
from schemas.errors import KiemphieuError
from schemas.models import Id, Signatory
from schemas.pack import StationPack
from schemas.signing import SigningKey, VerifyKey, read_fingerprint, sha256_hex
from station_client.errors import StationFolderError
from station_client.outbox import Outbox
from tally_server.core.definition import Election, Seat, load_election

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

CONFIG_FILE = "station.json"
KEY_FILE = "station.key.pem"
PUBLIC_FILE = "station.pub.pem"
SERVER_KEY_FILE = "server.pub.pem"
SERVER_CERT_FILE = "server.crt"
CA_FILE = "ca.pem"
ELECTION_FILE = "election.json"
OUTBOX_FILE = "outbox.sqlite"


class StationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    schema: Literal["kiemphieu/station/v1"] = "kiemphieu/station/v1"
    station_id: Id
    polling_area_id: Id
    election_id: Id
    server_url: str
    standby_urls: list[str] = []
    """The same server's other addresses (the pack's standby), tried in order when
    the ones before do not answer."""
    fingerprint: str
    server_fingerprint: str
    key_encrypted: bool = False
    server_cert: bool = False
    """True when server.crt pins the server's TLS certificate."""
    ca_file: bool = False
    """True when ca.pem holds the CA that signs the server's certificate."""
    signatories: list[Signatory] = []


@dataclass(slots=True)
class Station:
    folder: Path
    config: StationConfig
    election: Election
    server_key: VerifyKey
    outbox: Outbox

    @property
    def station_id(self) -> str:
        return self.config.station_id

    @property
    def polling_area_id(self) -> str:
        return self.config.polling_area_id

    def seats(self) -> list[Seat]:
        return self.election.races_at(self.config.polling_area_id)

    def public_key(self) -> VerifyKey:
        return VerifyKey.from_pem((self.folder / PUBLIC_FILE).read_bytes())

    def signing_key(self, passphrase: bytes | None) -> SigningKey:
        if self.config.key_encrypted and not passphrase:
            raise StationFolderError(
                en="The station key is protected by a passphrase: give --passphrase-file or "
                "--ask-passphrase.",
                vi="Khoá của trạm có mật khẩu: dùng --passphrase-file hoặc --ask-passphrase.",
                code="P105",
                fields=("passphrase",),
            )
        key = SigningKey.load(self.folder / KEY_FILE, passphrase or None)
        if key.public.fingerprint != self.config.fingerprint:
            raise StationFolderError(
                en="The key file does not match the fingerprint recorded at init.",
                vi="Tệp khoá không khớp dấu vân tay đã ghi khi khởi tạo.",
                code="P106",
                figures={"file": key.public.fingerprint, "recorded": self.config.fingerprint},
            )
        return key

    def tls_files(self) -> tuple[Path | None, Path | None]:
        cert = self.folder / SERVER_CERT_FILE if self.config.server_cert else None
        ca = self.folder / CA_FILE if self.config.ca_file else None
        return cert, ca

    def close(self) -> None:
        self.outbox.close()


def open_station(folder: Path, *, durable: bool = True) -> Station:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise StationFolderError(
            en=f"{folder} is not a station folder (no {CONFIG_FILE}); run station-client init.",
            vi=f"{folder} không phải thư mục trạm (thiếu {CONFIG_FILE}); hãy chạy "
            "station-client init.",
            code="P101",
            fields=("dir",),
        )
    config = codec.decode(config_path.read_bytes(), StationConfig)
    election = load_election(folder / ELECTION_FILE)
    server_key = VerifyKey.from_pem((folder / SERVER_KEY_FILE).read_bytes())
    if server_key.fingerprint != config.server_fingerprint:
        raise StationFolderError(
            en="server.pub.pem does not match the server fingerprint pinned at init.",
            vi="server.pub.pem không khớp dấu vân tay máy chủ đã ghim khi khởi tạo.",
            code="P107",
            figures={"file": server_key.fingerprint, "pinned": config.server_fingerprint},
        )
    return Station(
        folder, config, election, server_key, Outbox(folder / OUTBOX_FILE, durable=durable)
    )


@dataclass(frozen=True, slots=True)
class Initialised:
    folder: Path
    station_id: str
    polling_area_id: str
    fingerprint: str
    public_pem: bytes
    server_fingerprint: str
    races: list[Seat]


def read_key_text(value: str) -> VerifyKey:
    """FILE_OR_TEXT: a path to a PEM file, or the key itself (PEM, base64, hex)."""
    path = Path(value)
    try:
        if len(value) < 4096 and path.is_file():
            return VerifyKey.from_text(path.read_text(encoding="ascii"))
    except OSError:
        pass
    return VerifyKey.from_text(value)


def init_station(
    folder: Path,
    *,
    station_id: str,
    polling_area_id: str,
    election_file: Path,
    server_url: str,
    server_key: VerifyKey,
    standby_urls: Sequence[str] = (),
    passphrase: bytes | None = None,
    server_cert: Path | None = None,
    ca_file: Path | None = None,
) -> Initialised:
    station_id = unicodedata.normalize("NFC", station_id.strip())
    polling_area_id = unicodedata.normalize("NFC", polling_area_id.strip())
    if (folder / CONFIG_FILE).exists() or (folder / KEY_FILE).exists():
        raise StationFolderError(
            en=f"{folder} already holds a station; a second key would break its enrolment.",
            vi=f"{folder} đã có một trạm; tạo khoá thứ hai sẽ làm hỏng việc đăng ký.",
            code="P102",
            fields=("dir",),
        )
    if not _ID.fullmatch(station_id):
        raise StationFolderError(
            en=f"Station id {station_id!r}: use ASCII letters, "
            "digits, '.', '_' or '-' (at most 64).",
            vi=f"Mã trạm {station_id!r}: chỉ dùng chữ cái ASCII, chữ số, '.', '_' hoặc '-' "
            "(tối đa 64).",
            code="P109",
            fields=("station_id",),
        )
    election = load_election(election_file)
    if polling_area_id not in election.polling_areas:
        raise StationFolderError(
            en=f"Polling area {polling_area_id!r} is not in election {election.id}.",
            vi=f"Khu vực bỏ phiếu {polling_area_id!r} không có trong cuộc bầu cử {election.id}.",
            code="P103",
            fields=("polling_area_id",),
            figures={"polling_area_id": polling_area_id, "election_id": election.id},
        )
    seats = election.races_at(polling_area_id)
    if not seats:
        raise StationFolderError(
            en=f"No race is held at polling area {polling_area_id}.",
            vi=f"Không có cuộc bầu cử nào tại khu vực bỏ phiếu {polling_area_id}.",
            code="P104",
            fields=("polling_area_id",),
        )
    for url in (server_url, *standby_urls):
        if not url.startswith(("http://", "https://")):
            raise StationFolderError(
                en=f"The server address must start with http:// or https://, not {url!r}.",
                vi=f"Địa chỉ máy chủ phải bắt đầu bằng http:// hoặc https://, không phải {url!r}.",
                code="P108",
                fields=("server",),
            )
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key = SigningKey.generate()
    key.save(folder / KEY_FILE, passphrase or None)
    public_pem = key.public.pem()
    (folder / PUBLIC_FILE).write_bytes(public_pem)
    (folder / SERVER_KEY_FILE).write_bytes(server_key.pem())
    shutil.copyfile(election_file, folder / ELECTION_FILE)
    if server_cert is not None:
        shutil.copyfile(server_cert, folder / SERVER_CERT_FILE)
    if ca_file is not None:
        shutil.copyfile(ca_file, folder / CA_FILE)
    Outbox(folder / OUTBOX_FILE).close()
    config = StationConfig(
        station_id=station_id,
        polling_area_id=polling_area_id,
        election_id=election.id,
        server_url=server_url,
        standby_urls=[u for u in standby_urls if u != server_url],
        fingerprint=key.public.fingerprint,
        server_fingerprint=server_key.fingerprint,
        key_encrypted=bool(passphrase),
        server_cert=server_cert is not None,
        ca_file=ca_file is not None,
    )
    # Written last: a folder without it is an interrupted init, not a station.
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_bytes(codec.encode_pretty(config) + b"\n")
    os.replace(tmp, folder / CONFIG_FILE)
    return Initialised(
        folder,
        station_id,
        polling_area_id,
        key.public.fingerprint,
        public_pem,
        server_key.fingerprint,
        seats,
    )


@dataclass(frozen=True, slots=True)
class Pack:
    """A station pack as read and checked: what ``init --pack`` sets up from."""

    pack: StationPack
    election_file: Path
    server_key: VerifyKey


def load_pack(path: Path) -> Pack:
    """The committee's pack, refused unless it holds together: the election file beside
    it is the one it names, the server key is the one its fingerprint names, and the
    races it lists are those the election holds at its polling area."""
    try:
        pack = codec.decode(path.read_bytes(), StationPack)
    except KiemphieuError as exc:
        raise StationFolderError(
            en=f"{path} is not a station pack: {exc.message_en}",
            vi=f"{path} không phải gói trạm: {exc.message_vi}",
            code="P115",
            fields=("pack",),
        ) from exc
    election_file = path.parent / pack.election_file
    if not election_file.is_file() or sha256_hex(election_file.read_bytes()) != (
        pack.election_sha256
    ):
        raise StationFolderError(
            en=f"The pack names an election file {pack.election_file} (SHA-256 "
            f"{pack.election_sha256[:16]}…) that is not beside it as made: copy the pack's "
            "whole folder, or ask the committee for it again.",
            vi=f"Gói trạm cần tệp cuộc bầu cử {pack.election_file} (SHA-256 "
            f"{pack.election_sha256[:16]}…) đặt cạnh nó, nhưng tệp đó thiếu hoặc đã khác: "
            "hãy chép cả thư mục gói, hoặc xin lại Ủy ban bầu cử.",
            code="P116",
            fields=("election_file",),
            figures={"election_sha256": pack.election_sha256},
        )
    server_key = VerifyKey.from_text(pack.server_public_key)
    if server_key.fingerprint != read_fingerprint(pack.server_fingerprint):
        raise StationFolderError(
            en=f"The pack's server key has fingerprint {server_key.fingerprint}, but the pack "
            f"names {pack.server_fingerprint}: do not use this pack.",
            vi=f"Khoá máy chủ trong gói có dấu vân tay {server_key.fingerprint}, nhưng gói ghi "
            f"{pack.server_fingerprint}: không dùng gói này.",
            code="P111",
            fields=("server_fingerprint",),
            figures={"key": server_key.fingerprint, "named": pack.server_fingerprint},
        )
    election = load_election(election_file)
    held = [(s.race.id, s.constituency.id) for s in election.races_at(pack.polling_area_id)]
    listed = [(r.race_id, r.constituency_id) for r in pack.races]
    if election.id != pack.election_id or held != listed:
        raise StationFolderError(
            en=f"The pack lists races {listed} at polling area {pack.polling_area_id}, but "
            f"election {election.id} holds {held} there.",
            vi=f"Gói ghi các cuộc bầu cử {listed} tại khu vực {pack.polling_area_id}, nhưng "
            f"cuộc bầu cử {election.id} tổ chức {held} ở đó.",
            code="P117",
            fields=("races",),
        )
    return Pack(pack, election_file, server_key)
