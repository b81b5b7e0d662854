"""A constituency's candidates: votes, share of valid ballots drawn against the
majority line (more than 50% is needed), eligible, elected."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable

from schemas.read import CandidateResult
from tally_server.core.numbers import vn_int
from tui.labels import Lang, t
from tui.model import majority_bar, pct_text

BAR_WIDTH = 24


def bar_markup(pct: str, eligible: bool, width: int = BAR_WIDTH) -> str:
    filled, line = majority_bar(pct, width)
    colour = "green" if eligible else "blue"
    out = []
    for i in range(width):
        if i == line:
            out.append("[b red]│[/]" if i >= filled else "[b red on green]│[/]")
        elif i < filled:
            out.append(f"[{colour}]█[/]")
        else:
            out.append("[dim]·[/]")
    return "".join(out)


class CandidateTable(DataTable[str]):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def show(self, candidates: Sequence[CandidateResult], lang: Lang) -> None:
        self.clear(columns=True)
        self.add_column("#", key="rank")
        self.add_column(t("candidate", lang), key="name")
        self.add_column(t("votes", lang), key="votes")
        self.add_column(t("share", lang), key="share")
        self.add_column(f"{t('majority_line', lang)}", key="bar")
        self.add_column(t("elected", lang), key="elected")
        for i, c in enumerate(candidates, start=1):
            self.add_row(
                str(i),
                f"[b]{c.full_name}[/]" if c.elected else c.full_name,
                vn_int(c.votes),
                pct_text(c.pct),
                bar_markup(c.pct, c.eligible),
                ("[b green]★ " + t("elected", lang) + "[/]") if c.elected else "",
                key=c.id,
            )
