"""`bgr run --jobs N`: scenarios played at once on one mock get the verdicts they get one after the other."""

from __future__ import annotations

from click.testing import CliRunner

from harness.commands.main import main as cli
from harness.conformance.caller import FOREIGN_TOKEN
from harness.conformance.journal_scope import response_id_in
from harness.conformance.results import Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover, script_of
from harness.conformance.schedule import QUIET_SECONDS, times_a_poller

SCENARIOS = discover()
FOREIGN_ID = response_id_in(FOREIGN_TOKEN)


CLOCK_SLACK_SECONDS = 0.5
"""Scenario seconds the mock's process may read the run's clock apart from the runner: 10 ms at the default scale."""
TIMED = {"backoff", "timeout"}
"""Checks judged from the journal's real times: a machine loaded by other work makes a poll late in any run, so
these must be judged in both runs (not skipped, not unknown, not failed) but may differ in WARNING."""


def verdicts(result) -> list[tuple[str, str, Status]]:
    return [(s.scenario, c.id, c.status) for s in result.scenarios for c in s.checks if c.id not in TIMED]


def timed(result) -> list[tuple[str, str, bool]]:
    judged = (Status.SUCCESS, Status.WARNING)
    return [(s.scenario, c.id, c.status in judged) for s in result.scenarios for c in s.checks if c.id in TIMED]


async def test_every_verdict_is_the_same_with_one_job_and_with_eight() -> None:
    one = await run(RunSettings("openai", jobs=1), SCENARIOS)
    eight = await run(RunSettings("openai", jobs=8), SCENARIOS)
    assert [s.scenario for s in eight.scenarios] == [s.id for s in SCENARIOS]  # the order given, not the order run
    assert verdicts(eight) == verdicts(one)
    assert len(verdicts(one)) > 40
    assert timed(eight) == timed(one)
    timed_checks = sum(check in TIMED for scenario in SCENARIOS for check in script_of(scenario).checks)
    assert {judged for _, _, judged in timed(one)} == {True} and len(timed(one)) == timed_checks >= 3
    assert not [s.error for s in eight.scenarios if s.error]
    assert eight.passed and one.passed
    # The others start only once every timed poller is QUIET_SECONDS past its start (on the run's one clock).
    timed_ids = {scenario.id for scenario in SCENARIOS if times_a_poller(scenario)}
    by_id = {s.scenario: s.history for s in eight.scenarios if s.history is not None}
    began_polling = [e["received_at"] for i in timed_ids for e in by_id[i].server.journal if e["method"] == "MARK"]
    first_of_others = min(by_id[i].server.journal[0]["received_at"] for i in by_id if i not in timed_ids)
    assert len(began_polling) == len(timed_ids) >= 5
    assert first_of_others >= max(began_polling) + QUIET_SECONDS - CLOCK_SLACK_SECONDS
    seen: set[int] = set()
    for alone, together in zip(one.scenarios, eight.scenarios, strict=True):
        assert alone.history is not None and together.history is not None
        journal = together.history.server.journal
        indices = {entry["index"] for entry in journal}
        assert not indices & seen, f"{together.scenario} holds another scenario's journal entries"
        seen |= indices
        # Each history holds its own requests only: about its own responses, and its own marks.
        created = set(together.history.server.created_response_ids())
        assert {e.get("response_id") for e in journal if e["method"] != "MARK"} <= created | {None, FOREIGN_ID}
        marks = [e for e in journal if e["method"] == "MARK"]
        assert len(marks) == len(together.history.calls_of("self-poll")), together.scenario
        assert creates(together.history) == creates(alone.history), together.scenario
        assert together.history.server.truths.keys() == created


def creates(history) -> int:
    return sum(1 for e in history.server.journal if e["method"] == "POST" and e["path"] == "/v1/responses")


def test_the_command_takes_jobs_and_refuses_zero() -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["run", "--agent", "openai", "--jobs", "0", "--scenario", "failed-ending"])
    assert refused.exit_code == 2 and "--jobs" in refused.output
    ran = runner.invoke(
        cli, ["run", "--agent", "openai", "--jobs", "2", "--scenario", "failed-ending", "--scenario", "foreign-token"]
    )
    assert ran.exit_code == 0, ran.output
    assert "PASS" in ran.output
