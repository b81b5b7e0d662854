"""The constituencies, a page at a time from the server: sorted, filtered by race
and status, searched (without diacritics: 'nguyen' finds 'Nguyễn', in a name,
an id or a candidate's name); Enter opens one. The winners column names every
winner, and who leads where the result is still partial."""

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
from tui.messages import PageWanted
from tui.model import PAGE, SORTS, split_key
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.common.paged_table import next_offset, page_text
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
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

    @property
    def table(self) -> ConstituencyTable:
        return self.query_one("#table", ConstituencyTable)

    def refresh_all(self) -> None:
        self.query_one("#search", Input).placeholder = (
            f"{t('search', self.lang)}: {t('id', self.lang)}, {t('name', self.lang)}, "
            f"{t('candidate', self.lang)}"
        )
        start = time.perf_counter()
        self.table.rebuild(self.dash.store.rows, self.lang)
        self.last_rebuild_ms = (time.perf_counter() - start) * 1000
        self._filter_line()

    def _filter_line(self) -> None:
        lang = self.lang
        q = self.dash.store.query
        race = q.race_id or t("all", lang)
        status = status_label(q.status, lang) if q.status else t("all", lang)
        self.query_one("#filter-line", Static).update(
            f"[dim]{page_text(self.dash.store.rows_page, self.table.row_count, lang)}[/]  "
            f"{t('race', lang)}: [b]{race}[/]  {t('status', lang)}: [b]{status}[/]  "
            f"{t('sort', lang)}: [b]{t('sort_' + q.sort, lang)}[/]"
        )

    def on_change(self, change: Change) -> None:
        if change.rows_reset:
            self.refresh_all()
        elif change.rows:
            start = time.perf_counter()
            self.last_cells_written = self.table.apply(self.dash.store.rows, change.rows)
            self.last_update_ms = (time.perf_counter() - start) * 1000
            self._filter_line()

    # --- filter, sort, search, pages (each a read of the server) -------------------------

    def _ask(self, **changes: object) -> None:
        store = self.dash.store
        store.query = replace(store.query, offset=0, **changes)  # type: ignore[arg-type]
        self.table.move_cursor(row=0)
        self.dash.request_refresh({"rows"}, asked=True)

    def _races(self) -> list[str]:
        election = self.dash.election
        if election is not None:
            return [r.id for r in election.definition.races]
        return sorted({r.race_id for r in self.dash.store.rows.values()})

    def action_cycle_race(self, _lang: str = "") -> None:
        options: list[str | None] = [None, *self._races()]
        current = options.index(self.dash.store.query.race_id)
        self._ask(race_id=options[(current + 1) % len(options)])

    def action_cycle_status(self, _lang: str = "") -> None:
        options: list[str | None] = [None, *STATUSES]
        current = options.index(self.dash.store.query.status)
        self._ask(status=options[(current + 1) % len(options)])

    def action_cycle_sort(self, _lang: str = "") -> None:
        i = SORTS.index(self.dash.store.query.sort)
        self._ask(sort=SORTS[(i + 1) % len(SORTS)])

    def action_search(self, _lang: str = "") -> None:
        self.query_one("#search", Input).focus()

    @on(PageWanted)
    def _page(self, message: PageWanted) -> None:
        store = self.dash.store
        offset = next_offset(store.rows_page, message.step, PAGE)
        if offset is not None:
            store.query = replace(store.query, offset=offset)
            self.dash.request_refresh({"rows"}, asked=True)
        else:
            self.table.landing = None  # no page past the ends

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(0.15, lambda: self._ask(text=value))

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
