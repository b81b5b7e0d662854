"""What every dashboard screen shares: the connection bar, the Footer, bindings
labelled in the chosen language, and a subscription to the app's changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.binding import BindingType
from textual.screen import Screen

from tui.bindings import LangBindings, bilingual
from tui.labels import Lang

if TYPE_CHECKING:
    from tui.app import Change, DashboardApp


class DashboardScreen(LangBindings, Screen[None]):
    # Quit and the language first: the Footer lists a screen's keys before the app's,
    # and at 80 columns the last ones fall off the line.
    BINDINGS: ClassVar[list[BindingType]] = [
        *bilingual("q", "app.quit_app", "quit"),
        *bilingual("l", "app.toggle_language", "language"),
        *bilingual("escape", "back", "back"),
    ]

    @property
    def dash(self) -> DashboardApp:
        return cast("DashboardApp", self.app)

    @property
    def lang(self) -> Lang:
        return self.dash.lang

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back" and len(self.app.screen_stack) <= 1:
            return False
        return super().check_action(action, parameters)

    def on_mount(self) -> None:
        self.dash.changed.subscribe(self, self._on_change)
        self.refresh_all()

    def _on_change(self, change: Change) -> None:
        if change.lang:
            self.refresh_bindings()
            self.relabel()
        self.on_change(change)

    def on_screen_resume(self) -> None:
        self.refresh_bindings()
        self.refresh_all()

    # --- for subclasses --------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        """The store changed (or the language): update what is shown."""

    def relabel(self) -> None:
        """The language changed: redraw labels."""
        self.refresh_all()

    def refresh_all(self) -> None:
        """Redraw everything from the store."""

    def action_back(self, _lang: str = "") -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
