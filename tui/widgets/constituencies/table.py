"""One page of the constituency list (the server pages, sorts, filters and
searches it): a fresh read of the page is diffed against what is shown and only
changed cells are written. The columns follow the width: at 80 columns the id,
name, areas reported, status and winners (the round, if any, before the name);
from 120 the race, seats and turnout; from 160 the final result over the rounds
too. Names and winners take what is left, on more lines where they need them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text

from tally_server.core.numbers import vn_int
from tui.labels import Lang, round_label, status_label, t
from tui.model import ConstituencyRow, pct_text
from tui.widgets.common.paged_table import PagedTable

NARROW = ("id", "name", "reported", "status", "winners")
"""At 80 columns the race is left to the filter line (ids name their race: QH-10)."""
MEDIUM = ("race", "id", "name", "seats", "reported", "turnout", "status", "winners")
WIDE = ("race", "id", "name", "seats", "reported", "turnout", "status", "final", "winners")
"""The round, when there is one, goes before the name at every width."""
LABELS = {
    "race": "race",
    "id": "id",
    "round": "round",
    "name": "name",
    "seats": "seats",
    "reported": "areas_short",
    "turnout": "turnout_short",
    "status": "status",
    "final": "final_short",
    "winners": "winners_leading",
}
FIXED = {
    "race": 11,
    "id": 10,
    "round": 9,
    "seats": 4,
    "reported": 11,
    "turnout": 7,
    "status": 15,
    "final": 26,
}
WIDE_STATUS = 24
"""From 160 columns the longest status ("Bằng phiếu chưa xác định") is whole."""
MEDIUM_FROM = 120
WIDE_FROM = 160

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


def columns_for(width: int) -> list[tuple[str, int]]:
    """Each column and its width for a table ``width`` cells wide: the name and the
    winners share what the fixed columns leave (a cell pads one on each side)."""
    keys = WIDE if width >= WIDE_FROM else MEDIUM if width >= MEDIUM_FROM else NARROW
    widths = dict(FIXED)
    if width >= WIDE_FROM:
        widths["status"] = WIDE_STATUS
    fixed = sum(widths[k] for k in keys if k in widths)
    free = max(20, width - fixed - 2 * len(keys) - 2)  # 2: the scrollbar
    widths["name"] = max(10, free * 9 // 20)
    widths["winners"] = max(10, free - widths["name"])
    return [(k, widths[k]) for k in keys]


def row_cells(row: ConstituencyRow, lang: Lang, keys: Iterable[str]) -> list[str | Text]:
    """The row's own round's figures; for a constituency that has had a later round,
    the round named and where the constituency stands over its rounds."""
    f = row.final
    keys = list(keys)
    named = f is not None or row.round != "main"
    name = row.name
    if named and "round" not in keys:
        # The round before the name: the rows of one constituency's rounds look alike.
        name = f"[b]{round_label(row.round, lang)}[/] · {row.name}"
    every: dict[str, str | Text] = {
        "race": row.race_id,
        "id": row.constituency_id,
        # Named beside the id: the rows of one constituency's rounds look alike.
        "round": round_label(row.round, lang) if named else "",
        "name": name,
        "seats": str(row.seats),
        "reported": f"{vn_int(row.areas_reported)}/{vn_int(row.areas_total)}",
        "turnout": pct_text(row.turnout_pct),
        "status": _styled(row.status, lang),
        "final": "" if f is None else f"{f.seats_filled}/{f.seats} {_styled(f.status, lang)}",
        # Every winner by name; while partial, who leads so far (marked ▸).
        "winners": Text(", ".join(row.winners))
        if row.winners
        else Text("▸ " + ", ".join(row.leading), style="italic")
        if row.leading
        else Text(""),
    }
    return [every[k] for k in keys]


class ConstituencyTable(PagedTable):
    def __init__(self, lang: Lang, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lang = lang
        self.column_layout: list[tuple[str, int]] = []
        self.shown: dict[str, ConstituencyRow] = {}

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.column_layout]

    def _wanted_layout(self) -> list[tuple[str, int]]:
        width = self.size.width or self.app.size.width
        return columns_for(width)

    def on_resize(self) -> None:
        if self._wanted_layout() != self.column_layout:
            self.rebuild(self.shown, self.lang)

    def rebuild(self, rows: Mapping[str, ConstituencyRow], lang: Lang | None = None) -> None:
        """Show ``rows`` (one page, in the server's order), from scratch."""
        cursor = self.cursor_row
        layout = self._wanted_layout()
        if (
            (lang is not None and lang != self.lang)
            or layout != self.column_layout
            or not self.columns
        ):
            self.lang = lang or self.lang
            self.column_layout = layout
            self.clear(columns=True)
            for key, width in layout:
                self.add_column(t(LABELS[key], self.lang), key=key, width=width)
        else:
            self.clear()
        self.shown = {}
        for row in list(rows.values()):
            self._add(row)
        self.place_cursor(cursor)

    def _add(self, row: ConstituencyRow) -> None:
        cells = row_cells(row, self.lang, self.keys)
        # Every winner and the whole name, on as many lines as they take.
        height = None if self._wraps(row) else 1
        self.add_row(*cells, key=row.key, height=height)
        self.shown[row.key] = row

    def apply(self, rows: Mapping[str, ConstituencyRow], keys: Iterable[str]) -> int:
        """Bring the rows named by ``keys`` up to date; returns cells written."""
        written = 0
        for key in keys:
            row = rows.get(key)
            shown = self.shown.get(key)
            if row is None or shown is None or shown == row:
                continue
            if self._wraps(row) and not self._wraps(shown):
                # more names than one line holds: the row grows, so lay the page out again
                self.rebuild(rows)
                return len(self.keys)
            old = row_cells(shown, self.lang, self.keys)
            new = row_cells(row, self.lang, self.keys)
            for col, before, after in zip(self.keys, old, new, strict=True):
                if before != after:
                    self.update_cell(key, col, after, update_width=False)
                    written += 1
            self.shown[key] = row
        return written

    def _wraps(self, row: ConstituencyRow) -> bool:
        """Whether the row needs more than one line: its winners or its name (with
        the round before it) are longer than their columns."""
        widths = dict(self.column_layout)
        names = ", ".join(row.winners or row.leading)
        named = len(row.name) + (14 if row.final is not None or row.round != "main" else 0)
        return len(names) + 2 > widths.get("winners", 0) or named > widths.get("name", 0)

    def selected_key(self) -> str | None:
        if not self.shown or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
