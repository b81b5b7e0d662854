"""All constituencies: sortable, filterable by race and status, searchable
(without diacritics: 'nguyen' finds 'Nguyễn'); Enter opens one."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from tally_server.core.decision import STATUSES
from tui.bindings import bilingual
from tui.labels import status_label, t
from tui.model import SORT_KEYS, split_key
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.constituencies.table import ConstituencyTable

if TYPE_CHECKING:
    from tui.app import Change


class ConstituenciesScreen(DashboardScreen):
    AUTO_FOCUS = "#table"

    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("slash", "search", "search"),
        *bilingual("f", "cycle_race", "filter_race"),
        *bilingual("s", "cycle_status", "filter_status"),
        *bilingual("t", "cycle_sort", "sort"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._search_timer: Timer | None = None
        self.last_update_ms: float | None = None
        self.last_rebuild_ms: float | None = None
        self.last_cells_written = 0

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Input(id="search")
        yield Static("", id="filter-line")
        yield ConstituencyTable(self.lang, id="table")
        yield Footer()

    @property
    def table(self) -> ConstituencyTable:
        return self.query_one("#table", ConstituencyTable)

    def refresh_all(self) -> None:
        self.query_one("#search", Input).placeholder = (
            f"{t('search', self.lang)}: {t('id', self.lang)}, {t('name', self.lang)}, "
            f"{t('winners', self.lang)}"
        )
        election = self.dash.election
        if election is not None:
            self.table.race_order = {r.id: i for i, r in enumerate(election.definition.races)}
        start = time.perf_counter()
        self.table.rebuild(self.dash.store.rows, self.lang)
        self.last_rebuild_ms = (time.perf_counter() - start) * 1000
        self._filter_line()

    def _filter_line(self) -> None:
        lang = self.lang
        f = self.table.row_filter
        race = f.race_id or t("all", lang)
        status = status_label(f.status, lang) if f.status else t("all", lang)
        self.query_one("#filter-line", Static).update(
            f"{t('race', lang)}: [b]{race}[/]  {t('status', lang)}: [b]{status}[/]  "
            f"{t('sort', lang)}: [b]{t('sort_' + self.table.sort_column, lang)}[/]  "
            f"[dim]{self.table.row_count}/{len(self.dash.store.rows)} {t('rows', lang)}[/]"
        )

    def on_change(self, change: Change) -> None:
        if change.rows_reset:
            self.refresh_all()
        elif change.rows:
            start = time.perf_counter()
            self.last_cells_written = self.table.apply(self.dash.store.rows, change.rows)
            self.last_update_ms = (time.perf_counter() - start) * 1000
            self._filter_line()

    # --- filter, sort, search ----------------------------------------------------------

    def _races(self) -> list[str]:
        election = self.dash.election
        if election is not None:
            return [r.id for r in election.definition.races]
        return sorted({r.race_id for r in self.dash.store.rows.values()})

    def action_cycle_race(self, _lang: str = "") -> None:
        options: list[str | None] = [None, *self._races()]
        current = options.index(self.table.row_filter.race_id)
        nxt = options[(current + 1) % len(options)]
        self.table.row_filter = replace(self.table.row_filter, race_id=nxt)
        self.refresh_all()

    def action_cycle_status(self, _lang: str = "") -> None:
        options: list[str | None] = [None, *STATUSES]
        current = options.index(self.table.row_filter.status)
        nxt = options[(current + 1) % len(options)]
        self.table.row_filter = replace(self.table.row_filter, status=nxt)
        self.refresh_all()

    def action_cycle_sort(self, _lang: str = "") -> None:
        i = SORT_KEYS.index(self.table.sort_column)
        self.table.sort_column = SORT_KEYS[(i + 1) % len(SORT_KEYS)]
        self.refresh_all()

    def action_search(self, _lang: str = "") -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value

        def apply() -> None:
            self.table.row_filter = replace(self.table.row_filter, text=value)
            self.refresh_all()

        self._search_timer = self.set_timer(0.15, apply)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    @on(DataTable.RowSelected, "#table")
    def _open(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        from tui.screens.constituency import ConstituencyScreen

        race_id, constituency_id, round_ = split_key(key)
        self.app.push_screen(ConstituencyScreen(race_id, constituency_id, round_))
