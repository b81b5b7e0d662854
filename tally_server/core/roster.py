"""Election definitions kept as spreadsheets: a folder of CSV files.

The format is documented in docs/rosters.md. Loading reports every problem it
finds at once, each naming the file, the line and the column, so a committee
can fix its spreadsheet in one go; the law's checks on the result are
``tally_server.core.validate``'s.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from schemas import codec
from schemas.errors import DecodeError, KiemphieuError
from schemas.models import ElectionDefinition, SheetFacts
from tally_server.core.definition import decode_definition

FILES: dict[str, tuple[str, ...]] = {
    "election.csv": ("id", "name", "date", "place"),
    "committees.csv": ("id", "name", "level", "parent_id"),
    "races.csv": ("id", "level", "name"),
    "constituencies.csv": ("race_id", "id", "name", "committee_id", "seats"),
    "candidates.csv": ("race_id", "constituency_id", "id", "full_name", "birth_date"),
    "polling_areas.csv": ("id", "name", "admin_unit"),
    "memberships.csv": ("race_id", "constituency_id", "polling_area_id"),
}
"""Each file and its columns, in order; polling_areas.csv adds one column per race id."""

RACE_LEVELS = ("national_assembly", "province", "district", "commune")
COMMITTEE_LEVELS = ("national", "province", "district", "commune")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# digits, or digits grouped by thousands as spreadsheets print them: 1.250, 1,250, 1 250
_COUNT = re.compile(r"\d+|\d{1,3}(?:([., \u00a0])\d{3})(?:\1\d{3})*")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MAX_PROBLEMS = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a roster, where it is, in both languages."""

    code: str
    file: str
    line: int
    column: str
    message_vi: str
    message_en: str

    def where(self) -> str:
        col = f", cột/column {self.column}" if self.column else ""
        return f"{self.file}:{self.line}{col}"


class RosterError(KiemphieuError):
    """A roster folder that cannot be read into a definition; ``problems`` lists them all."""

    code = "R100"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = problems[:_MAX_PROBLEMS]
        vi = "\n".join(f"  {p.code} {p.where()}: {p.message_vi}" for p in shown)
        en = "\n".join(f"  {p.code} {p.where()}: {p.message_en}" for p in shown)
        more = len(problems) - len(shown)
        if more > 0:
            vi += f"\n  … và {more} lỗi khác"
            en += f"\n  … and {more} more"
        super().__init__(
            en=f"The roster has {len(problems)} problem(s):\n{en}",
            vi=f"Danh sách (CSV) có {len(problems)} lỗi:\n{vi}",
            code=problems[0].code if len(problems) == 1 else "R100",
            fields=tuple(p.where() for p in shown),
            figures={"problems": len(problems)},
        )


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


@dataclass(slots=True)
class _Row:
    file: str
    line: int
    cells: dict[str, str]


class _Reader:
    """Reads the files of one roster folder and collects problems."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []
        self.normalised: dict[str, int] = {}
        """File name -> how many cells were not NFC (they are normalised)."""

    def problem(self, code: str, file: str, line: int, column: str, vi: str, en: str) -> None:
        self.problems.append(Problem(code, file, line, column, vi, en))

    def rows(self, name: str, extra: tuple[str, ...] | None = None) -> Iterator[_Row]:
        """The data rows of one file as column -> NFC text. ``extra`` lists the further
        columns allowed (None: none); blank lines are skipped."""
        path = self.folder / name
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self.problem(
                "R101",
                name,
                0,
                "",
                "thiếu tệp trong thư mục",
                "the file is missing from the folder",
            )
            return
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.problem(
                "R102",
                name,
                line,
                "",
                "tệp không phải UTF-8; hãy lưu lại dưới dạng CSV UTF-8",
                "the file is not UTF-8; save it again as CSV UTF-8",
            )
            return
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            self.problem(
                "R103", name, 1, "", "tệp trống, thiếu dòng tiêu đề", "empty file, no header"
            )
            return
        columns = [_nfc(h) for h in header]
        required = FILES[name]
        missing = [c for c in required if c not in columns]
        allowed = set(required) | set(extra or ())
        unknown = [c for c in columns if c not in allowed]
        for c in missing:
            self.problem("R103", name, 1, c, f"thiếu cột {c}", f"column {c} is missing")
        for c in unknown:
            self.problem(
                "R103",
                name,
                1,
                c,
                f"cột {c} không có trong định dạng",
                f"column {c} is not part of the format",
            )
        for c in {c for c in columns if columns.count(c) > 1}:
            self.problem("R103", name, 1, c, f"cột {c} lặp lại", f"column {c} appears twice")
        if missing or unknown or len(set(columns)) != len(columns):
            return
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(columns):
                self.problem(
                    "R104",
                    name,
                    line,
                    "",
                    f"dòng có {len(cells)} ô, tiêu đề có {len(columns)} cột",
                    f"the line has {len(cells)} cells, the header {len(columns)} columns",
                )
                continue
            changed = sum(not unicodedata.is_normalized("NFC", v) for v in cells)
            if changed:
                self.normalised[name] = self.normalised.get(name, 0) + changed
            yield _Row(name, line, {c: _nfc(v) for c, v in zip(columns, cells, strict=True)})

    # --- cell parsers: report and return None on a bad value ---

    def _bad(self, row: _Row, column: str, vi: str, en: str) -> None:
        self.problem("R105", row.file, row.line, column, vi, en)

    def id(self, row: _Row, column: str, *, optional: bool = False) -> str | None:
        value = row.cells[column]
        if optional and value == "":
            return None
        if not _ID.fullmatch(value):
            self._bad(
                row,
                column,
                f"mã “{value}” không hợp lệ "
                "(chữ cái không dấu, chữ số, dấu . _ -, tối đa 64 ký tự)",
                f"id “{value}” is not valid (ASCII letters, digits, . _ -, at most 64 characters)",
            )
            return None
        return value

    def text(self, row: _Row, column: str) -> str | None:
        value = row.cells[column]
        if not 1 <= len(value) <= 200:
            self._bad(
                row,
                column,
                f"cần từ 1 đến 200 ký tự, có {len(value)}",
                f"needs 1 to 200 characters, has {len(value)}",
            )
            return None
        # isprintable() is a fast pass: it is false for every control character. Line
        # breaks and tabs inside a cell are text, as in the JSON form.
        if not value.isprintable() and any(
            unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in value
        ):
            self._bad(row, column, "chứa ký tự điều khiển", "contains a control character")
            return None
        return value

    def choice(self, row: _Row, column: str, options: tuple[str, ...]) -> str | None:
        value = row.cells[column]
        if value not in options:
            self._bad(
                row,
                column,
                f"“{value}” không phải một trong: {', '.join(options)}",
                f"“{value}” is not one of: {', '.join(options)}",
            )
            return None
        return value

    def count(
        self, row: _Row, column: str, *, low: int = 0, high: int = 1_000_000_000
    ) -> int | None:
        value = row.cells[column]
        if not _COUNT.fullmatch(value):
            self._bad(
                row,
                column,
                f"“{value}” không phải số nguyên không âm",
                f"“{value}” is not a whole number",
            )
            return None
        n = int(re.sub(r"\D", "", value))
        if not low <= n <= high:
            self._bad(
                row,
                column,
                f"{n} ngoài khoảng {low}–{high}",
                f"{n} is outside {low}–{high}",
            )
            return None
        return n

    def date(self, row: _Row, column: str) -> dt.date | None:
        value = row.cells[column]
        day: tuple[int, int, int] | None = None
        if m := _DMY.fullmatch(value):
            day = (int(m[3]), int(m[2]), int(m[1]))
        elif m := _YMD.fullmatch(value):
            day = (int(m[1]), int(m[2]), int(m[3]))
        try:
            if day is None:
                raise ValueError(value)
            return dt.date(*day)
        except ValueError:
            self._bad(
                row,
                column,
                f"ngày “{value}” không hợp lệ (viết dd/mm/yyyy hoặc yyyy-mm-dd)",
                f"date “{value}” is not valid (write dd/mm/yyyy or yyyy-mm-dd)",
            )
            return None


def _dedupe(reader: _Reader, row: _Row, column: str, key: Any, seen: dict[Any, int]) -> bool:
    """True the first time ``key`` is seen; reports the duplicate line otherwise."""
    if key in seen:
        reader.problem(
            "R106",
            row.file,
            row.line,
            column,
            f"“{row.cells[column]}” đã có ở dòng {seen[key]}",
            f"“{row.cells[column]}” is already on line {seen[key]}",
        )
        return False
    seen[key] = row.line
    return True


def _unknown(reader: _Reader, row: _Row, column: str, what_vi: str, what_en: str) -> None:
    reader.problem(
        "R107",
        row.file,
        row.line,
        column,
        f"{what_vi} “{row.cells[column]}” không có trong tệp tương ứng",
        f"{what_en} “{row.cells[column]}” is not in its file",
    )


def load_roster(folder: Path) -> ElectionDefinition:
    """Read a roster folder into a definition (all text NFC); raise ``RosterError``
    listing every problem with its file, line and column."""
    return read_roster(folder)[0]


SHEETS_FILE = "sheets.json"
"""Optional: the definition's ``sheets`` (khóa, terms, meetings the forms print)."""


def read_roster(folder: Path) -> tuple[ElectionDefinition, dict[str, int]]:
    """``load_roster``, and how many cells of each file were normalised to NFC."""
    r = _Reader(folder)

    election: dict[str, Any] = {}
    for row in r.rows("election.csv"):
        if election:
            r.problem(
                "R108",
                row.file,
                row.line,
                "",
                "election.csv chỉ có một dòng dữ liệu",
                "election.csv has exactly one data row",
            )
            break
        election = {
            "id": r.id(row, "id"),
            "name": r.text(row, "name"),
            "date": r.date(row, "date"),
            "place": r.text(row, "place"),
        }
    if not election and not any(p.file == "election.csv" for p in r.problems):
        r.problem(
            "R108",
            "election.csv",
            2,
            "",
            "election.csv chỉ có một dòng dữ liệu",
            "election.csv has exactly one data row",
        )

    committees: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for row in r.rows("committees.csv"):
        cid = r.id(row, "id")
        if cid is not None and _dedupe(r, row, "id", cid, seen):
            committees.append(
                {
                    "id": cid,
                    "name": r.text(row, "name"),
                    "level": r.choice(row, "level", COMMITTEE_LEVELS),
                    "parent_id": r.id(row, "parent_id", optional=True),
                }
            )

    races: dict[str, dict[str, Any]] = {}
    seen = {}
    for row in r.rows("races.csv"):
        rid = r.id(row, "id")
        if rid is not None and _dedupe(r, row, "id", rid, seen):
            races[rid] = {
                "id": rid,
                "level": r.choice(row, "level", RACE_LEVELS),
                "name": r.text(row, "name"),
                "constituencies": [],
            }

    constituencies: dict[tuple[str, str], dict[str, Any]] = {}
    seen = {}
    for row in r.rows("constituencies.csv"):
        rid, cid = r.id(row, "race_id"), r.id(row, "id")
        if rid is None or cid is None:
            continue
        if rid not in races:
            if races:
                _unknown(r, row, "race_id", "cuộc bầu cử", "race")
            continue
        if _dedupe(r, row, "id", (rid, cid), seen):
            con: dict[str, Any] = {
                "id": cid,
                "name": r.text(row, "name"),
                "committee_id": r.id(row, "committee_id"),
                "seats": r.count(row, "seats", low=1, high=5),
                "candidates": [],
                "polling_area_ids": [],
            }
            constituencies[(rid, cid)] = con
            races[rid]["constituencies"].append(con)

    def constituency_of(row: _Row) -> dict[str, Any] | None:
        rid, cid = r.id(row, "race_id"), r.id(row, "constituency_id")
        if rid is None or cid is None:
            return None
        con = constituencies.get((rid, cid))
        if con is None and constituencies:
            _unknown(
                r, row, "constituency_id", f"đơn vị bầu cử của {rid}", f"constituency of {rid}"
            )
        return con

    seen = {}
    for row in r.rows("candidates.csv"):
        target = constituency_of(row)
        cand_id = r.id(row, "id")
        if target is None or cand_id is None or not _dedupe(r, row, "id", cand_id, seen):
            continue
        target["candidates"].append(
            {
                "id": cand_id,
                "full_name": r.text(row, "full_name"),
                "birth_date": r.date(row, "birth_date"),
            }
        )

    areas: dict[str, dict[str, Any]] = {}
    seen = {}
    race_columns = tuple(races)
    for row in r.rows("polling_areas.csv", extra=race_columns):
        aid = r.id(row, "id")
        if aid is None or not _dedupe(r, row, "id", aid, seen):
            continue
        voters: dict[str, int] = {}
        for rid in race_columns:
            if row.cells.get(rid, "") != "":
                n = r.count(row, rid)
                if n is not None:
                    voters[rid] = n
        areas[aid] = {
            "id": aid,
            "name": r.text(row, "name"),
            "admin_unit": r.text(row, "admin_unit"),
            "voters": voters,
        }

    for row in r.rows("memberships.csv"):
        target = constituency_of(row)
        aid = r.id(row, "polling_area_id")
        if target is None or aid is None:
            continue
        if aid not in areas:
            if areas:
                _unknown(r, row, "polling_area_id", "khu vực bỏ phiếu", "polling area")
            continue
        target["polling_area_ids"].append(aid)

    if r.problems:
        raise RosterError(r.problems)
    # what the printed forms need besides the lists (optional; nested, so JSON, not CSV)
    sheets_file = folder / SHEETS_FILE
    if sheets_file.is_file():
        election["sheets"] = codec.decode(sheets_file.read_bytes(), SheetFacts)
    # The cells were checked one by one above (ids, NFC text without control characters),
    # so the record is built without walking every string again.
    try:
        definition = msgspec.convert(
            {
                "schema": "kiemphieu/election/v1",
                **election,
                "committees": committees,
                "races": list(races.values()),
                "polling_areas": list(areas.values()),
            },
            ElectionDefinition,
            strict=False,
        )
    except msgspec.ValidationError as exc:  # a check above is missing: say what failed
        raise DecodeError(
            en=f"The roster does not make an election definition: {exc}",
            vi=f"Danh sách không tạo được định nghĩa cuộc bầu cử: {exc}",
        ) from exc
    return definition, r.normalised


def is_roster(path: Path) -> bool:
    return path.is_dir() and (path / "election.csv").is_file()


def write_roster(d: ElectionDefinition, folder: Path) -> list[Path]:
    """Write a definition as a roster folder (UTF-8 with a BOM, so spreadsheet
    programs open it with its diacritics; dates as yyyy-mm-dd). Returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    race_ids = [r.id for r in d.races]
    tables: dict[str, list[list[str]]] = {
        "election.csv": [[d.id, d.name, d.date.isoformat(), d.place]],
        "committees.csv": [[c.id, c.name, c.level, c.parent_id or ""] for c in d.committees],
        "races.csv": [[r.id, r.level, r.name] for r in d.races],
        "constituencies.csv": [
            [r.id, c.id, c.name, c.committee_id, str(c.seats)]
            for r in d.races
            for c in r.constituencies
        ],
        "candidates.csv": [
            [r.id, c.id, p.id, p.full_name, p.birth_date.isoformat()]
            for r in d.races
            for c in r.constituencies
            for p in c.candidates
        ],
        "polling_areas.csv": [
            [a.id, a.name, a.admin_unit, *(str(a.voters.get(rid, "")) for rid in race_ids)]
            for a in d.polling_areas
        ],
        "memberships.csv": [
            [r.id, c.id, aid]
            for r in d.races
            for c in r.constituencies
            for aid in c.polling_area_ids
        ],
    }
    written = []
    if d.sheets is not None:
        path = folder / SHEETS_FILE
        path.write_bytes(codec.encode(d.sheets) + b"\n")
        written.append(path)
    for name, rows in tables.items():
        header = list(FILES[name]) + (race_ids if name == "polling_areas.csv" else [])
        path = folder / name
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(path)
    return written


def load_any(path: Path) -> ElectionDefinition:
    """A definition from a roster folder, an ``election.json`` or an ``election.json.gz``."""
    if path.is_dir():
        if not is_roster(path):
            raise RosterError(
                [
                    Problem(
                        "R101",
                        "election.csv",
                        0,
                        "",
                        f"thư mục {path} không có election.csv: không phải danh sách CSV",
                        f"folder {path} has no election.csv: not a roster",
                    )
                ]
            )
        return load_roster(path)
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return codec.decode(data, ElectionDefinition)


def read_any(path: Path) -> tuple[ElectionDefinition, dict[str, int]]:
    """``load_any`` for a reader that normalises text to NFC rather than refusing it
    (the offline tally, as it does for minutes): the definition, and how many strings
    each file had that were not NFC (file path -> count; only files with any)."""
    if path.is_dir():
        if not is_roster(path):
            return load_any(path), {}  # raises R101, not a roster
        definition, counts = read_roster(path)
        return definition, {str(path / name): n for name, n in counts.items()}
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if codec.plain_text(data):
        return decode_definition(data), {}
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return decode_definition(data), {}  # raises, in codec's words
    doc, changed = codec.nfc_counted(doc)
    definition = decode_definition(msgspec.json.encode(doc))
    return definition, ({str(path): changed} if changed else {})
