"""Bearer tokens for the committee: shown once, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

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


def create(conn: sqlite3.Connection, role: str, name: str = "") -> tuple[Token, str]:
    """A new token of ``role``; the secret is returned here and never again."""
    if role not in RANK:
        raise ValueError(f"role must be one of {ROLES}")
    secret = PREFIX + secrets.token_urlsafe(32)
    at = _now()
    cur = conn.execute(
        "INSERT INTO tokens (hash, role, name, created_at) VALUES (?, ?, ?, ?)",
        (_hash(secret), role, name, at),
    )
    assert cur.lastrowid is not None
    return Token(cur.lastrowid, role, name, at, None), secret


def revoke(conn: sqlite3.Connection, token_id: int) -> bool:
    cur = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now(), token_id)
    )
    return cur.rowcount == 1


def all_tokens(conn: sqlite3.Connection) -> list[Token]:
    return [
        Token(*row)
        for row in conn.execute(
            "SELECT id, role, name, created_at, revoked_at FROM tokens ORDER BY id"
        )
    ]


def lookup(conn: sqlite3.Connection, secret: str) -> Token | None:
    """The live token with this secret, if any."""
    row = conn.execute(
        "SELECT id, role, name, created_at, revoked_at FROM tokens "
        "WHERE hash = ? AND revoked_at IS NULL",
        (_hash(secret),),
    ).fetchone()
    return None if row is None else Token(*row)
