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


def _expiry_of(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> str:
    """Make a viewer token with ``args``; its expiry as ``token list`` shows it."""
    code, out, err = run(capsys, "token", "create", "--dir", str(folder), "--role", "viewer", *args)
    assert code == 0, err
    assert "expires / hết hạn" in err
    _, listing, _ = run(capsys, "token", "list", "--dir", str(folder))
    last = listing.splitlines()[-1].split("\t")
    assert last[-1] == "active"
    return last[4]


def test_tokens_expire_by_default_and_as_asked(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt
    import sqlite3

    from tally_server.store.tokens import parse_time

    folder = server_folder.path
    _, header, _ = run(capsys, "token", "list", "--dir", str(folder))
    assert header.splitlines()[0] == "id\trole\tname\tcreated_at\texpires_at\tstatus"
    # The example election (22 May 2011) is long past: a day from now.
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    default = parse_time(_expiry_of(capsys, folder))
    assert before + dt.timedelta(hours=24) <= default <= before + dt.timedelta(hours=24, minutes=1)
    asked = parse_time(_expiry_of(capsys, folder, "--valid-for", "1d12h"))
    assert before + dt.timedelta(hours=36) <= asked <= before + dt.timedelta(hours=36, minutes=1)
    # A time without an offset is Vietnam time; a date alone, the end of that day.
    assert _expiry_of(capsys, folder, "--expires", "2099-05-31T18:00") == "2099-05-31T11:00:00Z"
    assert _expiry_of(capsys, folder, "--expires", "2099-05-31T18:00Z") == "2099-05-31T18:00:00Z"
    assert _expiry_of(capsys, folder, "--expires", "2099-05-31") == "2099-05-31T17:00:00Z"
    for args, says in [
        (["--expires", "2011-05-23"], "already past"),
        (["--expires", "31/05/2099"], "an ISO date-time"),
        (["--valid-for", "soon"], "a duration such as 12h"),
        (["--valid-for", "0m"], "already past"),
    ]:
        code, out, err = run(
            capsys, "token", "create", "--dir", str(folder), "--role", "admin", *args
        )
        assert code == 2 and out == "" and says in err, (args, err)
    with pytest.raises(SystemExit):
        main(["token", "create", "--dir", str(folder), "--role", "admin",
              "--expires", "2099-05-31", "--valid-for", "2h"])  # fmt: skip
    capsys.readouterr()
    _, listing, _ = run(capsys, "token", "list", "--dir", str(folder))
    assert len(listing.splitlines()) == 1 + 5  # nothing made by the refused ones
    # Time passes for the first one.
    conn = sqlite3.connect(folder / "tally.db")
    with conn:
        conn.execute("UPDATE tokens SET expires_at = '2011-05-30T17:00:00Z' WHERE id = 1")
    conn.close()
    _, listing, _ = run(capsys, "token", "list", "--dir", str(folder))
    assert listing.splitlines()[1].endswith("\t2011-05-30T17:00:00Z\texpired")


def test_the_default_expiry_is_a_week_after_the_day_after_the_election() -> None:
    import datetime as dt

    from tally_server.store.tokens import default_expiry

    election = dt.date(2026, 5, 24)
    # 1 June (the day after, plus 7 days) ends at midnight Vietnam time = 17:00 UTC.
    end = dt.datetime(2026, 6, 1, 17, 0, tzinfo=dt.UTC)
    for now in ("2026-04-01T08:00:00", "2026-05-24T14:00:00", "2026-05-31T16:59:00"):
        assert default_expiry(election, dt.datetime.fromisoformat(now + "+00:00")) == end
    late = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)  # 7 h before: a day from now
    assert default_expiry(election, late) == late + dt.timedelta(hours=24)
    assert default_expiry(None, late) == late + dt.timedelta(hours=24)


def test_a_folder_from_before_tokens_expired_is_upgraded(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Tokens made by the previous version keep working, until the default expiry."""
    import datetime as dt
    import sqlite3

    from serverkit import RunningServer

    from tally_server.store.tokens import parse_time

    secret = server_folder.token("operator", "Trực ban")
    conn = sqlite3.connect(server_folder.path / "tally.db")
    with conn:  # the database as schema 1 left it
        conn.executescript(
            """
            CREATE TABLE old (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
                revoked_at TEXT);
            INSERT INTO old SELECT id, hash, role, name, created_at, revoked_at FROM tokens;
            DROP TABLE tokens;
            ALTER TABLE old RENAME TO tokens;
            DELETE FROM meta WHERE key = 'election_date';
            UPDATE meta SET value = '1' WHERE key = 'schema_version';
            """
        )
    conn.close()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    code, listing, _ = run(capsys, "token", "list", "--dir", str(server_folder.path))
    assert code == 0
    [row] = [line.split("\t") for line in listing.splitlines()[1:]]
    assert row[1:3] == ["operator", "Trực ban"] and row[-1] == "active"
    assert before + dt.timedelta(hours=24) <= parse_time(row[4])
    conn = sqlite3.connect(server_folder.path / "tally.db")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    conn.close()
    assert meta["schema_version"] == "2" and meta["election_date"] == "2011-05-22"
    server = RunningServer(server_folder, log_path=tmp_path / "server.log")
    server.start()
    try:
        assert server.request("GET", "/api/v1/stations", token=secret)[0] == 200
    finally:
        server.stop()


def test_enrolments_and_revocations_from_the_command_line_name_the_user(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import getpass

    from serverkit import run_verify

    key = server_folder.new_station("KV-02")
    folder = str(server_folder.path)
    assert run(
        capsys, "station", "enroll", "--dir", folder, "KV-02", "--polling-area", "KV-02",
        "--public-key", str(key.pub_path),
    )[0] == 0  # fmt: skip
    assert run(capsys, "station", "revoke", "--dir", folder, "KV-02")[0] == 0
    out = tmp_path / "ledger.jsonl"
    assert run(capsys, "ledger", "export", "--dir", folder, "--out", str(out))[0] == 0
    entries = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    who = {e["kind"]: json.loads(e["outcome"]).get("by") for e in entries}
    assert who == {
        "ledger_opened": None,
        "station_enrolled": f"cli:{getpass.getuser()}",
        "station_revoked": f"cli:{getpass.getuser()}",
    }
    done = run_verify(str(out), "--election", str(EXAMPLE_ELECTION))
    assert done.returncode == 0, done.stdout


def test_a_folder_whose_ledger_is_of_the_previous_format_is_refused(
    server_folder: ServerFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ledger of format v1 was released: the server names both versions and does
    nothing with it, rather than mixing two framings in one chain."""
    import sqlite3

    from tally_server.store.ledger import LedgerVersionError
    from tally_server.web import create_app

    conn = sqlite3.connect(server_folder.path / "tally.db")
    with conn:  # entry 0 as the previous version wrote it
        (outcome,) = conn.execute("SELECT outcome FROM ledger WHERE idx = 0").fetchone()
        opened = json.loads(outcome)
        assert opened["format"] == "kiemphieu-ledger-v2"
        opened["format"] = "kiemphieu-ledger-v1"
        conn.execute("UPDATE ledger SET outcome = ? WHERE idx = 0", (json.dumps(opened).encode(),))
    conn.close()
    code, out, err = run(capsys, "station", "list", "--dir", str(server_folder.path))
    assert (code, out) == (1, "")
    assert "[L105]" in err and "kiemphieu-ledger-v1" in err and "kiemphieu-ledger-v2" in err
    with pytest.raises(LedgerVersionError) as refused:
        create_app(server_folder.path)
    assert refused.value.figures["format"] == "kiemphieu-ledger-v1"
