"""The election committee's dashboard: a Textual app fed live by the server's feed.

Three modes (overview, constituencies, alerts), each a stack onto which the
drill-down screens (one constituency, one polling area) are pushed. Every read
runs in a worker that posts a message back; the feed worker keeps one
WebSocket open for the app's whole life.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, TypeVar

import msgspec
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal

from schemas import codec, read
from schemas.errors import KiemphieuError
from schemas.models import ElectionDefinition
from tally_server.core.definition import Election
from tui.bindings import LangBindings, bilingual
from tui.client import ApiClient, Feed
from tui.commands import ConstituencyCommands
from tui.labels import Lang, t
from tui.messages import (
    ConnectionChanged,
    DataLoaded,
    ElectionLoaded,
    FeedEventsReceived,
    SheetWritten,
    WorkFailed,
)
from tui.model import (
    PAGE,
    ConstituencyRow,
    Page,
    Progress,
    Store,
    alerts_from,
    missing_from,
    progress_from,
    rows_from,
)
from tui.screens.alerts import AlertsScreen
from tui.screens.constituencies import ConstituenciesScreen
from tui.screens.missing import MissingScreen
from tui.screens.overview import OverviewScreen

T = TypeVar("T")

MANY_COMMITTEES = 200
TOP_LEVELS = ("national", "province")
EVERYTHING = frozenset({"progress", "rows", "alerts", "missing"})


def _election(raw: bytes) -> Election:
    return Election.from_definition(codec.decode(raw, ElectionDefinition))


class Change:
    """What the ``changed`` signal carries: which parts of the store moved."""

    def __init__(
        self,
        *,
        progress: bool = False,
        rows: Iterable[str] = (),
        rows_reset: bool = False,
        alerts: bool = False,
        missing: bool = False,
        connection: bool = False,
        event: read.FeedEvent | None = None,
        lang: bool = False,
    ) -> None:
        self.progress = progress
        self.rows = frozenset(rows)
        self.rows_reset = rows_reset
        self.alerts = alerts
        self.missing = missing
        self.connection = connection
        self.event = event
        self.lang = lang


class DashboardApp(LangBindings, App[None]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "Kiểm phiếu"
    COMMANDS = App.COMMANDS | {ConstituencyCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {
        "overview": OverviewScreen,
        "constituencies": ConstituenciesScreen,
        "alerts": AlertsScreen,
        "missing": MissingScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *bilingual("o", "switch_mode('overview')", "overview"),
        *bilingual("c", "switch_mode('constituencies')", "constituencies"),
        *bilingual("a", "switch_mode('alerts')", "alerts"),
        *bilingual("m", "switch_mode('missing')", "missing_short", show=False),
        *bilingual("l", "toggle_language", "language"),
        *bilingual("q", "quit_app", "quit"),
    ]

    lang: reactive[Lang] = reactive[Lang]("vi")

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        lang: Lang = "vi",
        projector: bool = False,
        out_dir: Path = Path("bien-ban"),
        refresh_delay: float = 0.3,
    ) -> None:
        super().__init__()
        self.set_reactive(DashboardApp.lang, lang)
        self.client = ApiClient(server, token)
        self.projector = projector
        self.out_dir = out_dir
        self.refresh_delay = refresh_delay
        self.store = Store()
        self.election: Election | None = None
        self._election_asked = False
        self.changed: Signal[Change] = Signal(self, "changed")
        self._pending: set[str] = set()
        self._refreshing = False
        self._events: list[read.FeedEvent] = []

    # --- life cycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.title = t("app_title", self.lang)
        if self.projector:
            self.sub_title = t("projector", self.lang)
        self.switch_mode("overview")
        # The definition (48 MB at national size) is read once the overview has its
        # figures (on_data_loaded): read at once, it held the first answers back.
        # The feed from where it is now (not from event 0): what came before is in
        # the reads, which follow every (re)connection.
        self.run_feed()
        self.request_refresh(set(EVERYTHING))

    async def on_unmount(self) -> None:
        await self.client.close()

    # --- actions ---------------------------------------------------------------------

    async def action_switch_mode(self, mode: str, _lang: str = "") -> None:
        await self.switch_mode(mode)

    def action_toggle_language(self, _lang: str = "") -> None:
        self.lang = "en" if self.lang == "vi" else "vi"

    async def action_quit_app(self, _lang: str = "") -> None:
        self.exit()

    def watch_lang(self, lang: Lang) -> None:
        self.title = t("app_title", lang)
        self.sub_title = t("projector", lang) if self.projector else ""
        self.refresh_bindings()
        self.changed.publish(Change(lang=True))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        lang = self.lang
        for mode in ("overview", "constituencies", "alerts", "missing"):
            yield SystemCommand(
                t(mode, lang),
                f"{t('open', lang)}: {t(mode, lang)}",
                lambda mode=mode: self.run_action(f"switch_mode('{mode}')"),
            )
        yield SystemCommand(
            t("language", lang), "Tiếng Việt / English", self.action_toggle_language
        )
        yield SystemCommand(
            t("refresh", lang),
            t("refresh", lang),
            lambda: self.request_refresh(set(EVERYTHING)),
        )

    # --- loading -------------------------------------------------------------------------

    @work(exclusive=True, group="election")
    async def load_election(self) -> None:
        try:
            raw = await self.client.election_bytes()
            # Off the screen's loop: a national definition (48 MB) takes seconds to
            # decode and index, and the screens show the server's figures meanwhile.
            election = await asyncio.to_thread(_election, raw)
            self.post_message(ElectionLoaded(election))
        except KiemphieuError as exc:
            self.post_message(WorkFailed("election", exc))

    def on_election_loaded(self, message: ElectionLoaded) -> None:
        self.election = message.election
        self.changed.publish(Change(progress=True, rows_reset=True))
        if self._levels() is None:
            self.request_refresh({"progress"})  # every committee, now that they are few

    def _levels(self) -> str | None:
        """The committees the overview lists: every one in a small election, else (and
        until the definition is read) the national and provincial ones."""
        if self.election is not None and len(self.election.committees) <= MANY_COMMITTEES:
            return None
        return ",".join(TOP_LEVELS)

    def request_refresh(self, parts: set[str], *, asked: bool = False) -> None:
        """Ask for a re-read; bursts of events coalesce into one read. ``asked``: the
        user asked (a page, a filter), so it goes now, not after the burst delay."""
        self._pending |= parts
        if not self._refreshing:
            self._refreshing = True
            if asked:
                self.call_later(self._start_refresh)
            else:
                self.set_timer(self.refresh_delay, self._start_refresh)

    def _start_refresh(self) -> None:
        parts, self._pending = self._pending, set()
        self.refresh_data(frozenset(parts))

    @work(exclusive=True, group="refresh")
    async def refresh_data(self, parts: frozenset[str]) -> None:
        c = self.client
        store = self.store
        rows: tuple[list[ConstituencyRow], Page] | None = None
        progress: Progress | None = None
        alerts: read.AlertsPage | None = None
        missing: read.MissingAreas | None = None
        # The page of rows first, shown as soon as it is read: at national size the
        # full progress (every committee) takes longer than a page.
        if "rows" in parts:
            got = await self._ask("rows", c.constituencies(**store.query.params(PAGE)))
            if got is not None:
                rows = (rows_from(got), Page(got.offset, got.total))
                self.post_message(DataLoaded(rows=rows, final=False))
                rows = None
                await asyncio.sleep(0)  # let the app show them first
        asks: list[Awaitable[object]] = []
        if "progress" in parts:
            asks.append(self._ask("progress", c.progress(self._levels())))
        if "alerts" in parts and store.alerts_allowed:
            asks.append(
                self._ask(
                    "alerts",
                    c.alerts(
                        store.alert_kind,
                        None if store.show_reviewed else False,
                        offset=store.alerts_page.offset,
                        limit=PAGE,
                        newest=True,
                    ),
                )
            )
        if "missing" in parts:
            asks.append(
                self._ask(
                    "missing",
                    c.missing(
                        store.missing_committee, offset=store.missing_page.offset, limit=PAGE
                    ),
                )
            )
        for answer in await asyncio.gather(*asks):
            if isinstance(answer, read.Progress):
                progress = progress_from(answer)
            elif isinstance(answer, read.AlertsPage):
                alerts = answer
            elif isinstance(answer, read.MissingAreas):
                missing = answer
        self.post_message(DataLoaded(progress, rows, alerts, missing))

    async def _ask(self, what: str, answer: Awaitable[T]) -> T | None:
        """A read's answer; a failure is reported (None), not raised (but bugs are)."""
        try:
            return await answer
        except KiemphieuError as exc:
            if what == "alerts" and exc.figures.get("status") in (401, 403):
                self.store.alerts_allowed = False
                self.changed.publish(Change(alerts=True))
            else:
                self.post_message(WorkFailed(what, exc))
            return None

    def on_data_loaded(self, message: DataLoaded) -> None:
        store = self.store
        change_progress = change_alerts = change_missing = reset = False
        keys: set[str] = set()
        store.updated_at = dt.datetime.now(dt.UTC)
        if message.progress is not None and message.progress != store.progress:
            store.progress = message.progress
            change_progress = True
        if message.progress is not None and not self._election_asked:
            self._election_asked = True
            self.load_election()
        if message.rows is not None:
            rows, page = message.rows
            diff = store.apply_rows(rows)
            reset = bool(diff.added or diff.removed) or page != store.rows_page
            store.rows_page = page
            keys = {r.key for r in diff.changed}
        if message.alerts is not None:
            doc = message.alerts
            store.alert_counts = {k.kind: (k.total, k.open) for k in doc.counts}
            page = Page(doc.offset, doc.total)
            if store.alert_kind == "silent_station":
                page = Page(doc.offset, doc.silent_total)
                shown = [a for a in alerts_from(doc) if a.kind == "silent_station"]
            else:
                shown = alerts_from(msgspec.structs.replace(doc, silent_stations=[]))
            change_alerts = store.apply_alerts(shown) or page != store.alerts_page
            store.alerts_page = page
            change_alerts = True
        if message.missing is not None:
            doc_m = message.missing
            store.missing = missing_from(doc_m)
            store.missing_page = Page(doc_m.offset, doc_m.total)
            store.missing_silent = doc_m.silent_total
            store.missing_no_station = doc_m.no_station_total
            change_missing = True
        if change_progress or keys or reset or change_alerts or change_missing:
            self.changed.publish(
                Change(
                    progress=change_progress,
                    rows=keys,
                    rows_reset=reset,
                    alerts=change_alerts,
                    missing=change_missing,
                )
            )
        if not message.final:
            return  # the rest of this refresh is on its way
        if self._pending:
            self.set_timer(self.refresh_delay, self._start_refresh)
        else:
            self._refreshing = False

    # --- the feed ------------------------------------------------------------------------

    @work(exclusive=True, group="feed")
    async def run_feed(self) -> None:
        async def on_event(event: read.FeedEvent) -> None:
            # a burst (the replay after a reconnection) is handed over in one message
            self._events.append(event)
            if len(self._events) == 1:
                self.post_message(FeedEventsReceived())

        async def on_state(state: str, retry_in: float | None) -> None:
            self.post_message(ConnectionChanged(state, retry_in))

        feed = Feed(self.client, on_event, on_state, since=self.store.last_event_id)
        await feed.run()

    def on_feed_events_received(self, _message: FeedEventsReceived) -> None:
        events, self._events = self._events, []
        if not events:
            return
        store = self.store
        parts: set[str] = set()
        latest_progress: read.Progress | None = None
        for event in events:
            store.last_event_id = event.id
            store.events_seen += 1
            if isinstance(event, read.ProgressEvent):
                latest_progress = event.data
            elif isinstance(event, read.BatchAcceptedEvent | read.CorrectionEvent):
                parts |= {"rows", "missing"}
            if isinstance(event, read.AlertEvent | read.CorrectionEvent):
                parts.add("alerts")
        if latest_progress is not None:
            fresh = progress_from(latest_progress)
            old = store.progress
            # the event leaves committees and stations out; keep the last read of them
            store.progress = replace(
                fresh,
                committees=old.committees if old else (),
                stations=old.stations if old else None,
            )
        if parts or latest_progress is not None:
            parts.add("progress")  # the committees' figures
            self.request_refresh(parts)
        self.changed.publish(Change(progress=latest_progress is not None, event=events[-1]))

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.store.connection = message.state
        self.store.retry_in = message.retry_in
        if message.state == "connected":
            # what happened before this connection (or while away) is in the reads
            self.request_refresh(set(EVERYTHING))
        self.changed.publish(Change(connection=True))

    def show_missing(self, committee_id: str | None) -> None:
        """The missing areas screen, scoped to one committee."""

        async def go() -> None:
            await self.switch_mode("missing")
            screen = self.screen
            if isinstance(screen, MissingScreen):
                screen.show_committee(committee_id)

        self.call_later(go)

    # --- errors and sheets -------------------------------------------------------------

    @on(WorkFailed)
    def show_failure(self, message: WorkFailed) -> None:
        err = message.error
        text = err.message_vi if self.lang == "vi" else err.message_en
        self.notify(f"[{err.code}] {text}", title=t("error", self.lang), severity="error")

    @on(SheetWritten)
    def show_sheet(self, message: SheetWritten) -> None:
        names = ", ".join(str(p) for p in message.paths)
        self.notify(names, title=t("printed", self.lang), timeout=8)

    @work(exclusive=True, group="print")
    async def print_sheets(self, target: str, **ids: str) -> None:
        """Write the sheet(s) for ``target``: constituency, polling_area or summary."""
        from tui.pdf import printing

        try:
            source = await printing.source_from_server(self.client)
            if target == "constituency":
                # 19/HĐBC-QH's table per commune needs the areas' own minutes.
                await printing.add_constituency_minutes(
                    self.client, source, ids["race_id"], ids["constituency_id"]
                )
                paths = [
                    await asyncio.to_thread(
                        printing.print_constituency,
                        source,
                        ids["race_id"],
                        ids["constituency_id"],
                        self.out_dir,
                    )
                ]
            elif target == "polling_area":
                doc = await self.client.polling_area(ids["polling_area_id"])
                minutes = printing.minutes_from_area(doc)
                source.corrections.update(printing.corrections_from_area(doc))
                paths = [
                    await asyncio.to_thread(
                        printing.print_polling_area,
                        source,
                        ids["polling_area_id"],
                        None,
                        self.out_dir,
                        minutes,
                    )
                ]
            else:
                paths = await asyncio.to_thread(printing.print_summaries, source, self.out_dir)
            self.post_message(SheetWritten(paths))
        except KiemphieuError as exc:
            self.post_message(WorkFailed("print", exc))
