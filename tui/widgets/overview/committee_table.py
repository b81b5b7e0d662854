"""Per committee progress, one row each, updated in place: polling areas reported
and still missing, turnout, constituencies done and seats filled (what the
running totals give; batch counts are the election's, on the card above).
Enter opens the committee's missing areas."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable

from tally_server.core.numbers import vn_int
from tui.labels import Lang, t
from tui.model import ScopeProgress, pct_text

NARROW = ("name", "areas", "missing", "turnout")
WIDE = ("name", "areas", "missing", "turnout", "done", "seats")
"""At 80 columns a committee's whole name matters more than its units done."""
LABELS = {
    "name": "committee",
    "areas": "areas_short",
    "missing": "missing_short",
    "turnout": "turnout_short",
    "done": "constituencies_done",
    "seats": "seats_filled_long",
}
FIXED = {"areas": 13, "missing": 12, "turnout": 8, "done": 11, "seats": 12}


def columns_for(width: int) -> list[tuple[str, int]]:
    keys = WIDE if width >= 120 else NARROW
    fixed = sum(FIXED[k] for k in keys if k != "name")
    name = max(16, min(70, width - fixed - 2 * len(keys) - 2))
    return [(k, FIXED.get(k, name)) for k in keys]


def cells(p: ScopeProgress, keys: Sequence[str]) -> list[str]:
    every = {
        "name": p.name,
        "areas": f"{vn_int(p.areas_reported)}/{vn_int(p.areas_total)}",
        "missing": f"[red]{vn_int(p.missing)}[/]" if p.missing else "0",
        "turnout": pct_text(p.turnout_pct),
        "done": f"{vn_int(p.constituencies_complete)}/{vn_int(p.constituencies_total)}",
        "seats": f"{vn_int(p.seats_filled)}/{vn_int(p.seats)}",
    }
    return [every[k] for k in keys]


class CommitteeTable(DataTable[str]):
    def __init__(self, lang: Lang, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.lang = lang
        self.column_layout: list[tuple[str, int]] = []
        self.shown: dict[str, ScopeProgress] = {}

    def on_mount(self) -> None:
        self.set_columns(self.lang)

    def on_resize(self) -> None:
        if columns_for(self.size.width or self.app.size.width) != self.column_layout:
            self.set_columns(self.lang)

    def set_columns(self, lang: Lang) -> None:
        self.lang = lang
        shown = list(self.shown.values())
        self.clear(columns=True)
        self.shown = {}
        self.column_layout = columns_for(self.size.width or self.app.size.width)
        for key, width in self.column_layout:
            self.add_column(t(LABELS[key], lang), key=key, width=width)
        self.show(shown)

    def show(self, committees: Sequence[ScopeProgress]) -> None:
        keys = [k for k, _ in self.column_layout]
        for p in committees:
            before = self.shown.get(p.scope)
            if before is None:
                self.add_row(*cells(p, keys), key=p.scope)
            elif before != p:
                for col, value in zip(keys, cells(p, keys), strict=True):
                    self.update_cell(p.scope, col, value)
            self.shown[p.scope] = p
