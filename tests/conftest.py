from __future__ import annotations

from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parent / "assets"


@pytest.fixture
def assets() -> Path:
    return ASSETS
