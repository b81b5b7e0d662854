"""Writes the JSON Schemas (2020-12) of the wire contract from the typed models.

Run ``python -m schemas.generate`` after changing ``schemas/models.py``; the test
suite fails while the committed files differ from what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from schemas.models import WIRE_TYPES

SCHEMA_DIR = Path(__file__).resolve().parent / "json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "v1"


def _close_objects(node: Any) -> None:
    """Structs reject unknown fields; say so in the schema as well."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def schema_for(name: str) -> dict[str, Any]:
    body = msgspec.json.schema(WIRE_TYPES[name])
    _close_objects(body)
    return {
        "$schema": DIALECT,
        "$id": f"https://kiemphieu.invalid/schemas/{name}.{VERSION}.schema.json",
        **body,
    }


def render(name: str) -> str:
    return json.dumps(schema_for(name), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def path_for(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.{VERSION}.schema.json"


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in WIRE_TYPES:
        path_for(name).write_text(render(name), encoding="utf-8")
        print(path_for(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
