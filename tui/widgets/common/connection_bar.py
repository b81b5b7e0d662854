"""The top line of every screen: the connection to the server and how fresh the
figures are, in words a committee member reads (no event ids nor hashes: the
sheets carry the ledger point for an auditor)."""

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
        server = app.client.base_url.removeprefix("http://").removeprefix("https://")
        parts = [state, escape(server)]
        if store.updated_at is not None:
            parts.append(f"{t('updated_at', lang)} {store.updated_at.astimezone():%H:%M:%S}")
        if app.projector:
            parts.append(f"[b]{t('projector', lang)}[/]")
        self.update("  ".join(parts))
