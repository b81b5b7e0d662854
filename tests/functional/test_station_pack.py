"""Setting a station up in one step: the committee writes the pack, the polling team
runs ``station-client init --pack``, and the committee enrols, lists and revokes the
station with the server running (issue 16 item 2). Real processes, HTTP and keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
from serverkit import RunningServer, ServerFolder, example_minutes

from schemas import codec
from schemas.pack import StationPack


def command(module: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tally(*args: str) -> subprocess.CompletedProcess[str]:
    return command("tally_server", *args)


def client(*args: str) -> subprocess.CompletedProcess[str]:
    return command("station_client", *args)


def test_pack_init_enrol_list_revoke_against_a_running_server(
    tally_server: RunningServer, server_folder: ServerFolder, tmp_path: Path
) -> None:
    packs = tmp_path / "packs"
    made = tally(
        "station", "pack", "--dir", str(server_folder.path), "--server", tally_server.url,
        "--server", "http://10.0.0.2:8080", "--out", str(packs), "--area", "KV-02",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    fingerprint = tally_server.server_key.fingerprint
    assert fingerprint in made.stdout
    pack = codec.decode((packs / "KV-02.json").read_bytes(), StationPack)
    assert (pack.station_id, pack.polling_area_id) == ("KV-02", "KV-02")
    assert pack.server_urls == [tally_server.url, "http://10.0.0.2:8080"]
    assert pack.server_fingerprint == fingerprint
    assert [r.race_id for r in pack.races] == ["QH", "HDND-TP", "HDND-XA"]
    assert (packs / "election.json").read_bytes() == (
        server_folder.path / "election.json"
    ).read_bytes()

    folder = tmp_path / "st"
    done = client("init", "--dir", str(folder), "--pack", str(packs / "KV-02.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    config = json.loads((folder / "station.json").read_text())
    assert config["server_url"] == tally_server.url
    assert config["server_fingerprint"] == fingerprint
    # The pack's second address is kept as the standby, tried when the primary is silent.
    assert config["standby_urls"] == ["http://10.0.0.2:8080"]
    assert "máy chủ dự phòng" in done.stdout and "http://10.0.0.2:8080" in done.stdout
    station_fp = config["fingerprint"]
    assert f"--fingerprint {station_fp}" in done.stdout

    admin = ["--server", tally_server.url, "--token", tally_server.tokens["admin"]]
    public = str(folder / "station.pub.pem")
    # The folder is the running server's: --dir is refused, and the refusal says what to do.
    offline = tally(
        "station", "enroll", "--dir", str(server_folder.path), "KV-02",
        "--polling-area", "KV-02", "--public-key", public,
    )  # fmt: skip
    assert offline.returncode == 1 and "F409" in offline.stderr
    assert "--server URL --token ADMIN_TOKEN" in offline.stderr
    # A fingerprint misheard on the phone: refused, with both figures, nothing enrolled.
    wrong = tally(
        "station", "enroll", *admin, "KV-02", "--polling-area", "KV-02",
        "--public-key", public, "--fingerprint", "0000 0000 0000 0000 0000 0000",
    )  # fmt: skip
    assert wrong.returncode == 1 and station_fp in wrong.stderr
    # Written down as heard, in groups with spaces: the same fingerprint.
    heard = " ".join(station_fp.split("-"))
    enrolled = tally(
        "station", "enroll", *admin, "KV-02", "--polling-area", "KV-02",
        "--public-key", public, "--fingerprint", heard,
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    assert enrolled.stdout.strip() == f"KV-02\tKV-02\t{station_fp}\tđã đăng ký / enrolled"

    minutes = tmp_path / "m.json"
    minutes.write_bytes(msgspec.json.encode(example_minutes("KV-02")))
    sent = client("submit", "--dir", str(folder), str(minutes), "--send", "--give-up-after", "20")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "ĐÃ NHẬN / ACCEPTED" in sent.stdout

    operator = ["--server", tally_server.url, "--token", tally_server.tokens["operator"]]
    listed = tally("station", "list", *operator)
    assert listed.returncode == 0, listed.stderr
    assert f"KV-02\tKV-02\t{station_fp}\tactive\t1" in listed.stdout.splitlines()
    # Revoking needs an admin: the operator is refused with the server's own code.
    refused = tally("station", "revoke", *operator, "KV-02")
    assert refused.returncode == 1 and "A403" in refused.stderr
    revoked = tally("station", "revoke", *admin, "KV-02")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"KV-02\t{station_fp}\trevoked"
    rows = json.loads(tally("station", "list", *operator, "--json").stdout)["stations"]
    assert {r["station_id"]: r["status"] for r in rows}["KV-02"] == "revoked"


def test_remote_commands_say_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    result = tally("station", "list", "--server", "http://127.0.0.1:9", "--token", "x")
    assert result.returncode == 1
    assert "F120" in result.stderr and "http://127.0.0.1:9" in result.stderr
    assert "nothing was changed" in result.stderr


def test_a_pack_whose_election_file_changed_is_refused(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    packs = tmp_path / "packs"
    made = tally(
        "station", "pack", "--dir", str(server_folder.path), "--server", "http://127.0.0.1:9",
        "--out", str(packs),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in packs.iterdir())[:3] == ["KV-01.json", "KV-02.json", "KV-03.json"]
    election = packs / "election.json"
    election.write_bytes(election.read_bytes().replace(b'"KV-01"', b'"KV-01" ', 1))
    result = client("init", "--dir", str(tmp_path / "st"), "--pack", str(packs / "KV-01.json"))
    assert result.returncode == 1 and "P116" in result.stderr
    assert not (tmp_path / "st" / "station.key.pem").exists()
    # The pack is the committee's word: a second source for the same facts is refused.
    both = client(
        "init", "--dir", str(tmp_path / "st"), "--pack", str(packs / "KV-02.json"),
        "--station-id", "KV-09",
    )  # fmt: skip
    assert both.returncode == 1 and "P118" in both.stderr
