"""Be Vietnam Pro, embedded in every sheet so each Vietnamese diacritic renders.

The font is drawn for Vietnamese and licensed under the SIL Open Font Licence
1.1 (see docs/dashboard.md); reportlab embeds a subset of the glyphs used.
"""

from __future__ import annotations

import fontpkg
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"
ITALIC = "BeVietnamPro-Italic"
BOLD_ITALIC = "BeVietnamPro-BoldItalic"

FAMILY = "Be Vietnam Pro"

# (weight, style) of each face, as fontpkg selects them from the family's metadata.
_FACES = {
    REGULAR: (400, "normal"),
    BOLD: (700, "normal"),
    ITALIC: (400, "italic"),
    BOLD_ITALIC: (700, "italic"),
}


def register_fonts() -> None:
    """Register the family once per process (reportlab keeps a global registry)."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    if REGULAR in registered:
        return
    for name, (weight, style) in _FACES.items():
        pdfmetrics.registerFont(TTFont(name, str(fontpkg.path(FAMILY, weight, style))))
    # So that <b> and <i> inside a Paragraph pick the right face.
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, ITALIC)
    addMapping(REGULAR, 1, 1, BOLD_ITALIC)
