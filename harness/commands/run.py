"""`bgr run`: pick scenarios, run them with progress, print a summary, write reports, set the exit code."""

from __future__ import annotations

import asyncio
import atexit
import gc
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.conformance.baseline import BaselineError, load_baseline
from harness.conformance.checks import CHECKS
from harness.conformance.results import RunResult, ScenarioResult, Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import ConformanceScenario, discover, load_conformance_scenario, script_of
from harness.conformance.target import DEFAULT_SEED, DEFAULT_TIME_SCALE, Target, TargetError, open_target
from mock_server.scenario_file import ScenarioError

STATUS_STYLE = {
    Status.SUCCESS: "green",
    Status.FAILURE: "bold red",
    Status.WARNING: "yellow",
    Status.SKIPPED: "dim",
    Status.UNKNOWN: "magenta",
}


cassette_option = click.option(
    "--cassette",
    "cassettes",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A vcrpy cassette (repeatable): its recorded answers are served, with every fault on top, to its prompt.",
)
"""`bgr run`'s and `bgr fuzz`'s `--cassette` (checked by `check_cassettes`)."""


@click.command("run")
@click.option(
    "--agent",
    help=(
        "openai | agent-framework | pydantic-ai | litellm | litellm-proxy | openai-node | "
        "cmd:<command line> | py:<module>:<factory>"
    ),
)
@click.option("--suite", "suites", multiple=True, help="Run only this suite (repeatable).")
@click.option("--scenario", "scenario_refs", multiple=True, help="A scenario id or a scenario file (repeatable).")
@click.option(
    "--seed",
    type=int,
    help=f"Seed of every random choice; printed in reports. [default: {DEFAULT_SEED}, or the --base-url mock's]",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(0, min_open=True),
    help="Real seconds per scenario second, for the mock and the agent alike. "
    f"[default: {DEFAULT_TIME_SCALE:g}, or the --base-url mock's]",
)
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), help="Write reports here.")
@click.option(
    "--expected-failures",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file of 'scenario:check' lines known to fail.",
)
@click.option("--base-url", help="Use this running bgr mock instead of starting one.")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Scenarios played at once on the one mock (results keep the order of the scenarios).",
)
@cassette_option
@click.option("--list", "list_only", is_flag=True, help="List suites, scenarios and checks, and exit.")
def run_command(
    agent: str | None,
    suites: tuple[str, ...],
    scenario_refs: tuple[str, ...],
    seed: int | None,
    time_scale: float | None,
    report_dir: Path | None,
    baseline_file: Path | None,
    base_url: str | None,
    jobs: int,
    cassettes: tuple[str, ...],
    list_only: bool,
) -> None:
    """Drive an agent through scenario suites and judge the background-responses contract."""
    console = Console(stderr=False)
    try:
        catalogue = discover()
        chosen = select(catalogue, suites, scenario_refs)
    except ScenarioError as error:
        raise click.ClickException(str(error)) from None
    if list_only:
        print_catalogue(console, catalogue)
        return
    if not agent:
        raise click.UsageError("--agent is required (openai, agent-framework or cmd:<command>)")
    try:
        baseline = (
            load_baseline(baseline_file, {s.id for s in catalogue} | {s.id for s in chosen})
            if baseline_file
            else frozenset()
        )
    except BaselineError as error:
        raise click.ClickException(str(error)) from None
    check_cassettes(cassettes)
    settings = RunSettings(agent, seed, time_scale, base_url, baseline, jobs, cassettes)

    def load_agent() -> None:
        from harness.conformance.adapters import make_adapter

        try:
            make_adapter(agent)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--agent") from None

    try:
        # The agent's modules load while the mock's process starts (~0.3 s each, on the two cores).
        with open_target(base_url, seed, time_scale, cassettes, meanwhile=load_agent) as target:
            began = time.monotonic()
            result = run_with_progress(console, settings, chosen, target)
    except TargetError as error:
        raise click.ClickException(str(error)) from None
    print_summary(console, result, time.monotonic() - began)
    if report_dir is not None:
        from harness.conformance.reports import write_reports

        paths = write_reports(result, report_dir)
        console.print("reports: " + ", ".join(str(path) for path in paths.values()))
    # The interpreter's last collection would sweep every object of the run on the way out (~0.1 s): frozen
    # objects are left to the process's end. At exit only, so that a process that runs on (a test) is untouched.
    atexit.register(gc.freeze)
    raise SystemExit(0 if result.passed else 1)


def check_cassettes(cassettes: tuple[str, ...]) -> None:
    """Each cassette loads and one holds a recorded response, or the command stops with one line."""
    if not cassettes:
        return
    from mock_server.recorded import recorded_prompt

    try:
        recorded_prompt(cassettes)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def select(
    catalogue: list[ConformanceScenario], suites: tuple[str, ...], refs: tuple[str, ...]
) -> list[ConformanceScenario]:
    known_suites = {scenario.suite for scenario in catalogue}
    for suite in suites:
        if suite not in known_suites:
            raise click.BadParameter(f"unknown suite {suite!r}; known: {', '.join(sorted(known_suites))}")
    chosen = (
        [scenario for scenario in catalogue if not suites or scenario.suite in suites] if suites or not refs else []
    )
    by_id = {scenario.id: scenario for scenario in catalogue}
    for ref in refs:
        if ref in by_id:
            chosen.append(by_id[ref])
        elif Path(ref).is_file():
            chosen.append(load_conformance_scenario(Path(ref)))
        else:
            raise click.BadParameter(f"no scenario with id or file {ref!r} (bgr run --list shows them)")
    return chosen


def run_with_progress(
    console: Console, settings: RunSettings, scenarios: list[ConformanceScenario], target: Target
) -> RunResult:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{settings.agent}", total=len(scenarios))

        def report(scenario: ConformanceScenario, result: ScenarioResult | None) -> None:
            if result is None:
                progress.update(task, description=f"{settings.agent}: {scenario.suite}/{scenario.id}")
            else:
                progress.advance(task)

        played: list[RunResult] = []

        async def play() -> None:
            played.append(await run(settings, scenarios, report, target=target))

        # Not returned through asyncio.run: on its way out it asks for its SIGINT handler, whose repr is that of
        # the main task, result included; the repr of a whole run's histories takes ~0.1 s.
        asyncio.run(play())
        return played[0]


def print_summary(console: Console, result: RunResult, wall: float) -> None:
    """`wall`: the run's real seconds, from the mock serving to the last verdict."""
    table = Table(title=f"bgr run --agent {result.agent} (seed {result.seed}, time scale {result.time_scale:g})")
    for column in ("suite", "scenario", "checks", "verdict"):
        table.add_column(column)
    for scenario in result.scenarios:
        cells = " ".join(
            f"[{STATUS_STYLE[c.status]}]{c.id}{'*' if c.expected_failure else ''}[/]" for c in scenario.checks
        )
        if scenario.error:
            cells = f"[bold red]error: {scenario.error}[/]"
        verdict = "[bold red]FAIL[/]" if scenario.failed else "[green]ok[/]"
        table.add_row(scenario.suite, scenario.scenario, cells, verdict)
    console.print(table)
    played = sum(scenario.duration_seconds for scenario in result.scenarios)
    console.print(
        f"{played / result.time_scale:,.0f} s of scenario time in {wall:.1f} s of wall time "
        f"(time scale {result.time_scale:g}; {played:.1f} s played one after the other)",
        highlight=False,
    )
    counts = result.counts()
    console.print(", ".join(f"{n} {status.lower()}" for status, n in counts.items() if n))
    for scenario in result.scenarios:
        for check in scenario.checks:
            if check.status in (Status.FAILURE, Status.WARNING) and not check.expected_failure:
                console.print(
                    f"[{STATUS_STYLE[check.status]}]{check.status} {scenario.scenario}:{check.id}[/] {check.measured}",
                    highlight=False,
                    soft_wrap=True,
                )
                console.print(f"    replay: {scenario.reproduce}", highlight=False, soft_wrap=True)
    for entry in result.stale_expected_failures:
        console.print(f"[bold red]STALE[/] {entry} passes now: remove it from the expected failures")
    console.print("[green]PASS[/]" if result.passed else "[bold red]FAIL[/]")


def print_catalogue(console: Console, catalogue: list[ConformanceScenario]) -> None:
    table = Table(title="scenarios")
    for column in ("suite", "scenario", "checks", "description"):
        table.add_column(column)
    for scenario in sorted(catalogue, key=lambda s: (str(s.suite), str(s.id))):
        checks_of = ", ".join(script_of(scenario).checks)
        table.add_row(scenario.suite, scenario.id, checks_of, scenario.description)
    console.print(table)
    checks = Table(title="checks")
    for column in ("id", "level", "rule"):
        checks.add_column(column)
    for check in CHECKS.values():
        checks.add_row(check.id, check.level.value, check.rule)
    console.print(checks)
