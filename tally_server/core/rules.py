"""The law's checks on one polling team's counting minutes (and on a batch of them).

Errors mean the minutes cannot be right and are rejected; warnings mean they are
plausible but unusual: accepted, flagged, and an explanation is required (the
minutes carry it in ``explanations[code]``). Every rule has a stable code; the
table in ``docs/rules.md`` is checked against ``RULES`` by a test.

Pure: no I/O, integers only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.models import Constituency, CountingMinutes, Finding, ResultBatch, Round
from tally_server.core.decision import Status
from tally_server.core.definition import Election
from tally_server.core.fields import COUNTS, count_finding, label
from tally_server.core.glossary import NO_SUPPLEMENTARY, ROUND, RULE_TITLE, Words, status_words
from tally_server.core.numbers import en_int, en_percent, percent, vn_int, vn_percent


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Thresholds the law leaves to judgement or that are unconfirmed."""

    min_voters: int = 300
    max_voters: int = 4000
    high_turnout_permille: int = 999
    """Turnout at or above this (in ‰ of voters on the list) warns."""
    low_turnout_percent: int = 50
    """Turnout at or below this (in % of voters on the list) warns."""
    high_invalid_percent: int = 10
    """Invalid ballots above this share (in % of ballots received) warn (unconfirmed)."""


DEFAULT_RULES = RulesConfig()


@dataclass(frozen=True, slots=True)
class FirstRound:
    """What a supplementary round's checks need of the round before it: the main
    round, or the re-vote that took its place (``tally.first_round`` works it out).

    A supplementary election (Law 85/2015 Art. 79) puts only this round's unelected
    candidates on the ballot and fills only the seats it left open, so its minutes
    cannot be judged before this round is complete."""

    round: Round
    status: Status
    """The round's determination."""
    seats: int
    """The constituency's seats."""
    elected: tuple[str, ...]
    areas_reported: int
    areas_total: int

    @property
    def complete(self) -> bool:
        return self.status not in ("no_results", "partial")

    @property
    def open_seats(self) -> int:
        return self.seats - len(self.elected)

    @property
    def proposes_supplementary(self) -> bool:
        return self.status == "supplementary_proposed" and self.open_seats > 0


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Literal["error", "warning"]
    title: Words

    @property
    def title_vi(self) -> str:
        return self.title.vi

    @property
    def title_en(self) -> str:
        return self.title.en


RULES: dict[str, Rule] = {
    code: Rule(code, "error" if code[0] == "E" else "warning", title)
    for code, title in RULE_TITLE.items()
    if code[0] in "EW"
}
"""Every rule on counting minutes, titled by the glossary."""

_LEVEL_ORDER = {"national_assembly": 0, "province": 1, "district": 2, "commune": 3}


def _f(
    code: str,
    race_id: str | None,
    fields: Sequence[str],
    figures: Mapping[str, int | str],
    vi: str,
    en: str,
) -> Finding:
    return Finding(
        code=code,
        severity=RULES[code].severity,
        race_id=race_id,
        fields=list(fields),
        figures=dict(figures),
        message_vi=f"{code}: {vi}",
        message_en=f"{code}: {en}",
    )


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _all_counts(minutes: CountingMinutes) -> bool:
    """Whether every figure is a count: the usual answer, found without naming paths."""
    c = minutes.complaints
    return (
        all(_is_count(getattr(minutes, name)) for name, _ in COUNTS)
        and all(_is_count(v) for v in minutes.candidate_votes.values())
        and all(_is_count(v) for v in minutes.ballots_by_names_kept or ())
        and _is_count(c.received)
        and _is_count(c.resolved)
        and _is_count(c.forwarded)
    )


def _figures(minutes: CountingMinutes) -> list[tuple[str, object]]:
    """Every figure of the minutes with the field path it sits at."""
    out: list[tuple[str, object]] = [(name, getattr(minutes, name)) for name, _ in COUNTS]
    out += [(f"candidate_votes.{cid}", v) for cid, v in minutes.candidate_votes.items()]
    for k, pile in enumerate(minutes.ballots_by_names_kept or (), start=1):
        out.append((f"ballots_by_names_kept[{k - 1}]", pile))
    c = minutes.complaints
    out += [
        ("complaints.received", c.received),
        ("complaints.resolved", c.resolved),
        ("complaints.forwarded", c.forwarded),
    ]
    return out


def _where(
    election: Election, minutes: CountingMinutes
) -> tuple[list[Finding], Constituency | None]:
    """Structural checks: the minutes name a race, constituency and polling area that
    exist and belong together. Returns the constituency when it is known."""
    out: list[Finding] = []
    r, c, a = minutes.race_id, minutes.constituency_id, minutes.polling_area_id
    race = election.races.get(r)
    con = election.constituencies.get((r, c))
    if race is None:
        out.append(
            _f(
                "E101",
                r,
                ["race_id"],
                {"race_id": r},
                f"cuộc bầu cử {r} không có trong định nghĩa cuộc bầu cử",
                f"race {r} is not in the election definition",
            )
        )
    elif con is None:
        out.append(
            _f(
                "E102",
                r,
                ["constituency_id"],
                {"race_id": r, "constituency_id": c},
                f"đơn vị bầu cử {c} không thuộc cuộc bầu cử {r}",
                f"constituency {c} is not a constituency of race {r}",
            )
        )
    if a not in election.polling_areas:
        out.append(
            _f(
                "E103",
                r,
                ["polling_area_id"],
                {"polling_area_id": a},
                f"khu vực bỏ phiếu {a} không có trong định nghĩa cuộc bầu cử",
                f"polling area {a} is not in the election definition",
            )
        )
    elif race is not None:
        seat = election.seats.get((a, r))
        if seat is None:
            out.append(
                _f(
                    "E104",
                    r,
                    ["polling_area_id", "race_id"],
                    {"polling_area_id": a, "race_id": r},
                    f"khu vực bỏ phiếu {a} không bầu cuộc bầu cử {r}",
                    f"race {r} is not held at polling area {a}",
                )
            )
        elif con is not None and seat.constituency.id != c:
            out.append(
                _f(
                    "E105",
                    r,
                    ["polling_area_id", "constituency_id"],
                    {"polling_area_id": a, "constituency_id": c, "votes_in": seat.constituency.id},
                    f"khu vực bỏ phiếu {a} bầu ở đơn vị bầu cử {seat.constituency.id} "
                    f"của cuộc bầu cử {r}, không phải {c}",
                    f"polling area {a} votes in constituency {seat.constituency.id} "
                    f"of race {r}, not {c}",
                )
            )
    return out, con


def _candidate_list(minutes: CountingMinutes, con: Constituency) -> list[Finding]:
    listed = [cand.id for cand in con.candidates]
    given = set(minutes.candidate_votes)
    missing = [cid for cid in listed if cid not in given]
    unknown = sorted(given.difference(listed))
    supplementary = minutes.round == "supplementary"
    if unknown or (missing and not supplementary) or not given:
        r = minutes.race_id
        what_en = f"constituency {con.id} lists {len(listed)} candidates"
        what_vi = f"đơn vị bầu cử {con.id} có {len(listed)} người ứng cử"
        parts_en: list[str] = []
        parts_vi: list[str] = []
        if not given:
            parts_en.append("the minutes name none")
            parts_vi.append("biên bản không ghi người nào")
        if missing and not supplementary:
            parts_en.append(f"missing: {', '.join(missing)}")
            parts_vi.append(f"thiếu: {', '.join(missing)}")
        if unknown:
            parts_en.append(f"not on the list: {', '.join(unknown)}")
            parts_vi.append(f"không có trong danh sách: {', '.join(unknown)}")
        return [
            _f(
                "E106",
                r,
                ["candidate_votes"],
                {
                    "constituency_id": con.id,
                    "listed": len(listed),
                    "given": len(given),
                    "missing": ",".join(missing) if not supplementary else "",
                    "unknown": ",".join(unknown),
                },
                f"{what_vi}; {'; '.join(parts_vi)}",
                f"{what_en}; {'; '.join(parts_en)}",
            )
        ]
    return []


def _later_round(
    m: CountingMinutes, con: Constituency, first: FirstRound
) -> tuple[list[Finding], int | None]:
    """The checks of a supplementary minutes that need the first round's result, and
    the seats its ballots may fill (None while that is not known)."""
    r = m.race_id
    rvi, ren = ROUND[first.round].vi, ROUND[first.round].en
    base: dict[str, int | str] = {
        "constituency_id": con.id,
        "first_round": first.round,
        "seats": con.seats,
    }
    if not first.complete:
        n, total = vn_int(first.areas_reported), vn_int(first.areas_total)
        n_en, total_en = en_int(first.areas_reported), en_int(first.areas_total)
        return [
            _f(
                "E118",
                r,
                ["round"],
                {
                    **base,
                    "first_round_status": first.status,
                    "areas_reported": first.areas_reported,
                    "areas_total": first.areas_total,
                },
                f"{rvi} của đơn vị bầu cử {con.id} mới nhận {n}/{total} khu vực bỏ phiếu: "
                "chưa xác định được ai đã trúng cử và còn mấy ghế; gửi lại biên bản bầu cử "
                "thêm khi vòng đầu đã đủ",
                f"the {ren} of constituency {con.id} has {n_en} of {total_en} polling areas in: "
                "who was elected and how many seats are open is not known yet; send the "
                "supplementary minutes again once it is complete",
            )
        ], None
    filled = len(first.elected)
    if not first.proposes_supplementary:
        why = NO_SUPPLEMENTARY.get(first.status, status_words(first.status))
        return [
            _f(
                "E109",
                r,
                ["round"],
                {**base, "first_round_status": first.status, "seats_filled": filled},
                f"{rvi} của đơn vị bầu cử {con.id} bầu được {filled}/{con.seats} đại biểu, "
                f"{why.vi}: không có bầu cử thêm",
                f"the {ren} of constituency {con.id} filled {filled} of {con.seats} seat(s); "
                f"{why.en}: there is no supplementary round",
            )
        ], None
    out: list[Finding] = []
    again = [c for c in con.candidates if c.id in m.candidate_votes and c.id in first.elected]
    if again:
        names = ", ".join(f"{c.full_name} ({c.id})" for c in again)
        out.append(
            _f(
                "E108",
                r,
                [f"candidate_votes.{c.id}" for c in again],
                {
                    **base,
                    "elected_before": ",".join(c.id for c in again),
                    "seats_filled": filled,
                    "open_seats": first.open_seats,
                },
                f"{names} đã trúng cử ở {rvi} của đơn vị bầu cử {con.id} "
                f"({filled}/{con.seats} ghế): bầu cử thêm chỉ bầu trong số người chưa trúng "
                f"cử, cho {first.open_seats} ghế còn thiếu",
                f"{names} already elected in the {ren} of constituency {con.id} "
                f"({filled} of {con.seats} seats): a supplementary round chooses only among "
                f"the unelected, for the {first.open_seats} seat(s) still open",
            )
        )
    return out, first.open_seats


def _arithmetic(
    minutes: CountingMinutes, seats: int | None, open_seats: int | None = None
) -> list[Finding]:
    """``open_seats``: a supplementary round's seats still open, when known; its
    ballots keep at most that many names (Art. 74), not the constituency's seats."""
    m = minutes
    r = m.race_id
    out: list[Finding] = []
    if m.voters_voted > m.voters_on_list:
        out.append(
            _f(
                "E110",
                r,
                ["voters_voted", "voters_on_list"],
                {"voters_voted": m.voters_voted, "voters_on_list": m.voters_on_list},
                f"số cử tri đã bỏ phiếu ({vn_int(m.voters_voted)}) > "
                f"tổng số cử tri ({vn_int(m.voters_on_list)})",
                f"voters who voted ({en_int(m.voters_voted)}) > "
                f"voters on the list ({en_int(m.voters_on_list)})",
            )
        )
    if m.ballots_received > m.ballots_issued:
        out.append(
            _f(
                "E111",
                r,
                ["ballots_received", "ballots_issued"],
                {"ballots_received": m.ballots_received, "ballots_issued": m.ballots_issued},
                f"số phiếu thu vào ({vn_int(m.ballots_received)}) > "
                f"số phiếu phát ra ({vn_int(m.ballots_issued)})",
                f"ballots received ({en_int(m.ballots_received)}) > "
                f"ballots issued ({en_int(m.ballots_issued)})",
            )
        )
    both = m.valid_ballots + m.invalid_ballots
    if both != m.ballots_received:
        out.append(
            _f(
                "E112",
                r,
                ["valid_ballots", "invalid_ballots", "ballots_received"],
                {
                    "valid_ballots": m.valid_ballots,
                    "invalid_ballots": m.invalid_ballots,
                    "sum": both,
                    "ballots_received": m.ballots_received,
                },
                f"phiếu hợp lệ ({vn_int(m.valid_ballots)}) + phiếu không hợp lệ "
                f"({vn_int(m.invalid_ballots)}) = {vn_int(both)} ≠ "
                f"phiếu thu vào ({vn_int(m.ballots_received)})",
                f"valid ({en_int(m.valid_ballots)}) + invalid ({en_int(m.invalid_ballots)}) "
                f"= {en_int(both)} ≠ ballots received ({en_int(m.ballots_received)})",
            )
        )
    for cid, votes in m.candidate_votes.items():
        if votes > m.valid_ballots:
            out.append(
                _f(
                    "E113",
                    r,
                    [f"candidate_votes.{cid}", "valid_ballots"],
                    {"candidate_id": cid, "votes": votes, "valid_ballots": m.valid_ballots},
                    f"người ứng cử {cid} được {vn_int(votes)} phiếu > "
                    f"số phiếu hợp lệ ({vn_int(m.valid_ballots)})",
                    f"candidate {cid} has {en_int(votes)} votes > "
                    f"valid ballots ({en_int(m.valid_ballots)})",
                )
            )
    total = sum(m.candidate_votes.values())
    if total < m.valid_ballots:
        out.append(
            _f(
                "E114",
                r,
                ["candidate_votes", "valid_ballots"],
                {"votes_total": total, "valid_ballots": m.valid_ballots},
                f"tổng số phiếu bầu cho các ứng cử viên ({vn_int(total)}) < "
                f"số phiếu hợp lệ ({vn_int(m.valid_ballots)}): "
                "mỗi phiếu hợp lệ giữ ít nhất một tên",
                f"sum of all candidates' votes ({en_int(total)}) < "
                f"valid ballots ({en_int(m.valid_ballots)}): every valid ballot keeps a name",
            )
        )
    if open_seats is not None and total > open_seats * m.valid_ballots:
        cap = open_seats * m.valid_ballots
        out.append(
            _f(
                "E115",
                r,
                ["candidate_votes", "valid_ballots"],
                {
                    "votes_total": total,
                    "seats": open_seats,
                    "constituency_seats": seats if seats is not None else 0,
                    "valid_ballots": m.valid_ballots,
                    "cap": cap,
                },
                f"tổng số phiếu bầu cho các ứng cử viên ({vn_int(total)}) > "
                f"{open_seats} ghế còn thiếu × {vn_int(m.valid_ballots)} phiếu hợp lệ = "
                f"{vn_int(cap)}: phiếu bầu cử thêm giữ nhiều nhất {open_seats} tên",
                f"sum of all candidates' votes ({en_int(total)}) > "
                f"{open_seats} seat(s) still open × {en_int(m.valid_ballots)} valid ballots = "
                f"{en_int(cap)}: a supplementary ballot keeps at most {open_seats} name(s)",
            )
        )
    elif seats is not None and total > seats * m.valid_ballots:
        cap = seats * m.valid_ballots
        out.append(
            _f(
                "E115",
                r,
                ["candidate_votes", "valid_ballots"],
                {
                    "votes_total": total,
                    "seats": seats,
                    "valid_ballots": m.valid_ballots,
                    "cap": cap,
                },
                f"tổng số phiếu bầu cho các ứng cử viên ({vn_int(total)}) > "
                f"{seats} ghế × {vn_int(m.valid_ballots)} phiếu hợp lệ = {vn_int(cap)}",
                f"sum of all candidates' votes ({en_int(total)}) > "
                f"{seats} seats × {en_int(m.valid_ballots)} valid ballots = {en_int(cap)}",
            )
        )
    piles = m.ballots_by_names_kept
    if piles is not None:
        if seats is not None:
            ok = 1 <= len(piles) <= seats if m.round == "supplementary" else len(piles) == seats
            if not ok:
                out.append(
                    _f(
                        "E107",
                        r,
                        ["ballots_by_names_kept"],
                        {"piles": len(piles), "seats": seats},
                        f"có {len(piles)} nhóm phiếu theo số tên giữ lại, "
                        f"đơn vị bầu cử có {seats} ghế",
                        f"{len(piles)} by-names piles for a constituency of {seats} seats",
                    )
                )
            elif open_seats is not None and any(piles[open_seats:]):
                over = sum(piles[open_seats:])
                out.append(
                    _f(
                        "E107",
                        r,
                        ["ballots_by_names_kept"],
                        {
                            "piles": len(piles),
                            "seats": open_seats,
                            "constituency_seats": seats,
                            "over": over,
                        },
                        f"{vn_int(over)} phiếu được tính là hợp lệ dù giữ hơn {open_seats} tên; "
                        f"bầu cử thêm chỉ còn {open_seats} ghế: phiếu giữ nhiều tên hơn số ghế "
                        "là phiếu không hợp lệ",
                        f"{en_int(over)} ballots counted valid keep more than {open_seats} "
                        f"name(s); the supplementary round has {open_seats} seat(s) open, and a "
                        "ballot keeping more names than the seats is invalid",
                    )
                )
        pile_sum = sum(piles)
        if pile_sum != m.valid_ballots:
            out.append(
                _f(
                    "E116",
                    r,
                    ["ballots_by_names_kept", "valid_ballots"],
                    {"piles_total": pile_sum, "valid_ballots": m.valid_ballots},
                    f"tổng các nhóm phiếu theo số tên ({vn_int(pile_sum)}) ≠ "
                    f"số phiếu hợp lệ ({vn_int(m.valid_ballots)})",
                    f"sum of the by-names piles ({en_int(pile_sum)}) ≠ "
                    f"valid ballots ({en_int(m.valid_ballots)})",
                )
            )
        names = sum(k * pile for k, pile in enumerate(piles, start=1))
        if names != total:
            out.append(
                _f(
                    "E117",
                    r,
                    ["ballots_by_names_kept", "candidate_votes"],
                    {"names_kept": names, "votes_total": total},
                    f"Σ k × (phiếu giữ k tên) = {vn_int(names)} ≠ "
                    f"tổng số phiếu bầu cho các ứng cử viên ({vn_int(total)})",
                    f"Σ k × (ballots keeping k names) = {en_int(names)} ≠ "
                    f"sum of all candidates' votes ({en_int(total)})",
                )
            )
    return out


def _warnings(election: Election, m: CountingMinutes, config: RulesConfig) -> list[Finding]:
    r = m.race_id
    out: list[Finding] = []
    if m.ballots_issued != m.voters_voted:
        out.append(
            _f(
                "W200",
                r,
                ["ballots_issued", "voters_voted"],
                {"ballots_issued": m.ballots_issued, "voters_voted": m.voters_voted},
                f"số phiếu phát ra ({vn_int(m.ballots_issued)}) ≠ "
                f"số cử tri đã bỏ phiếu ({vn_int(m.voters_voted)})",
                f"ballots issued ({en_int(m.ballots_issued)}) ≠ "
                f"voters who voted ({en_int(m.voters_voted)})",
            )
        )
    if m.ballots_received != m.voters_voted:
        out.append(
            _f(
                "W201",
                r,
                ["ballots_received", "voters_voted"],
                {"ballots_received": m.ballots_received, "voters_voted": m.voters_voted},
                f"số phiếu thu vào ({vn_int(m.ballots_received)}) ≠ "
                f"số cử tri đã bỏ phiếu ({vn_int(m.voters_voted)})",
                f"ballots received ({en_int(m.ballots_received)}) ≠ "
                f"voters who voted ({en_int(m.voters_voted)})",
            )
        )
    n = m.voters_on_list
    if not config.min_voters <= n <= config.max_voters:
        out.append(
            _f(
                "W202",
                r,
                ["voters_on_list"],
                {"voters_on_list": n, "min": config.min_voters, "max": config.max_voters},
                f"tổng số cử tri ({vn_int(n)}) ngoài khoảng "
                f"{vn_int(config.min_voters)}–{vn_int(config.max_voters)} của một khu vực bỏ phiếu",
                f"voters on the list ({en_int(n)}) outside the usual "
                f"{en_int(config.min_voters)}–{en_int(config.max_voters)} of a polling area",
            )
        )
    area = election.polling_areas.get(m.polling_area_id)
    defined = area.voters.get(r) if area is not None else None
    if defined is not None and defined != n:
        out.append(
            _f(
                "W204",
                r,
                ["voters_on_list"],
                {"voters_on_list": n, "defined": defined},
                f"tổng số cử tri ({vn_int(n)}) khác số trong định nghĩa cho khu vực "
                f"{m.polling_area_id} ({vn_int(defined)})",
                f"voters on the list ({en_int(n)}) differ from the definition's figure "
                f"for polling area {m.polling_area_id} ({en_int(defined)})",
            )
        )
    high = n > 0 and 1000 * m.voters_voted >= config.high_turnout_permille * n
    low = n > 0 and 100 * m.voters_voted <= config.low_turnout_percent * n
    if high or low:
        # Worded only when a warning says it: this runs for every sheet of the night.
        share_of_list = percent(m.voters_voted, n)
        turnout, turnout_en = vn_percent(share_of_list), en_percent(share_of_list)
        if high:
            pm = config.high_turnout_permille
            limit = f"{pm // 10},{pm % 10}" if pm % 10 else str(pm // 10)
            limit_en = limit.replace(",", ".")
            out.append(
                _f(
                    "W205",
                    r,
                    ["voters_voted", "voters_on_list"],
                    {"voters_voted": m.voters_voted, "voters_on_list": n, "turnout": turnout},
                    f"tỷ lệ đi bầu {turnout} ({vn_int(m.voters_voted)}/{vn_int(n)}) ≥ {limit}%",
                    f"turnout {turnout_en} ({en_int(m.voters_voted)}/{en_int(n)}) ≥ {limit_en}%",
                )
            )
        if low:
            out.append(
                _f(
                    "W206",
                    r,
                    ["voters_voted", "voters_on_list"],
                    {"voters_voted": m.voters_voted, "voters_on_list": n, "turnout": turnout},
                    f"tỷ lệ đi bầu {turnout} ({vn_int(m.voters_voted)}/{vn_int(n)}) "
                    f"≤ {config.low_turnout_percent}%",
                    f"turnout {turnout_en} ({en_int(m.voters_voted)}/{en_int(n)}) "
                    f"≤ {config.low_turnout_percent}%",
                )
            )
    received = m.ballots_received
    if received > 0 and 100 * m.invalid_ballots > config.high_invalid_percent * received:
        share = vn_percent(percent(m.invalid_ballots, received))
        out.append(
            _f(
                "W207",
                r,
                ["invalid_ballots", "ballots_received"],
                {
                    "invalid_ballots": m.invalid_ballots,
                    "ballots_received": received,
                    "share": share,
                },
                f"phiếu không hợp lệ {vn_int(m.invalid_ballots)}/{vn_int(received)} = {share} "
                f"> {config.high_invalid_percent}% số phiếu thu vào",
                f"invalid ballots {en_int(m.invalid_ballots)}/{en_int(received)} = "
                f"{en_percent(percent(m.invalid_ballots, received))} "
                f"> {config.high_invalid_percent}% of ballots received",
            )
        )
    return out


def check_minutes(
    election: Election,
    minutes: CountingMinutes,
    config: RulesConfig = DEFAULT_RULES,
    first_round: FirstRound | None = None,
) -> list[Finding]:
    """Every finding on one counting minutes, errors first.

    ``first_round``: for a supplementary minutes, the result of the round before it
    in its constituency. Without it (a station, a worker checking ahead) the checks
    that need it (E108, E109, E118, and E107/E115 against the seats still open) are
    left to whoever decides with it."""
    out, con = _where(election, minutes)
    bad = [] if _all_counts(minutes) else [(p, v) for p, v in _figures(minutes) if not _is_count(v)]
    for path, value in bad:
        out.append(count_finding(path, value, con, minutes.race_id))
    open_seats: int | None = None
    if con is not None:
        out += _candidate_list(minutes, con)
        if minutes.round == "supplementary" and first_round is not None:
            later, open_seats = _later_round(minutes, con, first_round)
            out += later
    if bad:
        # Arithmetic on figures that are not counts means nothing.
        return out
    out += _arithmetic(minutes, con.seats if con is not None else None, open_seats)
    out += _warnings(election, minutes, config)
    return out


def _num(text: str, write: Callable[[int], str]) -> str:
    """A figure as ``_changed`` gives it (a count, a list of piles, None), written."""
    return write(int(text)) if text.isdigit() else text


def _changed(old: CountingMinutes, new: CountingMinutes) -> list[tuple[str, str, str]]:
    diffs: list[tuple[str, str, str]] = []
    for name, _ in COUNTS:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            diffs.append((name, str(a), str(b)))
    for cid in sorted(set(old.candidate_votes) | set(new.candidate_votes)):
        a, b = old.candidate_votes.get(cid), new.candidate_votes.get(cid)
        if a != b:
            diffs.append((f"candidate_votes.{cid}", str(a), str(b)))
    if old.ballots_by_names_kept != new.ballots_by_names_kept:
        diffs.append(
            (
                "ballots_by_names_kept",
                str(old.ballots_by_names_kept),
                str(new.ballots_by_names_kept),
            )
        )
    if old.complaints != new.complaints:
        for name in ("received", "resolved", "forwarded"):
            a, b = getattr(old.complaints, name), getattr(new.complaints, name)
            if a != b:
                diffs.append((f"complaints.{name}", str(a), str(b)))
    return diffs


def check_batch_items(
    election: Election,
    batch: ResultBatch,
    config: RulesConfig = DEFAULT_RULES,
    previous: Mapping[str, CountingMinutes] | None = None,
    first_rounds: Mapping[tuple[str, str], FirstRound] | None = None,
) -> tuple[list[Finding], list[list[Finding]]]:
    """Findings of a batch: (batch-wide, one list per minutes in batch order).

    ``first_rounds``: (race, constituency) -> its first round's result, for the
    batch's supplementary minutes (see ``check_minutes``)."""
    whole: list[Finding] = []
    if batch.election_id != election.id:
        whole.append(
            _f(
                "E123",
                None,
                ["election_id"],
                {"election_id": batch.election_id, "expected": election.id},
                f"lô thuộc cuộc bầu cử {batch.election_id}, không phải {election.id}",
                f"the batch is for election {batch.election_id}, not {election.id}",
            )
        )
    area_id = batch.polling_area_id
    items: list[list[Finding]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, m in enumerate(batch.minutes):
        first = (first_rounds or {}).get((m.race_id, m.constituency_id))
        found = check_minutes(election, m, config, first)
        r = m.race_id
        if m.polling_area_id != area_id:
            found.append(
                _f(
                    "E120",
                    r,
                    [f"minutes[{i}].polling_area_id"],
                    {"polling_area_id": m.polling_area_id, "batch_polling_area_id": area_id},
                    f"biên bản {r} ghi khu vực {m.polling_area_id}, lô của khu vực {area_id}",
                    f"minutes for {r} name polling area {m.polling_area_id}; "
                    f"the batch is for {area_id}",
                )
            )
            # When the areas agree, E104 on the minutes already says this.
            if r in election.races and (area_id, r) not in election.seats:
                found.append(
                    _f(
                        "E122",
                        r,
                        [f"minutes[{i}].race_id"],
                        {"race_id": r, "batch_polling_area_id": area_id},
                        f"khu vực bỏ phiếu {area_id} của lô không bầu cuộc bầu cử {r}",
                        f"race {r} is not held at the batch's polling area {area_id}",
                    )
                )
        key = (r, m.round)
        if key in seen:
            found.append(
                _f(
                    "E121",
                    r,
                    [f"minutes[{i}]"],
                    {"race_id": r, "round": m.round, "first": seen[key], "again": i},
                    f"cuộc bầu cử {r} (vòng {m.round}) có hai biên bản trong lô: "
                    f"số {seen[key] + 1} và số {i + 1}",
                    f"race {r} (round {m.round}) appears twice in the batch: "
                    f"minutes {seen[key] + 1} and {i + 1}",
                )
            )
        else:
            seen[key] = i
        old = (previous or {}).get(r)
        if old is not None and old.round == m.round:
            diffs = _changed(old, m)
            if diffs:
                con = election.constituencies.get((r, m.constituency_id))
                # The fields named as the form names them, the figures as each language writes them.
                vi = "; ".join(
                    f"{label(name, con).vi} {_num(a, vn_int)} → {_num(b, vn_int)}"
                    for name, a, b in diffs
                )
                en = "; ".join(
                    f"{label(name, con).en} {_num(a, en_int)} → {_num(b, en_int)}"
                    for name, a, b in diffs
                )
                found.append(
                    _f(
                        "W208",
                        r,
                        [name for name, _, _ in diffs],
                        {name: f"{a} → {b}" for name, a, b in diffs},
                        f"biên bản đính chính thay đổi số liệu: {vi}",
                        f"the correction changes figures: {en}",
                    )
                )
        items.append(found)
    _order_warnings(election, batch, items)
    return whole, items


def _order_warnings(election: Election, batch: ResultBatch, items: list[list[Finding]]) -> None:
    """NA ≥ province ≥ district ≥ commune voters for one area, per round."""
    ranked: list[tuple[int, int, CountingMinutes]] = []
    for i, m in enumerate(batch.minutes):
        race = election.races.get(m.race_id)
        if race is not None and _is_count(m.voters_on_list):
            ranked.append((_LEVEL_ORDER[race.level], i, m))
    for level, i, m in ranked:
        higher = [
            (o.voters_on_list, o.race_id)
            for lv, _, o in ranked
            if lv < level and o.round == m.round
        ]
        if not higher:
            continue
        fewest, other = min(higher)
        if m.voters_on_list > fewest:
            items[i].append(
                _f(
                    "W203",
                    m.race_id,
                    ["voters_on_list"],
                    {
                        "voters_on_list": m.voters_on_list,
                        "other_race_id": other,
                        "other_voters_on_list": fewest,
                    },
                    f"tổng số cử tri cuộc bầu cử {m.race_id} ({vn_int(m.voters_on_list)}) "
                    f"lớn hơn của cuộc bầu cử cấp trên {other} ({vn_int(fewest)})",
                    f"voters on the list for {m.race_id} ({en_int(m.voters_on_list)}) exceed "
                    f"those for the higher-level race {other} ({en_int(fewest)})",
                )
            )


def check_batch(
    election: Election,
    batch: ResultBatch,
    config: RulesConfig = DEFAULT_RULES,
    previous: Mapping[str, CountingMinutes] | None = None,
    first_rounds: Mapping[tuple[str, str], FirstRound] | None = None,
) -> list[Finding]:
    """Every finding on a batch: batch-wide ones, then each minutes' in batch order.

    ``previous`` maps race id to the currently accepted minutes of this polling
    area, so that a correction which changes figures is flagged (W208);
    ``first_rounds`` gives the supplementary minutes their first round."""
    whole, items = check_batch_items(election, batch, config, previous, first_rounds)
    return whole + [f for found in items for f in found]


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def unexplained(
    findings: Iterable[Finding], minutes_by_race: Mapping[str, CountingMinutes]
) -> list[Finding]:
    """Warnings for which that race's minutes give no explanation."""
    out: list[Finding] = []
    for f in findings:
        if f.severity != "warning":
            continue
        m = minutes_by_race.get(f.race_id) if f.race_id is not None else None
        if m is None or not m.explanations.get(f.code, "").strip():
            out.append(f)
    return out


def rules_markdown() -> str:
    """The rule table as docs/rules.md carries it (a test keeps the two equal)."""
    lines = [
        "| code | severity | rule (tiếng Việt) | rule (English) |",
        "|---|---|---|---|",
    ]
    for rule in RULES.values():
        lines.append(f"| {rule.code} | {rule.severity} | {rule.title_vi} | {rule.title_en} |")
    return "\n".join(lines) + "\n"
