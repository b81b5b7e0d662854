"""Alerts: a ledger that lost what it acknowledged, conflicts, rejected batches
with their rule codes, corrections awaiting review, warnings, silent stations.
An operator marks one reviewed (recorded in the ledger by the server); the
projector cannot."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Static

from schemas.errors import KiemphieuError
from tui.bindings import bilingual
from tui.labels import Lang, t
from tui.messages import Reviewed, WorkFailed
from tui.model import SILENT_PREFIX, AlertRow
from tui.screens.base import DashboardScreen
from tui.screens.review import ReviewScreen
from tui.widgets.common.connection_bar import ConnectionBar

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
ORDER = {
    "rollback_detected": -1,
    "conflict": 0,
    "rejected": 1,
    "correction": 2,
    "warning": 3,
    "silent_station": 4,
}


def kind_label(kind: str, lang: Lang) -> str:
    vi, en = KIND.get(kind, (kind, kind))
    return vi if lang == "vi" else en


def _number(alert_id: str) -> tuple[int, str]:
    return (int(alert_id), "") if alert_id.isdigit() else (1 << 62, alert_id)


def _time(at: dt.datetime | None) -> str:
    return at.astimezone().strftime("%d/%m %H:%M:%S") if at else ""


class AlertsScreen(DashboardScreen):
    AUTO_FOCUS = "#alerts"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("v", "review", "review"),
        *bilingual("h", "toggle_reviewed", "show_reviewed"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_reviewed = False

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Static("", id="alerts-title", classes="section-title")
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="alert-detail")
        yield Footer()

    def shown_alerts(self) -> list[AlertRow]:
        rows = [a for a in self.dash.store.alerts.values() if self.show_reviewed or not a.reviewed]
        return sorted(rows, key=lambda a: (a.reviewed, ORDER.get(a.kind, 9), _number(a.id)))

    def refresh_all(self) -> None:
        lang = self.lang
        store = self.dash.store
        title = (
            f"{t('alerts', lang)}: {store.open_alerts()} · "
            f"{kind_label('silent_station', lang)}: {store.silent_stations()}"
        )
        if not store.alerts_allowed:
            title += f"  [red]({t('error', lang)}: 401/403)[/]"
        self.query_one("#alerts-title", Static).update(title)
        table = self.query_one("#alerts", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        for key, label, width in (
            ("id", "id", 5),
            ("kind", "kind", 14),
            ("time", "time", 14),
            ("area", "polling_area", 16),
            ("codes", "detail", 18),
            ("reviewed", "reviewed", 30),
        ):
            table.add_column(t(label, lang), key=key, width=width)
        for a in self.shown_alerts():
            table.add_row(
                a.id if not a.id.startswith(SILENT_PREFIX) else "—",
                kind_label(a.kind, lang),
                _time(a.at),
                a.polling_area_id or a.station_id,
                " ".join(a.codes) + (f" ×{a.count}" if a.count > 1 else ""),
                f"✓ {a.note}" if a.reviewed else "",
                key=a.id,
            )
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
        self._detail()

    def on_change(self, change: Change) -> None:
        if change.alerts:
            self.refresh_all()

    def selected(self) -> AlertRow | None:
        table = self.query_one("#alerts", DataTable)
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
        detail.update(
            f"{kind_label(a.kind, self.lang)} {' '.join(a.codes)}"
            f"{f' ×{a.count}' if a.count > 1 else ''} — "
            f"{a.station_id} / {a.polling_area_id}\n{message}"
        )

    def action_toggle_reviewed(self, _lang: str = "") -> None:
        self.show_reviewed = not self.show_reviewed
        self.refresh_all()

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
        self.dash.request_refresh({"alerts"})
