"""A table that shows one page of a list the server holds (a virtual table: the
national constituency list is 35,697 rows, and a DataTable of them all took
17-27 s to open). Moving the cursor past the first or last row asks for the
page before or after; the screen reads it and shows it in place."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tally_server.core.numbers import vn_int
from tui.labels import Lang, t
from tui.messages import PageWanted
from tui.model import Page


def page_text(page: Page, shown: int, lang: Lang) -> str:
    """'Dòng 101–200 / 35.697' — where the page sits in the whole list."""
    if not page.total or not shown:
        return f"0 {t('rows', lang)}"
    last = page.offset + shown
    return f"{t('rows_cap', lang)} {vn_int(page.offset + 1)}–{vn_int(last)} / {vn_int(page.total)}"


def next_offset(page: Page, step: int, size: int) -> int | None:
    """The offset of the page ``step`` pages on, or None past either end."""
    offset = page.offset + step * size
    if offset < 0 or offset >= page.total:
        return None
    return offset


class PagedTable(DataTable[str | Text]):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.landing: str | None = None
        """Where the cursor goes on the page asked for: its first row after a page
        on ("start"), its last after a page back ("end")."""

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self._want(1)
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self._want(-1)
            return
        super().action_cursor_up()

    def action_page_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self._want(1)
            return
        super().action_page_down()

    def action_page_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self._want(-1)
            return
        super().action_page_up()

    def _want(self, step: int) -> None:
        self.landing = "start" if step > 0 else "end"
        self.post_message(PageWanted(step))

    def place_cursor(self, row: int, *, new_page: bool = True) -> None:
        """After a rebuild: where the cursor was, or, on a page just asked for, at
        its start or its end."""
        if not self.row_count:
            return
        if self.landing is not None and new_page:
            row = 0 if self.landing == "start" else self.row_count - 1
            self.landing = None
        self.move_cursor(row=min(max(row, 0), self.row_count - 1))
