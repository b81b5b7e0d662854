"""The top line of every screen: connection to the server, feed position, ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual.widgets import Static

from tui.labels import t

if TYPE_CHECKING:
    from tui.app import DashboardApp


class ConnectionBar(Static):
    DEFAULT_CLASSES = "connection-bar"

    def on_mount(self) -> None:
        app = cast("DashboardApp", self.app)
        app.changed.subscribe(self, lambda _change: self.update_text())
        self.update_text()

    def update_text(self) -> None:
        app = cast("DashboardApp", self.app)
        store = app.store
        lang = app.lang
        if store.connection == "connected":
            state = f"[b green]● {t('connected', lang)}[/]"
        elif store.connection == "disconnected":
            state = f"[b red]● {t('disconnected', lang)} {store.retry_in or 0:.0f} s[/]"
        else:
            state = f"[b yellow]● {t('connecting', lang)}[/]"
        parts = [state, escape(app.client.base_url)]
        if store.last_event_id is not None:
            parts.append(f"#{store.last_event_id}")
        progress = store.progress
        if progress is not None and progress.ledger_index is not None:
            head = (progress.ledger_head or "")[:12]
            parts.append(f"{t('ledger', lang)} {progress.ledger_index} {head}")
        if app.projector:
            parts.append(f"[b]{t('projector', lang)}[/]")
        self.update("  ".join(parts))
