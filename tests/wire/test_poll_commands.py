"""`bgr poll` and `bgr resume` as a user runs them: exit codes, one-line errors, and a kill -9 survived."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.client.token_store import SqliteTokenStore
from mock_server import ServerConfig, ServerThread
from mock_server.rules import decode_rule

BGR = [str(Path(sys.executable).parent / "bgr")]
SCALE = 0.01
TIMEOUT = 60.0
"""Seconds any one command may take: every wait in these tests is bounded."""
LONG = {"type": "background", "queue_seconds": 100, "in_progress_seconds": 200}
"""Done 300 scenario seconds (3 real seconds) after the create: time enough to kill the poller."""


def bgr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BGR, *args], capture_output=True, text=True, timeout=TIMEOUT)


def add_rule(mock: ServerThread, **rule: object) -> None:
    mock.call(lambda: mock.server.state.rules.add(decode_rule(rule)))


def truth(mock: ServerThread) -> str:
    (create,) = [entry for entry in mock.journal() if entry.method == "POST"]
    assert create.response_id is not None
    return str(mock.ground_truth(create.response_id)["text"])


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("bgr ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def mock(start_mock: Callable[..., ServerThread]) -> ServerThread:
    return start_mock(ServerConfig(time_scale=SCALE, answer_tokens=24))


def target(mock: ServerThread, store: Path) -> list[str]:
    return ["--base-url", mock.base_url, "--store", str(store), "--time-scale", str(SCALE)]


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def test_poll_prints_the_answer_and_exits_zero(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[{"type": "background", "queue_seconds": 5, "in_progress_seconds": 10}])
    result = bgr("poll", *target(mock, tmp_path / "t.db"), "--prompt", "Summarize computing.")
    assert result.returncode == 0, result.stderr
    assert result.stdout == truth(mock) + "\n"
    assert "poll 1" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "exactly one of --prompt, --token, --pending or --forget"),
        (("--prompt", "x", "--pending"), "exactly one of --prompt, --token, --pending or --forget"),
        (("--prompt", "x", "--cap", "0.5"), "cap_seconds (0.5) must be at least first_seconds (1.0)"),
        (("--prompt", "x", "--agent", "nonsense"), "unknown agent 'nonsense'"),
        (("--prompt", "x", "--max-polls", "0"), "--max-polls"),
    ],
)
@pytest.mark.parametrize("command", ["poll", "resume"])
def test_usage_errors_exit_two(tmp_path: Path, command: str, args: tuple[str, ...], words: str) -> None:
    if command == "resume" and "--max-polls" in args:
        args = ("--prompt", "x", "--max-attempts", "0")
        words = "--max-attempts"
    result = bgr(command, "--base-url", "http://127.0.0.1:9/v1", "--store", str(tmp_path / "t.db"), *args)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_timeout_exits_three_with_the_command_that_resumes(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[{"type": "background", "queue_seconds": 30, "in_progress_seconds": 30}])
    store = tmp_path / "t.db"
    result = bgr("poll", *target(mock, store), "--prompt", "A long report.", "--max-polls", "2")

    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    line = one_line_error(result)
    assert "timed out after 2 polls" in line and "--token" in line and "(or --pending)" in line
    (operation,) = SqliteTokenStore(store).pending()
    assert operation.status == "timed_out" and operation.token is not None
    assert shlex.quote(operation.token) in line

    # The printed command, run as it is, finishes the job.
    command = shlex.split(line.split("to resume from: ", 1)[1].split("  (or --pending)")[0])
    assert command[:2] == ["bgr", "poll"]
    resumed = subprocess.run([*BGR, *command[1:]], capture_output=True, text=True, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == truth(mock) + "\n"
    assert SqliteTokenStore(store).pending() == []


def test_a_failed_response_exits_one_with_one_line(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[{"type": "fail", "message": "the model fell over"}])
    result = bgr("poll", *target(mock, tmp_path / "t.db"), "--prompt", "Fail.")
    assert result.returncode == 1
    assert "failed" in one_line_error(result) and "the model fell over" in result.stderr


def test_an_unreachable_backend_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = bgr("poll", "--base-url", "http://127.0.0.1:9/v1", "--store", str(tmp_path / "t.db"), "--prompt", "x")
    assert result.returncode == 1
    assert "Connection error" in one_line_error(result)


def test_forget_removes_a_run_that_pending_would_retry(mock: ServerThread, tmp_path: Path) -> None:
    store = tmp_path / "t.db"
    first = bgr("poll", *target(mock, store), "--token", "not-a-token-of-openai", "--first", "0.1", "--cap", "0.1")
    assert first.returncode == 1 and "not a token of this agent" in one_line_error(first)
    (operation,) = SqliteTokenStore(store).pending()

    forgot = bgr("poll", *target(mock, store), "--forget", operation.id)
    assert forgot.returncode == 0 and SqliteTokenStore(store).pending() == []
    again = bgr("poll", *target(mock, store), "--forget", operation.id)
    assert again.returncode == 1 and f"no operation {operation.id!r}" in again.stderr


def test_nothing_pending_is_fine(mock: ServerThread, tmp_path: Path) -> None:
    result = bgr("poll", *target(mock, tmp_path / "t.db"), "--pending")
    assert result.returncode == 0 and "nothing pending" in result.stderr


def test_a_killed_poller_is_finished_by_the_next_process(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[LONG])
    store = tmp_path / "t.db"
    process = subprocess.Popen(
        [*BGR, "poll", *target(mock, store), "--prompt", "A report that takes a while."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: store.exists() and any(op.token for op in SqliteTokenStore(store).pending()))
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL

    result = bgr("poll", *target(mock, store), "--pending")

    assert result.returncode == 0, result.stderr
    assert result.stdout == truth(mock) + "\n"
    assert SqliteTokenStore(store).pending() == []
    assert len([entry for entry in mock.journal() if entry.method == "POST"]) == 1  # resumed, not started again


def test_resume_reconnects_after_drops_and_prints_the_text_once(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, match={"stream": True}, times=2, faults=[{"type": "drop_after_events", "events": 8}])
    result = bgr("resume", *target(mock, tmp_path / "t.db"), "--prompt", "A poem.")
    assert result.returncode == 0, result.stderr
    assert result.stdout == truth(mock) + "\n"
    assert result.stderr.count("reconnecting in") == 2


def test_resume_gives_up_with_exit_three_and_a_pending_run_finishes_later(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, match={"stream": True}, faults=[{"type": "drop_after_events", "events": 8}])
    store = tmp_path / "t.db"
    first = bgr("resume", *target(mock, store), "--prompt", "A poem.", "--max-attempts", "2")
    assert first.returncode == 3, first.stderr
    assert "gave up after 2 attempts" in one_line_error(first) and "--token" in first.stderr

    mock.call(lambda: mock.server.state.rules.clear())
    second = bgr("resume", *target(mock, store), "--pending")
    assert second.returncode == 0, second.stderr
    assert first.stdout.rstrip("\n") + second.stdout == truth(mock) + "\n"


def test_a_killed_stream_reader_goes_on_where_it_stopped(mock: ServerThread, tmp_path: Path) -> None:
    add_rule(mock, faults=[LONG])
    store = tmp_path / "t.db"
    process = subprocess.Popen(
        [*BGR, "resume", *target(mock, store), "--prompt", "A long poem.", "--updates-per-call", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: store.exists() and any(op.delivered for op in SqliteTokenStore(store).pending()))
    finally:
        process.send_signal(signal.SIGKILL)
        before, _ = process.communicate(timeout=TIMEOUT)

    result = bgr("resume", *target(mock, store), "--pending")

    assert result.returncode == 0, result.stderr
    assert before and before + result.stdout == truth(mock) + "\n"
