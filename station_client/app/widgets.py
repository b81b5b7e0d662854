"""Small widgets and the language-aware bindings the app's screens share."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.widgets import Input, Static

from station_client.app.words import W
from tally_server.core.glossary import LANGS

if TYPE_CHECKING:
    from station_client.app.app import StationApp

_FIGURE_KEYS = frozenset("0123456789. ")


def both(key: str, action: str, word: str, *, show: bool = True) -> list[Binding]:
    """One binding per language, the Footer showing the chosen one's label.

    (The dashboard has the same idea in tui/bindings.py; the station client may
    not import tui, and this is the few lines it needs.)"""
    return [Binding(key, f"{action}('{lang}')", W[word].of(lang), show=show) for lang in LANGS]


class LangScreenMixin:
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = cast("StationApp", getattr(self, "app", self))
        if parameters and isinstance(parameters[-1], str) and parameters[-1] in LANGS:
            return parameters[-1] == app.lang
        return True


class FigureInput(Input):
    """An input for a figure: takes digits, '.' and spaces (1.238 or 1238); every
    other key goes on to the screen, so 'l' still switches the language."""

    def __init__(self, *args: object, extra: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._keys = _FIGURE_KEYS | frozenset(extra)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self._keys

    async def _on_key(self, event: object) -> None:
        from textual import events

        assert isinstance(event, events.Key)
        if event.is_printable and (event.character or "") not in self._keys:
            event.prevent_default()


class SendLine(Static):
    """The sending status in plain words, the same on every screen."""

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        app = cast("StationApp", self.app)
        self.update(app.send_text())
