"""The app's screens: home, the form, hand-over, differences, review, dialogs, sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static

from schemas.errors import KiemphieuError
from schemas.models import Finding
from schemas.signing import SigningKey
from station_client.app.model import EntryModel, Review
from station_client.app.widgets import FigureInput, LangScreenMixin, SendLine, both
from station_client.app.words import num, w
from station_client.entry import Race, paper_digest
from station_client.forms import (
    FormField,
    check_format,
    keys_for,
    name_fields,
    normalise,
    parse_count,
)
from station_client.outbox import StoredBatch
from station_client.station import Station
from station_client.status import short_time, status_data
from tally_server.core.definition import Seat
from tally_server.core.glossary import Lang

if TYPE_CHECKING:
    from station_client.app.app import StationApp

_LANG = both("l", "app.toggle_lang", "lang")


def label(f: FormField, lang: Lang) -> str:
    if f.kind == "pile":
        return w("pile", lang, k=f.key.split(":", 1)[1])
    if f.key.startswith("votes:"):
        return f.label_vi.removeprefix("Số phiếu bầu cho ")
    return f.label_vi if lang == "vi" else f.label_en


def shown(f: FormField, value: str | None, lang: Lang) -> str:
    if value is None or value == "":
        return w("blank", lang)
    if f.kind != "name":
        n = parse_count(value)
        if n is not None:
            return num(n, lang)
    return value


def message(finding: Finding, lang: Lang, race: Race | None = None) -> str:
    head = w("error" if finding.severity == "error" else "warning", lang)
    text = finding.message_vi if lang == "vi" else finding.message_en
    text = text.removeprefix(finding.code + ": ")
    if race is not None:
        text = say_fields(text, finding.fields, race.seat, lang)
    return f"{head} {finding.code}: {text}"


def say_fields(text: str, paths: Sequence[str], seat: Seat, lang: Lang) -> str:
    return name_fields(text, paths, seat, lambda f: label(f, lang))


def section(f: FormField, lang: Lang) -> str | None:
    """The paper form's heading that comes before this field, if any."""
    starts = {
        "voters_on_list": "sec_voters",
        "ballots_issued": "sec_ballots",
        "piles:1": "sec_piles",
        "complaints.received": "sec_complaints",
        "signatory:head": "sec_signatories",
    }
    if f.key in starts:
        return w(starts[f.key], lang)
    return None


def heading(race: Race, lang: Lang) -> str:
    s = race.seat
    return (
        f"{s.race.id} · {s.race.name} · {s.constituency.name} "
        f"({s.constituency.seats} {w('seats', lang)}, "
        f"{len(s.constituency.candidates)} {w('candidates', lang)})"
    )


class Base(LangScreenMixin, Screen[None]):
    @property
    def sapp(self) -> StationApp:
        return cast("StationApp", self.app)

    @property
    def lang(self) -> Lang:
        return self.sapp.lang

    def relabel(self) -> None:
        """Redraw every wording in the chosen language."""


# --- home ---------------------------------------------------------------------------


class HomeScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        *both("a", "enter_all", "enter_all"),
        *both("c", "correct", "correct"),
        *both("o", "outbox", "outbox"),
        *both("s", "app.send_now", "send"),
        *_LANG,
        *both("q", "app.quit_app", "quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="head")
        yield DataTable(id="races", cursor_type="row", zebra_stripes=True)
        yield Static(id="hint")
        yield SendLine(classes="send")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()

    def on_screen_resume(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        st = self.sapp.station
        area = st.election.polling_areas[st.polling_area_id]
        self.query_one("#head", Static).update(
            f"{w('station', self.lang)} {st.station_id} · {area.name}\n"
            f"{st.election.definition.name}\n"
            f"{w('races_here', self.lang)}:"
        )
        table = self.query_one("#races", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column(w("col_race", self.lang), width=44)
        table.add_column(w("col_state", self.lang), width=28)
        data = status_data(st)
        for race in data["races"]:
            # The whole name, on two lines where it is long: "Hội đồng nhân dân Thà…"
            # does not say which council.
            name = Text(f"{race['race_id']} · {race['race_name']}")
            table.add_row(name, w(race["state"], self.lang), key=race["race_id"], height=None)
        if data["races"]:
            table.move_cursor(row=min(row, len(data["races"]) - 1))
        self.query_one("#hint", Static).update(
            "Enter: " + w("enter_race", self.lang).lower()
            if self.lang == "en"
            else "Enter: nhập biên bản cuộc bầu cử đang chọn"
        )
        for line in self.query(SendLine):
            line.redraw()

    def _selected(self) -> str | None:
        table = self.query_one("#races", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.sapp.start_entry([str(event.row_key.value)], correction=False)

    def action_enter_all(self, _lang: str = "") -> None:
        self.sapp.start_entry([], correction=False)

    def action_correct(self, _lang: str = "") -> None:
        race = self._selected()
        if race is not None:
            self.sapp.start_entry([race], correction=True)

    def action_outbox(self, _lang: str = "") -> None:
        self.app.push_screen(OutboxScreen())


# --- the form -----------------------------------------------------------------------


class EntryScreen(Base):
    """One official types one race's minutes, laid out like the paper form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "app.focus_next", show=False, priority=True),
        Binding("up", "app.focus_previous", show=False, priority=True),
        *both("ctrl+n", "done", "next_race"),
        *both("escape", "app.leave_flow", "back"),
        *_LANG,
    ]

    def __init__(self, model: EntryModel, race: Race, copy: str) -> None:
        super().__init__()
        self.model, self.race, self.copy = model, race, copy

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        values = self.model.start(self.race, self.copy)
        with VerticalScroll(id="form"):
            for i, f in enumerate(self.race.fields):
                yield Static(classes="section", id=f"s-{i}")
                with Horizontal(classes="row"):
                    yield Static(classes="label", id=f"l-{i}")
                    box: Input
                    if f.kind == "name":
                        box = Input(value=values.get(f.key, ""), id=f"f-{i}", classes="name")
                    else:
                        box = FigureInput(value=values.get(f.key, ""), id=f"f-{i}")
                    yield box
                    yield Static(classes="mark", id=f"m-{i}")
        yield Static(id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()
        first = next(
            (i for i, f in enumerate(self.race.fields) if not self._box(i).value.strip()), 0
        )
        self._box(first).focus()

    def _box(self, i: int) -> Input:
        return self.query_one(f"#f-{i}", Input)

    def _index(self, widget: object) -> int | None:
        wid = getattr(widget, "id", None) or ""
        return int(wid[2:]) if wid.startswith("f-") else None

    def relabel(self) -> None:
        lang = self.lang
        who = w("official_a" if self.copy == "A" else "official_b", lang)
        if self.model.plan.correction:
            who = f"{w('correction', lang)} · {who}"
        n = [r.id for r in self.model.plan.races].index(self.race.id) + 1
        self.query_one("#title", Static).update(
            f"{who} ({n}/{len(self.model.plan.races)})\n{heading(self.race, lang)}"
        )
        for i, f in enumerate(self.race.fields):
            head = section(f, lang)
            if f.key == f"votes:{self.race.seat.constituency.candidates[0].id}":
                head = w("sec_votes", lang)
            sec = self.query_one(f"#s-{i}", Static)
            sec.update(head or "")
            sec.display = head is not None
            self.query_one(f"#l-{i}", Static).update(label(f, lang))
        self.recheck()

    def recheck(self) -> None:
        lang = self.lang
        live = self.model.live(self.race, self.copy)
        for i, f in enumerate(self.race.fields):
            text = self._box(i).value
            mark = ""
            if text.strip() and check_format(f, text) is not None:
                mark = "✗ " + w("not_number", lang)
            elif f.key in live.by_key:
                found = live.by_key[f.key]
                errors = [x.code for x in found if x.severity == "error"]
                warns = [x.code for x in found if x.severity == "warning"]
                mark = " ".join([*(f"✗ {c}" for c in errors), *(f"! {c}" for c in warns)])
            elif text.strip():
                mark = "✓"
            widget = self.query_one(f"#m-{i}", Static)
            widget.update(mark)
            widget.set_class(mark.startswith("✗"), "error")
            widget.set_class(mark.startswith("!"), "warning")
        self._note(live.by_key)

    def _note(self, by_key: dict[str, list[Finding]]) -> None:
        lang = self.lang
        i = self._index(self.focused)
        found = by_key.get(self.race.fields[i].key, []) if i is not None else []
        # Otherwise the form's findings so far: the mark just typed stays explained.
        found = found or list({id(x): x for xs in by_key.values() for x in xs}.values())
        if found:
            lines = [message(x, lang, self.race) for x in found[:2]]
            hint = "explain_later" if all(x.severity == "warning" for x in found) else "fix_later"
            lines.append(w(hint, lang))
        else:
            lines = [w("enter_keys", lang)]
        self.query_one("#note", Static).update("\n".join(lines))

    def on_descendant_focus(self) -> None:
        self.recheck()

    def on_input_changed(self, event: Input.Changed) -> None:
        i = self._index(event.input)
        if i is None:
            return
        f = self.race.fields[i]
        # Saved as typed (normalised): a crash loses nothing already on the screen.
        self.model.save(self.race.id, self.copy, f.key, normalise(f, event.value))
        self.recheck()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        i = self._index(event.input)
        if i is not None and i + 1 < len(self.race.fields):
            self._box(i + 1).focus()
        else:
            self.action_done()

    def action_done(self, _lang: str = "") -> None:
        missing = self.model.missing(self.race, self.copy)
        if missing is not None:
            i = self.race.fields.index(missing)
            self._box(i).focus()
            self.notify(w("fill_first", self.lang, label=label(missing, self.lang)))
            return
        self.model.finish(self.race, self.copy)
        self.sapp.flow_next()


class HandoverScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "go", show=False),
        *both("escape", "app.leave_flow", "back"),
        *_LANG,
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield Static(id="body")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#title", Static).update(w("handover_title", self.lang))
        self.query_one("#body", Static).update(w("handover_body", self.lang))

    def action_go(self) -> None:
        self.sapp.handed_over = True
        self.sapp.flow_next()


# --- settling the differences -------------------------------------------------------


class DiffScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "app.focus_next", show=False, priority=True),
        Binding("up", "app.focus_previous", show=False, priority=True),
        *both("escape", "app.leave_flow", "back"),
        *_LANG,
    ]

    def __init__(self, model: EntryModel) -> None:
        super().__init__()
        self.model = model
        self.diffs = model.differences()

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with VerticalScroll(id="form"):
            yield Static(id="columns", classes="row")
            for i, (race, f, _, _) in enumerate(self.diffs):
                with Horizontal(classes="row"):
                    yield Static(classes="dlabel", id=f"l-{i}")
                    yield Static(classes="side", id=f"a-{i}")
                    yield Static(classes="side", id=f"b-{i}")
                    settled = self.model.settled(race, f.key) or ""
                    if f.kind == "name":
                        yield Input(value=settled, id=f"f-{i}", classes="choice")
                    else:
                        yield FigureInput(
                            value=settled, id=f"f-{i}", classes="choice", extra="aAbB"
                        )
        yield Static(id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()
        self.query_one("#f-0", Input).focus()

    def relabel(self) -> None:
        lang = self.lang
        self.query_one("#title", Static).update(w("diff_title", lang, n=len(self.diffs)))
        self.query_one("#columns", Static).update(
            f"{'':<34}{'A':>12}{'B':>12}  {w('diff_choice', lang)}"
        )
        for i, (race, f, a, b) in enumerate(self.diffs):
            text = f"{race.id} · {label(f, lang)}"
            self.query_one(f"#l-{i}", Static).update(text[:34])
            self.query_one(f"#a-{i}", Static).update(shown(f, a, lang))
            self.query_one(f"#b-{i}", Static).update(shown(f, b, lang))
        self._note()

    def _note(self, problem: str | None = None) -> None:
        left = sum(1 for r, f, _, _ in self.diffs if self.model.settled(r, f.key) is None)
        text = problem or w("diff_pending", self.lang, n=left)
        self.query_one("#note", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        i = int((event.input.id or "f-0")[2:])
        race, f, a, b = self.diffs[i]
        text = event.value.strip()
        if text.lower() in ("a", "b"):
            value = a if text.lower() == "a" else b
        else:
            problem = check_format(f, text)
            if problem is not None or not text:
                self._note(problem or w("diff_pending", self.lang, n=1))
                return
            value = normalise(f, text)
        self.model.settle(race, f.key, value)
        event.input.value = shown(f, value, self.lang) if f.kind == "name" else value
        left = [
            j for j, (r, g, _, _) in enumerate(self.diffs) if self.model.settled(r, g.key) is None
        ]
        if left:
            self.query_one(f"#f-{left[0]}", Input).focus()
            self._note()
            return
        self.model.close_differences()
        self.sapp.flow_next()


# --- review and signing -------------------------------------------------------------


class ReviewScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        *both("k", "sign", "sign"),
        *both("x", "discard", "discard"),
        *both("escape", "app.leave_flow", "back"),
        *_LANG,
    ]

    def __init__(self, model: EntryModel) -> None:
        super().__init__()
        self.model = model
        self.review: Review = model.review()

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="summary", cursor_type="row")
        yield Static(id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.lang
        title = w("review_title", lang)
        if self.model.plan.correction:
            title = f"{w('correction', lang)} · {title}"
        self.query_one("#title", Static).update(title)
        self.query_one("#note", Static).update(w("review_keys", lang))
        self.fill()

    def fill(self) -> None:
        lang = self.lang
        self.review = self.model.review()
        table = self.query_one("#summary", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column("", width=44, key="label")
        table.add_column("", width=14, key="value")
        table.add_column("", width=14, key="check")
        if self.model.plan.correction:
            reason = self.model.reason() or w("needs_reason", lang)
            # All of it, wrapped: the officials check the reason they are signing.
            table.add_row(Text(f"{w('reason', lang)}: {reason}"), "", "", key="reason", height=None)
        by_race: dict[str, list[Finding]] = {}
        for finding in self.review.findings:
            by_race.setdefault(finding.race_id or "", []).append(finding)
        unexplained = {(x.race_id, x.code) for x in self.review.unexplained()}
        # The findings first, each warning with its explanation: what stops signing is
        # on the first screen, not under the fields.
        for race in self.model.plan.races:
            values = self.model.values(race)
            for finding in by_race.get(race.id, []):
                table.add_row(
                    Text(f"{race.id} · {message(finding, lang, race)}"), "", "",
                    key=f"find|{race.id}|{finding.code}", height=None,
                )  # fmt: skip
                if finding.severity == "warning":
                    text = values.get(f"explain:{finding.code}", "")
                    if (race.id, finding.code) in unexplained or not text:
                        text = w("needs_explanation", lang)
                    table.add_row(
                        Text(f"   {w('explanation', lang)}: {text}"), "", "",
                        key=f"explain|{race.id}|{finding.code}", height=None,
                    )  # fmt: skip
        for race in self.model.plan.races:
            values = self.model.values(race)
            table.add_row(
                Text(f"── {heading(race, lang)}"), "", "", key=f"head|{race.id}", height=None
            )
            broken = self.review.broken.get(race.id)
            marks: dict[str, str] = {}
            for finding in by_race.get(race.id, []):
                for k in keys_for(finding.fields, race.seat):
                    sign = "✗" if finding.severity == "error" else "!"
                    marks[k] = (marks.get(k, "") + f" {sign} {finding.code}").strip()
            for f in race.fields:
                mark = marks.get(f.key, "")
                if broken is not None and f.key in broken.fields:
                    mark = "✗ " + w("not_number", lang)
                table.add_row(
                    label(f, lang)[:44],
                    shown(f, values.get(f.key), lang)[:14],
                    mark[:14],
                    key=f"field|{race.id}|{f.key}",
                )
        table.move_cursor(row=min(row, table.row_count - 1))

    def _race(self, race_id: str) -> Race:
        return next(r for r in self.model.plan.races if r.id == race_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        kind, _, rest = key.partition("|")
        lang = self.lang
        if kind == "reason":

            def set_reason(text: str | None) -> None:
                if text:
                    self.model.set_reason(text)
                self.fill()

            self.app.push_screen(
                TextDialog(w("reason_title", lang), self.model.reason()), set_reason
            )
        elif kind == "field":
            race_id, field_key = rest.split("|", 1)
            race = self._race(race_id)
            f = next(x for x in race.fields if x.key == field_key)

            def set_value(text: str | None) -> None:
                if text is not None:
                    self.model.edit(race, f.key, text)
                self.fill()

            current = self.model.values(race).get(f.key, "")
            self.app.push_screen(FieldDialog(f, current), set_value)
        elif kind in ("explain", "find"):
            race_id, code = rest.split("|", 1)
            race = self._race(race_id)
            if not any(
                x.code == code and x.severity == "warning" and x.race_id == race_id
                for x in self.review.findings
            ):
                return

            def set_explanation(text: str | None) -> None:
                if text:
                    self.model.edit(race, f"explain:{code}", text)
                self.fill()

            current = self.model.values(race).get(f"explain:{code}", "")
            said = next(
                message(x, lang, race)
                for x in self.review.findings
                if x.code == code and x.race_id == race_id
            )
            # The warning itself above the box: what is being explained stays in sight.
            self.app.push_screen(
                TextDialog(f"{race_id} · {said}\n{w('explanation', lang)}:", current),
                set_explanation,
            )

    def refuse(self, text: str, severity: str = "warning") -> None:
        self.query_one("#note", Static).update(text)
        self.notify(text, severity=severity)  # type: ignore[arg-type]

    def action_sign(self, _lang: str = "") -> None:
        self.review = review = self.model.review()
        lang = self.lang
        if review.broken:
            self.refuse(w("cannot_sign_errors", lang, n=len(review.broken)), severity="error")
            return
        if review.errors:
            self.refuse(w("cannot_sign_errors", lang, n=len(review.errors)), severity="error")
            return
        missing = review.unexplained()
        if missing:
            self.refuse(w("cannot_sign_warnings", lang, n=len(missing)), severity="warning")
            return
        if self.model.plan.correction and not self.model.reason().strip():
            self.refuse(w("cannot_sign_reason", lang), severity="warning")
            return
        station = self.sapp.station

        def signed(key: SigningKey | None) -> None:
            if key is not None:
                self.sapp.signed(self.model.sign(key, review))

        if station.config.key_encrypted:
            self.app.push_screen(PassphraseDialog(station), signed)
        else:
            signed(station.signing_key(None))

    def action_discard(self, _lang: str = "") -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.model.discard()
                self.notify(w("discarded", self.lang))
                self.sapp.leave_flow()

        self.app.push_screen(ConfirmDialog(w("discard_ask", self.lang)), answer)


# --- dialogs ------------------------------------------------------------------------


class Dialog(LangScreenMixin, ModalScreen[Any]):
    @property
    def lang(self) -> Lang:
        return cast("StationApp", self.app).lang


class FieldDialog(Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, f: FormField, value: str) -> None:
        super().__init__()
        self.field, self.value = f, value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(w("edit_title", self.lang, label=label(self.field, self.lang)))
            if self.field.kind == "name":
                yield Input(value=self.value, id="value")
            else:
                yield FigureInput(value=self.value, id="value")
            yield Static(w("field_hint", self.lang), id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = check_format(self.field, event.value)
        if problem is not None:
            self.query_one("#problem", Static).update(problem)
            return
        self.dismiss(normalise(self.field, event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.title_text, self.value = title, value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text)
            yield Input(value=self.value, id="value")
            yield Static(w("field_hint", self.lang))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from station_client.forms import clean_text

        text = clean_text(event.value)
        if text:
            self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PassphraseDialog(Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(w("passphrase_title", self.lang))
            yield Input(password=True, id="value")
            yield Static("", id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        import unicodedata

        text = unicodedata.normalize("NFC", event.value).encode("utf-8")
        try:
            key = self.station.signing_key(text or None)
        except KiemphieuError:
            # Asked again: a mistyped passphrase must not end the evening's work.
            event.input.value = ""
            self.query_one("#problem", Static).update(w("passphrase_wrong", self.lang))
            return
        self.dismiss(key)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c,y", "answer(True)", show=False),
        Binding("k,n,escape", "answer(False)", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# --- signed, sent, receipts ---------------------------------------------------------


class SignedScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        *both("p", "print_copy", "print"),
        *both("o", "outbox", "outbox"),
        *both("enter", "app.leave_flow", "home"),
        *_LANG,
    ]

    def __init__(self, stored: StoredBatch) -> None:
        super().__init__()
        self.stored = stored

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield Static(id="body")
            yield SendLine(classes="send")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.lang
        b = self.stored
        self.query_one("#title", Static).update(w("signed_title", lang))
        self.query_one("#body", Static).update(
            w("signed_body", lang, races=", ".join(b.races), n=b.sequence,
              code=paper_digest(b.digest))
        )  # fmt: skip
        for line in self.query(SendLine):
            line.redraw()

    def action_print_copy(self, _lang: str = "") -> None:
        self.sapp.print_copy(self.stored.sequence)

    def action_outbox(self, _lang: str = "") -> None:
        self.app.push_screen(OutboxScreen())


class OutboxScreen(Base):
    BINDINGS: ClassVar[list[BindingType]] = [
        *both("s", "app.send_now", "send"),
        *both("p", "print_copy", "print"),
        *both("escape", "back", "back"),
        *_LANG,
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="batches", cursor_type="row")
        yield Static(id="detail")
        yield SendLine(classes="send")
        yield Footer()

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.lang
        st = self.sapp.station
        self.query_one("#title", Static).update(w("outbox_title", lang))
        table = self.query_one("#batches", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column(w("col_no", lang), width=4)
        table.add_column(w("col_race", lang), width=14)
        table.add_column(w("col_state", lang), width=24)
        table.add_column(w("col_code", lang), width=19)
        self.batches = st.outbox.batches(st.station_id)
        for b in self.batches:
            table.add_row(
                str(b.sequence), ",".join(b.races)[:14], w(b.state, lang),
                paper_digest(b.digest), key=str(b.sequence),
            )  # fmt: skip
        if self.batches:
            table.move_cursor(row=min(max(row, 0), len(self.batches) - 1))
        self.show_detail()
        for line in self.query(SendLine):
            line.redraw()

    def _selected(self) -> StoredBatch | None:
        table = self.query_one("#batches", DataTable)
        if not self.batches:
            return None
        return self.batches[min(table.cursor_row, len(self.batches) - 1)]

    def show_detail(self) -> None:
        lang = self.lang
        st = self.sapp.station
        b = self._selected()
        if b is None:
            self.query_one("#detail", Static).update(w("outbox_empty", lang))
            return
        lines = []
        if b.ledger_index is not None:
            lines.append(
                f"{w('col_receipt', lang)}: "
                + w("receipt_line", lang, index=b.ledger_index, time=short_time(b.received_at))
            )
        if b.supersedes:
            old = next(
                (x.sequence for x in self.batches if x.digest == b.supersedes), b.supersedes[:8]
            )
            lines.append(w("corrects", lang, n=old, reason=b.reason or ""))
        for f in b.findings[:2]:
            code = str(f.get("code", "?"))
            text = str(f.get("message_vi" if lang == "vi" else "message_en", ""))
            text = text.removeprefix(code + ": ")
            seat = st.election.seats.get((st.polling_area_id, str(f.get("race_id"))))
            if seat is not None:
                text = say_fields(text, [str(x) for x in f.get("fields", [])], seat, lang)
            lines.append(f"{code}: {text}")
        self.query_one("#detail", Static).update("\n".join(lines))

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def action_print_copy(self, _lang: str = "") -> None:
        b = self._selected()
        if b is not None:
            self.sapp.print_copy(b.sequence)

    def action_back(self, _lang: str = "") -> None:
        self.app.pop_screen()
