"""The polling areas still to report, across the election or under one committee
(``u`` changes the committee; Enter on a committee of the overview opens its
own), a page at a time from the server: each with the races it owes and whether
its station is silent or not enrolled. Enter opens the area."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Static

from tally_server.core.numbers import vn_int
from tui.bindings import bilingual
from tui.labels import Lang, t
from tui.messages import PageWanted
from tui.model import PAGE, MissingRow, Page
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.common.paged_table import PagedTable, next_offset, page_text

if TYPE_CHECKING:
    from tui.app import Change

SCOPE_LEVELS = ("national", "province")
"""The committees ``u`` steps through (the others: Enter on the overview's row)."""


def station_text(m: MissingRow, lang: Lang) -> str:
    if m.station_id is None:
        return f"[red]{t('no_station', lang)}[/]"
    if m.silent:
        return f"[magenta]{t('silent_short', lang)}[/] {escape(m.station_id)}"
    return escape(m.station_id)


class MissingScreen(DashboardScreen):
    AUTO_FOCUS = "#missing"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("u", "cycle_committee", "committee"),
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Static("", id="missing-title", classes="section-title")
        yield Static("", id="missing-counts")
        yield PagedTable(id="missing")
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

    def _scope_name(self, lang: Lang) -> str:
        cid = self.dash.store.missing_committee
        election = self.dash.election
        if cid is None:
            return t("whole_election", lang)
        if election is not None and cid in election.committees:
            return election.committees[cid].name
        return cid

    def refresh_all(self) -> None:
        lang = self.lang
        store = self.dash.store
        page = store.missing_page
        self.query_one("#missing-title", Static).update(
            f"{t('missing_areas', lang)} — {escape(self._scope_name(lang))}"
        )
        self.query_one("#missing-counts", Static).update(
            f"{t('missing_count', lang)}: [b]{vn_int(page.total)}[/] · "
            f"{t('silent_station', lang)}: [b]{vn_int(store.missing_silent)}[/] · "
            f"{t('no_station', lang)}: [b]{vn_int(store.missing_no_station)}[/]  "
            f"[dim]{page_text(page, len(store.missing), lang)}[/]"
        )
        table = self.query_one("#missing", PagedTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        width = self.app.size.width
        wide = width >= 120
        # At 80 columns: id, name, races owed, station; the rest goes to the unit.
        name_w = 30 if wide else max(12, width - 72)
        unit_w = max(8, width - 108) if wide else 0
        columns = [
            ("id", "id", 14),
            ("name", "name", name_w),
            *([("unit", "admin_unit", unit_w)] if wide else []),
            ("races", "races_missing", 24),
            ("station", "station", 16 if not wide else 22),
        ]
        for key, label, w in columns:
            table.add_column(t(label, lang), key=key, width=w)
        for m in store.missing:
            cells = [escape(m.polling_area_id), escape(m.name)]
            if wide:
                cells.append(escape(m.admin_unit))
            cells += [" ".join(m.races_missing), station_text(m, lang)]
            table.add_row(*cells, key=m.polling_area_id)
        table.place_cursor(cursor)

    def on_change(self, change: Change) -> None:
        if change.missing:
            self.refresh_all()

    def on_resize(self) -> None:
        self.refresh_all()

    def show_committee(self, committee_id: str | None) -> None:
        store = self.dash.store
        store.missing_committee = committee_id
        store.missing_page = Page(0, store.missing_page.total)
        self.dash.request_refresh({"missing"}, asked=True)
        self.refresh_all()

    def action_cycle_committee(self, _lang: str = "") -> None:
        election = self.dash.election
        options: list[str | None] = [None]
        if election is not None:
            options += [c.id for c in election.definition.committees if c.level in SCOPE_LEVELS]
        current = self.dash.store.missing_committee
        at = options.index(current) if current in options else 0
        self.show_committee(options[(at + 1) % len(options)])

    @on(PageWanted)
    def _page(self, message: PageWanted) -> None:
        store = self.dash.store
        offset = next_offset(store.missing_page, message.step, PAGE)
        if offset is not None:
            store.missing_page = Page(offset, store.missing_page.total)
            self.dash.request_refresh({"missing"}, asked=True)
        else:
            self.query_one("#missing", PagedTable).landing = None  # no page past the ends

    @on(DataTable.RowSelected, "#missing")
    def _open_area(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            from tui.screens.polling_area import PollingAreaScreen

            self.app.push_screen(PollingAreaScreen(event.row_key.value))
