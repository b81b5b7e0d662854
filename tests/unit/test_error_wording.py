"""Vietnamese and English are named, never two positional strings that can be swapped.

Every error and every glossary wording takes its two languages as ``en=`` and
``vi=``; and across the code, no ``en=`` carries Vietnamese letters (but for the
names that stay Vietnamese in English) and no ``vi=`` of any length is plain English.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from schemas.errors import KiemphieuError
from tally_server.core.glossary import Words

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "tally_server", "station_client", "tui")
VIETNAMESE = re.compile(
    r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýĐ]", re.I
)

PROPER_NAMES = ("Kiểm phiếu", "Tiếng Việt")
"""Names an English text keeps in Vietnamese: the product, and the language's own name
on the language switch."""


def test_an_error_refuses_its_messages_by_position() -> None:
    with pytest.raises(TypeError):
        KiemphieuError("The key is weak.", "Khoá yếu.")  # type: ignore[misc]
    error = KiemphieuError(en="The key is weak.", vi="Khoá yếu.", code="S320")
    assert (error.message_en, error.message_vi) == ("The key is weak.", "Khoá yếu.")
    assert str(error) == "[S320] Khoá yếu. / The key is weak."
    with pytest.raises(TypeError):
        Words("Bầu cử thêm", "Supplementary election")  # type: ignore[misc]
    assert Words(vi="Bầu cử thêm", en="Supplementary election").of("en") == "Supplementary election"


def _literal(node: ast.expr) -> str:
    """The constant text of a string or f-string argument (its placeholders left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _literal(node.left) + _literal(node.right)
    return ""


def test_no_message_is_in_the_other_language() -> None:
    crossed = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                for arg in node.keywords:
                    text = _literal(arg.value)
                    if arg.arg == "en":
                        for name in PROPER_NAMES:
                            text = text.replace(name, "")
                    english_in_vi = (
                        arg.arg == "vi" and len(text) > 24 and not VIETNAMESE.search(text)
                    )
                    if (arg.arg == "en" and VIETNAMESE.search(text)) or english_in_vi:
                        crossed.append(
                            f"{path.relative_to(ROOT)}:{node.lineno} {arg.arg}={text[:50]!r}"
                        )
    assert crossed == []
