"""Driving the dashboard in tests: wait for a condition, read the screen as text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

_TEXT = re.compile(
    r'<text[^>]*?x="(?P<x>[0-9.]+)"[^>]*?clip-path="url\(#[^)]*-line-(?P<line>\d+)\)"[^>]*>'
    r"(?P<text>[^<]*)</text>"
)
CELL = 12.2
"""Width of one terminal cell in Textual's SVG screenshots."""


def screen_text(app: App[object]) -> str:
    """What the terminal shows, line by line (from ``export_screenshot``)."""
    lines: dict[int, list[str]] = {}
    for m in _TEXT.finditer(app.export_screenshot()):
        row = lines.setdefault(int(m["line"]), [])
        # The first column is at x=0: a one-cell shift put the Footer's first key under
        # the text after it.
        col = round(float(m["x"]) / CELL)
        text = html.unescape(m["text"]).replace("\xa0", " ")
        if len(row) < col:
            row.extend(" " * (col - len(row)))
        row[col : col + len(text)] = list(text)
    return "\n".join("".join(lines.get(i, [])).rstrip() for i in range(max(lines, default=-1) + 1))


async def until(
    pilot: Pilot[object], condition: Callable[[], object], what: str, timeout: float = 15.0
) -> None:
    """Let the app run until ``condition()`` holds (bounded in time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
