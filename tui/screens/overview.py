"""Overview: the whole election, each race and each committee — polling areas
reported, turnout so far, batches by outcome, time since the last batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static

from tui.bindings import bilingual
from tui.labels import t
from tui.model import ScopeProgress
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.overview.committee_table import CommitteeTable
from tui.widgets.overview.scope_card import ScopeCard

if TYPE_CHECKING:
    from tui.app import Change


class OverviewScreen(DashboardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("p", "print", "print"),
        *bilingual("r", "refresh", "refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Label("", id="election-name")
        yield ScopeCard("election", big=self.dash.projector, id="overall")
        with VerticalScroll(id="races"):
            pass
        yield Static("", id="committees-title", classes="section-title")
        yield CommitteeTable(self.lang, id="committees")
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def refresh_all(self) -> None:
        dash = self.dash
        lang = self.lang
        if dash.election is not None:
            d = dash.election.definition
            self.query_one("#election-name", Label).update(
                f"[b]{d.name}[/b] — {d.place} — {d.date:%d/%m/%Y}"
            )
        self.query_one("#committees-title", Static).update(t("by_committee", lang))
        progress = dash.store.progress
        if progress is None:
            return
        now = self._now()
        overall = replace(progress.overall, name=t("whole_election", lang))
        self.query_one("#overall", ScopeCard).show(overall, lang, now)
        races = self.query_one("#races", VerticalScroll)
        cards = {c.scope: c for c in races.query(ScopeCard)}
        for race in dash.store.races():
            card = cards.get(race.scope)
            if card is None:
                card = ScopeCard(race.scope)
                card.show(race, lang, now)
                races.mount(card)
            else:
                card.show(race, lang, now)
        table = self.query_one("#committees", CommitteeTable)
        table.show(self._committees())

    def _committees(self) -> list[ScopeProgress]:
        """Every committee the progress lists: all of them in a small election; at
        national size (thousands of commune committees) the national and provincial
        ones (the app asks for those only; the rest: the missing areas screen)."""
        return list(self.dash.store.committees())

    @on(DataTable.RowSelected, "#committees")
    def _open_committee(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.dash.show_missing(event.row_key.value)

    def on_change(self, change: Change) -> None:
        if change.progress:
            self.refresh_all()

    def relabel(self) -> None:
        self.query_one("#committees", CommitteeTable).set_columns(self.lang)
        self.refresh_all()

    def _tick(self) -> None:
        now = self._now()
        for card in self.query(ScopeCard):
            card.tick(self.lang, now)

    def action_refresh(self, _lang: str = "") -> None:
        self.dash.request_refresh({"progress", "rows", "alerts", "missing"})

    def action_print(self, _lang: str = "") -> None:
        self.dash.print_sheets("summary")
