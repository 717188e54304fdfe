"""The benchmark harness's arithmetic: paired ratios, and what the report says of them."""

from __future__ import annotations

import pytest

from bench.harness import Measurement, Result, Workload, results_markdown, run_workload


def workload(baseline: list[float], subject: list[float], target: tuple[str, float] | None = ("<=", 1.10)) -> Workload:
    b, s = iter(baseline), iter(subject)
    return Workload("w", "d", "off", "on", lambda: next(b), lambda: next(s), target=target, warmup=False)


def test_ratio_is_the_median_of_the_rounds_own_ratios():
    # given a machine whose speed swings between rounds, and a subject 4-6% slower than its round's baseline
    baseline = [10.0, 14.0, 14.0, 10.0, 14.0]
    subject = [10.6, 14.56, 14.7, 10.4, 14.84]
    result = run_workload(workload(baseline, subject), 5, log=lambda line: None)
    # then the ratio is the rounds' typical 5%; the medians of each side alone would say 14.56 / 14 = 4%
    assert result.round_ratios == pytest.approx([1.06, 1.04, 1.05, 1.04, 1.06])
    assert result.ratio == pytest.approx(1.05)
    assert result.met is True


def test_target_missed_and_reported_with_the_rounds_spread():
    result = Result(workload([], [], target=("<=", 1.10)), [10.0, 10.0, 10.0], [11.0, 12.0, 13.0])
    assert result.ratio == pytest.approx(1.2)
    assert result.met is False
    table = results_markdown([result], {"started": "t", "machine": "m", "rounds": 3})
    assert "| 1.200 (1.100–1.300) | <= 1.1 | **no** |" in table


def test_unequal_sample_counts_are_an_error():
    with pytest.raises(ValueError):
        _ = Result(workload([], []), [1.0, 2.0], [1.0]).ratio


def test_an_interleaved_workload_gives_both_samples_of_a_round_at_once():
    pairs = iter([(99.0, 1.0), (10.0, 10.5), (20.0, 21.2), (12.0, 12.6)])  # the first is the warm-up
    interleaved = Workload("w", "d", "off", "on", interleaved=lambda: next(pairs), target=("<=", 1.10))
    result = run_workload(interleaved, 3, log=lambda line: None)
    assert result.baseline_samples == [10.0, 20.0, 12.0]
    assert result.subject_samples == [10.5, 21.2, 12.6]
    assert result.ratio == pytest.approx(1.05)


def test_baseline_and_subject_alternate_which_goes_first():
    calls: list[str] = []
    alternating = Workload(
        "w", "d", "off", "on",
        baseline=lambda: calls.append("b") or 1.0, subject=lambda: calls.append("s") or 1.0, warmup=False,
    )  # fmt: skip
    run_workload(alternating, 3, log=lambda line: None)
    assert calls == ["b", "s", "s", "b", "b", "s"]


def test_a_figure_just_short_of_its_target_is_not_printed_as_the_target():
    short = Measurement("rate", 1499.6, "events/s", (">=", 1500.0))
    table = results_markdown([], {"started": "t", "machine": "m", "rounds": 3}, [short])
    assert "| rate | 1,499.6 | events/s | >= 1500.0 | **no** |" in table
