"""Polling strategies (Demo 1's fixed 2 s, Demo 3's backoff, backoff with jitter) on virtual time.

Nothing sleeps: each strategy's delays are summed against completion times from 0.1 s to 10 min
(benchmarks/polling_strategies.py has the model). The benchmark times the sweep, stores each
strategy's summary in `extra_info`, writes the chart to .benchmarks/polling-strategies.html and
prints a compact table.

Measure:  .venv/bin/pytest benchmarks/test_polling_strategies.py --benchmark-enable
Smoke:    .venv/bin/pytest benchmarks/test_polling_strategies.py   (the project default: one sweep; writes the chart)
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.polling_strategies import (
    CHECKPOINTS,
    REPORT_PATH,
    Row,
    default_strategies,
    format_table,
    summarize,
    sweep,
    write_report,
)


@pytest.mark.benchmark(group="polling-strategies")
def test_polling_strategies(benchmark: BenchmarkFixture, capsys: pytest.CaptureFixture[str]) -> None:
    strategies = default_strategies()
    rows: list[Row] = benchmark(sweep, strategies)

    summaries = summarize(rows)
    assert set(summaries) == {strategy.key for strategy in strategies}
    for strategy in strategies:
        summary = summaries[strategy.key]
        benchmark.extra_info[strategy.key] = {
            "label": strategy.label,
            "seeds": list(strategy.seeds),
            "total_polls": round(summary.total_polls, 2),
            "mean_detection_delay_s": round(summary.mean_detection_delay_s, 3),
            "max_detection_delay_s": round(summary.max_detection_delay_s, 3),
            "at": {
                f"{seconds:g}s": {
                    "polls": round(summary.at[seconds].polls, 2),
                    "detection_delay_s": round(summary.at[seconds].detection_delay_s, 3),
                }
                for seconds, _ in CHECKPOINTS
            },
        }
    benchmark.extra_info["completion_times"] = len({row.completion_s for row in rows})

    # The trade-off the chart shows, as facts of the model rather than of timing.
    fixed, backoff = summaries["fixed-2s"], summaries["backoff"]
    assert fixed.at[600.0].polls == 300
    assert backoff.at[600.0].polls < fixed.at[600.0].polls / 10
    assert fixed.max_detection_delay_s < 2 < backoff.max_detection_delay_s <= 30

    path = write_report(rows, REPORT_PATH, strategies)
    with capsys.disabled():
        print(f"\n{format_table(rows, strategies)}\nchart: {path}")
