"""`bgr fuzz`: property-based fuzzing of resumption against one agent, with progress and a replayable result.

Exit codes: 0 the property held, 1 a counterexample was found (its minimal scenario is printed and
written, with the `bgr run` command that replays it), 2 a usage error, 3 the session could not run
(the mock or the harness failed; nothing was learnt about the agent), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.commands.run import cassette_option, check_cassettes
from harness.conformance.runner import RunSettings
from harness.conformance.target import FUZZ_TIME_SCALE

if TYPE_CHECKING:
    from harness.fuzz.session import FuzzProgress, FuzzResult

EXIT_HELD, EXIT_FOUND, EXIT_USAGE, EXIT_BROKEN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class FuzzBroken(click.ClickException):
    exit_code = EXIT_BROKEN


@click.command("fuzz")
@click.option("--agent", required=True, help="openai | agent-framework | cmd:<command line> | py:<module>:<factory>")
@click.option("--examples", default=100, show_default=True, type=click.IntRange(1), help="Scenarios to generate.")
@click.option("--seed", type=int, help="Seed of the generated scenarios and of the mock (default: random, printed).")
@click.option(
    "--time-scale",
    default=FUZZ_TIME_SCALE,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Real seconds per scenario second, for the mock and the agent alike.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the minimal scenarios, reports and the example database (hypothesis-db) here.",
)
@click.option(
    "--shrink-budget",
    default=None,
    type=click.IntRange(0),
    help="Scenarios to run after the first failure, searching for a smaller one.",
)
@cassette_option
@click.option(
    "--stale-resumes",
    is_flag=True,
    help="Also resume from an older token (a caller's breach of the contract): explores, does not judge the agent.",
)
def fuzz_command(
    agent: str,
    examples: int,
    seed: int | None,
    time_scale: float,
    report_dir: Path | None,
    shrink_budget: int | None,
    stale_resumes: bool,
    cassettes: tuple[str, ...],
) -> None:
    """Generate scenarios of cuts, drops, stalls and retries; shrink any failure to a minimal, replayable one."""
    from harness.conformance.adapters import make_adapter

    try:
        make_adapter(agent)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--agent") from None
    try:
        from harness.fuzz.session import DEFAULT_SHRINK_BUDGET, FuzzError, fuzz
    except ImportError as error:
        raise FuzzBroken(f"bgr fuzz needs hypothesis (pip install 'bgr[test]'): {error}") from None
    console = Console()
    seed = random.randrange(2**32) if seed is None else seed
    check_cassettes(cassettes)
    settings = RunSettings(agent, seed, time_scale, cassettes=cassettes)
    console.print(f"bgr fuzz --agent {agent} --seed {seed} --examples {examples}", highlight=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failing]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("examples", total=examples, failing="no failure")

        def report(state: FuzzProgress) -> None:
            failing = f"[bold red]failing: {', '.join(state.failing)}[/]" if state.failing else "no failure"
            if state.shrinking:
                description = f"shrinking ({state.runs} scenarios run)"
                progress.update(task, description=description, failing=failing)
            else:
                progress.update(task, completed=min(state.calls, examples), failing=failing)

        try:
            result = asyncio.run(
                fuzz(
                    settings,
                    examples,
                    seed,
                    report_dir,
                    progress=report,
                    stale_resumes=stale_resumes,
                    shrink_budget=DEFAULT_SHRINK_BUDGET if shrink_budget is None else shrink_budget,
                    echo=None,
                )
            )
        except FuzzError as error:
            raise FuzzBroken(f"the fuzzing session stopped: {error}") from None
        except OSError as error:
            raise FuzzBroken(f"cannot write the results: {error}") from None
        except KeyboardInterrupt:
            # Not 1: an interrupted session found nothing.
            console.print(f"interrupted (seed {seed})", highlight=False)
            raise SystemExit(EXIT_INTERRUPTED) from None
    print_result(console, result)
    raise SystemExit(EXIT_HELD if result.passed else EXIT_FOUND)


def print_result(console: Console, result: FuzzResult) -> None:
    if result.passed:
        console.print(
            f"[green]PASS[/] the property held over {result.calls} examples ({result.runs} scenarios run) "
            f"in {result.wall_seconds:.1f} s; seed {result.seed}",
            highlight=False,
        )
        return
    console.print(
        f"[bold red]FAIL[/] {len(result.counterexamples)} counterexample(s) after {result.calls} examples "
        f"({result.runs} scenarios run, first failure at example {result.first_failure_at}) "
        f"in {result.wall_seconds:.1f} s; seed {result.seed}",
        highlight=False,
    )
    for counterexample in result.counterexamples:
        check = next((c for c in counterexample.result.checks if c.id == counterexample.check), None)
        measured = counterexample.result.error if check is None else check.measured
        console.rule(f"minimal scenario failing {counterexample.check}")
        # Unwrapped, so that it can be copied as it is.
        console.print(counterexample.yaml.rstrip(), highlight=False, soft_wrap=True, markup=False)
        console.print(f"[bold red]{counterexample.check}[/] {measured}", highlight=False, soft_wrap=True)
        if check is not None:
            for line in check.evidence[:8]:
                console.print(f"    {line}", highlight=False, soft_wrap=True)
        console.print(f"written to {counterexample.path}", highlight=False, soft_wrap=True)
        console.print(f"replay: {counterexample.replay}", highlight=False, soft_wrap=True)
        if not counterexample.reproduced:
            console.print("[yellow]the replay from the file did not fail again: the agent may not be deterministic[/]")
    if result.reports:
        console.print("reports: " + ", ".join(str(path) for path in result.reports.values()), highlight=False)
