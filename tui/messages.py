"""Messages the workers post back to the app and its screens."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from schemas import read
from schemas.errors import KiemphieuError
from tally_server.core.definition import Election
from tui.model import ConstituencyRow, Page, Progress


class FeedEventsReceived(Message):
    """Events from the server's WebSocket feed wait in the app's buffer."""


class ConnectionChanged(Message):
    """The feed connected, or dropped and will retry in ``retry_in`` seconds."""

    def __init__(self, state: str, retry_in: float | None) -> None:
        super().__init__()
        self.state = state
        self.retry_in = retry_in


class ElectionLoaded(Message):
    def __init__(self, election: Election) -> None:
        super().__init__()
        self.election = election


class DataLoaded(Message):
    """A fresh read of progress, a page of constituencies, of alerts, of missing
    areas (any may be None)."""

    def __init__(
        self,
        progress: Progress | None = None,
        rows: tuple[list[ConstituencyRow], Page] | None = None,
        alerts: read.AlertsPage | None = None,
        missing: read.MissingAreas | None = None,
        *,
        final: bool = True,
    ) -> None:
        super().__init__()
        self.progress = progress
        self.rows = rows
        self.alerts = alerts
        self.missing = missing
        self.final = final
        """False for the rows sent ahead of the rest of the same refresh."""


class DetailLoaded(Message):
    """One constituency or polling area as read, for the screen showing it."""

    def __init__(
        self, kind: str, key: str, doc: read.ConstituencyDetail | read.PollingAreaView
    ) -> None:
        super().__init__()
        self.kind = kind
        self.key = key
        self.doc = doc


class SheetWritten(Message):
    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = paths


class Reviewed(Message):
    def __init__(self, alert_id: str) -> None:
        super().__init__()
        self.alert_id = alert_id


class WorkFailed(Message):
    """A worker hit an error a person must see."""

    def __init__(self, what: str, error: KiemphieuError) -> None:
        super().__init__()
        self.what = what
        self.error = error


class PageWanted(Message):
    """The cursor went past the page shown: the next (``step`` 1) or the previous
    (``step`` -1) page of the list is wanted."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step
