"""Synthetic Vietnamese personal names for the sample data, all in NFC.

Family names are drawn with roughly their real frequencies (Nguyễn about four
in ten) so lists look familiar; the names themselves are invented.
"""

from __future__ import annotations

import random
import unicodedata
from functools import cache
from itertools import accumulate


def _nfc(words: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w) for w in words.split())


_FAMILY: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 30),
    ("Huỳnh", 30),
    ("Phan", 45),
    ("Vũ", 25),
    ("Võ", 35),
    ("Đặng", 20),
    ("Bùi", 20),
    ("Đỗ", 15),
    ("Hồ", 15),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Trương", 12),
    ("Đinh", 8),
    ("Lâm", 6),
    ("Mai", 5),
    ("Tạ", 3),
    ("Châu", 3),
    ("Lương", 4),
    ("Tô", 3),
    ("Cao", 4),
    ("Đoàn", 5),
    ("Thái", 3),
)
FAMILY_NAMES: tuple[str, ...] = tuple(unicodedata.normalize("NFC", f) for f, _ in _FAMILY)
_FAMILY_CUM: list[int] = list(accumulate(w for _, w in _FAMILY))

MIDDLE_MALE = _nfc("Văn Văn Văn Hữu Đức Minh Quốc Thanh Công Ngọc Quang Hoàng Xuân Tấn Thành Đình")
MIDDLE_FEMALE = _nfc("Thị Thị Thị Thị Ngọc Thanh Thu Kim Mỹ Hồng Bích Phương Minh Thúy")
GIVEN_MALE = _nfc(
    "An Anh Bảo Bình Cường Dũng Đạt Định Đông Dương Hải Hào Hiếu Hiển Hòa Hoàng Hùng Huy "
    "Khải Khánh Khoa Kiên Lâm Lộc Lợi Long Luân Minh Nam Nghĩa Nhân Phát Phong Phúc Phước "
    "Quang Quân Sang Sơn Tài Tâm Tân Thắng Thành Thịnh Thông Tiến Toàn Trí Trung Tuấn "
    "Tùng Việt Vinh Vũ"
)
GIVEN_FEMALE = _nfc(
    "Ánh Bích Cúc Diễm Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hồng Huệ Hương Khuê Lan "
    "Liên Linh Loan Mai My Nga Ngân Ngọc Nhung Oanh Phượng Quyên Quỳnh Sương Tâm Thảo "
    "Thanh Thu Thủy Thư Trang Trinh Tuyết Uyên Vân Xuân Yến"
)


def full_name(rng: random.Random) -> str:
    """One invented full name: family, middle, given (for example "Trần Thị Thu")."""
    family = FAMILY_NAMES[rng.choices(range(len(FAMILY_NAMES)), cum_weights=_FAMILY_CUM)[0]]
    if rng.random() < 0.5:
        middle, given = rng.choice(MIDDLE_FEMALE), rng.choice(GIVEN_FEMALE)
    else:
        middle, given = rng.choice(MIDDLE_MALE), rng.choice(GIVEN_MALE)
    return f"{family} {middle} {given}"


def ascii_slug(text: str) -> str:
    """Vietnamese text to an ASCII identifier fragment: "Tân Thông Hội" -> "TanThongHoi"."""
    text = text.replace("Đ", "D").replace("đ", "d")
    bare = "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )
    return "".join(part[:1].upper() + part[1:] for part in bare.split() if part.isalnum())


_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_VARIANT = {"\u0306": "ă", "\u0302": "^", "\u031b": "+"}  # breve, circumflex, horn
_WITH_MARK = {("a", "ă"): "ă", ("a", "^"): "â", ("e", "^"): "ê", ("o", "^"): "ô"}
_WITH_MARK |= {("o", "+"): "ơ", ("u", "+"): "ư"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@cache
def sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Vietnamese dictionary order: letters first (a < ă < â < b … d < đ), tones after."""
    letters: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        tone = 0
        for m in marks:
            if m in _VARIANT:
                base = _WITH_MARK.get((base, _VARIANT[m]), base)
            tone = _TONES.get(m, tone)
        letters.append(_ALPHABET.find(base) if base in _ALPHABET else 100 + ord(base))
        tones.append(tone)
    return tuple(letters), tuple(tones)


def given_name_key(name: str) -> tuple[object, ...]:
    """How candidate lists are ordered: by given name, then the full name."""
    return sort_key(name.split()[-1]), sort_key(name)
