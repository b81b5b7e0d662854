"""Bearer tokens for the committee: shown once, stored only as their SHA-256.

Administration, not the ingest hot path: it goes through sqlite-utils.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlite_utils

ROLES = ("viewer", "operator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
PREFIX = "kpt_"


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    role: str
    name: str
    created_at: str
    revoked_at: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(conn: sqlite3.Connection) -> Any:
    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    return db["tokens"]


def _token(row: dict[str, Any]) -> Token:
    return Token(row["id"], row["role"], row["name"], row["created_at"], row["revoked_at"])


def create(conn: sqlite3.Connection, role: str, name: str = "") -> tuple[Token, str]:
    """A new token of ``role``; the secret is returned here and never again."""
    if role not in RANK:
        raise ValueError(f"role must be one of {ROLES}")
    secret = PREFIX + secrets.token_urlsafe(32)
    at = _now()
    table = _table(conn).insert(
        {"hash": _hash(secret), "role": role, "name": name, "created_at": at}
    )
    return Token(int(table.last_pk), role, name, at, None), secret


def revoke(conn: sqlite3.Connection, token_id: int) -> bool:
    table = _table(conn)
    if not any(table.rows_where("id = ? AND revoked_at IS NULL", [token_id], limit=1)):
        return False
    table.update(token_id, {"revoked_at": _now()})
    return True


def all_tokens(conn: sqlite3.Connection) -> list[Token]:
    return [_token(row) for row in _table(conn).rows_where(order_by="id")]


def lookup(conn: sqlite3.Connection, secret: str) -> Token | None:
    """The live token with this secret, if any."""
    for row in _table(conn).rows_where("hash = ? AND revoked_at IS NULL", [_hash(secret)], limit=1):
        return _token(row)
    return None
