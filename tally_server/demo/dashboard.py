"""The committee dashboard in the foreground, with the demo's notes as toasts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from textual.message import Message

import tui.app
from tui.app import DashboardApp

Severity = Literal["information", "warning", "error"]


class DemoNote(Message):
    """A line from the demo (a station's story, the checks at the end)."""

    def __init__(self, text: str, severity: Severity = "information", timeout: float = 8) -> None:
        super().__init__()
        self.text = text
        self.severity = severity
        self.timeout = timeout


class DemoDashboard(DashboardApp):
    """``tally-tui`` as is; the demo posts notes to it from its own thread
    (``post_message`` is thread-safe and never blocks)."""

    # a relative CSS_PATH is read next to the subclass's module: point at tui's
    CSS_PATH = str(Path(tui.app.__file__).with_name("dashboard.tcss"))

    def __init__(self, server: str, token: str, out_dir: Path) -> None:
        super().__init__(server, token, out_dir=out_dir)

    def on_demo_note(self, message: DemoNote) -> None:
        self.notify(
            message.text,
            title="Demo",
            severity=message.severity,
            timeout=message.timeout,
            markup=False,
        )
