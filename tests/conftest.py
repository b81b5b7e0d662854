from __future__ import annotations

from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parent / "assets"


@pytest.fixture
def assets() -> Path:
    return ASSETS


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/faults/conftest.py, so that it works from the repository root.
    parser.addoption(
        "--faults-scale",
        choices=("ci", "large"),
        default=None,
        help="size of tests/faults (default: KIEMPHIEU_FAULTS_SCALE, else ci); docs/faults.md",
    )
