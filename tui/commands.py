"""Command palette: open any constituency by id, name or candidate (Ctrl+P),
searched on the server (the dashboard holds one page of the list)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import Hit, Hits, Provider

from schemas.errors import KiemphieuError
from tui.labels import status_label, t
from tui.model import fold, rows_from

if TYPE_CHECKING:
    from tui.app import DashboardApp

LIMIT = 20


class ConstituencyCommands(Provider):
    async def search(self, query: str) -> Hits:
        app = cast("DashboardApp", self.app)
        if not fold(query).split():
            return
        try:
            doc = await app.client.constituencies(q=query, limit=str(LIMIT))
        except KiemphieuError:
            return  # the palette stays usable; the connection bar says what is wrong
        for found, row in enumerate(rows_from(doc)):
            title = f"{t('open', app.lang)} {row.race_id}/{row.constituency_id} {row.name}"
            yield Hit(
                1.0 / (1 + found),
                title,
                partial(self._open, row.race_id, row.constituency_id, row.round),
                help=status_label(row.status, app.lang),
            )

    def _open(self, race_id: str, constituency_id: str, round_: str) -> None:
        from tui.screens.constituency import ConstituencyScreen

        self.app.push_screen(ConstituencyScreen(race_id, constituency_id, round_))
