"""Writes the JSON Schemas (2020-12) of the wire contract from the typed models:
what stations send (``schemas/models.py``), what the server answers
(``schemas/read.py``) and the committee's station pack (``schemas/pack.py``).

Run ``python -m schemas`` after changing either; the test suite
fails while the committed files differ from what this writes. ``--check`` only
compares; ``--out DIR`` writes elsewhere. It writes into ``schemas/json`` only in a
source checkout, never into an installed package.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from schemas.models import WIRE_TYPES
from schemas.pack import PACK_TYPES
from schemas.read import READ_TYPES

SCHEMA_DIR = Path(__file__).resolve().parent / "json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "v1"
TYPES: dict[str, object] = {**WIRE_TYPES, **READ_TYPES, **PACK_TYPES}
"""Every schema file's name and the type it is written from."""


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
    body = msgspec.json.schema(TYPES[name])
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


def _in_source_checkout() -> bool:
    return (SCHEMA_DIR.parents[1] / "pyproject.toml").is_file()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemas",
        description="Write (or check) the JSON Schemas from schemas/models.py and schemas/read.py.",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a schema file differs"
    )
    parser.add_argument(
        "--out", type=Path, help="folder to write into (default: schemas/json of this checkout)"
    )
    args = parser.parse_args(argv)
    if args.check:
        drifted = [
            path_for(name)
            for name in TYPES
            if not path_for(name).is_file() or path_for(name).read_text("utf-8") != render(name)
        ]
        for path in drifted:
            print(f"khác với models.py/read.py / differs from the types: {path}", file=sys.stderr)
        return 1 if drifted else 0
    out: Path | None = args.out
    if out is None:
        if not _in_source_checkout():
            parser.error(
                f"không ghi vào gói đã cài / will not write into an installed package "
                f"({SCHEMA_DIR}): give --out DIR"
            )
        out = SCHEMA_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name in TYPES:
        target = out / path_for(name).name
        target.write_text(render(name), encoding="utf-8")
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
