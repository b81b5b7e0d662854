"""One constituency: totals, each candidate against the majority line, the
status in words, polling areas reported and missing (Enter opens one).

Once the constituency has had a later round (a re-vote or a supplementary
round), the screen heads with its final result over the rounds (who was
elected in which round) and one line per round held with its own figures;
Enter on a round, or ``v``, shows that round's full figures below."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static

from schemas import read
from schemas.errors import KiemphieuError
from tally_server.core.numbers import vn_int
from tui.bindings import bilingual
from tui.labels import round_label, status_label, t
from tui.messages import DetailLoaded, WorkFailed
from tui.model import pct_text, row_key, split_key
from tui.screens.base import DashboardScreen
from tui.widgets.common.connection_bar import ConnectionBar
from tui.widgets.constituency.candidates import CandidateTable
from tui.widgets.constituency.rounds import RoundsTable, final_text

if TYPE_CHECKING:
    from tui.app import Change


class ConstituencyScreen(DashboardScreen):
    AUTO_FOCUS = "#candidates"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        *bilingual("p", "print", "print"),
        *bilingual("r", "refresh", "refresh"),
        *bilingual("v", "next_round", "switch_round"),
    ]

    def __init__(self, race_id: str, constituency_id: str, round_: str = "main") -> None:
        super().__init__()
        self.race_id = race_id
        self.constituency_id = constituency_id
        self.round = round_
        self.doc: read.ConstituencyDetail | None = None

    @property
    def key(self) -> str:
        return row_key(self.race_id, self.constituency_id, self.round)

    def compose(self) -> ComposeResult:
        yield ConnectionBar()
        with VerticalScroll(id="detail"):
            yield Label("", id="title", classes="screen-title")
            yield Static("", id="final")
            yield RoundsTable(id="rounds")
            yield Static("", id="figures")
            yield Static("", id="status")
            yield CandidateTable(id="candidates")
            with Horizontal(id="areas-row"):
                yield Static("", id="areas-title", classes="section-title")
            yield DataTable(id="areas", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True, show_command_palette=False)  # its word is English only

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    @work(exclusive=True, group="detail")
    async def load(self) -> None:
        try:
            doc = await self.dash.client.constituency(
                self.race_id, self.constituency_id, self.round
            )
            self.post_message(DetailLoaded("constituency", self.key, doc))
        except KiemphieuError as exc:
            self.dash.post_message(WorkFailed("constituency", exc))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.key == self.key and isinstance(message.doc, read.ConstituencyDetail):
            self.doc = message.doc
            self.refresh_all()

    def on_change(self, change: Change) -> None:
        # Any round of the constituency moves its final result, shown whatever the round.
        mine = (self.race_id, self.constituency_id)
        if any(split_key(k)[:2] == mine for k in change.rows):
            self.load()

    @property
    def rounds(self) -> list[str]:
        """The rounds held (with minutes), the main round first."""
        if self.doc is None:
            return [self.round]
        return [r.round for r in self.doc.final.rounds]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_round" and len(self.rounds) < 2:
            return False
        return super().check_action(action, parameters)

    def show_round(self, round_: str) -> None:
        """Show one round's own figures (the final result stays above)."""
        if round_ != self.round:
            self.round = round_
            self.load()

    def action_next_round(self, _lang: str = "") -> None:
        rounds = self.rounds
        at = rounds.index(self.round) if self.round in rounds else -1
        self.show_round(rounds[(at + 1) % len(rounds)])

    @on(DataTable.RowSelected, "#rounds")
    def _pick_round(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.show_round(event.row_key.value)

    def refresh_all(self) -> None:
        lang = self.lang
        doc = self.doc
        election = self.dash.election
        self.query_one("#areas-title", Static).update(
            f"{t('reported_areas', lang)} / {t('missing_areas', lang)}"
        )
        race_name = self.race_id
        if election is not None and self.race_id in election.races:
            race_name = election.races[self.race_id].name
        if doc is None:
            self.query_one("#title", Label).update(f"{race_name} — {self.constituency_id}")
            self.query_one("#figures", Static).update(t("loading", lang))
            return
        r = doc
        later = len(r.final.rounds) > 1
        shown = f" — [b]{round_label(r.round, lang)}[/b]" if later or r.round != "main" else ""
        self.query_one("#title", Label).update(
            f"[b]{r.constituency_name}[/b] ({self.constituency_id}) — {race_name}{shown}"
        )
        final = self.query_one("#final", Static)
        rounds = self.query_one(RoundsTable)
        final.display = rounds.display = later
        if later:
            final.update(final_text(r.final, lang))
            rounds.show(r.final, r.round, lang)
        self.query_one("#figures", Static).update(
            (f"[b]{t('showing_round', lang)}: {round_label(r.round, lang)}[/]\n" if later else "")
            + f"{t('seats', lang)}: [b]{r.seats}[/]   "
            f"{t('areas_reported', lang)}: [b]{vn_int(r.areas_reported)}/"
            f"{vn_int(r.areas_total)}[/]\n"
            f"{t('voters', lang)}: {vn_int(r.voters_on_list)}   "
            f"{t('voted', lang)}: {vn_int(r.voters_voted)} "
            f"([b]{pct_text(r.turnout_pct)}[/])\n"
            f"{t('issued', lang)}: {vn_int(r.ballots_issued)}   "
            f"{t('received', lang)}: {vn_int(r.ballots_received)}   "
            f"{t('valid', lang)}: {vn_int(r.valid_ballots)} "
            f"({pct_text(r.valid_pct)})   "
            f"{t('invalid', lang)}: {vn_int(r.invalid_ballots)} "
            f"({pct_text(r.invalid_pct)})"
        )
        notes = r.notes_vi if lang == "vi" else r.notes_en
        status = status_label(r.status, lang)
        self.query_one("#status", Static).update(
            f"{t('status', lang)}: [b reverse] {status} [/]  {notes}"
        )
        self.query_one(CandidateTable).show(r.candidates, lang)
        self._show_areas(r)

    def _show_areas(self, r: read.ConstituencyDetail) -> None:
        lang = self.lang
        table = self.query_one("#areas", DataTable)
        table.clear(columns=True)
        table.add_column(t("id", lang), key="id")
        table.add_column(t("name", lang), key="name")
        table.add_column(t("status", lang), key="state")
        missing = set(r.missing_area_ids)
        election = self.dash.election
        area_ids = list(r.reported_area_ids)
        if election is not None:
            con = election.constituencies.get((self.race_id, self.constituency_id))
            if con is not None:
                area_ids = list(con.polling_area_ids)
        for area_id in sorted(set(area_ids) | missing, key=lambda a: (a not in missing, a)):
            name = ""
            if election is not None and area_id in election.polling_areas:
                name = election.polling_areas[area_id].name
            state = (
                f"[red]{t('area_missing', lang)}[/]"
                if area_id in missing
                else f"[green]{t('area_reported', lang)}[/]"
            )
            table.add_row(area_id, name, state, key=area_id)

    @on(DataTable.RowSelected, "#areas")
    def _open_area(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            from tui.screens.polling_area import PollingAreaScreen

            self.app.push_screen(PollingAreaScreen(event.row_key.value))

    def action_refresh(self, _lang: str = "") -> None:
        self.load()

    def action_print(self, _lang: str = "") -> None:
        self.dash.print_sheets(
            "constituency", race_id=self.race_id, constituency_id=self.constituency_id
        )
