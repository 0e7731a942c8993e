"""`bgr bench`: what one poll through each adapter costs beyond a raw HTTP GET of the same response."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.table import Table

from harness.conformance.poll_overhead import DEFAULT_POLLS, ROUNDS, PollOverhead, measure_poll_overhead


@click.command("bench")
@click.option(
    "--agent",
    "agents",
    multiple=True,
    default=("openai", "agent-framework"),
    show_default=True,
    help="openai | agent-framework | cmd:<command line> | py:<module>:<factory> (repeatable).",
)
@click.option(
    "--polls", default=DEFAULT_POLLS, show_default=True, type=click.IntRange(ROUNDS), help="Polls of each kind."
)
@click.option("--seed", type=int, help="Seed of the mock. [default: 0]")
def bench_command(agents: tuple[str, ...], polls: int, seed: int | None) -> None:
    """Measure each adapter's poll against a raw GET of the same response, in the same run."""
    from harness.conformance.adapters import make_adapter

    for agent in agents:
        try:
            make_adapter(agent)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--agent") from None
    console = Console()
    results = []
    for agent in agents:
        # No spinner: its refresh thread would take the interpreter lock from the polls being timed.
        console.print(f"{agent}: {polls} polls through the adapter, {polls} raw GETs", highlight=False)
        try:
            results.append(asyncio.run(measure_poll_overhead(agent, polls, seed=seed)))
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
    console.print(overhead_table(results))
    console.print(
        "Client CPU: the polling thread's and its child processes'; the mock's process is not counted. Latency: the "
        f"median. Raw GET: http.client on one keep-alive connection, measured in the same run ({ROUNDS} alternating "
        "rounds).",
        highlight=False,
    )


def overhead_table(results: list[PollOverhead]) -> Table:
    table = Table(title="one poll: adapter against a raw GET of the same response")
    for column in (
        "agent",
        "polls",
        "latency raw",
        "latency adapter",
        "overhead",
        "cpu raw",
        "cpu adapter",
        "overhead",
    ):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for result in results:
        table.add_row(
            result.agent,
            str(result.adapter.polls),
            f"{result.raw.latency_us:,.0f} µs",
            f"{result.adapter.latency_us:,.0f} µs",
            f"+{result.latency_overhead_us:,.0f} µs ({result.latency_ratio:.1f}x)",
            f"{result.raw.cpu_us:,.0f} µs",
            f"{result.adapter.cpu_us:,.0f} µs",
            f"+{result.cpu_overhead_us:,.0f} µs ({result.cpu_ratio:.1f}x)",
        )
    return table
