"""Bearer tokens for the committee: shown once, stored only as their SHA-256, and
valid until their expiry.

Administration, not the ingest hot path: it goes through sqlite-utils.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from tally_server.store import db

ROLES = ("viewer", "operator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
PREFIX = "kpt_"

VIETNAM = dt.timezone(dt.timedelta(hours=7), "UTC+07:00")
"""The election's clock (Vietnam keeps no daylight saving)."""
MARGIN_DAYS = 8
"""A token made before the election lasts to the end of the day after election day
plus 7 days (Vietnam time): long enough for corrections and the committees'
minutes, short enough that a token left on a laptop dies with the count."""
LATE = dt.timedelta(hours=24)
"""The least a token made without an expiry lasts (one made after the election)."""


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    role: str
    name: str
    created_at: str
    revoked_at: str | None
    expires_at: str
    """UTC, ``YYYY-MM-DDTHH:MM:SSZ``."""

    @property
    def actor(self) -> str:
        """Who used it, as the ledger records it: its name and public id, never the secret."""
        return f"{self.name or 'token'}#{self.id}"

    def expired(self, now: dt.datetime | None = None) -> bool:
        return parse_time(self.expires_at) <= (now or dt.datetime.now(dt.UTC))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _now() -> str:
    return format_time(dt.datetime.now(dt.UTC))


def default_expiry(election_date: dt.date | None, now: dt.datetime | None = None) -> dt.datetime:
    """The later of: the end of election day + ``MARGIN_DAYS`` in Vietnam time, and
    ``LATE`` from now (a token made after the election, or with no date known)."""
    now = now or dt.datetime.now(dt.UTC)
    late = (now + LATE).replace(microsecond=0)
    if election_date is None:
        return late
    end = dt.datetime.combine(
        election_date + dt.timedelta(days=MARGIN_DAYS + 1), dt.time(), VIETNAM
    )
    return max(end, late)


def _table(conn: sqlite3.Connection) -> Any:
    return db.utils(conn)["tokens"]


def _token(row: dict[str, Any]) -> Token:
    return Token(
        row["id"], row["role"], row["name"], row["created_at"], row["revoked_at"], row["expires_at"]
    )


def _election_date(conn: sqlite3.Connection) -> dt.date | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'election_date'").fetchone()
    return None if row is None else dt.date.fromisoformat(row[0])


def create(
    conn: sqlite3.Connection, role: str, name: str = "", expires_at: dt.datetime | None = None
) -> tuple[Token, str]:
    """A new token of ``role``; the secret is returned here and never again.
    ``expires_at``: by default ``default_expiry`` of the folder's election."""
    if role not in RANK:
        raise ValueError(f"role must be one of {ROLES}")
    if expires_at is None:
        expires_at = default_expiry(_election_date(conn))
    secret = PREFIX + secrets.token_urlsafe(32)
    at, until = _now(), format_time(expires_at)
    table = _table(conn).insert(
        {"hash": _hash(secret), "role": role, "name": name, "created_at": at, "expires_at": until}
    )
    return Token(int(table.last_pk), role, name, at, None, until), secret


def revoke(conn: sqlite3.Connection, token_id: int) -> bool:
    table = _table(conn)
    if not any(table.rows_where("id = ? AND revoked_at IS NULL", [token_id], limit=1)):
        return False
    table.update(token_id, {"revoked_at": _now()})
    return True


def all_tokens(conn: sqlite3.Connection) -> list[Token]:
    return [_token(row) for row in _table(conn).rows_where(order_by="id")]


def lookup(conn: sqlite3.Connection, secret: str) -> Token | None:
    """The token with this secret, unless revoked (expired ones too: the caller says so)."""
    for row in _table(conn).rows_where("hash = ? AND revoked_at IS NULL", [_hash(secret)], limit=1):
        return _token(row)
    return None
