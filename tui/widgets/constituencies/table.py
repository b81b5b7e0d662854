"""Every constituency in one DataTable that stays fast at national scale
(~1,500 rows): a fresh read is diffed against what is shown and only changed
cells are written; the table is rebuilt only when the filter or sort changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.widgets import DataTable

from tally_server.core.numbers import vn_int
from tui.labels import Lang, round_label, status_label, t
from tui.model import ConstituencyRow, RowFilter, pct_text, sort_value

COLUMNS = (
    ("race", "race"),
    ("id", "id"),
    ("round", "round"),
    ("name", "name"),
    ("seats", "seats"),
    ("reported", "areas_reported"),
    ("turnout", "turnout"),
    ("status", "status"),
    ("final", "final_short"),
    ("winners", "winners"),
)

WIDTHS = {"name": 34, "winners": 40}
"""Long names are cut in the table (the constituency screen shows them whole)."""

STATUS_STYLE = {
    "elected": "green",
    "partial": "yellow",
    "no_results": "dim",
    "revote": "bold red",
    "supplementary_proposed": "bold magenta",
    "seats_left_empty": "magenta",
    "unresolved_tie": "bold red",
}


def _styled(status: str, lang: Lang) -> str:
    style = STATUS_STYLE.get(status, "")
    words = status_label(status, lang)
    return f"[{style}]{words}[/]" if style else words


def row_cells(row: ConstituencyRow, lang: Lang) -> list[str]:
    """The row's own round's figures; for a constituency that has had a later round,
    the round named and where the constituency stands over its rounds."""
    f = row.final
    return [
        row.race_id,
        row.constituency_id,
        # Named beside the id: the rows of one constituency's rounds look alike.
        round_label(row.round, lang) if f is not None or row.round != "main" else "",
        row.name,
        str(row.seats),
        f"{vn_int(row.areas_reported)}/{vn_int(row.areas_total)}",
        pct_text(row.turnout_pct),
        _styled(row.status, lang),
        "" if f is None else f"{f.seats_filled}/{f.seats} {_styled(f.status, lang)}",
        ", ".join(row.winners),
    ]


class ConstituencyTable(DataTable[str]):
    def __init__(self, lang: Lang, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.lang = lang
        self.row_filter = RowFilter()
        self.sort_column = "key"
        self.race_order: dict[str, int] = {}
        self.shown: dict[str, ConstituencyRow] = {}

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label in COLUMNS:
            self.add_column(t(label, self.lang), key=key, width=WIDTHS.get(key))

    def rebuild(self, rows: Mapping[str, ConstituencyRow], lang: Lang | None = None) -> None:
        """Show ``rows`` under the current filter and sort, from scratch."""
        if lang is not None and lang != self.lang:
            self.lang = lang
            self.clear(columns=True)
            self._add_columns()
        else:
            self.clear()
        chosen = [r for r in rows.values() if self.row_filter.matches(r)]
        order = self.race_order
        chosen.sort(key=lambda r: (order.get(r.race_id, 99), sort_value(r, self.sort_column)))
        if self.sort_column != "key":
            chosen.sort(key=lambda r: sort_value(r, self.sort_column))
        self.shown = {}
        for row in chosen:
            self.add_row(*row_cells(row, self.lang), key=row.key)
            self.shown[row.key] = row

    def apply(self, rows: Mapping[str, ConstituencyRow], keys: Iterable[str]) -> int:
        """Bring the rows named by ``keys`` up to date; returns cells written."""
        written = 0
        for key in keys:
            row = rows.get(key)
            shown = self.shown.get(key)
            wanted = row is not None and self.row_filter.matches(row)
            if shown is not None and not wanted:
                self.remove_row(key)
                del self.shown[key]
            elif row is not None and wanted and shown is None:
                # appended at the end: a re-sort is the user's call, not every event's
                self.add_row(*row_cells(row, self.lang), key=key)
                self.shown[key] = row
                written += len(COLUMNS)
            elif row is not None and shown is not None and shown != row:
                old = row_cells(shown, self.lang)
                new = row_cells(row, self.lang)
                for (col, _), before, after in zip(COLUMNS, old, new, strict=True):
                    if before != after:
                        self.update_cell(key, col, after)
                        written += 1
                self.shown[key] = row
        return written

    def selected_key(self) -> str | None:
        if not self.shown or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
