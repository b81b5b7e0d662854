"""A constituency's result over its rounds: who was elected in which round, seats
filled of seats, the latest status (``final_text``); and one line per round held
with that round's own figures (``RoundsTable``, Enter shows the round in full)."""

from __future__ import annotations

from textual.widgets import DataTable

from schemas.read import FinalResult
from tally_server.core.numbers import vn_int
from tui.labels import Lang, round_label, status_label, t
from tui.model import pct_text


def final_text(final: FinalResult, lang: Lang) -> str:
    """The final result as the screen shows it: a head line, then one line per deputy."""
    lines = [
        f"[b]{t('final', lang)}[/]: [b]{final.seats_filled}/{final.seats}[/] "
        f"{t('seats', lang).lower()} · [b reverse] {status_label(final.status, lang)} [/]"
    ]
    for e in final.elected:
        lines.append(
            f"  [green]★[/] [b]{e.full_name}[/] ({e.id}) — {t('elected_in', lang)} "
            f"[b]{round_label(e.round, lang)}[/]: {vn_int(e.votes)} ({pct_text(e.pct)})"
        )
    if not final.elected:
        lines.append(f"  {t('no_one_elected', lang)}")
    return "\n".join(lines)


class RoundsTable(DataTable[str]):
    """Each round held, with its own figures; the row key is the round."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def show(self, final: FinalResult, current: str, lang: Lang) -> None:
        self.clear(columns=True)
        self.add_column(t("round", lang), key="round")
        self.add_column(t("status", lang), key="status")
        self.add_column(t("seats_filled", lang), key="filled")
        self.add_column(t("areas_short", lang), key="areas")
        self.add_column(t("turnout_short", lang), key="turnout")
        self.add_column(t("valid_short", lang), key="valid")
        # Who each round elected is in the final result above; the narrow columns
        # keep every round's figures on an 80-column terminal.
        for r in final.rounds:
            label = round_label(r.round, lang)
            self.add_row(
                f"[b]▶ {label}[/]" if r.round == current else label,
                status_label(r.status, lang),
                f"{r.seats_filled}/{r.seats}",
                f"{vn_int(r.areas_reported)}/{vn_int(r.areas_total)}",
                pct_text(r.turnout_pct),
                vn_int(r.valid_ballots),
                key=r.round,
            )
