"""The faults suite's size, and the summary it prints after a run.

Each test module names its category (``CATEGORY``); every test in it is one
case. Tests report what they saw through the ``record`` fixture: how many
batches stations were acknowledged (given an accepted receipt for), how many
of those the ledger no longer holds (must be 0), and figures worth reading
(latency, memory, kills). ``pytest_terminal_summary`` prints one line per
category and the figures. docs/faults.md says how to read it.

Size: ``--faults-scale ci|large`` (defined in tests/conftest.py so it works
from the repository root) or ``KIEMPHIEU_FAULTS_SCALE``; ``ci`` by default.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

CATEGORIES = ("crashes", "attacks", "tampering", "fuzzing", "disk-and-load")


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    crash_seeds: tuple[int, ...]
    crash_stations: int
    crash_kills: int
    crash_seconds: float
    """How long stations keep signing and sending while the server is being killed."""
    crash_rate: float
    """At most this many new batches a second."""
    client_kill_seeds: tuple[int, ...]
    fuzz_examples: int
    """Hypothesis examples per fuzzing strategy."""
    api_fuzz_requests: int
    """At least this many requests from the OpenAPI-driven fuzzer (schemathesis)."""
    load_seconds: float
    load_rate: float
    load_stations: int


SCALES = {
    "ci": Scale(
        name="ci",
        crash_seeds=(1, 2),
        crash_stations=60,
        crash_kills=3,
        crash_seconds=3.0,
        crash_rate=400.0,
        client_kill_seeds=(1, 2, 3),
        fuzz_examples=150,
        api_fuzz_requests=20_000,
        load_seconds=4.0,
        load_rate=150.0,
        load_stations=40,
    ),
    "large": Scale(
        name="large",
        crash_seeds=(1, 2, 3, 4, 5, 6),
        crash_stations=300,
        crash_kills=10,
        crash_seconds=12.0,
        crash_rate=600.0,
        client_kill_seeds=tuple(range(1, 13)),
        fuzz_examples=1500,
        api_fuzz_requests=100_000,
        load_seconds=20.0,
        load_rate=300.0,
        load_stations=200,
    ),
}


@dataclass(slots=True)
class CategoryFigures:
    outcomes: dict[str, bool] = field(default_factory=dict)
    """Test id -> passed."""
    acked: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)


class Record:
    """What the suite saw, per category, for the summary."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.categories = {c: CategoryFigures() for c in CATEGORIES}

    def acknowledged(self, category: str, acked: int, lost: int) -> None:
        """``acked`` batches had an accepted receipt; ``lost`` of them are not in the ledger."""
        figures = self.categories[category]
        figures.acked += acked
        figures.lost += lost

    def note(self, category: str, text: str) -> None:
        self.categories[category].notes.append(text)

    def outcome(self, category: str, test_id: str, passed: bool) -> None:
        outcomes = self.categories[category].outcomes
        outcomes[test_id] = outcomes.get(test_id, True) and passed

    def lines(self) -> list[str]:
        out = [
            f"{'category':<15}{'cases':>7}{'passed':>8}{'failed':>8}{'acked':>9}{'acked lost':>12}"
        ]
        for name, f in self.categories.items():
            passed = sum(f.outcomes.values())
            failed = len(f.outcomes) - passed
            out.append(
                f"{name:<15}{len(f.outcomes):>7}{passed:>8}{failed:>8}{f.acked:>9}{f.lost:>12}"
            )
        for name, f in self.categories.items():
            out += [f"  {name}: {note}" for note in f.notes]
        return out


_RECORD = pytest.StashKey[Record]()


def scale_name(config: pytest.Config) -> str:
    option = config.getoption("--faults-scale", default=None)
    name = str(option or os.environ.get("KIEMPHIEU_FAULTS_SCALE") or "ci")
    if name not in SCALES:
        raise pytest.UsageError(
            f"faults scale {name!r}: use one of {', '.join(SCALES)} "
            f"(--faults-scale or KIEMPHIEU_FAULTS_SCALE)"
        )
    return name


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RECORD] = Record(SCALES[scale_name(config)])


@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> Scale:
    return pytestconfig.stash[_RECORD].scale


@pytest.fixture(scope="session")
def record(pytestconfig: pytest.Config) -> Record:
    return pytestconfig.stash[_RECORD]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Seeded cases, as many as the scale asks for."""
    scale = metafunc.config.stash[_RECORD].scale
    for name, seeds in (
        ("crash_seed", scale.crash_seeds),
        ("client_seed", scale.client_kill_seeds),
    ):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, seeds, ids=[f"seed{s}" for s in seeds])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    category = getattr(getattr(item, "module", None), "CATEGORY", None)
    if category in CATEGORIES and (report.when == "call" or report.failed):
        item.config.stash[_RECORD].outcome(category, item.nodeid, not report.failed)
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    record = config.stash.get(_RECORD, None)
    if record is None or not any(f.outcomes for f in record.categories.values()):
        return
    terminalreporter.section(f"kiemphieu faults, attacks and fuzzing (scale {record.scale.name})")
    for line in record.lines():
        terminalreporter.write_line(line)
