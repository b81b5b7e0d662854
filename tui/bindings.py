"""Bindings whose Footer label follows the chosen language.

Each binding exists once per language; the action carries the language as
its last parameter and ``LangBindings.check_action`` hides the one that
does not match, so the Footer shows 'Tổng quan' or 'Overview'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding

from tui.labels import UI, Lang

if TYPE_CHECKING:
    from tui.app import DashboardApp

LANGS: tuple[Lang, ...] = ("vi", "en")


def _with_lang(action: str, lang: str) -> str:
    if action.endswith(")"):
        inner = action[action.index("(") + 1 : -1]
        sep = ", " if inner.strip() else ""
        return f"{action[:-1]}{sep}'{lang}')"
    return f"{action}('{lang}')"


def bilingual(
    key: str, action: str, label: str, *, show: bool = True, priority: bool = False
) -> list[Binding]:
    """Two bindings of ``key`` to ``action``, labelled ``UI[label]`` in each language."""
    words = UI[label]
    return [
        Binding(key, _with_lang(action, lang), words.of(lang), show=show, priority=priority)
        for lang in LANGS
    ]


def lang_allows(parameters: tuple[object, ...], lang: str) -> bool:
    """False for the binding of the other language."""
    if parameters and isinstance(parameters[-1], str) and parameters[-1] in LANGS:
        return parameters[-1] == lang
    return True


class LangBindings:
    """Mixin for screens and the app: hide the other language's bindings, and
    in projector mode every operator action."""

    OPERATOR_ACTIONS: frozenset[str] = frozenset({"review", "print"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = cast("DashboardApp", getattr(self, "app", self))
        if not lang_allows(parameters, app.lang):
            return False
        if getattr(app, "projector", False) and action in self.OPERATOR_ACTIONS:
            return False
        return True
