"""One polling area: its current minutes per race, the history of corrections,
warnings with the team's explanations, and the signed receipts it was sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane

from schemas import read
from schemas.errors import KiemphieuError
from schemas.models import CountingMinutes
from tally_server.core.numbers import percent, vn_int
from tui.bindings import bilingual
from tui.labels import Lang, round_label, t
from tui.messages import DetailLoaded, WorkFailed
from tui.model import pct_text, time_text
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


def minutes_text(m: CountingMinutes, names: dict[str, str], lang: Lang) -> str:
    """One race's counting minutes as lines of figures."""
    on_list, voted, valid = m.voters_on_list, m.voters_voted, m.valid_ballots
    lines = [
        f"{t('voters', lang)}: {vn_int(on_list)}   {t('voted', lang)}: {vn_int(voted)} "
        f"({pct_text(str(percent(voted, on_list)))})",
        f"{t('issued', lang)}: {vn_int(m.ballots_issued)}   "
        f"{t('received', lang)}: {vn_int(m.ballots_received)}   "
        f"{t('valid', lang)}: {vn_int(valid)}   "
        f"{t('invalid', lang)}: {vn_int(m.invalid_ballots)}",
    ]
    for cid, votes in m.candidate_votes.items():
        name = escape(names.get(cid, cid))
        lines.append(f"  {name:<28} {vn_int(votes):>9}  {pct_text(str(percent(votes, valid)))}")
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
        self.doc: read.PollingAreaView | None = None

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
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

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
        if message.key == self.polling_area_id and isinstance(message.doc, read.PollingAreaView):
            self.doc = message.doc
            self.refresh_all()

    def on_change(self, change: Change) -> None:
        event = change.event
        if (
            isinstance(event, read.BatchAcceptedEvent | read.CorrectionEvent | read.AlertEvent)
            and event.data.polling_area_id == self.polling_area_id
        ):
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

    def _minutes(self, doc: read.PollingAreaView, lang: Lang) -> None:
        election = self.dash.election
        order = {r.id: i for i, r in enumerate(election.definition.races)} if election else {}
        blocks = []
        current = sorted(doc.current, key=lambda item: (order.get(item.race_id, 99), item.round))
        for item in current:
            m = item.minutes
            race_id, con_id = m.race_id, m.constituency_id
            names: dict[str, str] = {}
            if election is not None:
                names = {
                    cid: c.full_name
                    for cid, c in election.candidates.get((race_id, con_id), {}).items()
                }
            head = f"[b]{escape(self._race_name(race_id))}[/b] — {con_id}"
            if m.round != "main":
                head += f" ({round_label(m.round, lang)})"
            head += f"  [dim]{t('ledger', lang)} #{item.ledger_index}[/]"
            blocks.append(head + "\n" + minutes_text(m, names, lang))
        self.query_one("#minutes", Static).update("\n\n".join(blocks) or t("no_data", lang))

    def _history(self, doc: read.PollingAreaView, lang: Lang) -> None:
        table = self.query_one("#history", DataTable)
        table.clear(columns=True)
        for label in ("ledger", "time", "race", "kind", "detail"):
            table.add_column(t(label, lang))
        for h in doc.history:
            table.add_row(
                str(h.ledger_index),
                time_text(h.at),
                h.race_id,
                ("✎ " if h.correction else "") + f"#{h.sequence}",
                escape(h.reason or "") + f" [dim]{h.digest[:12]}[/]",
            )

    def _warnings(self, doc: read.PollingAreaView, lang: Lang) -> None:
        lines = []
        for w in doc.warnings:
            message = w.message_vi if lang == "vi" else w.message_en
            mark = "[green]✓[/]" if w.explained else "[red]✗[/]"
            lines.append(f"[b yellow]{w.code}[/] {w.race_id or ''}: {escape(message)}")
            lines.append(f"   {mark} {t('explanation', lang)}: {escape(w.explanation or '—')}")
        self.query_one("#warnings", Static).update("\n".join(lines) or t("no_data", lang))

    def _receipts(self, doc: read.PollingAreaView, lang: Lang) -> None:
        table = self.query_one("#receipts", DataTable)
        table.clear(columns=True)
        for label in ("ledger", "time", "kind", "status", "detail"):
            table.add_column(t(label, lang))
        for b in doc.batches:
            codes = " ".join(f.code for f in b.findings)
            colour = "green" if b.status == "accepted" else "red"
            # The outcome in the reader's language, and the rule's code (not the HTTP status).
            words = t("outcome_accepted" if b.status == "accepted" else "outcome_rejected", lang)
            table.add_row(
                str(b.ledger_index),
                time_text(b.at),
                f"#{b.sequence} {b.station_id or ''}",
                f"[{colour}]{words}[/] {b.code or ''}",
                f"{codes} [dim]{(b.digest or '')[:12]}[/]",
            )

    def action_refresh(self, _lang: str = "") -> None:
        self.load()

    def action_print(self, _lang: str = "") -> None:
        self.dash.print_sheets("polling_area", polling_area_id=self.polling_area_id)
