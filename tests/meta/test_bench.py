"""`bgr bench`: an adapter's poll measured against a raw GET of the same response, in one run."""

from __future__ import annotations

from click.testing import CliRunner

from harness.commands.main import main
from harness.conformance.poll_overhead import ROUNDS, measure_poll_overhead


async def test_both_sides_are_measured_for_as_many_polls() -> None:
    result = await measure_poll_overhead("openai", polls=2 * ROUNDS + 3)
    assert result.raw.polls == result.adapter.polls == 2 * ROUNDS  # whole rounds only
    for cost in (result.raw, result.adapter):
        assert cost.latency_us > 0 and cost.cpu_us > 0
    assert result.latency_overhead_us == result.adapter.latency_us - result.raw.latency_us
    assert result.cpu_ratio == result.adapter.cpu_us / result.raw.cpu_us


def test_the_command_prints_a_row_per_agent_and_refuses_an_unknown_one() -> None:
    runner = CliRunner()
    ran = runner.invoke(main, ["bench", "--agent", "openai", "--polls", str(ROUNDS)])
    assert ran.exit_code == 0, ran.output
    assert "openai" in ran.output and "raw GET" in ran.output
    refused = runner.invoke(main, ["bench", "--agent", "nonsense"])
    assert refused.exit_code == 2 and "--agent" in refused.output and "Traceback" not in refused.output
    too_few = runner.invoke(main, ["bench", "--agent", "openai", "--polls", "1"])
    assert too_few.exit_code == 2
