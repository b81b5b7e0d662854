"""The polling team's app: enter the minutes twice, check, sign, send, keep receipts.

Vietnamese first (``l`` switches), 80×24, keyboard only. Runs on the same
station folder, drafts, outbox and delivery as the line-prompt commands.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import ClassVar

import aiohttp
from textual.app import App
from textual.binding import BindingType
from textual.reactive import reactive

from schemas.errors import KiemphieuError
from station_client.app.model import EntryModel
from station_client.app.screens import (
    DiffScreen,
    EntryScreen,
    HandoverScreen,
    HomeScreen,
    ReviewScreen,
    SignedScreen,
    TextDialog,
)
from station_client.app.widgets import LangScreenMixin, SendLine
from station_client.app.words import w
from station_client.delivery import Deliverer, Outcome, Transport, make_ssl_context
from station_client.entry import plan_entry
from station_client.errors import ClientError
from station_client.lineage import Lineage
from station_client.outbox import StoredBatch
from station_client.printout import write_copy
from station_client.station import Station
from tally_server.core.glossary import Lang

_WHY = {"P302": "why_tls", "P303": "why_slow", "P304": "why_connect"}


class StationApp(LangScreenMixin, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Kiểm phiếu"
    ENABLE_COMMAND_PALETTE = False  # its words are English only
    BINDINGS: ClassVar[list[BindingType]] = []

    lang: reactive[Lang] = reactive("vi")

    def __init__(
        self,
        station: Station,
        *,
        server: str | None = None,
        timeout: float = 20.0,
        retry_every: float = 15.0,
    ) -> None:
        super().__init__()
        self.station = station
        cert, ca = station.tls_files()
        self.transport = Transport(
            base_url=server or station.config.server_url,
            ssl_context=make_ssl_context(cert, ca),
            timeout=timeout,
            connect_timeout=min(timeout, 10.0),
            # --server is this run's one address; otherwise init's, the standby after.
            standby_urls=() if server else tuple(station.config.standby_urls),
        )
        self.retry_every = retry_every
        self.model: EntryModel | None = None
        self.handed_over = False
        self.send_state: tuple[str, dict[str, str]] = ("st_idle", {})

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        if self.station.outbox.pending(self.station.station_id):
            self.action_send_now()

    # --- language ------------------------------------------------------------------

    def action_toggle_lang(self, _lang: str = "") -> None:
        self.lang = "en" if self.lang == "vi" else "vi"

    def watch_lang(self) -> None:
        for screen in self.screen_stack:
            relabel = getattr(screen, "relabel", None)
            if relabel is not None and screen.is_mounted:
                relabel()
        self.refresh_bindings()

    def action_quit_app(self, _lang: str = "") -> None:
        self.exit()

    # --- the entry flow ------------------------------------------------------------

    def start_entry(self, race_ids: Sequence[str], *, correction: bool) -> None:
        try:
            plan, _notes = plan_entry(self.station, race_ids=race_ids, correction=correction)
        except ClientError as exc:
            self.notify(exc.message_vi if self.lang == "vi" else exc.message_en, severity="error")
            return
        if not plan.races:
            key = "already_signed" if race_ids else "nothing_to_enter"
            self.notify(w(key, self.lang), severity="warning")
            return
        self.model = EntryModel(self.station, plan)
        self.handed_over = False
        if correction and not self.model.reason():
            model = self.model

            def got(reason: object) -> None:
                if isinstance(reason, str) and reason:
                    model.set_reason(reason)
                    self.flow_next()

            self.push_screen(TextDialog(w("reason_title", self.lang), ""), got)
            return
        self.flow_next()

    def _show(self, screen: object) -> None:
        # Each step replaces the one before: official A's form is gone (not kept
        # under B's) before B starts, and the terminal's alternate screen keeps
        # nothing in the scrollback.
        from textual.screen import Screen

        assert isinstance(screen, Screen)
        if isinstance(self.screen, HomeScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def flow_next(self) -> None:
        model = self.model
        if model is None:
            return
        race = model.next_race("A")
        if race is not None:
            self._show(EntryScreen(model, race, "A"))
            return
        race = model.next_race("B")
        if race is not None:
            started = any(model.draft(r.id, "B") for r in model.plan.races)
            if not (self.handed_over or started):
                self._show(HandoverScreen())
                return
            self._show(EntryScreen(model, race, "B"))
            return
        if model.differences():
            self._show(DiffScreen(model))
            return
        self._show(ReviewScreen(model))

    def action_leave_flow(self, _lang: str = "") -> None:
        self.leave_flow()

    def leave_flow(self) -> None:
        self.model = None
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def signed(self, batch: StoredBatch) -> None:
        self.model = None
        self._show(SignedScreen(batch))
        self.action_send_now()

    # --- sending -------------------------------------------------------------------

    def send_text(self) -> str:
        key, values = self.send_state
        values = {k: w(v, self.lang) if v.startswith("why_") else v for k, v in values.items()}
        return w(key, self.lang, **values)

    def _set_send(self, key: str, **values: str) -> None:
        self.send_state = (key, values)
        for screen in self.screen_stack:
            for line in screen.query(SendLine):
                line.redraw()
            if hasattr(screen, "batches"):
                relabel = getattr(screen, "relabel", None)
                if relabel is not None:
                    relabel()

    def _outcome(self, _batch: StoredBatch, outcome: Outcome) -> None:
        if outcome.kind == "delivered" and outcome.standby:
            self._set_send("st_sent_standby", server=outcome.server or "")
        elif outcome.kind == "delivered":
            self._set_send("st_sent")
        elif outcome.kind == "retry":
            code = str((outcome.error or {}).get("code", ""))
            self._set_send("st_retry", why=_WHY.get(code, "why_busy"))
        else:
            why = {"rejected": "why_findings", "conflict": "why_conflict"}.get(
                outcome.kind, "why_refused"
            )
            self._set_send("st_not_accepted", why=why)

    def action_send_now(self, _lang: str = "") -> None:
        self.run_worker(self._send_loop(), exclusive=True, group="send")

    async def _send_loop(self) -> None:
        """Send what is pending, one try each; while anything is left, try again every
        ``retry_every`` seconds for as long as the app is open."""
        from station_client.errors import ReceiptError

        sid = self.station.station_id
        lineage = Lineage(self.station.outbox, self.transport, sid)

        async def moved(session: aiohttp.ClientSession) -> bool:
            # The server moved to sees our receipts before any batch (as sync does):
            # a standby that lacks acknowledged ones records it; they go first.
            losses = await lineage.check(session)
            waiting, _ = await lineage.report(session)
            if losses:
                self.notify(w("lost_on_move", self.lang, n=str(len(losses))), severity="error")
            return bool(losses or waiting)

        deliverer = Deliverer(
            self.station.outbox,
            self.transport,
            self.station.server_key,
            self.station.config.election_id,
            report=self._outcome,
            on_move=moved,
        )
        while self.station.outbox.pending(sid):
            self._set_send("st_sending")
            try:
                # deadline now: one try per batch here; this loop does the waiting.
                await deliverer.drain(sid, deadline=time.monotonic())
            except ReceiptError:
                self._set_send("st_retry", why="why_receipt")
            if self.station.outbox.pending(sid):
                await asyncio.sleep(self.retry_every)

    def print_copy(self, sequence: int) -> None:
        """The one place the app makes the printed copy (station_client.printout)."""
        batch = self.station.outbox.get(self.station.station_id, sequence)
        if batch is None or batch.receipt is None:
            self.notify(w("print_unsent", self.lang), severity="warning")
            return
        try:
            path = write_copy(self.station, batch.sequence)
        except KiemphieuError as exc:
            self.notify(exc.message_vi if self.lang == "vi" else exc.message_en, severity="error")
            return
        except OSError as exc:  # a full disk, a folder not writable: the batch is kept
            self.notify(f"{w('print_failed', self.lang)} {exc.strerror}", severity="error")
            return
        self.notify(w("printed", self.lang, path=str(path)))
