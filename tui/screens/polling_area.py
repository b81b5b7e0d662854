"""One polling area: its current minutes per race, the history of corrections,
warnings with the team's explanations, and the signed receipts it was sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane

from schemas.errors import KiemphieuError
from tally_server.core.numbers import percent, vn_int
from tui.bindings import bilingual
from tui.labels import Lang, round_label, t
from tui.messages import DetailLoaded, WorkFailed
from tui.model import pct_text
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar

if TYPE_CHECKING:
    from tui.app import Change

TABS = (
    ("minutes", "minutes"),
    ("history", "history"),
    ("warnings", "warnings"),
    ("receipts", "receipts"),
)


def minutes_text(m: dict[str, Any], names: dict[str, str], lang: Lang) -> str:
    """One race's counting minutes as lines of figures."""
    on_list, voted = int(m.get("voters_on_list", 0)), int(m.get("voters_voted", 0))
    valid = int(m.get("valid_ballots", 0))
    lines = [
        f"{t('voters', lang)}: {vn_int(on_list)}   {t('voted', lang)}: {vn_int(voted)} "
        f"({pct_text(str(percent(voted, on_list)))})",
        f"{t('issued', lang)}: {vn_int(int(m.get('ballots_issued', 0)))}   "
        f"{t('received', lang)}: {vn_int(int(m.get('ballots_received', 0)))}   "
        f"{t('valid', lang)}: {vn_int(valid)}   "
        f"{t('invalid', lang)}: {vn_int(int(m.get('invalid_ballots', 0)))}",
    ]
    for cid, votes in (m.get("candidate_votes") or {}).items():
        name = escape(names.get(cid, cid))
        lines.append(
            f"  {name:<28} {vn_int(int(votes)):>9}  {pct_text(str(percent(int(votes), valid)))}"
        )
    return "\n".join(lines)


class PollingAreaScreen(DashboardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("p", "print", "print"),
        *bilingual("r", "refresh", "refresh"),
    ]

    def __init__(self, polling_area_id: str) -> None:
        super().__init__()
        self.polling_area_id = polling_area_id
        self.doc: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        yield Label("", id="title", classes="screen-title")
        with TabbedContent(id="tabs"):
            for pane_id, label in TABS:
                with TabPane(t(label, self.lang), id=f"tab-{pane_id}"):
                    if pane_id == "minutes":
                        with VerticalScroll():
                            yield Static("", id="minutes")
                    elif pane_id == "warnings":
                        with VerticalScroll():
                            yield Static("", id="warnings")
                    else:
                        yield DataTable(id=pane_id, cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    @work(exclusive=True, group="detail")
    async def load(self) -> None:
        try:
            doc = await self.dash.client.polling_area(self.polling_area_id)
            self.post_message(DetailLoaded("polling_area", self.polling_area_id, doc))
        except KiemphieuError as exc:
            self.dash.post_message(WorkFailed("polling_area", exc))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.key == self.polling_area_id and isinstance(message.doc, dict):
            self.doc = message.doc
            self.refresh_all()

    def on_change(self, change: Change) -> None:
        event = change.event
        if event is not None and event.data.get("polling_area_id") == self.polling_area_id:
            self.load()

    def relabel(self) -> None:
        tabs = self.query_one(TabbedContent)
        for pane_id, label in TABS:
            tabs.get_tab(f"tab-{pane_id}").label = t(label, self.lang)
        self.refresh_all()

    def refresh_all(self) -> None:
        lang = self.lang
        election = self.dash.election
        area = election.polling_areas.get(self.polling_area_id) if election else None
        title = (
            f"[b]{escape(area.name)}[/b] ({self.polling_area_id}) — {escape(area.admin_unit)}"
            if area
            else self.polling_area_id
        )
        self.query_one("#title", Label).update(title)
        doc = self.doc
        if doc is None:
            self.query_one("#minutes", Static).update(t("loading", lang))
            return
        self._minutes(doc, lang)
        self._history(doc, lang)
        self._warnings(doc, lang)
        self._receipts(doc, lang)

    def _race_name(self, race_id: str) -> str:
        election = self.dash.election
        if election is not None and race_id in election.races:
            return election.races[race_id].name
        return race_id

    def _minutes(self, doc: dict[str, Any], lang: Lang) -> None:
        election = self.dash.election
        order = {r.id: i for i, r in enumerate(election.definition.races)} if election else {}
        blocks = []
        current = sorted(
            doc.get("current") or [],
            key=lambda item: (order.get(str(item.get("race_id")), 99), str(item.get("round"))),
        )
        for item in current:
            m = item.get("minutes") or {}
            race_id = str(m.get("race_id", item.get("race_id", "")))
            con_id = str(m.get("constituency_id", ""))
            names: dict[str, str] = {}
            if election is not None:
                names = {
                    cid: c.full_name
                    for cid, c in election.candidates.get((race_id, con_id), {}).items()
                }
            head = f"[b]{escape(self._race_name(race_id))}[/b] — {con_id}"
            if m.get("round", "main") != "main":
                head += f" ({round_label(str(m.get('round')), lang)})"
            head += f"  [dim]{t('ledger', lang)} #{item.get('ledger_index')}[/]"
            blocks.append(head + "\n" + minutes_text(m, names, lang))
        self.query_one("#minutes", Static).update("\n\n".join(blocks) or t("no_data", lang))

    def _history(self, doc: dict[str, Any], lang: Lang) -> None:
        table = self.query_one("#history", DataTable)
        table.clear(columns=True)
        for label in ("ledger", "time", "race", "kind", "detail"):
            table.add_column(t(label, lang))
        for h in doc.get("history") or []:
            table.add_row(
                str(h.get("ledger_index")),
                str(h.get("at", ""))[:19],
                str(h.get("race_id", "")),
                ("✎ " if h.get("correction") else "") + f"#{h.get('sequence')}",
                escape(str(h.get("reason") or "")) + f" [dim]{str(h.get('digest', ''))[:12]}[/]",
            )

    def _warnings(self, doc: dict[str, Any], lang: Lang) -> None:
        lines = []
        for w in doc.get("warnings") or []:
            message = w.get("message_vi" if lang == "vi" else "message_en", "")
            explained = w.get("explanation")
            mark = "[green]✓[/]" if w.get("explained") else "[red]✗[/]"
            lines.append(
                f"[b yellow]{w.get('code')}[/] {w.get('race_id', '')}: {escape(str(message))}"
            )
            lines.append(f"   {mark} {t('explanation', lang)}: {escape(str(explained or '—'))}")
        self.query_one("#warnings", Static).update("\n".join(lines) or t("no_data", lang))

    def _receipts(self, doc: dict[str, Any], lang: Lang) -> None:
        table = self.query_one("#receipts", DataTable)
        table.clear(columns=True)
        for label in ("ledger", "time", "kind", "status", "detail"):
            table.add_column(t(label, lang))
        for b in doc.get("batches") or []:
            codes = " ".join(
                str(f.get("code")) for f in b.get("findings") or [] if isinstance(f, dict)
            )
            status = str(b.get("status", ""))
            colour = "green" if status == "accepted" else "red"
            outcome = "" if status == "accepted" else str(b.get("outcome", ""))
            table.add_row(
                str(b.get("ledger_index")),
                str(b.get("at", ""))[:19],
                f"#{b.get('sequence')} {b.get('station_id', '')}",
                f"[{colour}]{status}[/] {outcome}",
                f"{codes} [dim]{str(b.get('digest') or '')[:12]}[/]",
            )

    def action_refresh(self, _lang: str = "") -> None:
        self.load()

    def action_print(self, _lang: str = "") -> None:
        self.dash.print_sheets("polling_area", polling_area_id=self.polling_area_id)
