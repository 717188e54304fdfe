"""Guarantee 8, the rules as pure logic: what takes effect now, what waits, what is late, what becomes a gap."""

from __future__ import annotations

from notifications.intake.ordering import APPLY, LATE, WAIT, Arrival, order_decide, order_expire


def arrivals(*sequences: int) -> list[Arrival]:
    return [Arrival(f"e{s}", s) for s in sequences]


def test_the_next_sequence_takes_effect():
    decision = order_decide(2, {}, arrivals(3))
    assert (decision.fates, decision.run, decision.applied) == ({"e3": APPLY}, ["e3"], 3)


def test_arrivals_in_reverse_order_take_effect_in_sequence_order():
    decision = order_decide(0, {}, arrivals(3, 2, 1))
    assert decision.run == ["e1", "e2", "e3"] and decision.applied == 3


def test_an_arrival_ahead_of_a_missing_sequence_waits():
    decision = order_decide(1, {}, arrivals(3, 4))
    assert decision.fates == {"e3": WAIT, "e4": WAIT} and decision.run == [] and decision.applied == 1


def test_the_missing_one_releases_the_waiting_run():
    decision = order_decide(1, {3: "w3", 4: "w4", 6: "w6"}, arrivals(2))
    assert decision.run == ["e2", "w3", "w4"] and decision.released == ["w3", "w4"] and decision.applied == 4


def test_arrivals_interleave_with_waiting_events_in_sequence_order():
    decision = order_decide(2, {4: "w4"}, arrivals(3, 5))
    assert decision.run == ["e3", "w4", "e5"] and decision.fates == {"e3": APPLY, "e5": APPLY}


def test_a_passed_sequence_is_late_and_first():
    decision = order_decide(5, {}, arrivals(2, 6))
    assert decision.fates == {"e2": LATE, "e6": APPLY} and decision.run == ["e2", "e6"] and decision.applied == 6


def test_a_redelivered_waiting_event_is_not_counted_twice():
    decision = order_decide(1, {3: "e3"}, arrivals(3))
    assert decision.fates == {"e3": WAIT} and decision.run == [] and decision.applied == 1


def test_a_second_event_of_one_sequence_is_late():
    decision = order_decide(0, {}, [Arrival("a", 1), Arrival("b", 1)])
    assert decision.fates == {"a": APPLY, "b": LATE}


def test_expiry_gives_up_on_the_missing_sequences_before_the_first_waiting_one():
    decision = order_expire(1, {4: "w4", 5: "w5", 7: "w7"})
    assert decision.gaps == [2, 3] and decision.run == ["w4", "w5"] and decision.applied == 5


def test_expiry_with_nothing_waiting_does_nothing():
    decision = order_expire(3, {})
    assert (decision.gaps, decision.run, decision.applied) == ([], [], 3)


def test_expiry_releases_a_waiting_event_the_cursor_has_passed_first():
    decision = order_expire(4, {3: "w3", 6: "w6"})
    assert decision.run == ["w3", "w6"] and decision.released == ["w3", "w6"] and decision.gaps == [5]


def test_the_next_sequences_take_effect_as_one_run():
    decision = order_decide(2, {}, arrivals(3, 4, 5))
    assert decision.run == ["e3", "e4", "e5"] and decision.applied == 5
