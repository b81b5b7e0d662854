"""One race (or the whole election) on the overview: polling areas reported as
a progress bar, turnout so far, batches by outcome, time since the last batch."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Label, ProgressBar, Static

from tally_server.core.numbers import vn_int
from tui.labels import Lang, t
from tui.model import ScopeProgress, pct_text, since_text


def stats_line(p: ScopeProgress, lang: Lang, now: dt.datetime, *, election: bool) -> str:
    """One line that fits 80 columns. The election: turnout, batches by outcome, the
    last batch; a race: turnout, constituencies done, seats filled, areas missing."""
    turnout = f"{t('turnout_short', lang)} [b]{pct_text(p.turnout_pct)}[/]"
    if election:
        turnout += f" ({vn_int(p.voters_voted)}/{vn_int(p.voters_on_list)})"
        ago = since_text(p.last_batch_at, now, t("never", lang))
        return (
            f"{turnout} │ [green]{t('accepted_short', lang)} {vn_int(p.accepted)}[/] · "
            f"[yellow]{t('flagged_short', lang)} {vn_int(p.flagged)}[/] · "
            f"[red]{t('rejected_short', lang)} {vn_int(p.rejected)}[/] · "
            f"[b red]{t('conflicts', lang)} {vn_int(p.conflicts)}[/] │ "
            f"{t('last_short', lang)} {ago}"
        )
    return (
        f"{turnout} │ {t('constituencies_done', lang)} "
        f"{vn_int(p.constituencies_complete)}/{vn_int(p.constituencies_total)} │ "
        f"{t('seats_filled_long', lang)} {vn_int(p.seats_filled)}/{vn_int(p.seats)} │ "
        f"{t('missing_short', lang)} {vn_int(p.missing)}"
    )


class ScopeCard(Vertical):
    """A race's (or the election's) progress; ``big`` for the projector."""

    DEFAULT_CLASSES = "scope-card"

    def __init__(self, scope: str, *, big: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scope = scope
        self.big = big
        self.progress: ScopeProgress | None = None
        self._lang: Lang = "vi"
        self._ready = False
        if big:
            self.add_class("big")

    def compose(self) -> ComposeResult:
        if self.big:
            yield Digits("0,00%", classes="big-percent")
        with Horizontal(classes="card-head"):
            yield Label("", classes="card-name")
            yield ProgressBar(total=1, show_eta=False, show_percentage=False)
            yield Label("", classes="card-count")
        yield Static("", classes="card-stats")

    def on_mount(self) -> None:
        self._ready = True
        if self.progress is not None:
            self.show(self.progress, self._lang, dt.datetime.now(dt.UTC))

    def show(self, progress: ScopeProgress, lang: Lang, now: dt.datetime) -> None:
        self.progress = progress
        self._lang = lang
        if not self._ready:
            return  # on_mount shows it
        p = progress
        self.query_one(".card-name", Label).update(p.name)
        bar = self.query_one(ProgressBar)
        bar.update(total=max(p.areas_total, 1), progress=p.areas_reported)
        self.query_one(".card-count", Label).update(
            f"{vn_int(p.areas_reported)}/{vn_int(p.areas_total)} {pct_text(str(p.reported_pct))}"
        )
        self.query_one(".card-stats", Static).update(
            stats_line(p, lang, now, election=self.scope == "election")
        )
        if self.big:
            self.query_one(Digits).update(pct_text(str(p.reported_pct)))

    def tick(self, lang: Lang, now: dt.datetime) -> None:
        if self.progress is not None:
            self.query_one(".card-stats", Static).update(
                stats_line(self.progress, lang, now, election=self.scope == "election")
            )
