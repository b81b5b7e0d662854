"""Per committee progress, one row each, updated in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from textual.widgets import DataTable

from tally_server.core.numbers import vn_int
from tui.labels import Lang, t
from tui.model import ScopeProgress, pct_text, since_text

COLUMNS = (
    ("name", "committee"),
    ("areas", "areas_reported"),
    ("turnout", "turnout"),
    ("accepted", "accepted"),
    ("flagged", "flagged"),
    ("rejected", "rejected"),
    ("conflicts", "conflicts"),
    ("last", "last_batch"),
)


def cells(p: ScopeProgress, lang: Lang, now: dt.datetime) -> list[str]:
    return [
        p.name,
        f"{vn_int(p.areas_reported)}/{vn_int(p.areas_total)}",
        pct_text(p.turnout_pct),
        vn_int(p.accepted),
        vn_int(p.flagged),
        vn_int(p.rejected),
        vn_int(p.conflicts),
        since_text(p.last_batch_at, now, t("never", lang)),
    ]


class CommitteeTable(DataTable[str]):
    def __init__(self, lang: Lang, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.lang = lang
        self.shown: dict[str, ScopeProgress] = {}

    def on_mount(self) -> None:
        self.set_columns(self.lang)

    def set_columns(self, lang: Lang) -> None:
        self.lang = lang
        shown = list(self.shown.values())
        self.clear(columns=True)
        self.shown = {}
        for key, label in COLUMNS:
            self.add_column(t(label, lang), key=key)
        self.show(shown, dt.datetime.now(dt.UTC))

    def show(self, committees: Sequence[ScopeProgress], now: dt.datetime) -> None:
        for p in committees:
            before = self.shown.get(p.scope)
            if before is None:
                self.add_row(*cells(p, self.lang, now), key=p.scope)
            elif before != p:
                for (col, _), value in zip(COLUMNS, cells(p, self.lang, now), strict=True):
                    self.update_cell(p.scope, col, value)
            self.shown[p.scope] = p

    def tick(self, now: dt.datetime) -> None:
        never = t("never", self.lang)
        for scope, p in self.shown.items():
            self.update_cell(scope, "last", since_text(p.last_batch_at, now, never))
