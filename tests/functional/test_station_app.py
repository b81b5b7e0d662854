"""The polling team's app driven by its keys at 80×24, as two officials use it.

Real station folders, real keys and a real server on 127.0.0.1; the screens a
reviewer reads are kept as text in tests/assets/snapshots/ (regenerate with
KIEMPHIEU_UPDATE_SNAPSHOTS=1 after a deliberate change, and read the diff).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pypdf
import pytest
from serverkit import EXAMPLE_ELECTION, RunningServer, ServerFolder, example_minutes, free_port
from textual.pilot import Pilot
from textual.widgets import DataTable
from tuikit import screen_text, until

from schemas import BATCH_TYPE, SigningKey, codec, open_envelope
from schemas.models import CountingMinutes, ResultBatch
from station_client.app.app import StationApp
from station_client.forms import FormField, form_fields, values_from_minutes
from station_client.station import KEY_FILE, Station, init_station, open_station
from station_client.submit import submit

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "assets" / "snapshots"
SIZE = (80, 24)


def snapshot(app: StationApp, name: str) -> None:
    text = screen_text(app) + "\n"
    path = SNAPSHOTS / f"station_{name}.txt"
    if os.environ.get("KIEMPHIEU_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"screen {name} changed:\n{text}"


def new_station(
    tmp_path: Path, *, server_url: str = "http://127.0.0.1:9", server_key: Path | None = None,
    passphrase: bytes | None = None, standby_urls: tuple[str, ...] = (),
) -> Station:  # fmt: skip
    key = (
        SigningKey.generate().public
        if server_key is None
        else __import__("schemas").VerifyKey.from_pem(server_key.read_bytes())
    )
    init_station(
        tmp_path / "st", station_id="KV-01", polling_area_id="KV-01",
        election_file=EXAMPLE_ELECTION, server_url=server_url, server_key=key,
        passphrase=passphrase, standby_urls=standby_urls,
    )  # fmt: skip
    return open_station(tmp_path / "st")


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    st = new_station(tmp_path)
    yield st
    st.close()


def qh() -> CountingMinutes:
    return example_minutes()[0]


def fields(station: Station) -> list[FormField]:
    return form_fields(station.election.seats[("KV-01", "QH")])


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def type_form(
    pilot: Pilot[None], app: StationApp, values: dict[str, str], *, check: str | None = None
) -> str:
    """One official types the QH form top to bottom (Enter after each field); returns
    the screen as it was when the field ``check`` had just been typed."""
    seen = ""
    for i, f in enumerate(fields(app.station)):
        assert getattr(app.focused, "id", None) == f"f-{i}", f.key
        await pilot.press(*keys(values.get(f.key, "")), "enter")
        if f.key == check:
            await pilot.pause()
            seen = screen_text(app)
    return seen


def batches(station: Station) -> list[ResultBatch]:
    return [
        codec.decode(open_envelope(b.envelope, BATCH_TYPE).payload, ResultBatch)
        for b in station.outbox.batches(station.station_id)
    ]


async def open_review_row(pilot: Pilot[None], app: StationApp, key: str) -> None:
    table = app.screen.query_one(DataTable)
    for _ in range(table.get_row_index(key) - table.cursor_row):
        await pilot.press("down")
    await pilot.press("enter")


async def test_two_blind_entries_a_difference_settled_then_signed(station: Station) -> None:
    a = values_from_minutes(qh())
    a["voters_on_list"] = "1.250"  # as officials write it
    b = {**values_from_minutes(qh()), "valid_ballots": "1221"}
    app = StationApp(station, retry_every=60, timeout=2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "chưa nhập" in screen_text(app), "home")
        snapshot(app, "home")
        assert "q Thoát" in screen_text(app)  # the footer's last key, not cut at 80
        await pilot.press("enter")
        seen = await type_form(pilot, app, a, check="valid_ballots")
        assert "1.250" in seen and "Số phiếu hợp lệ" in seen
        await until(pilot, lambda: "Cán bộ B nhấn Enter" in screen_text(app), "hand-over")
        snapshot(app, "handover")
        await pilot.press("enter")
        await until(pilot, lambda: "Cán bộ thứ hai (B)" in screen_text(app), "B's form")
        blank = screen_text(app)
        snapshot(app, "form_b_blank")
        # Nothing of A's figures on B's fresh screen, nor anywhere in the app's screens.
        for figure in ("1.250", "1.238", "1.220", "1.001", "874", "Nguyễn Văn Tổ"):
            assert figure not in blank
        assert len(app.screen_stack) == 3  # the default, home, B's form: A's is gone
        await type_form(pilot, app, b)
        await until(pilot, lambda: "khác nhau ở 1 ô" in screen_text(app), "differences")
        diff = screen_text(app)
        assert "Số phiếu hợp lệ" in diff and "1.220" in diff and "1.221" in diff
        snapshot(app, "differences")
        await pilot.press("a", "enter")
        await until(pilot, lambda: "Duyệt biên bản" in screen_text(app), "review")
        snapshot(app, "review")
        await pilot.press("k")
        await until(pilot, lambda: "Đã ký và lưu" in screen_text(app), "signed")
        stored = station.outbox.batches(station.station_id)[0]
        code = " ".join(stored.digest[i : i + 4] for i in range(0, 16, 4)).upper()
        assert code in screen_text(app)
        await until(pilot, lambda: "Chưa gửi được, sẽ tự gửi lại" in screen_text(app), "status")
        assert "không kết nối được máy chủ" in screen_text(app)
    (m,) = batches(station)[0].minutes
    assert (m.voters_on_list, m.valid_ballots) == (1250, 1220)  # A's figure was chosen
    assert m.candidate_votes == qh().candidate_votes
    assert station.outbox.draft("KV-01", "QH", "main", "A") == {}


async def test_a_warning_is_shown_as_typed_and_explained_before_signing(
    station: Station,
) -> None:
    values = {**values_from_minutes(qh()), "ballots_issued": "1240"}
    app = StationApp(station, retry_every=60, timeout=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        seen = await type_form(pilot, app, values, check="ballots_issued")
        issued = next(line for line in seen.splitlines() if "Số phiếu phát ra" in line)
        assert "! W200" in issued, seen
        assert "CẢNH BÁO W200" in seen and "giải thích khi duyệt" in seen
        snapshot(app, "form_a_warning")
        await pilot.press("enter")
        await type_form(pilot, app, values)
        await until(pilot, lambda: "Duyệt biên bản" in screen_text(app), "review")
        assert "cần giải thích" in screen_text(app)
        await pilot.press("k")
        await until(pilot, lambda: "cảnh báo chưa có giải thích" in screen_text(app), "refusal")
        assert station.outbox.batches(station.station_id) == []
        await open_review_row(pilot, app, "explain|QH|W200")
        await pilot.press(*keys("Hai cử tri nhận phiếu rồi không bỏ"), "enter")
        await until(pilot, lambda: "Hai cử tri nhận" in screen_text(app), "explanation shown")
        await pilot.press("k")
        await until(pilot, lambda: "Đã ký và lưu" in screen_text(app), "signed")
    (m,) = batches(station)[0].minutes
    assert m.ballots_issued == 1240
    assert m.explanations == {"W200": "Hai cử tri nhận phiếu rồi không bỏ"}


async def test_a_wrong_passphrase_is_asked_again_and_english_on_l(tmp_path: Path) -> None:
    station = new_station(tmp_path, passphrase=b"mat khau dung")
    try:
        values = values_from_minutes(qh())
        app = StationApp(station, retry_every=60, timeout=2)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("l")
            await until(pilot, lambda: "not entered" in screen_text(app), "English home")
            snapshot(app, "home_english")
            assert "chưa nhập" not in screen_text(app)
            await pilot.press("l", "enter")
            await type_form(pilot, app, values)
            await pilot.press("enter")
            await type_form(pilot, app, values)
            await until(pilot, lambda: "Duyệt biên bản" in screen_text(app), "review")
            await pilot.press("k")
            await until(pilot, lambda: "Mật khẩu khoá" in screen_text(app), "passphrase")
            await pilot.press(*keys("sai roi"), "enter")
            await until(pilot, lambda: "Sai mật khẩu, hãy thử lại" in screen_text(app), "retry")
            assert station.outbox.batches(station.station_id) == []
            await pilot.press(*keys("mat khau dung"), "enter")
            await until(pilot, lambda: "Đã ký và lưu" in screen_text(app), "signed")
        assert len(station.outbox.batches(station.station_id)) == 1
    finally:
        station.close()


async def test_server_down_then_back_then_a_correction_with_its_reason(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    port = free_port()
    station = new_station(
        tmp_path, server_url=f"http://127.0.0.1:{port}",
        server_key=server_folder.path / "server.pub.pem",
    )  # fmt: skip
    server_folder.enroll("KV-01", "KV-01", key=SigningKey.load(station.folder / KEY_FILE))
    server = RunningServer(
        server_folder, log_path=tmp_path / "server.log", extra_args=["--port", str(port)]
    )
    values = values_from_minutes(qh())
    try:
        app = StationApp(station, retry_every=0.3, timeout=3)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await type_form(pilot, app, values)
            await pilot.press("enter")
            await type_form(pilot, app, values)
            await until(pilot, lambda: "Duyệt biên bản" in screen_text(app), "review")
            await pilot.press("k")
            await until(pilot, lambda: "Chưa gửi được, sẽ tự gửi lại" in screen_text(app), "down")
            server.start()
            await until(
                pilot, lambda: "Đã gửi, máy chủ đã nhận" in screen_text(app), "sent", timeout=30
            )
            first = station.outbox.batches(station.station_id)[0]
            assert first.state == "delivered" and first.ledger_index is not None
            await pilot.press("o")
            await until(pilot, lambda: "Biên nhận của máy chủ" in screen_text(app), "receipt")
            assert f"số {first.ledger_index}," in screen_text(app)
            # The printed copy of what was delivered, to keep with the paper minutes.
            await pilot.press("p")
            copy = station.folder / "copies" / f"batch-{first.sequence}.pdf"
            await until(pilot, copy.exists, "printed copy")
            text = "".join(page.extract_text() for page in pypdf.PdfReader(copy).pages)
            assert first.digest in "".join(text.split())
            await pilot.press("escape", "enter")
            await until(pilot, lambda: "đã gửi, máy chủ đã nhận" in screen_text(app), "home")
            # The correction: a reason first, both officials start from the signed figures.
            await pilot.press("c")
            await until(pilot, lambda: "Lý do đính chính" in screen_text(app), "reason")
            await pilot.press(*keys("Đếm lại đơn khiếu nại"), "enter")
            for _ in range(2):
                await until(pilot, lambda: "ĐÍNH CHÍNH" in screen_text(app), "correction form")
                i = [f.key for f in fields(station)].index("complaints.received")
                await until(pilot, lambda: app.focused is not None, "focus")
                for _ in range(len(fields(station))):
                    if getattr(app.focused, "id", None) == f"f-{i}":
                        break
                    await pilot.press("shift+tab")
                assert getattr(app.focused, "id", None) == f"f-{i}", screen_text(app)
                await pilot.press("ctrl+u", "2", "ctrl+n")
                await until(
                    pilot,
                    lambda: (
                        "Cán bộ B nhấn Enter" in screen_text(app)
                        or "Duyệt biên bản" in screen_text(app)
                    ),
                    "next step",
                )
                if "Cán bộ B nhấn Enter" in screen_text(app):
                    await pilot.press("enter")
            await until(pilot, lambda: "W208" in screen_text(app), "correction warning")
            await open_review_row(pilot, app, "explain|QH|W208")
            await pilot.press(*keys("Biên bản giấy ghi 2 đơn"), "enter")
            await pilot.press("k")
            await until(pilot, lambda: "Đã ký và lưu" in screen_text(app), "correction signed")
            await until(
                pilot, lambda: "Đã gửi, máy chủ đã nhận" in screen_text(app), "sent", timeout=30
            )
        old, new = batches(station)
        assert new.supersedes == first.digest and new.reason == "Đếm lại đơn khiếu nại"
        assert new.minutes[0].complaints.received == 2
        assert new.minutes[0].explanations == {"W208": "Biên bản giấy ghi 2 đơn"}
        assert [b.state for b in station.outbox.batches("KV-01")] == ["delivered", "delivered"]
        assert old.minutes[0].complaints.received == 1
        # The correction's copy says which way the figure went (→ is not in the PDF's
        # face), each finding's code once, and the round in words.
        from station_client.printout import write_copy

        text = " ".join(
            page.extract_text() for page in pypdf.PdfReader(write_copy(station, 2)).pages
        )
        text = " ".join(text.split())
        assert "W208 [QH]: biên bản đính chính thay đổi số liệu" in text
        assert "khiếu nại, tố cáo nhận được 1 → 2" in text, text
        assert "W208: W208" not in text and "complaints.received" not in text
        assert "vòng đầu / main round" in text
    finally:
        server.stop()
        station.close()


async def test_a_second_correction_asks_for_its_own_w208_explanation(station: Station) -> None:
    """The earlier warnings' explanations are kept, but W208 explained the change the
    earlier correction made: the new change is explained afresh, in the form's words."""
    from station_client.submit import submit

    def key() -> SigningKey:
        return station.signing_key(None)

    first = msgspec.structs.replace(qh(), explanations={"W200": "Hai phiếu hỏng được đổi"})
    # No piles: a change of votes alone is then a consistent correction (E117 aside).
    first = msgspec.structs.replace(
        first, ballots_issued=first.voters_voted + 2, ballots_by_names_kept=None
    )
    submit(station, [first], key)
    votes = {**first.candidate_votes, "QH-10-2": first.candidate_votes["QH-10-2"] + 2}
    second = msgspec.structs.replace(
        first, candidate_votes=votes, explanations={**first.explanations, "W208": "Thiếu 2"}
    )
    submit(station, [second], key, correction=True, reason="Đếm lại lần một")
    app = StationApp(station, retry_every=60, timeout=2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "đã ký, chưa gửi được" in screen_text(app), "home")
        await pilot.press("c")
        await until(pilot, lambda: "Lý do đính chính" in screen_text(app), "reason")
        await pilot.press(*keys("Đếm lại lần hai theo yêu cầu của Ban bầu cử xã"), "enter")
        i = [f.key for f in fields(station)].index("votes:QH-10-3")
        for _ in range(2):
            await until(pilot, lambda: "ĐÍNH CHÍNH" in screen_text(app), "correction form")
            while getattr(app.focused, "id", None) != f"f-{i}":
                await pilot.press("shift+tab")
            await pilot.press("ctrl+u", *keys("800"), "ctrl+n")
            await until(
                pilot,
                lambda: "Cán bộ B nhấn Enter" in screen_text(app) or "Duyệt" in screen_text(app),
                "next step",
            )
            if "Cán bộ B nhấn Enter" in screen_text(app):
                await pilot.press("enter")
        review = screen_text(app)
        # The field by the candidate's name, not candidate_votes.QH-10-3.
        assert "số phiếu bầu cho Lê Hoàng Cường (QH-10-3) 803 → 800" in " ".join(review.split()), (
            review
        )
        assert "candidate_votes" not in review
        assert "Thiếu 2" not in review and "Hai phiếu hỏng được đổi" in review
        # The whole reason is shown, not its first 14 letters.
        assert "Ban bầu cử xã" in " ".join(review.split()), review
        await pilot.press("k")
        await until(pilot, lambda: "cảnh báo chưa có giải thích" in screen_text(app), "refused")
    assert len(station.outbox.batches(station.station_id)) == 2


async def test_the_primary_silent_the_app_sends_to_the_standby_and_says_so(
    server_folder: ServerFolder, tmp_path: Path
) -> None:
    """The pack's primary does not answer (nothing listens there): the batch goes to
    the standby, and the sending line says so in plain words."""
    port = free_port()
    standby = f"http://127.0.0.1:{port}"
    station = new_station(
        tmp_path, server_url=f"http://127.0.0.1:{free_port()}", standby_urls=(standby,),
        server_key=server_folder.path / "server.pub.pem",
    )  # fmt: skip
    server_folder.enroll("KV-01", "KV-01", key=SigningKey.load(station.folder / KEY_FILE))
    server = RunningServer(
        server_folder, log_path=tmp_path / "server.log", extra_args=["--port", str(port)]
    )
    server.start()
    try:
        submit(station, example_minutes(), lambda: SigningKey.load(station.folder / KEY_FILE))
        app = StationApp(station, retry_every=0.3, timeout=3)
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: f"Đã gửi tới máy chủ dự phòng {standby}" in screen_text(app),
                "sent to the standby",
                timeout=30,
            )
        [batch] = station.outbox.batches(station.station_id)
        assert batch.state == "delivered" and batch.ledger_index is not None
        status, body = server.request("GET", f"/api/v1/ledger/hashes?at={batch.ledger_index}")
        assert status == 200 and batch.ledger_head in body.decode()
    finally:
        server.stop()
        station.close()
