"""Command palette: open any constituency by id, name or candidate (Ctrl+P)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import Hit, Hits, Provider

from tui.labels import status_label, t
from tui.model import fold, split_key

if TYPE_CHECKING:
    from tui.app import DashboardApp

LIMIT = 20


class ConstituencyCommands(Provider):
    async def search(self, query: str) -> Hits:
        app = cast("DashboardApp", self.app)
        words = fold(query).split()
        if not words:
            return
        found = 0
        for key, row in app.store.rows.items():
            if all(w in row.search_key for w in words):
                race_id, constituency_id, round_ = split_key(key)
                title = f"{t('open', app.lang)} {row.race_id}/{row.constituency_id} {row.name}"
                yield Hit(
                    1.0 / (1 + found),
                    title,
                    partial(self._open, race_id, constituency_id, round_),
                    help=status_label(row.status, app.lang),
                )
                found += 1
                if found >= LIMIT:
                    return

    def _open(self, race_id: str, constituency_id: str, round_: str) -> None:
        from tui.screens.constituency import ConstituencyScreen

        self.app.push_screen(ConstituencyScreen(race_id, constituency_id, round_))
