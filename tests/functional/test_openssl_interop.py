"""The signing scheme is reproducible with the OpenSSL command line alone.

The commands are taken from docs/signing.md itself, so the page cannot drift.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas import BATCH_TYPE, ResultBatch, SignatureError, VerifyKey, codec, open_envelope

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "assets" / "golden"


def doc_script() -> str:
    text = (ROOT / "docs" / "signing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/signing.md lost its command block"
    return blocks[0]


@pytest.fixture(scope="module")
def signed_by_openssl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is required for the interoperability test")
    work = tmp_path_factory.mktemp("openssl")
    shutil.copy(GOLDEN / "batch.payload.json", work / "batch.json")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", doc_script()],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return work


def test_envelope_made_by_openssl_verifies(signed_by_openssl: Path) -> None:
    public = VerifyKey.from_pem((signed_by_openssl / "station.pub.pem").read_bytes())
    opened = open_envelope((signed_by_openssl / "envelope.json").read_bytes(), BATCH_TYPE)
    assert opened.keyid == public.fingerprint
    opened.verify(public)
    assert opened.payload == (GOLDEN / "batch.payload.json").read_bytes()
    assert codec.decode(opened.payload, ResultBatch).station_id == "KV-01"


def test_openssl_fingerprint_matches_ours(signed_by_openssl: Path) -> None:
    public = VerifyKey.from_pem((signed_by_openssl / "station.pub.pem").read_bytes())
    out = (signed_by_openssl / "envelope.json").read_text()
    assert json.loads(out)["signatures"][0]["keyid"] == public.fingerprint


def test_one_byte_changed_after_openssl_signed_is_rejected(signed_by_openssl: Path) -> None:
    public = VerifyKey.from_pem((signed_by_openssl / "station.pub.pem").read_bytes())
    envelope = json.loads((signed_by_openssl / "envelope.json").read_text())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    i = payload.index(b"1001")  # a candidate's votes: 1001 -> 1002
    payload[i + 3] = ord("2")
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    opened = open_envelope(json.dumps(envelope).encode(), BATCH_TYPE)
    with pytest.raises(SignatureError):
        opened.verify(public)
