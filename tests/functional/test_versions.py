"""Each of the three commands says which version it is, as an operator reports a bug."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest


@pytest.mark.parametrize(
    ("module", "prog"),
    [("tally_server", "tally-server"), ("station_client", "station-client"), ("tui", "tally-tui")],
)
def test_version_flag(module: str, prog: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{prog} {version('kiemphieu')}"
