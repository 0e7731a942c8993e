"""The virtual-time polling model behind benchmarks/test_polling_strategies.py: pure and instant."""

from __future__ import annotations

import itertools
import math

import pytest

from benchmarks.polling_strategies import (
    CHECKPOINTS,
    backoff_delays,
    completion_grid,
    default_strategies,
    fixed_delays,
    render_report,
    simulate,
    summarize,
    sweep,
)


def test_fixed_two_seconds_at_three_seconds_takes_two_polls() -> None:
    assert simulate(fixed_delays(2.0), 3.0) == (2, 1.0)


def test_a_poll_exactly_at_completion_sees_it() -> None:
    assert simulate(fixed_delays(2.0), 4.0) == (2, 0.0)


def test_backoff_sequence_is_demo_3() -> None:
    assert list(itertools.islice(backoff_delays(), 9)) == [1, 2, 4, 8, 16, 30, 30, 30, 30]


def test_backoff_at_a_tenth_of_a_second_polls_once_at_one_second() -> None:
    polls, delay = simulate(backoff_delays(), 0.1)
    assert polls == 1
    assert delay == pytest.approx(0.9)


def test_backoff_at_121_seconds_polls_at_1_3_7_15_31_61_91_121() -> None:
    assert list(itertools.accumulate(itertools.islice(backoff_delays(), 8))) == [1, 3, 7, 15, 31, 61, 91, 121]
    assert simulate(backoff_delays(), 121.0) == (8, 0.0)


def test_float_drift_does_not_cost_an_extra_poll() -> None:
    # 0.1 summed ten times is 0.9999999999999999: still the poll at 1 s.
    polls, delay = simulate(fixed_delays(0.1), 1.0)
    assert polls == 10
    assert delay == 0.0


def test_jitter_is_reproducible_with_a_seed() -> None:
    first = list(itertools.islice(backoff_delays(jitter=0.2, seed=7), 50))
    again = list(itertools.islice(backoff_delays(jitter=0.2, seed=7), 50))
    other = list(itertools.islice(backoff_delays(jitter=0.2, seed=8), 50))
    assert first == again
    assert first != other
    assert simulate(iter(first), 300.0) == simulate(backoff_delays(jitter=0.2, seed=7), 300.0)


@pytest.mark.parametrize("seed", range(20))
def test_jitter_stays_within_twenty_percent_of_demo_3(seed: int) -> None:
    jittered = itertools.islice(backoff_delays(jitter=0.2, seed=seed), 40)
    for delay, nominal in zip(jittered, backoff_delays(), strict=False):
        assert 0.8 * nominal <= delay <= 1.2 * nominal


def test_bad_input_is_an_error_not_a_hang() -> None:
    with pytest.raises(ValueError, match="within 10 polls"):
        simulate(itertools.repeat(0.0), 1.0, max_polls=10)
    with pytest.raises(ValueError, match="stopped polling"):
        simulate([1.0, 1.0], 5.0)
    with pytest.raises(ValueError, match="completion"):
        simulate(fixed_delays(), -1.0)
    with pytest.raises(ValueError, match="delay #1"):
        simulate([-1.0], 1.0)
    with pytest.raises(ValueError, match="jitter"):
        next(backoff_delays(jitter=1.0))


def test_grid_is_log_spaced_from_a_tenth_of_a_second_to_ten_minutes_with_the_checkpoints() -> None:
    grid = completion_grid(60)
    assert grid[0] == 0.1
    assert grid[-1] == 600.0
    assert grid == sorted(set(grid))
    checkpoints = {seconds for seconds, _ in CHECKPOINTS}
    assert checkpoints <= set(grid)
    log_spaced = [0.1 * 6000 ** (i / 59) for i in range(60)]
    assert all(any(math.isclose(point, time) for time in grid) for point in log_spaced)
    assert len(grid) <= len(log_spaced) + len(checkpoints)


def test_sweep_covers_the_grid_for_every_strategy() -> None:
    strategies = default_strategies(seed=3, runs=4)
    rows = sweep(strategies)
    grid = completion_grid()
    assert len(rows) == len(grid) * len(strategies)
    for strategy in strategies:
        times = [row.completion_s for row in rows if row.strategy == strategy.key]
        assert times == grid
    assert min(row.completion_s for row in rows) == 0.1
    assert max(row.completion_s for row in rows) == 600.0
    assert all(row.polls >= 1 and row.detection_delay_s >= 0 for row in rows)
    assert rows == sweep(default_strategies(seed=3, runs=4))  # seeded, so the same every time


def test_summary_and_report() -> None:
    rows = sweep()
    summaries = summarize(rows)
    assert summaries["fixed-2s"].at[10.0].polls == 5
    assert summaries["backoff"].at[600.0].polls == 24  # 31 s, then every 30 s: 601 s is poll 5 + 19
    page = render_report(rows)
    assert page.count("<svg") >= 2
    assert "<script" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
