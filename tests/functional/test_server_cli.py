"""The committee's command line: init, stations, tokens, ledger export."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from serverkit import EXAMPLE_ELECTION, ServerFolder

from schemas.signing import SigningKey, VerifyKey
from tally_server.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_makes_a_folder_with_an_owner_only_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "srv"
    code, out, _ = run(capsys, "init", "--dir", str(folder), "--election", str(EXAMPLE_ELECTION))
    assert code == 0
    mode = stat.S_IMODE((folder / "server.key").stat().st_mode)
    assert mode == 0o600
    public = VerifyKey.from_pem((folder / "server.pub.pem").read_bytes())
    assert public.fingerprint in out
    assert SigningKey.load(folder / "server.key").public.raw == public.raw
    # a second init on the same folder is refused and changes nothing
    code, _, err = run(capsys, "init", "--dir", str(folder), "--election", str(EXAMPLE_ELECTION))
    assert code == 1
    assert "F100" in err and "không trống" in err
    assert VerifyKey.from_pem((folder / "server.pub.pem").read_bytes()).raw == public.raw


def test_init_from_a_roster_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tally_server.core.definition import load_definition
    from tally_server.core.roster import write_roster

    roster = tmp_path / "roster"
    roster.mkdir()
    write_roster(load_definition(EXAMPLE_ELECTION), roster)
    code, out, err = run(capsys, "init", "--dir", str(tmp_path / "srv"), "--election", str(roster))
    assert code == 0, err
    assert "vd-2011" in out


def test_an_invalid_definition_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = json.loads(EXAMPLE_ELECTION.read_text("utf-8"))
    definition["races"][0]["constituencies"][0]["seats"] = 5  # 5 seats, 5 candidates
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    code, _, err = run(capsys, "init", "--dir", str(tmp_path / "srv"), "--election", str(bad))
    assert code == 1
    assert "D1" in err
    assert not (tmp_path / "srv").exists()


def test_enroll_from_csv_is_all_or_nothing(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    good = server_folder.path.parent / "stations.csv"
    good.write_text(
        "station_id,polling_area_id,public_key,fingerprint\n"
        f"KV-01,KV-01,{a.public.b64},{a.public.fingerprint}\n"
        f'KV-02,KV-02,"{b.public.pem().decode()}",\n',
        "utf-8",
    )
    bad = server_folder.path.parent / "bad.csv"
    c = SigningKey.generate()
    bad.write_text(
        "station_id,polling_area_id,public_key\n"
        f"KV-03,KV-03,{c.public.b64}\n"
        f"KV-09,NOPE,{SigningKey.generate().public.b64}\n",
        "utf-8",
    )
    code, _, err = run(capsys, "station", "enroll-csv", "--dir", str(server_folder.path), str(bad))
    assert code == 1
    assert "line 3" in err or "dòng 3" in err
    code, out, err = run(
        capsys, "station", "enroll-csv", "--dir", str(server_folder.path), str(good)
    )
    assert code == 0, err
    assert a.public.fingerprint in out and b.public.fingerprint in out
    code, out, _ = run(capsys, "station", "list", "--dir", str(server_folder.path), "--json")
    stations = json.loads(out)["stations"]
    assert [(s["station_id"], s["fingerprint"]) for s in stations] == [
        ("KV-01", a.public.fingerprint),
        ("KV-02", b.public.fingerprint),
    ]  # KV-03 from the bad file was not enrolled


def test_revoke_then_list(server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]) -> None:
    station = server_folder.enroll("KV-01", "KV-01")
    code, out, _ = run(capsys, "station", "revoke", "--dir", str(server_folder.path), "KV-01")
    assert code == 0 and station.fingerprint in out
    code, out, _ = run(capsys, "station", "list", "--dir", str(server_folder.path))
    assert f"KV-01\tKV-01\t{station.fingerprint}\trevoked" in out
    code, _, err = run(capsys, "station", "revoke", "--dir", str(server_folder.path), "KV-01")
    assert code == 1 and "A404" in err


def test_tokens_are_shown_once_and_stored_hashed(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    code, out, _ = run(
        capsys, "token", "create", "--dir", str(server_folder.path), "--role", "operator",
        "--name", "Trực ban đêm",
    )  # fmt: skip
    assert code == 0
    secret = out.strip()
    conn = sqlite3.connect(server_folder.path / "tally.db")
    stored = [row[0] for row in conn.execute("SELECT hash FROM tokens")]
    conn.close()
    assert secret not in json.dumps(stored)
    code, out, _ = run(capsys, "token", "list", "--dir", str(server_folder.path))
    assert "operator\tTrực ban đêm" in out and secret not in out
    token_id = out.splitlines()[1].split("\t")[0]
    assert run(capsys, "token", "revoke", "--dir", str(server_folder.path), token_id)[0] == 0
    code, out, _ = run(capsys, "token", "list", "--dir", str(server_folder.path))
    assert "revoked" in out
    assert run(capsys, "token", "revoke", "--dir", str(server_folder.path), token_id)[0] == 1


def test_ledger_export_to_standard_output(
    server_folder: ServerFolder, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    server_folder.enroll("KV-01", "KV-01")
    assert main(["ledger", "export", "--dir", str(server_folder.path), "--out", "-"]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds == ["ledger_opened", "station_enrolled"]
    assert json.loads(lines[1])["prev"] == json.loads(lines[0])["hash"]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["init"], ["serve"], ["station", "enroll"], ["station", "enroll-csv"],
        ["station", "revoke"], ["station", "list"], ["token", "create"], ["token", "revoke"],
        ["token", "list"], ["ledger", "export"], ["check"], ["rebuild"], ["verify"],
    ):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main([*args, "--help"])
        assert info.value.code == 0
        assert "--" in capsys.readouterr().out
