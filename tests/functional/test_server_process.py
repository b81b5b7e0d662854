"""The issue's acceptance check: `tally-server serve` as a real process, a batch signed
with nothing but the OpenSSL commands of docs/signing.md, posted with curl; the receipt
checks out with OpenSSL; one changed byte is rejected."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
from serverkit import ROOT, RunningServer, ServerFolder

GOLDEN = ROOT / "tests" / "assets" / "golden"


def doc_blocks() -> list[str]:
    text = (ROOT / "docs" / "signing.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally_server", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def post_with_curl(url: str, envelope: Path, cwd: Path) -> tuple[int, bytes]:
    """The doc's own curl command, pointed at this server, keeping the answer."""
    script = doc_blocks()[1].replace("http://127.0.0.1:8080", url)
    script = script.replace("@envelope.json", f"@{envelope}").rstrip()
    result = bash(script + " -o answer.json -w '%{http_code}'\n", cwd)
    assert result.returncode == 0, result.stderr
    return int(result.stdout), (cwd / "answer.json").read_bytes()


def test_openssl_signed_batch_posted_with_curl_to_a_running_server(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    for tool in ("openssl", "curl", "base64"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required for the acceptance test")
    work = tmp_path / "openssl"
    work.mkdir()
    shutil.copy(GOLDEN / "batch.payload.json", work / "batch.json")
    signed = bash(doc_blocks()[0], work)
    assert signed.returncode == 0, signed.stderr
    fingerprint = signed.stdout.split("fingerprint ")[1].strip()

    # the read-aloud check refuses a fingerprint that is not this key's
    wrong = cli(
        "station", "enroll", "--dir", str(server_folder.path), "KV-01",
        "--polling-area", "KV-01", "--public-key", str(work / "station.pub.pem"),
        "--fingerprint", "1111-2222-3333-4444-5555-6666",
    )  # fmt: skip
    assert wrong.returncode == 1
    assert fingerprint in wrong.stderr
    enrolled = cli(
        "station", "enroll", "--dir", str(server_folder.path), "KV-01",
        "--polling-area", "KV-01", "--public-key", str(work / "station.pub.pem"),
        "--fingerprint", " ".join(fingerprint.split("-")),  # as written down from the phone
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    listed = cli("station", "list", "--dir", str(server_folder.path))
    assert f"KV-01\tKV-01\t{fingerprint}\tactive" in listed.stdout

    server = RunningServer(server_folder, log_path=tmp_path / "server.log")
    server.start()
    try:
        status, answer = post_with_curl(server.url, work / "envelope.json", work)
        assert status == 200, answer
        # check the receipt the way docs/signing.md says: OpenSSL and the server's key
        receipt = json.loads(answer)
        payload = base64.b64decode(receipt["payload"])
        (work / "receipt.payload").write_bytes(payload)
        (work / "receipt.sig").write_bytes(base64.b64decode(receipt["signatures"][0]["sig"]))
        check = bash(
            "TYPE=application/vnd.kiemphieu.receipt.v1+json\n"
            'printf \'DSSEv1 %d %s %d \' "${#TYPE}" "$TYPE" "$(wc -c < receipt.payload)"'
            " > pae.bin\n"
            "cat receipt.payload >> pae.bin\n"
            f"openssl pkeyutl -verify -rawin -pubin -inkey {server_folder.path}/server.pub.pem"
            " -in pae.bin -sigfile receipt.sig\n",
            work,
        )
        assert check.returncode == 0, check.stderr
        assert "Signature Verified Successfully" in check.stdout
        fields = json.loads(payload)
        assert fields["status"] == "accepted"
        assert fields["station_id"] == "KV-01" and fields["sequence"] == 1
        assert (
            fields["batch_digest"] == hashlib.sha256((work / "batch.json").read_bytes()).hexdigest()
        )

        # one byte changed after signing: refused, and nothing counted
        envelope = json.loads((work / "envelope.json").read_bytes())
        body = bytearray(base64.b64decode(envelope["payload"]))
        i = body.index(b"1001")
        body[i + 3] = ord("2")
        envelope["payload"] = base64.b64encode(bytes(body)).decode()
        (work / "tampered.json").write_text(json.dumps(envelope))
        status, answer = post_with_curl(server.url, work / "tampered.json", work)
        assert status == 401
        assert json.loads(answer)["error"]["code"] == "S201"

        admin = server_folder.token("admin")
        status, raw = server.request("GET", "/api/v1/progress", token=admin)
        progress = json.loads(raw)
        assert progress["batches"] == {
            "accepted": 1,
            "flagged": 0,
            "rejected": 1,
            "conflicts": 0,
            "corrections": 0,
            "throttled": 0,
        }
        # the rejection is recorded right after the accepted batch
        assert progress["ledger"]["index"] == fields["ledger_index"] + 1
    finally:
        server.stop()
    log = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()]
    assert {"listening", "stopped"} <= {e["event"] for e in log}


def test_serve_refuses_a_second_writer_on_the_same_folder(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    server = RunningServer(server_folder, log_path=tmp_path / "server.log")
    server.start()
    try:
        key = tmp_path / "k.pub"
        key.write_text(base64.b64encode(b"\x01" * 32).decode())
        busy = cli(
            "station", "enroll", "--dir", str(server_folder.path), "KV-02",
            "--polling-area", "KV-02", "--public-key", str(key),
        )  # fmt: skip
        assert busy.returncode == 1
        assert "--server URL --token ADMIN_TOKEN in place of --dir" in busy.stderr
        # tokens and exports work while it runs
        made = cli("token", "create", "--dir", str(server_folder.path), "--role", "viewer")
        assert made.returncode == 0
        token = made.stdout.strip()
        assert server.request("GET", "/api/v1/progress", token=token)[0] == 200
        out = tmp_path / "ledger.jsonl"
        exported = cli("ledger", "export", "--dir", str(server_folder.path), "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        assert [json.loads(line)["kind"] for line in out.read_text().splitlines()] == [
            "ledger_opened"
        ]
    finally:
        server.stop()


def test_serve_over_tls(server_folder: ServerFolder, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = RunningServer(
        server_folder,
        log_path=tmp_path / "server.log",
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
        ssl_context=ssl.create_default_context(cafile=str(cert)),
    )
    server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        status, body = server.request("GET", "/api/v1/server-key")
        assert status == 200
        assert json.loads(body)["fingerprint"] == server.server_key.fingerprint
        # a client that does not trust the certificate is refused
        plain = RunningServer(
            server_folder, url=server.url, ssl_context=ssl.create_default_context()
        )
        with pytest.raises(urllib.error.URLError):
            plain.request("GET", "/api/v1/server-key")
    finally:
        server.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "kiemphieu.example"])
def test_plain_http_off_loopback_is_refused_without_insecure_http(
    server_folder: ServerFolder, host: str
) -> None:
    """Bearer tokens would cross the network in clear: the server will not start."""
    done = cli("serve", "--dir", str(server_folder.path), "--host", host, "--port", "0")
    assert done.returncode == 2
    assert "listening" not in done.stdout
    assert f"{host} is reachable from the network" in done.stderr
    assert f"{host} có thể truy cập từ mạng" in done.stderr
    assert "--tls-cert" in done.stderr and "--insecure-http" in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.5", False),
        ("localhost.example", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    from tally_server.web.serve import is_loopback

    assert is_loopback(host) is loopback


def test_insecure_http_serves_and_warns_at_every_start(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    server = RunningServer(
        server_folder, log_path=log_path, extra_args=["--host", "0.0.0.0", "--insecure-http"]
    )
    server.start()
    try:
        port = server.url.rsplit(":", 1)[1]
        server.url = f"http://127.0.0.1:{port}"
        assert server.request("GET", "/api/v1/server-key")[0] == 200
        server.restart()
    finally:
        server.stop()
    log = [json.loads(line) for line in log_path.read_text().splitlines()]
    warnings = [e for e in log if e["event"] == "insecure http"]
    assert len(warnings) == 2  # one for each start
    assert all(w["level"] == "warning" and w["host"] == "0.0.0.0" for w in warnings)
    assert "travel in clear" in warnings[0]["message_en"]
    assert "dưới dạng rõ" in warnings[0]["message_vi"]


def test_insecure_http_with_tls_is_a_contradiction(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    done = cli(
        "serve", "--dir", str(server_folder.path), "--port", "0", "--insecure-http",
        "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"),
    )  # fmt: skip
    assert done.returncode == 2 and "--insecure-http" in done.stderr


def test_answers_name_no_software_or_versions(tally_server: RunningServer) -> None:
    """What a scanner reads with curl: the Server header says only 'kiemphieu', on a
    good answer, an error, a refusal and a request aiohttp itself cannot parse."""
    admin = tally_server.tokens["admin"]
    seen = []
    for path, extra in [
        ("/api/v1/server-key", []),
        ("/api/v1/progress", ["-H", f"Authorization: Bearer {admin}"]),
        ("/api/v1/progress", []),
        ("/no/such/path", []),
    ]:
        done = subprocess.run(
            ["curl", "-sS", "-D", "-", "-o", "/dev/null", *extra, tally_server.url + path],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        seen.append(done.stdout)
    host, port = tally_server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"NOT\x01HTTP / HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while b"\r\n\r\n" not in raw:
            piece = sock.recv(4096)
            if not piece:
                break
            raw += piece
    seen.append(raw.decode("latin-1"))
    statuses = [text.split(None, 2)[1] for text in seen]
    assert statuses == ["200", "200", "401", "404", "400"]
    for text in seen:
        servers = [
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.lower().startswith("server:")
        ]
        assert servers == ["kiemphieu"], text
        assert "python" not in text.lower() and "aiohttp" not in text.lower()
