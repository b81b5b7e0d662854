"""Strict decoding and deterministic encoding of wire documents."""

from __future__ import annotations

import json
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
        refuse_non_ijson(data, exc)
        raise DecodeError(
            en=f"The document does not match the {kind.__name__} schema: {exc}",
            vi=f"Tài liệu không đúng lược đồ {kind.__name__}: {exc}",
            figures={"detail": str(exc)},
        ) from exc
    except msgspec.DecodeError as exc:
        refuse_non_ijson(data, exc)
        raise DecodeError(
            en=f"Not well-formed JSON: {exc}",
            vi=f"JSON không hợp lệ: {exc}",
            figures={"detail": str(exc)},
        ) from exc
    check_ijson(data, value)
    if not plain_text(data):
        check_text(value)
    return value


# -- I-JSON (RFC 7493) ---------------------------------------------------------------------
#
# What is signed or stored must read the same to every parser. msgspec, like most, keeps
# the last of two equal keys and others keep the first, so "sequence":6,"sequence":7 would
# be two batches in one signature; an integer beyond 2^53 reads differently where numbers
# are doubles; a lone surrogate is no Unicode at all. RFC 7493 forbids all three.

MAX_EXACT_INT = 2**53 - 1
"""The largest integer every I-JSON reader holds exactly (IEEE 754 doubles)."""
IJSON_CODES = frozenset({"S101", "S102", "S103"})
"""The refusals of text that is not I-JSON (RFC 7493): a key twice, an inexact
integer, a lone surrogate."""

_DIGIT = bytes(1 if 0x30 <= b <= 0x39 else 0 for b in range(256))
_LONG_NUMBER = b"\x01" * 16
"""16 digits in a row: the shortest text of an integer beyond 2^53 − 1 (16 digits)."""


def check_ijson(data: bytes | str, value: Any, *, numbers: bool = True) -> None:
    """Refuse ``data`` (which ``value`` was just decoded from) if it is not I-JSON.
    ``numbers=False`` where the type decoded bounds every integer within 2^53 − 1
    itself (a larger one failed decoding, and ``refuse_non_ijson`` named it).

    Fast path, for a batch: the text holds no run of 16 digits and is exactly
    what ``encode`` makes of the value (what our stations sign), or is that indented
    (an election.json). Then it has no duplicate key (the value, having lost one,
    would encode shorter) and no integer beyond 2^53 − 1. Anything else is read again
    by ``ijson_error``, slower."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not numbers or _LONG_NUMBER not in raw.translate(_DIGIT):
        encoded = encode(value)
        # ``format`` only takes whitespace out: keys, their order and escapes stay.
        if encoded == raw or msgspec.json.format(raw, indent=-1) == encoded:
            return
    error = ijson_error(raw)
    if error is not None:
        raise error


def refuse_non_ijson(data: bytes | str, cause: Exception) -> None:
    """Where a decoder refused ``data``: raise the I-JSON rule it breaks, if any, which
    names the problem better than the decoder's words (a lone surrogate is "truncated")."""
    error = ijson_error(data, unparsed=False)
    if error is not None:
        raise error from cause


def loads(data: bytes | str) -> Any:
    """``json.loads`` for I-JSON only: a duplicate key, an integer beyond ±(2^53 − 1),
    a lone surrogate or a bare NaN/Infinity is a ``DecodeError`` naming where."""
    return _Reader().read(data)


def ijson_error(data: bytes | str, *, unparsed: bool = True) -> DecodeError | None:
    """The first thing RFC 7493 forbids in this JSON text (document order), or None.
    Text that is not JSON at all is an error too, unless not ``unparsed``."""
    try:
        _Reader().read(data)
    except DecodeError as exc:
        if exc.code != DecodeError.code or unparsed:
            return exc
    return None


class _Members(list[tuple[str, Any]]):
    """One JSON object's members in order, duplicates kept."""

    __slots__ = ()


class _Reader:
    """A JSON text read with the standard library, every object seen with its
    duplicates, and turned into builtins while checked (with the path to name)."""

    __slots__ = ("trail",)

    def __init__(self) -> None:
        self.trail: list[str | int] = []

    def read(self, data: bytes | str) -> Any:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            doc = json.loads(text, object_pairs_hook=_Members, parse_constant=_no_constant)
            return self._value(doc)
        except RecursionError as exc:
            raise DecodeError(
                en="The JSON text is nested too deeply.",
                vi="Văn bản JSON lồng nhau quá sâu.",
            ) from exc
        except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
            raise DecodeError(
                en=f"Not well-formed JSON: {exc}",
                vi=f"JSON không hợp lệ: {exc}",
                figures={"detail": str(exc)},
            ) from exc

    def path(self) -> str:
        return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.trail)

    def _value(self, node: Any) -> Any:
        if type(node) is _Members:
            out: dict[str, Any] = {}
            for key, value in node:
                self._text(key)
                if key in out:
                    raise self._duplicate(key)
                self.trail.append(key)
                out[key] = self._value(value)
                self.trail.pop()
            return out
        if type(node) is list:
            for i, value in enumerate(node):
                self.trail.append(i)
                node[i] = self._value(value)
                self.trail.pop()
            return node
        if type(node) is str:
            self._text(node)
        elif type(node) is int and not -MAX_EXACT_INT <= node <= MAX_EXACT_INT:
            where = self.path()
            raise DecodeError(
                en=f"The number {node} at {where} is beyond ±(2^53 − 1) = ±{MAX_EXACT_INT}: "
                f"signed JSON must be I-JSON (RFC 7493), whose integers every reader holds "
                f"exactly.",
                vi=f"Số {node} tại {where} vượt quá ±(2^53 − 1) = ±{MAX_EXACT_INT}: JSON được ký "
                f"phải là I-JSON (RFC 7493), chỉ có số nguyên mà mọi bên đọc giữ đúng.",
                code="S102",
                fields=(where,),
                figures={"value": str(node), "limit": MAX_EXACT_INT},
            )
        return node

    def _text(self, text: str) -> None:
        if not text.isascii() and _SURROGATE.search(text) is not None:
            where = self.path()
            raise DecodeError(
                en=f"The text at {where} holds a lone UTF-16 surrogate: signed JSON must be "
                f"I-JSON (RFC 7493), all of its text valid Unicode.",
                vi=f"Văn bản tại {where} chứa một nửa cặp thay thế UTF-16 đứng riêng: JSON được "
                f"ký phải là I-JSON (RFC 7493), mọi văn bản đều là Unicode hợp lệ.",
                code="S103",
                fields=(where,),
            )

    def _duplicate(self, key: str) -> DecodeError:
        where = self.path()
        return DecodeError(
            en=f'The key "{key}" appears twice in the object at {where}: signed JSON must be '
            f"I-JSON (RFC 7493), every key once, so that every reader sees the same figures.",
            vi=f'Tên trường "{key}" xuất hiện hai lần trong đối tượng tại {where}: JSON được ký '
            f"phải là I-JSON (RFC 7493), mỗi tên trường một lần, để mọi bên đọc cùng số liệu.",
            code="S101",
            fields=(f"{where}.{key}",),
            figures={"key": key, "at": where},
        )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


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
    much faster on a national definition); False means "look closer".

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
            en=f"The data does not match the {kind.__name__} schema: {exc}",
            vi=f"Dữ liệu không đúng lược đồ {kind.__name__}: {exc}",
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
                en=f"Text at {path} contains a control character.",
                vi=f"Văn bản tại {path} chứa ký tự điều khiển.",
                fields=(path,),
            )
        if not unicodedata.is_normalized("NFC", record):
            raise DecodeError(
                en=f"Text at {path} is not in Unicode NFC; normalise it before signing.",
                vi=f"Văn bản tại {path} chưa chuẩn hoá Unicode NFC; hãy chuẩn hoá trước khi ký.",
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
