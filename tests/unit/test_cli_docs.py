"""docs/cli.md is the reference of every command and option, and never falls behind.

As sqlite-utils does for its CLI: a command or flag added or changed without
regenerating the page fails here, so an operator never meets one the docs lack.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == _generator().render(), (
        "docs/cli.md is behind the command lines: run `python docs/cli_reference.py`"
    )


def test_every_command_has_its_section() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^### `(.+)`$", text, flags=re.M))
    for command in ("tally-server token list", "tally-server station revoke", "tally-tui print"):
        assert command in sections
    assert "station-client sync" in sections and len(sections) > 25
