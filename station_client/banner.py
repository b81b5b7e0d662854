"""A fingerprint printed large: read aloud over the phone, or printed for enrolment."""

from __future__ import annotations

# 5 rows, 5 columns: the digits and the dash (a fingerprint is digits only).
_FONT = {
    "0": [" ### ", "#  ##", "# # #", "##  #", " ### "],
    "1": ["  #  ", " ##  ", "  #  ", "  #  ", " ### "],
    "2": [" ### ", "#   #", "  ## ", " #   ", "#####"],
    "3": ["#### ", "    #", " ### ", "    #", "#### "],
    "4": ["#   #", "#   #", "#####", "    #", "    #"],
    "5": ["#####", "#    ", "#### ", "    #", "#### "],
    "6": [" ### ", "#    ", "#### ", "#   #", " ### "],
    "7": ["#####", "    #", "   # ", "  #  ", "  #  "],
    "8": [" ### ", "#   #", " ### ", "#   #", " ### "],
    "9": [" ### ", "#   #", " ####", "    #", " ### "],
    "-": ["     ", "     ", " ### ", "     ", "     "],
}


def big(text: str) -> list[str]:
    rows = ["" for _ in range(5)]
    for ch in text.upper():
        glyph = _FONT.get(ch, ["     "] * 5)
        for i in range(5):
            rows[i] += glyph[i].replace("#", "█") + " "
    return [r.rstrip() for r in rows]


def fingerprint_banner(title: str, fingerprint: str) -> list[str]:
    """The fingerprint in large digits (two groups a line, to fit 80 columns),
    then spaced out in plain digits for reading aloud."""
    groups = fingerprint.split("-")
    lines = [title, ""]
    for i in range(0, len(groups), 2):
        lines += ["    " + row for row in big("-".join(groups[i : i + 2]))]
        lines.append("")
    lines.append("    " + "  -  ".join(" ".join(g) for g in groups))
    width = max(len(x) for x in lines) + 2
    out = ["╔" + "═" * width + "╗"]
    out += [f"║ {x:<{width - 1}}║" for x in lines]
    out.append("╚" + "═" * width + "╝")
    return out
