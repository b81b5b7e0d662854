"""Election definitions kept as a folder of CSV files (docs/rosters.md)."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.models import ElectionDefinition
from tally_server.core.roster import RosterError, is_roster, load_roster, write_roster
from tally_server.core.sample import hcmc2011

ASSETS = Path(__file__).resolve().parents[1] / "assets"
EXAMPLE_ROSTER = ASSETS / "rosters" / "example"


def example_definition() -> ElectionDefinition:
    return codec.decode((ASSETS / "examples" / "election.json").read_bytes(), ElectionDefinition)


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    folder = tmp_path / "roster"
    shutil.copytree(EXAMPLE_ROSTER, folder)
    return folder


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    with path.open(encoding="utf-8-sig", newline="") as f:
        text = f.read()
    assert old in text
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write(text.replace(old, new, 1))


def problems(folder: Path) -> list[tuple[str, str, int, str]]:
    with pytest.raises(RosterError) as caught:
        load_roster(folder)
    return [(p.code, p.file, p.line, p.column) for p in caught.value.problems]


def test_the_example_roster_is_the_example_definition() -> None:
    # candidates.csv writes dates as dd/mm/yyyy; polling_areas.csv has no BOM, the others do
    assert (EXAMPLE_ROSTER / "candidates.csv").read_text("utf-8-sig").count("/19") == 13
    assert not (EXAMPLE_ROSTER / "polling_areas.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (EXAMPLE_ROSTER / "races.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert is_roster(EXAMPLE_ROSTER)
    assert load_roster(EXAMPLE_ROSTER) == example_definition()


def test_a_written_roster_reads_back_as_the_same_definition(tmp_path: Path) -> None:
    for d in (example_definition(), hcmc2011()):
        folder = tmp_path / d.id
        write_roster(d, folder)
        assert load_roster(folder) == d


def test_text_typed_in_decomposed_form_is_read_as_nfc(roster: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert nfd != "Nguyễn Thị Ánh"
    edit(roster, "candidates.csv", "Nguyễn Thị Ánh", nfd)
    edit(
        roster, "races.csv", "Đại biểu Quốc hội", unicodedata.normalize("NFD", "Đại biểu Quốc hội")
    )
    d = load_roster(roster)
    assert d == example_definition()
    assert d.races[0].constituencies[0].candidates[0].full_name == "Nguyễn Thị Ánh"


def test_spaces_around_cells_and_thousands_separators_are_accepted(roster: Path) -> None:
    edit(roster, "polling_areas.csv", "1250,1240,1236", '"1.250", 1240 ,"1,236"')
    area = load_roster(roster).polling_areas[0]
    assert area.voters == {"QH": 1250, "HDND-TP": 1240, "HDND-XA": 1236}


def test_an_empty_voters_cell_means_the_race_is_not_held_there(roster: Path) -> None:
    edit(roster, "polling_areas.csv", "980,975,975", "980,975,")
    edit(roster, "memberships.csv", "HDND-XA,TTH-1,KV-02\r\n", "")
    d = load_roster(roster)
    assert d.polling_areas[1].voters == {"QH": 980, "HDND-TP": 975}
    assert d.races[2].constituencies[0].polling_area_ids == ["KV-01", "KV-03"]


def test_a_bad_date_is_named_with_its_file_line_and_column(roster: Path) -> None:
    edit(roster, "candidates.csv", "30/01/1975", "31/02/1975")
    with pytest.raises(RosterError) as caught:
        load_roster(roster)
    err = caught.value
    assert [(p.code, p.file, p.line, p.column) for p in err.problems] == [
        ("R105", "candidates.csv", 5, "birth_date")
    ]
    assert err.code == "R105"
    assert "candidates.csv:5, cột/column birth_date" in str(err)
    assert "31/02/1975" in err.message_vi and "dd/mm/yyyy" in err.message_en


def test_every_problem_is_reported_at_once(roster: Path) -> None:
    edit(roster, "constituencies.csv", "UBBC-HCM,2", "UBBC-HCM,6")
    edit(roster, "candidates.csv", "HDND-XA,TTH-1,TTH-1-2", "HDND-XA,TTH-9,TTH-1-2")
    edit(roster, "candidates.csv", "TTH-1-5,", "TTH-1-4,")
    edit(roster, "polling_areas.csv", "KV-02,", "KV 02,")
    edit(roster, "memberships.csv", "QH,QH-10,KV-03", "QH,QH-10,KV-33")
    edit(roster, "committees.csv", "commune,UBBC-HCM", "xã,UBBC-HCM")
    got = problems(roster)
    assert got == [
        ("R105", "committees.csv", 4, "level"),
        ("R105", "constituencies.csv", 3, "seats"),
        ("R107", "candidates.csv", 11, "constituency_id"),
        ("R106", "candidates.csv", 14, "id"),
        ("R105", "polling_areas.csv", 3, "id"),
        # KV-02 was lost to its bad id, so each line naming it is reported too
        ("R107", "memberships.csv", 3, "polling_area_id"),
        ("R107", "memberships.csv", 4, "polling_area_id"),
        ("R107", "memberships.csv", 6, "polling_area_id"),
        ("R107", "memberships.csv", 9, "polling_area_id"),
    ]


def test_a_missing_file_or_column_and_a_short_line_are_named(roster: Path) -> None:
    (roster / "memberships.csv").unlink()
    edit(roster, "races.csv", "id,level,name", "id,cap,name")
    edit(roster, "committees.csv", ",commune,UBBC-HCM", ",commune")
    got = problems(roster)
    assert ("R101", "memberships.csv", 0, "") in got
    assert ("R103", "races.csv", 1, "level") in got
    assert ("R103", "races.csv", 1, "cap") in got
    assert ("R104", "committees.csv", 4, "") in got


def test_a_file_not_in_utf8_names_its_line(roster: Path) -> None:
    text = (roster / "committees.csv").read_text("utf-8-sig")
    (roster / "committees.csv").write_bytes(text.encode("cp1258", errors="replace"))
    assert problems(roster) == [("R102", "committees.csv", 2, "")]


def test_election_csv_holds_exactly_one_row(roster: Path) -> None:
    path = roster / "election.csv"
    line = path.read_text("utf-8-sig").splitlines()[1]
    path.write_text(path.read_text("utf-8-sig") + line + "\r\n", "utf-8-sig")
    assert problems(roster) == [("R108", "election.csv", 3, "")]


def test_the_vietnamese_and_iso_date_forms_mean_the_same_day(roster: Path) -> None:
    edit(roster, "election.csv", "2011-05-22", "22/5/2011")
    assert load_roster(roster).date == example_definition().date


_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
_TEXT = (
    st.text(alphabet=_LETTERS + _LETTERS.upper() + " ,;\"'\n–", min_size=1, max_size=40)
    .map(lambda s: unicodedata.normalize("NFC", s).strip())
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(names=st.lists(_TEXT, min_size=5, max_size=5), place=_TEXT, admin=_TEXT)
def test_any_text_survives_the_round_trip_through_csv(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], place: str, admin: str
) -> None:
    d = example_definition()
    qh = d.races[0]
    con = qh.constituencies[0]
    people = [
        msgspec.structs.replace(c, full_name=n) for c, n in zip(con.candidates, names, strict=True)
    ]
    d = msgspec.structs.replace(
        d,
        place=place,
        races=[
            msgspec.structs.replace(
                qh, constituencies=[msgspec.structs.replace(con, candidates=people)]
            ),
            *d.races[1:],
        ],
        polling_areas=[
            msgspec.structs.replace(d.polling_areas[0], admin_unit=admin),
            *d.polling_areas[1:],
        ],
    )
    folder = tmp_path_factory.mktemp("roster")
    write_roster(d, folder)
    assert load_roster(folder) == d
