"""Which answers move a station on to the next server address, and in what order."""

from __future__ import annotations

from station_client.delivery import Outcome, Transport, interpret, unanswered


def test_silence_and_server_failures_move_on_answers_do_not() -> None:
    for code in ("P302", "P303", "P304"):  # TLS not the pinned one, no answer, no connection
        assert unanswered(Outcome("retry", error={"code": code}))
    for status in (500, 502, 503, 504, 507):
        assert unanswered(Outcome("retry", http_status=status))
    # Busy or slow-down answers come from a server that is there: stay with it.
    for status in (408, 425, 429):
        assert not unanswered(Outcome("retry", http_status=status))
    for kind in ("delivered", "rejected", "conflict", "refused"):
        assert not unanswered(Outcome(kind, http_status=401))  # type: ignore[arg-type]


def test_a_4xx_refusal_is_final_and_does_not_move_on() -> None:
    batch = None  # interpret never looks at the batch for an answer without a receipt
    for status in (400, 401, 403, 413):
        outcome = interpret(status, b'{"error": {"code": "A401"}}', batch, None, "e")  # type: ignore[arg-type]
        assert outcome.kind == "refused" and not unanswered(outcome)


def test_addresses_are_tried_in_order_and_round_again() -> None:
    t = Transport("http://primary:8080", standby_urls=("http://standby:8080",))
    assert (t.current, t.on_standby, t.url("/x")) == (
        "http://primary:8080",
        False,
        "http://primary:8080/x",
    )
    assert t.move_on() and (t.current, t.on_standby) == ("http://standby:8080", True)
    assert t.move_on() and t.current == "http://primary:8080"
    single = Transport("http://only:8080")
    assert not single.move_on() and single.current == "http://only:8080"
