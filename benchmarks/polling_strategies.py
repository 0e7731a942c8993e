"""Polling strategies for background responses, compared on virtual time (nothing here sleeps).

The model: an operation completes at time T (seconds after the first call returned a continuation
token); the poller waits each delay of its strategy in turn and polls at the cumulative sums. It
sees completion at the first poll at or after T: `polls` is that poll's 1-based index and the
detection delay is that poll's time minus T. Strategies, after the lesson in the seed text:

- fixed 2 s (Demo 1): 2, 2, 2, ...
- backoff (Demo 3): 1, 2, 4, 8, 16, 30, 30, ... (delay = min(delay * 2, 30))
- backoff with jitter: the same nominal delays, each scaled by a seeded uniform factor in [0.8, 1.2];
  averaged over several seeds.

The backoff strategies are harness.client.backoff.Backoff, the one the harness's pollers use.

Regenerate the chart:  .venv/bin/python -m benchmarks.polling_strategies [path]
(or run benchmarks/test_polling_strategies.py, which writes .benchmarks/polling-strategies.html).
"""

from __future__ import annotations

import html
import itertools
import math
import statistics
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.client.backoff import Backoff

ROOT = Path(__file__).resolve().parent.parent
REPORT_PATH = ROOT / ".benchmarks" / "polling-strategies.html"

GRID_START_SECONDS = 0.1
GRID_STOP_SECONDS = 600.0
GRID_POINTS = 60
CHECKPOINTS: tuple[tuple[float, str], ...] = (
    (1.0, "1 s"),
    (10.0, "10 s"),
    (60.0, "1 min"),
    (300.0, "5 min"),
    (600.0, "10 min"),
)
JITTER = 0.2
JITTER_SEED = 0
JITTER_RUNS = 32
"""The jitter strategy runs once per seed JITTER_SEED .. JITTER_SEED + JITTER_RUNS - 1; rows hold the mean."""

TOLERANCE_SECONDS = 1e-9
"""Float sums of delays drift by ulps; a poll that lands on T up to this counts as at T."""
MAX_POLLS = 1_000_000
"""Guards against strategies that never reach T (zero delays): an error, not a hang."""


def simulate(delays: Iterable[float], completion: float, max_polls: int = MAX_POLLS) -> tuple[int, float]:
    """(polls, detection delay) for an operation completing at `completion` seconds, polled after `delays`."""
    if completion < 0 or not math.isfinite(completion):
        raise ValueError(f"completion must be a finite time >= 0, not {completion!r}")
    elapsed = 0.0
    for polls, delay in enumerate(delays, start=1):
        if delay < 0 or not math.isfinite(delay):
            raise ValueError(f"delay #{polls} is {delay!r}: delays must be finite and >= 0")
        elapsed += delay
        if elapsed >= completion - TOLERANCE_SECONDS:
            return polls, max(elapsed - completion, 0.0)
        if polls >= max_polls:
            raise ValueError(f"no poll at or after {completion} s within {max_polls} polls")
    raise ValueError(f"the strategy stopped polling before {completion} s")


def fixed_delays(interval_seconds: float = 2.0) -> Iterator[float]:
    """Demo 1: the same wait before every poll."""
    return itertools.repeat(interval_seconds)


def backoff_delays(
    first_seconds: float = 1.0,
    factor: float = 2.0,
    cap_seconds: float = 30.0,
    jitter: float = 0.0,
    seed: int = 0,
) -> Iterator[float]:
    """Demo 3 as the harness's own pollers run it: 1, 2, 4, 8, 16, 30, 30, ... with optional seeded jitter.

    harness.client.backoff.Backoff, so the benchmark measures the strategy the harness uses: jitter scales each emitted
    delay by a factor in [1 - jitter, 1 + jitter] without feeding into the next one.
    """
    return Backoff(first_seconds, factor, cap_seconds, jitter, seed).delays()


@dataclass(frozen=True, slots=True)
class Strategy:
    key: str
    label: str
    delays: Callable[[int], Iterator[float]]
    """A fresh delay iterator for a seed (ignored by unseeded strategies)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds to average over; one for a deterministic strategy."""


def default_strategies(seed: int = JITTER_SEED, runs: int = JITTER_RUNS) -> tuple[Strategy, ...]:
    return (
        Strategy("fixed-2s", "fixed 2 s (Demo 1)", lambda _seed: fixed_delays(2.0)),
        Strategy("backoff", "backoff 1, 2, 4 … 30 s (Demo 3)", lambda _seed: backoff_delays()),
        Strategy(
            "backoff-jitter",
            f"backoff ±{JITTER:.0%} jitter (mean of {runs} seeds)",
            lambda run_seed: backoff_delays(jitter=JITTER, seed=run_seed),
            seeds=tuple(range(seed, seed + runs)),
        ),
    )


@dataclass(frozen=True, slots=True)
class Row:
    completion_s: float
    strategy: str
    """A Strategy.key."""
    polls: float
    """Mean over the strategy's seeds; a whole number for a deterministic strategy."""
    detection_delay_s: float


def completion_grid(
    points: int = GRID_POINTS, start: float = GRID_START_SECONDS, stop: float = GRID_STOP_SECONDS
) -> list[float]:
    """`points` log-spaced completion times from start to stop, plus the checkpoints, so the table reads off rows."""
    step = math.log(stop / start) / (points - 1)
    grid = {start * math.exp(step * i) for i in range(points - 1)} | {stop}
    grid |= {seconds for seconds, _ in CHECKPOINTS if start <= seconds <= stop}
    return sorted(grid)


def sweep(strategies: Sequence[Strategy] | None = None, grid: Sequence[float] | None = None) -> list[Row]:
    """One row per (completion time, strategy), grid-major."""
    strategies = default_strategies() if strategies is None else strategies
    grid = completion_grid() if grid is None else grid
    rows = []
    for completion in grid:
        for strategy in strategies:
            runs = [simulate(strategy.delays(seed), completion) for seed in strategy.seeds]
            polls = statistics.fmean(run[0] for run in runs)
            delay = statistics.fmean(run[1] for run in runs)
            rows.append(Row(completion, strategy.key, polls, delay))
    return rows


@dataclass(frozen=True, slots=True)
class Summary:
    total_polls: float
    """Summed over the grid: a cost figure comparable between strategies on the same grid only."""
    mean_detection_delay_s: float
    max_detection_delay_s: float
    at: dict[float, Row]
    """The rows at the checkpoints."""


def summarize(rows: Iterable[Row]) -> dict[str, Summary]:
    by_strategy: dict[str, list[Row]] = {}
    for row in rows:
        by_strategy.setdefault(row.strategy, []).append(row)
    checkpoints = {seconds for seconds, _ in CHECKPOINTS}
    return {
        key: Summary(
            total_polls=math.fsum(row.polls for row in strategy_rows),
            mean_detection_delay_s=statistics.fmean(row.detection_delay_s for row in strategy_rows),
            max_detection_delay_s=max(row.detection_delay_s for row in strategy_rows),
            at={row.completion_s: row for row in strategy_rows if row.completion_s in checkpoints},
        )
        for key, strategy_rows in by_strategy.items()
    }


def format_table(rows: Sequence[Row], strategies: Sequence[Strategy] | None = None) -> str:
    """A compact plain-text table for the terminal: totals, then polls / detection delay at each checkpoint."""
    strategies = default_strategies() if strategies is None else strategies
    summaries = summarize(rows)
    points = len({row.completion_s for row in rows})
    width = max(len(strategy.label) for strategy in strategies) + 2
    header = f"{'strategy':<{width}}{'polls':>8}{'mean delay':>12}{'max delay':>11}"
    header += "".join(f"{label:>14}" for _, label in CHECKPOINTS)
    lines = [
        f"polling strategies, virtual time: {points} completion times {GRID_START_SECONDS:g} s .. "
        f"{GRID_STOP_SECONDS:g} s; checkpoint cells are polls / detection delay",
        header,
    ]
    for strategy in strategies:
        summary = summaries.get(strategy.key)
        if summary is None:
            continue
        line = f"{strategy.label:<{width}}{summary.total_polls:>8.0f}"
        line += f"{summary.mean_detection_delay_s:>11.2f}s{summary.max_detection_delay_s:>10.2f}s"
        for seconds, _ in CHECKPOINTS:
            row = summary.at.get(seconds)
            line += f"{_cell(row):>14}" if row else f"{'-':>14}"
        lines.append(line)
    seeded = [strategy for strategy in strategies if len(strategy.seeds) > 1]
    for strategy in seeded:
        lines.append(
            f"{strategy.key}: seeds {strategy.seeds[0]}..{strategy.seeds[-1]} (mean over {len(strategy.seeds)})"
        )
    return "\n".join(lines)


def _cell(row: Row) -> str:
    return f"{_number(row.polls)} / {row.detection_delay_s:.1f}s"


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


# --- the HTML report: inline SVG, no scripts, no external assets ---------------------------------

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2")
"""Dashes as well as colours, so the lines stay apart in greyscale and for colour-blind readers."""

CHART_WIDTH = 1100
CHART_HEIGHT = 430
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 30, 20, 60
X_TICKS = (0.1, 0.3, 1, 3, 10, 30, 60, 120, 300, 600)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min"


@dataclass(frozen=True, slots=True)
class _Axis:
    low: float
    high: float
    log: bool
    start_px: float
    end_px: float

    def __call__(self, value: float) -> float:
        if self.log:
            fraction = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return self.start_px + fraction * (self.end_px - self.start_px)


def _chart(
    title: str,
    y_label: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    y_axis_log: bool,
    y_ticks: Sequence[float],
) -> str:
    plot_right = CHART_WIDTH - MARGIN_RIGHT
    plot_bottom = CHART_HEIGHT - MARGIN_BOTTOM
    x = _Axis(GRID_START_SECONDS, GRID_STOP_SECONDS, True, MARGIN_LEFT, plot_right)
    y = _Axis(y_ticks[0], y_ticks[-1], y_axis_log, plot_bottom, MARGIN_TOP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-label="{html.escape(title)}">',
        f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_right - MARGIN_LEFT}" '
        f'height="{plot_bottom - MARGIN_TOP}" fill="#fff" stroke="#999"/>',
    ]
    for tick in X_TICKS:
        px = x(tick)
        parts.append(f'<line x1="{px:.1f}" y1="{MARGIN_TOP}" x2="{px:.1f}" y2="{plot_bottom}" class="grid"/>')
        parts.append(f'<text x="{px:.1f}" y="{plot_bottom + 20}" text-anchor="middle">{_duration(tick)}</text>')
    for tick in y_ticks:
        py = y(tick)
        parts.append(f'<line x1="{MARGIN_LEFT}" y1="{py:.1f}" x2="{plot_right}" y2="{py:.1f}" class="grid"/>')
        parts.append(f'<text x="{MARGIN_LEFT - 8}" y="{py + 4:.1f}" text-anchor="end">{tick:g}</text>')
    parts.append(
        f'<text x="{(MARGIN_LEFT + plot_right) / 2:.0f}" y="{CHART_HEIGHT - 14}" text-anchor="middle" '
        'class="axis-label">completion time T (log scale)</text>'
    )
    middle = (MARGIN_TOP + plot_bottom) / 2
    parts.append(
        f'<text x="20" y="{middle:.0f}" text-anchor="middle" class="axis-label" '
        f'transform="rotate(-90 20 {middle:.0f})">{html.escape(y_label)}</text>'
    )
    for index, (label, points) in enumerate(series):
        color, dash = COLORS[index % len(COLORS)], DASHES[index % len(DASHES)]
        path = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in points)
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash_attribute}>'
            f"<title>{html.escape(label)}</title></polyline>"
        )
        # Markers show where the grid sampled: between them the true curve is a step or a sawtooth.
        parts.extend(f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="2.2" fill="{color}"/>' for px, py in points)
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(strategies: Sequence[Strategy]) -> str:
    items = []
    for index, strategy in enumerate(strategies):
        color, dash = COLORS[index % len(COLORS)], DASHES[index % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        items.append(
            f'<span class="key"><svg width="44" height="12" aria-hidden="true"><line x1="2" y1="6" x2="42" y2="6" '
            f'stroke="{color}" stroke-width="3"{dash_attribute}/></svg>{html.escape(strategy.label)}</span>'
        )
    return f'<p class="legend">{"".join(items)}</p>'


def _one_two_five() -> Iterator[float]:
    for decade in itertools.count():
        for mantissa in (1, 2, 5):
            yield float(mantissa * 10**decade)


def _nice_ceiling(value: float, step: float) -> float:
    return max(step, math.ceil(value / step) * step)


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1120px; color: #222; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 26px 0 4px; }
p { margin: 6px 0; } .note { color: #555; font-size: 13px; }
svg text { font: 13px system-ui, sans-serif; fill: #333; } svg .axis-label { font-size: 14px; fill: #111; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
.legend { display: flex; gap: 28px; flex-wrap: wrap; margin: 8px 0 2px; }
.key { display: inline-flex; align-items: center; gap: 6px; }
table { border-collapse: collapse; margin-top: 8px; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; white-space: nowrap; }
.name { text-align: left; white-space: normal; min-width: 15em; }
thead th { background: #f3f3f3; }
thead th.group { text-align: center; }
"""


def render_report(rows: Sequence[Row], strategies: Sequence[Strategy] | None = None) -> str:
    """A self-contained HTML page: two inline SVG charts and a table of the checkpoints."""
    strategies = default_strategies() if strategies is None else strategies
    known = [strategy for strategy in strategies if any(row.strategy == strategy.key for row in rows)]
    summaries = summarize(rows)
    series_rows = {
        strategy.key: sorted((row for row in rows if row.strategy == strategy.key), key=lambda row: row.completion_s)
        for strategy in known
    }
    polls_series = [(s.label, [(r.completion_s, r.polls) for r in series_rows[s.key]]) for s in known]
    delay_series = [(s.label, [(r.completion_s, r.detection_delay_s) for r in series_rows[s.key]]) for s in known]
    max_polls = max((row.polls for row in rows), default=1.0)
    # 1, 2, 5, 10, 20, 50, ... up to the first tick at or above the most polls.
    polls_ticks = list(itertools.takewhile(lambda tick: tick < max_polls, _one_two_five()))
    polls_ticks.append(next(tick for tick in _one_two_five() if tick >= max_polls))
    max_delay = max((row.detection_delay_s for row in rows), default=1.0)
    delay_top = _nice_ceiling(max_delay, 5.0)
    delay_ticks = [5.0 * i for i in range(int(delay_top / 5) + 1)]
    points = len({row.completion_s for row in rows})
    seeded = [f"{s.label}: seeds {s.seeds[0]}..{s.seeds[-1]}" for s in known if len(s.seeds) > 1]

    table = ["<table>", '<thead><tr><th rowspan="2" class="name">strategy</th>']
    table += [f'<th colspan="2" class="group">T = {html.escape(label)}</th>' for _, label in CHECKPOINTS]
    table += ['<th colspan="3" class="group">over the whole grid</th></tr>', "<tr>"]
    table += ["<th>polls</th><th>delay</th>" for _ in CHECKPOINTS]
    table += ["<th>total polls</th><th>mean delay</th><th>max delay</th></tr></thead>", "<tbody>"]
    for strategy in known:
        summary = summaries[strategy.key]
        cells = [f'<td class="name">{html.escape(strategy.label)}</td>']
        for seconds, _ in CHECKPOINTS:
            row = summary.at.get(seconds)
            cells += (
                [f"<td>{_number(row.polls)}</td>", f"<td>{row.detection_delay_s:.1f} s</td>"]
                if row
                else ["<td>&ndash;</td>", "<td>&ndash;</td>"]
            )
        cells += [
            f"<td>{summary.total_polls:.0f}</td>",
            f"<td>{summary.mean_detection_delay_s:.2f} s</td>",
            f"<td>{summary.max_detection_delay_s:.2f} s</td>",
        ]
        table.append(f"<tr>{''.join(cells)}</tr>")
    table += ["</tbody>", "</table>"]

    legend = _legend(known)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Polling strategies for background responses</title>",
            f"<style>{STYLE}</style></head><body>",
            "<h1>Polling strategies for background responses (virtual time)</h1>",
            "<p>An operation completes at time T; the poller waits each delay of its strategy and polls. "
            "<b>Polls</b> counts the polls up to and including the first one at or after T; "
            "<b>detection delay</b> is that poll's time minus T. "
            f"{points} completion times from {_duration(GRID_START_SECONDS)} to {_duration(GRID_STOP_SECONDS)}, "
            "log-spaced, plus the table's checkpoints.</p>",
            f'<p class="note">{html.escape("; ".join(seeded))}.</p>' if seeded else "",
            "<h2>Polls until completion is seen</h2>",
            legend,
            _chart("Polls until completion is seen", "polls (log scale)", polls_series, True, polls_ticks),
            "<h2>Detection delay (poll time &minus; completion time)</h2>",
            legend,
            _chart("Detection delay", "detection delay (s)", delay_series, False, delay_ticks),
            '<p class="note">Dots are the sampled completion times. Between them polls is a step function and '
            "the delay a sawtooth: it drops to 0 when T falls on a poll and grows to the next wait just after one, "
            "so the delay line zigzags with where the samples happen to fall.</p>",
            "<h2>Selected completion times</h2>",
            "\n".join(table),
            '<p class="note">Generated by benchmarks/polling_strategies.py; regenerate with '
            "<code>.venv/bin/python -m benchmarks.polling_strategies</code>.</p>",
            "</body></html>",
        ]
    )


def write_report(rows: Sequence[Row], path: Path | str, strategies: Sequence[Strategy] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(rows, strategies), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    rows = sweep()
    path = write_report(rows, args[0] if args else REPORT_PATH)
    print(format_table(rows))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
