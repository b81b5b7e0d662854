"""One exception hierarchy for the whole project.

Every error carries a stable ``code`` and a message in Vietnamese and English
that tells a person what was wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class KiemphieuError(Exception):
    """Base of every error this project raises on purpose."""

    code: str = "K000"

    def __init__(
        self,
        *,
        en: str,
        vi: str,
        code: str | None = None,
        fields: tuple[str, ...] = (),
        figures: Mapping[str, Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        # Named, never positional: the two languages cannot be swapped unnoticed.
        self.message_en = en
        self.message_vi = vi
        self.fields = fields
        self.figures = dict(figures or {})
        super().__init__(f"[{self.code}] {self.message_vi} / {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "fields": list(self.fields),
            "figures": self.figures,
        }


class DecodeError(KiemphieuError):
    """Bytes that are not a well-formed document of the expected type."""

    code = "S100"


class SignatureError(KiemphieuError):
    """A signature that does not verify, or a key that cannot be used."""

    code = "S200"


class KeyFileError(KiemphieuError):
    """A key file that cannot be read, or is not an Ed25519 key."""

    code = "S300"


class DefinitionError(KiemphieuError):
    """An election definition that breaks the law's structure."""

    code = "D100"
