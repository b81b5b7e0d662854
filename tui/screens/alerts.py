"""Alerts, newest first and a page at a time from the server, every one of them
counted per kind: a ledger that lost what it acknowledged, conflicts, rejected
batches with their rule codes, corrections awaiting review, warnings, silent
stations. ``k`` shows one kind, Enter opens the alert's polling area. An
operator marks one reviewed (recorded in the ledger by the server); the
projector cannot, and a viewer's token is told so in words."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Static

from schemas.errors import KiemphieuError
from schemas.read import ALERT_KINDS
from tally_server.core.numbers import vn_int
from tui.bindings import bilingual
from tui.labels import Lang, t
from tui.messages import PageWanted, Reviewed, WorkFailed
from tui.model import PAGE, SILENT_PREFIX, AlertRow, Page
from tui.screens.base import DashboardScreen
from tui.screens.review import ReviewScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.common.paged_table import PagedTable, next_offset, page_text

if TYPE_CHECKING:
    from tui.app import Change

KIND: dict[str, tuple[str, str]] = {
    "rollback_detected": ("[b red]Mất kết quả đã xác nhận[/]", "[b red]Acknowledged lost[/]"),
    "conflict": ("[b red]Xung đột[/]", "[b red]Conflict[/]"),
    "rejected": ("[red]Bị từ chối[/]", "[red]Rejected[/]"),
    "correction": ("[yellow]Đính chính[/]", "[yellow]Correction[/]"),
    "warning": ("[yellow]Cảnh báo[/]", "[yellow]Warning[/]"),
    "silent_station": ("[magenta]Trạm im lặng[/]", "[magenta]Silent station[/]"),
}
TAB_ORDER: tuple[str | None, ...] = (
    None,
    "rollback_detected",
    "conflict",
    "rejected",
    "correction",
    "warning",
    "silent_station",
)


def kind_label(kind: str, lang: Lang) -> str:
    vi, en = KIND.get(kind, (kind, kind))
    return vi if lang == "vi" else en


def _time(at: dt.datetime | None) -> str:
    return at.astimezone().strftime("%d/%m %H:%M:%S") if at else ""


def columns_for(width: int) -> list[tuple[str, str, int]]:
    """(key, label, width): at 80 columns the reviewed mark keeps its place."""
    if width >= 120:
        return [
            ("id", "id", 6),
            ("kind", "kind", 24),
            ("time", "time", 14),
            ("area", "polling_area", 16),
            ("codes", "detail", max(18, width - 120)),
            ("reviewed", "reviewed", 30),
        ]
    return [
        ("id", "id", 4),
        ("kind", "kind", 12),
        ("time", "time", 14),
        ("area", "areas_short", 13),
        ("codes", "detail", max(8, width - 63)),
        ("reviewed", "reviewed_short", 6),
    ]


class AlertsScreen(DashboardScreen):
    AUTO_FOCUS = "#alerts"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("k", "cycle_kind", "filter_kind"),
        *bilingual("v", "review", "review"),
        *bilingual("h", "toggle_reviewed", "show_reviewed"),
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Static("", id="alerts-title", classes="section-title")
        yield Static("", id="alerts-counts")
        yield PagedTable(id="alerts")
        yield Static("", id="alert-detail")
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

    def _counts_line(self, lang: Lang) -> str:
        store = self.dash.store
        shown = store.alert_kind
        parts = []
        for kind in TAB_ORDER[1:]:
            assert kind is not None
            held, waiting = store.alert_counts.get(kind, (0, 0))
            text = f"{kind_label(kind, lang)} {vn_int(held)}"
            if kind != "silent_station" and waiting:
                text += f" ({t('open_short', lang)} {vn_int(waiting)})"
            parts.append(f"[reverse]{text}[/]" if kind == shown else text)
        return " · ".join(parts)

    def refresh_all(self) -> None:
        lang = self.lang
        store = self.dash.store
        table = self.query_one("#alerts", PagedTable)
        counts = self.query_one("#alerts-counts", Static)
        if not store.alerts_allowed:
            self.query_one("#alerts-title", Static).update(t("alerts", lang))
            counts.update(f"[b red]{t('alerts_need_operator', lang)}[/]")
            table.clear(columns=True)
            self.query_one("#alert-detail", Static).update("")
            return
        which = kind_label(store.alert_kind, lang) if store.alert_kind else t("all", lang)
        waiting = vn_int(store.open_alerts())
        self.query_one("#alerts-title", Static).update(
            f"{t('alerts', lang)}: {which} — {t('open_alerts', lang)}: {waiting}"
            f" [dim]{page_text(store.alerts_page, len(store.alerts), lang)}"
            f"{'' if store.show_reviewed else ' · ' + t('unreviewed_only', lang)}[/]"
        )
        counts.update(self._counts_line(lang))
        cursor = table.cursor_row
        table.clear(columns=True)
        width = self.app.size.width
        for key, label, w in columns_for(width):
            table.add_column(t(label, lang), key=key, width=w)
        for a in store.alerts.values():
            table.add_row(
                a.id if not a.id.startswith(SILENT_PREFIX) else "—",
                kind_label(a.kind, lang),
                _time(a.at),
                a.polling_area_id or a.station_id,
                " ".join(a.codes) + (f" ×{a.count}" if a.count > 1 else ""),
                ("✓ " + escape(a.note) if width >= 120 else "✓") if a.reviewed else "",
                key=a.id,
            )
        table.place_cursor(cursor)
        self._detail()

    def on_change(self, change: Change) -> None:
        if change.alerts:
            self.refresh_all()

    def on_resize(self) -> None:
        self.refresh_all()

    def selected(self) -> AlertRow | None:
        table = self.query_one("#alerts", PagedTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self.dash.store.alerts.get(str(key.value))

    @on(DataTable.RowHighlighted, "#alerts")
    def _detail(self) -> None:
        a = self.selected()
        detail = self.query_one("#alert-detail", Static)
        if a is None:
            detail.update(t("no_data", self.lang))
            return
        message = a.message_vi if self.lang == "vi" else a.message_en
        note = f"\n✓ {t('reviewed', self.lang)}: {escape(a.note)}" if a.reviewed else ""
        detail.update(
            f"{kind_label(a.kind, self.lang)} {' '.join(a.codes)}"
            f"{f' ×{a.count}' if a.count > 1 else ''} — "
            f"{a.station_id} / {a.polling_area_id}\n{escape(message)}{note}"
        )

    @on(DataTable.RowSelected, "#alerts")
    def _open_area(self) -> None:
        a = self.selected()
        if a is not None and a.polling_area_id:
            from tui.screens.polling_area import PollingAreaScreen

            self.app.push_screen(PollingAreaScreen(a.polling_area_id))

    def _ask(self, offset: int = 0) -> None:
        store = self.dash.store
        store.alerts_page = Page(offset, store.alerts_page.total)
        self.dash.request_refresh({"alerts"}, asked=True)

    @on(PageWanted)
    def _page(self, message: PageWanted) -> None:
        offset = next_offset(self.dash.store.alerts_page, message.step, PAGE)
        if offset is not None:
            self._ask(offset)
        else:
            self.query_one("#alerts", PagedTable).landing = None  # no page past the ends

    def action_cycle_kind(self, _lang: str = "") -> None:
        store = self.dash.store
        store.alert_kind = TAB_ORDER[(TAB_ORDER.index(store.alert_kind) + 1) % len(TAB_ORDER)]
        self._ask()

    def action_toggle_reviewed(self, _lang: str = "") -> None:
        self.dash.store.show_reviewed = not self.dash.store.show_reviewed
        self._ask()

    def action_review(self, _lang: str = "") -> None:
        a = self.selected()
        if a is None or a.reviewed or a.id.startswith(SILENT_PREFIX):
            return

        def done(note: str | None) -> None:
            if note:
                self.send_review(a.id, note)

        self.app.push_screen(ReviewScreen(a, self.lang), done)

    @work(exclusive=True, group="review")
    async def send_review(self, alert_id: str, note: str) -> None:
        try:
            await self.dash.client.review(alert_id, note)
            self.post_message(Reviewed(alert_id))
        except KiemphieuError as exc:
            self.dash.post_message(WorkFailed("review", exc))

    def on_reviewed(self, message: Reviewed) -> None:
        self.notify(f"#{message.alert_id}: {t('reviewed', self.lang)}")
        self.dash.request_refresh({"alerts"}, asked=True)


assert set(TAB_ORDER[1:]) == set(ALERT_KINDS)
