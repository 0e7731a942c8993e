"""`bgr run` as CI runs it: exit codes, the summary, the reports, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

BGR = str(Path(sys.executable).parent / "bgr")


def bgr(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BGR, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_example_cmd_driver_passes_core(tmp_path: Path) -> None:
    result = bgr(
        "run",
        "--agent",
        f"cmd:{sys.executable} examples/python_driver.py",
        "--suite",
        "core",
        "--report",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["passed"] is True and {s["suite"] for s in data["scenarios"]} == {"core"}
    assert all(c["status"] == "SUCCESS" for s in data["scenarios"] for c in s["checks"])


def test_failing_must_check_exits_non_zero_with_a_replay_command() -> None:
    result = bgr("run", "--agent", "agent-framework", "--scenario", "failed-ending")
    assert result.returncode == 1
    assert "FAILURE failed-ending:terminal-honesty" in result.stdout
    assert "replay: bgr run --agent agent-framework --scenario failed-ending --seed 0" in result.stdout


def test_expected_failures_baseline_turns_it_green(tmp_path: Path) -> None:
    baseline = tmp_path / "expected.txt"
    baseline.write_text("# known agent-framework gap\nfailed-ending:terminal-honesty\n")
    result = bgr(
        "run", "--agent", "agent-framework", "--scenario", "failed-ending", "--expected-failures", str(baseline)
    )
    assert result.returncode == 0, result.stdout


def test_list_and_bad_input_are_clear() -> None:
    listing = bgr("run", "--list")
    assert listing.returncode == 0 and "resume-exactly-once" in listing.stdout and "cut-mid-delta" in listing.stdout
    for args, needle in [
        (("run", "--agent", "nope"), "unknown agent"),
        (("run", "--agent", "openai", "--suite", "nope"), "unknown suite"),
        (("run", "--agent", "openai", "--scenario", "nope"), "no scenario"),
        (("run", "--suite", "core"), "--agent is required"),
    ]:
        result = bgr(*args)
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
