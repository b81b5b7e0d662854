"""Strict decoding and deterministic encoding of wire documents."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeVar

import msgspec

from schemas.errors import DecodeError

T = TypeVar("T")

_encoder = msgspec.json.Encoder(order="deterministic")


def encode(record: Any) -> bytes:
    """Compact JSON in field order: the form that is signed and stored."""
    return _encoder.encode(record)


def encode_pretty(record: Any) -> bytes:
    return msgspec.json.format(encode(record), indent=2)


def to_builtins(record: Any) -> Any:
    return msgspec.to_builtins(record)


def decode(data: bytes | str, kind: type[T]) -> T:
    """Decode JSON into ``kind`` strictly: no coercion of strings to numbers,
    no floats for counts, no unknown fields, every text in NFC."""
    try:
        value = msgspec.json.decode(data, type=kind, strict=True)
    except msgspec.ValidationError as exc:
        raise DecodeError(
            f"The document does not match the {kind.__name__} schema: {exc}",
            f"Tài liệu không đúng lược đồ {kind.__name__}: {exc}",
            figures={"detail": str(exc)},
        ) from exc
    except msgspec.DecodeError as exc:
        raise DecodeError(
            f"Not well-formed JSON: {exc}",
            f"JSON không hợp lệ: {exc}",
            figures={"detail": str(exc)},
        ) from exc
    if not plain_text(data):
        check_text(value)
    return value


_MAYBE_DIRTY = re.compile(
    # Anything outside ASCII printables, whitespace and the blocks Vietnamese text is
    # written in (Latin-1 letters, Latin Extended-A/B, Latin Extended Additional,
    # combining diacritics, dashes and quotes) gets a closer look.
    "[^\t\n\r\x20-\x7e\u00a0-\u00ac\u00ae-\u024f\u0300-\u036f"
    "\u1e00-\u1eff\u2010-\u2027\u2030-\u205e]"
)
_CLEAN_CHARS: set[str] = set()
"""Characters seen to be neither control nor format characters (grows as text comes)."""


def plain_text(data: bytes | str) -> bool:
    """Whether every string in this well-formed JSON text is NFC and free of control
    characters, judged on the whole text at once (what ``check_text`` would find,
    ~50 times faster on a national definition); False means "look closer".

    Sound because JSON strings sit between quotes, which never compose with a
    neighbour, so NFC of the whole text is NFC of every string; raw C0 control
    characters can only be the whitespace between tokens (JSON forbids them in
    strings), while DEL and C1 controls may appear raw and are looked for.
    Escapes could hide anything, so any backslash means "look closer".
    """
    if isinstance(data, bytes):
        if b"\\" in data:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    else:
        text = data
        if "\\" in text:
            return False
    if text.isascii():
        # DEL is the one control character JSON allows unescaped in ASCII text.
        return "\x7f" not in text
    if not unicodedata.is_normalized("NFC", text):
        return False
    if _MAYBE_DIRTY.search(text) is None:
        return True
    for ch in set(_MAYBE_DIRTY.findall(text)) - _CLEAN_CHARS:
        if is_control(ch):
            return False
        _CLEAN_CHARS.add(ch)
    return True


def convert(obj: Any, kind: type[T]) -> T:
    """Build a typed record from Python builtins (for example parsed CSV)."""
    try:
        value = msgspec.convert(obj, type=kind, strict=False)
    except msgspec.ValidationError as exc:
        raise DecodeError(
            f"The data does not match the {kind.__name__} schema: {exc}",
            f"Dữ liệu không đúng lược đồ {kind.__name__}: {exc}",
            figures={"detail": str(exc)},
        ) from exc
    check_text(value)
    return value


def is_control(ch: str) -> bool:
    """A control or format character; tab and newline are allowed in free text."""
    return unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t"


def check_text(record: Any, path: str = "$") -> None:
    """Reject text that is not NFC or holds control characters.

    Signed bytes cannot be normalised after the fact, so a sender must send
    NFC; ``nfc`` below is what the entry points use before signing.
    """
    if isinstance(record, str):
        # Fast path: printable text has no control or format characters.
        if not record.isprintable() and any(is_control(ch) for ch in record):
            raise DecodeError(
                f"Text at {path} contains a control character.",
                f"Văn bản tại {path} chứa ký tự điều khiển.",
                fields=(path,),
            )
        if not unicodedata.is_normalized("NFC", record):
            raise DecodeError(
                f"Text at {path} is not in Unicode NFC; normalise it before signing.",
                f"Văn bản tại {path} chưa chuẩn hoá Unicode NFC; hãy chuẩn hoá trước khi ký.",
                fields=(path,),
            )
    elif isinstance(record, msgspec.Struct):
        for name in record.__struct_fields__:
            check_text(getattr(record, name), f"{path}.{name}")
    elif isinstance(record, dict):
        for key, value in record.items():
            check_text(key, f"{path}.{key}")
            check_text(value, f"{path}.{key}")
    elif isinstance(record, list | tuple):
        for i, value in enumerate(record):
            check_text(value, f"{path}[{i}]")


def nfc(value: Any) -> Any:
    """Normalise every string inside builtins (dicts, lists) to NFC."""
    return nfc_counted(value)[0]


def nfc_counted(value: Any) -> tuple[Any, int]:
    """``nfc``, and how many strings (keys and values) it changed: a reader that
    normalises instead of refusing says what it did."""
    changed = 0

    def walk(v: Any) -> Any:
        nonlocal changed
        if isinstance(v, str):
            if unicodedata.is_normalized("NFC", v):
                return v
            changed += 1
            return unicodedata.normalize("NFC", v)
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value), changed
