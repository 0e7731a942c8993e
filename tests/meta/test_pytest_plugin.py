"""The pytest plugin, run the way an agent's repository runs it: a pytest process with --bgr-agent."""

from __future__ import annotations

import pytest

from tests.paths import ROOT

pytest_plugins = ["pytester"]


def run_plugin(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--bgr-suite", "core", *args)


def test_reference_agent_passes_the_must_checks_of_core(pytester: pytest.Pytester) -> None:
    result = run_plugin(pytester, "--bgr-agent", "openai", "-m", "must")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 10 and "failed" not in outcomes
    assert outcomes.get("deselected", 0) >= 1  # the SHOULD items


def test_a_broken_agent_fails_with_the_rule_and_the_replay_command(pytester: pytest.Pytester, monkeypatch) -> None:

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = run_plugin(pytester, "--bgr-agent", "py:tests.broken_agents:FailureAsEmptySuccess")
    result.assert_outcomes(failed=1, passed=result.parseoutcomes()["passed"])
    result.stdout.fnmatch_lines(["*core/failed-ending::terminal-honesty*", "*replay:   bgr run --agent py:tests*"])


def test_under_xdist_each_worker_runs_its_share_and_the_outcomes_are_the_same(
    pytester: pytest.Pytester, monkeypatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    agent = "py:tests.broken_agents:FailureAsEmptySuccess"
    alone = run_plugin(pytester, "--bgr-agent", agent, "-m", "must").parseoutcomes()
    result = run_plugin(pytester, "-n", "2", "--dist", "loadgroup", "--bgr-agent", agent, "-m", "must")
    result.stdout.fnmatch_lines(["*2 workers*", "*core/failed-ending::terminal-honesty*", "*replay:   bgr run*"])
    outcomes = result.parseoutcomes()
    # xdist's controller does not count what its workers deselected (the SHOULD items).
    assert {key: outcomes.get(key) for key in ("passed", "failed")} == {key: alone[key] for key in ("passed", "failed")}
    assert alone["failed"] == 1 and alone["passed"] >= 10


def test_without_the_option_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
