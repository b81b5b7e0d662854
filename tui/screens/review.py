"""Asks the operator for a review note, then hands it back (Escape cancels)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tui.labels import Lang, t
from tui.model import AlertRow


class ReviewScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]

    def __init__(self, alert: AlertRow, lang: Lang) -> None:
        super().__init__()
        self.alert = alert
        self.lang = lang

    def compose(self) -> ComposeResult:
        a = self.alert
        message = a.message_vi if self.lang == "vi" else a.message_en
        with Vertical(id="review-box"):
            yield Label(f"[b]{t('review', self.lang)}[/b] #{a.id} — {a.kind} {' '.join(a.codes)}")
            yield Label(message or "")
            yield Input(placeholder=t("note", self.lang), id="note")

    @on(Input.Submitted, "#note")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
