"""The cmd adapter: the example driver against the mock, and programs that break the protocol."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shlex
import signal
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from harness.conformance.adapters.base import AgentAdapter, AgentEnvironment, AgentError, AgentReply, Unsupported
from harness.conformance.adapters.command import CommandAdapter, CommandError
from mock_server import Clock, ServerThread
from mock_server.rules import decode_rule
from tests.paths import ROOT

DRIVER = shlex.join([sys.executable, str(ROOT / "examples" / "python_driver.py")])
MAX_POLLS = 300


def environment(mock: ServerThread | None = None) -> AgentEnvironment:
    base_url = mock.base_url if mock is not None else "http://127.0.0.1:9/v1"
    return AgentEnvironment(base_url=base_url, api_key="test-key", model="gpt-4o", clock=Clock(1.0))


def python_program(code: str) -> str:
    """A shell command line running `code` with this interpreter."""
    return shlex.join([sys.executable, "-c", code])


def response_id(token: str) -> str:
    # Only the test knows the driver's token format; the adapter never looks inside.
    return str(json.loads(token)["response_id"])


def text_of(*replies: AgentReply) -> str:
    return "".join(update.text for reply in replies for update in reply.updates)


@pytest.fixture
async def driver(mock: ServerThread) -> AsyncIterator[CommandAdapter]:
    adapter = CommandAdapter(DRIVER, timeout=30.0)
    await adapter.start(environment(mock))
    yield adapter
    await adapter.close()


async def poll_to_the_end(adapter: CommandAdapter, first: AgentReply) -> tuple[AgentReply, int]:
    reply, polls = first, 0
    while reply.token is not None:
        assert polls < MAX_POLLS, "the response never finished"
        await asyncio.sleep(0.02)
        polls += 1
        reply = await adapter.run(None, reply.token, stream=False)
    return reply, polls


def test_the_adapter_has_the_agent_interface() -> None:
    adapter: AgentAdapter = CommandAdapter("true")
    assert adapter.name == "cmd:true"


async def test_hello_gets_the_driver_name(driver: CommandAdapter) -> None:
    assert driver.program_name == "python-openai-responses"
    # The harness offers protocol 2 in its hello; the example driver takes it.
    assert driver.ready_message["protocol"] == 2 == driver.protocol


async def test_background_run_polled_until_the_token_is_null(driver: CommandAdapter, mock: ServerThread) -> None:
    first = await driver.run("Compare paradigms.", None, stream=False)
    assert first.token is not None, "the mock queues background responses, so the first call is deferred"
    assert first.status in ("queued", "in_progress")
    assert first.updates[0].text == ""

    final, polls = await poll_to_the_end(driver, first)

    assert polls >= 1
    assert final.token is None
    assert final.status == "completed"
    assert final.error is None
    assert len(final.updates) == 1
    assert final.updates[0].text == mock.ground_truth(response_id(first.token))["text"]
    methods = [entry.method for entry in mock.journal()]
    assert methods == ["POST"] + ["GET"] * polls, "polls carry only the token"


async def test_stream_read_to_the_end(driver: CommandAdapter, mock: ServerThread) -> None:
    reply = await driver.run("Write a poem.", None, stream=True)
    assert not reply.cut
    assert reply.token is None
    assert reply.status == "completed"
    assert reply.updates[-1].token is None
    assert reply.updates[-1].kind == "response.completed"
    first_token = next(update.token for update in reply.updates if update.token)
    assert text_of(reply) == mock.ground_truth(response_id(first_token))["text"]
    times = [update.received_at for update in reply.updates]
    assert None not in times
    assert times == sorted(times), "each update is stamped as its line arrives"


async def resume_after_cut(adapter: CommandAdapter, mock: ServerThread, *, restart: bool) -> None:
    cut = await adapter.run("Write a poem.", None, stream=True, max_updates=8)
    assert cut.cut
    assert len(cut.updates) == 8
    assert cut.token is not None
    assert cut.token == cut.updates[-1].token
    assert text_of(cut), "eight events reach past the first text deltas"
    old_pid = adapter.pid

    if restart:
        await adapter.restart()
        assert adapter.pid != old_pid

    rest = await adapter.run(None, cut.token, stream=True)
    assert not rest.cut
    assert rest.token is None
    assert rest.status == "completed"
    truth = mock.ground_truth(response_id(cut.token))
    assert text_of(cut, rest) == truth["text"]
    # Exactly once: the resumed events continue the sequence with no gap and no repeat.
    sequence = [json.loads(u.token)["sequence_number"] for u in (*cut.updates, *rest.updates) if u.token]
    assert sequence == list(range(len(sequence)))
    assert len(cut.updates) + len(rest.updates) == len(truth["events"])


async def test_stream_cut_then_resumed_with_the_last_token(driver: CommandAdapter, mock: ServerThread) -> None:
    await resume_after_cut(driver, mock, restart=False)


async def test_token_from_the_old_process_resumes_in_a_new_one(driver: CommandAdapter, mock: ServerThread) -> None:
    await resume_after_cut(driver, mock, restart=True)


@pytest.mark.parametrize("stream", [False, True], ids=["poll", "stream"])
async def test_failed_response_reported_with_status_and_error(
    driver: CommandAdapter, mock: ServerThread, stream: bool
) -> None:
    rule = decode_rule({"match": {"input_contains": "[fail]"}, "faults": [{"type": "fail", "after_deltas": 2}]})
    mock.call(lambda: mock.server.state.rules.add(rule))

    first = await driver.run("[fail] Write a poem.", None, stream=stream)
    final, _ = (first, 0) if stream else await poll_to_the_end(driver, first)

    assert final.token is None
    assert final.status == "failed"
    assert final.error is not None
    assert "server_error" in final.error
    assert "\n" not in final.error
    if stream:
        assert final.updates[-1].kind == "response.failed"
        assert sum(1 for u in final.updates if u.text) == 2


async def test_prompt_together_with_a_token_is_an_error_reply(driver: CommandAdapter) -> None:
    reply = await driver.run("again", '{"response_id": "resp_x"}', stream=False)
    assert reply.error is not None
    assert "together" in reply.error


async def test_backend_error_comes_back_as_an_error_reply(driver: CommandAdapter) -> None:
    reply = await driver.run(None, '{"response_id": "resp_unknown"}', stream=False)
    assert reply.error is not None
    assert "NotFound" in reply.error
    assert reply.token == '{"response_id": "resp_unknown"}'


# -- programs that break the protocol -------------------------------------------------------


async def expect_failure(adapter: CommandAdapter, action: Callable[[], object], *needles: str) -> CommandError:
    began = time.monotonic()
    with pytest.raises(CommandError) as caught:
        await action()  # type: ignore[misc]
    assert time.monotonic() - began < 10, "a broken program must fail fast, not hang"
    message = str(caught.value)
    assert message.startswith(f"cmd:{adapter.command}: ")
    for needle in needles:
        assert needle in message
    await adapter.close()
    return caught.value


async def test_program_that_exits_at_once() -> None:
    adapter = CommandAdapter(python_program("import sys; sys.stderr.write('no config here\\n'); sys.exit(3)"))
    error = await expect_failure(adapter, lambda: adapter.start(environment()), "exit code 3", "no config here")
    assert error.returncode == 3


async def test_command_that_does_not_exist() -> None:
    adapter = CommandAdapter("/nonexistent/agent --flag")
    await expect_failure(adapter, lambda: adapter.start(environment()), "exit code 127", "/nonexistent/agent")


async def test_program_that_prints_garbage() -> None:
    adapter = CommandAdapter(python_program("import sys; print('Hello, I am an agent!', flush=True); sys.stdin.read()"))
    await expect_failure(adapter, lambda: adapter.start(environment()), "not JSON", "Hello, I am an agent!")


async def test_program_that_never_answers() -> None:
    adapter = CommandAdapter(
        python_program("import sys; sys.stderr.write('thinking...\\n'); sys.stderr.flush(); sys.stdin.read()"),
        timeout=0.5,
    )
    await expect_failure(adapter, lambda: adapter.start(environment()), "wrote nothing for 0.5 s", "thinking...")
    assert adapter.pid is None


async def test_program_that_sees_stdin_closed_but_stays_is_killed() -> None:
    # Ignores EOF: close() must still end it, after stop_timeout.
    code = (
        "import sys, time, json\nprint(json.dumps({'type': 'ready', 'id': 1, 'protocol': 1, 'name': 'x'}), flush=True)"
    )
    adapter = CommandAdapter(python_program(code + "\nsys.stdin.read()\ntime.sleep(60)"), stop_timeout=0.3)
    await adapter.start(environment())
    process = adapter._process
    assert process is not None
    began = time.monotonic()
    await adapter.close()
    assert time.monotonic() - began < 5
    assert process.returncode is not None


FAKE_DRIVER = """
import json, sys
def send(**message):
    print(json.dumps({"protocol": 1, **message}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    rid = request["id"]
    if request["type"] == "hello":
        send(type="ready", id=rid, name="fake")
        continue
    BEHAVIOUR
"""


def fake_driver(behaviour: str) -> CommandAdapter:
    return CommandAdapter(python_program(FAKE_DRIVER.replace("BEHAVIOUR", behaviour)), timeout=5.0)


async def test_program_that_dies_in_the_middle_of_a_run() -> None:
    adapter = fake_driver("sys.stderr.write('Traceback: KeyError\\n'); sys.exit(1)")
    await adapter.start(environment())
    await expect_failure(
        adapter,
        lambda: adapter.run("hi", None, stream=False),
        "closed its stdout while the harness waited for its answer to run #2",
        "exit code 1",
        "KeyError",
    )
    with pytest.raises(AgentError, match="not running"):
        await adapter.run("hi", None, stream=False)


async def test_wrong_protocol_version() -> None:
    code = "import json; print(json.dumps({'type': 'ready', 'id': 1, 'protocol': 3, 'name': 'x'}), flush=True); input()"
    adapter = CommandAdapter(python_program(code))
    await expect_failure(adapter, lambda: adapter.start(environment()), "protocol 3")


async def test_too_many_updates_for_a_cut() -> None:
    adapter = fake_driver(
        "for i in range(3): send(type='update', id=rid, text='x', token=str(i))\n"
        "    send(type='result', id=rid, token='2', cut=True)"
    )
    await adapter.start(environment())
    await expect_failure(adapter, lambda: adapter.run("hi", None, stream=True, max_updates=2), "more than max_updates")


async def test_structured_token_is_refused() -> None:
    adapter = fake_driver("send(type='result', id=rid, text='', token={'response_id': 'r'})")
    await adapter.start(environment())
    await expect_failure(adapter, lambda: adapter.run("hi", None, stream=False), "tokens are strings")


async def test_reply_to_the_wrong_request() -> None:
    adapter = fake_driver("send(type='result', id=rid + 1, text='', token=None)")
    await adapter.start(environment())
    await expect_failure(adapter, lambda: adapter.run("hi", None, stream=False), "sent id 3 in answer to run #2")


async def test_fatal_line_is_an_agent_error() -> None:
    adapter = fake_driver("send(type='fatal', id=rid, message='cannot reach the model')")
    await adapter.start(environment())
    await expect_failure(adapter, lambda: adapter.run("hi", None, stream=False), "cannot reach the model")


async def test_unsupported_request_and_the_program_goes_on() -> None:
    adapter = fake_driver(
        "if request['stream']: send(type='unsupported', id=rid, message='no streaming here')\n"
        "    else: send(type='result', id=rid, text='done', token=None, status='completed')"
    )
    await adapter.start(environment())
    with pytest.raises(Unsupported, match="no streaming here"):
        await adapter.run("hi", None, stream=True)
    reply = await adapter.run("hi", None, stream=False)
    assert reply.updates[0].text == "done"
    assert reply.status == "completed"
    await adapter.close()


async def test_stderr_is_kept_apart_from_the_protocol() -> None:
    adapter = fake_driver(
        "sys.stderr.write('log line\\n' * 20000); sys.stderr.flush()\n"
        "    send(type='update', id=rid, text='a', token='t1', kind='delta')\n"
        "    send(type='result', id=rid, token='t1', cut=True)"
    )
    await adapter.start(environment())
    reply = await adapter.run("hi", None, stream=True, max_updates=1)
    assert reply.cut
    assert reply.updates[0].text == "a"
    await adapter.close()
    assert adapter.stderr_tail[-1] == "log line"


# --- protocol 2: the harness's tool -------------------------------------------------------------

ECHO_REQUESTS = """
import json, sys
def send(**message):
    print(json.dumps({"protocol": 1, **message}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "hello":
        send(type="ready", id=request["id"], name="version-1")
    else:
        send(type="result", id=request["id"], text=json.dumps(request), token=None)
"""


async def test_a_version_1_program_is_spoken_to_in_version_1() -> None:
    adapter = CommandAdapter(python_program(ECHO_REQUESTS), timeout=5.0)
    await adapter.start(environment())
    try:
        reply = await adapter.run("hi", None, stream=False)
    finally:
        await adapter.close()
    assert adapter.protocol == 1
    assert json.loads(reply.updates[0].text)["protocol"] == 1


async def test_a_tool_call_from_a_version_1_program_is_a_protocol_error() -> None:
    adapter = fake_driver("send(type='tool_call', id=rid, name='get_weather', arguments='{}')")
    await adapter.start(environment())
    await expect_failure(adapter, lambda: adapter.run("hi", None, stream=False), "sent a 'tool_call' line")


async def test_the_driver_runs_its_tool_loop_through_the_harness_tool(mock: ServerThread) -> None:
    from harness.conformance.tool import HarnessTool, weather_report

    rule = {
        "match": {"input_contains": "[weather]"},
        "faults": [{"type": "tool_calls", "arguments": '{"city":"Oslo"}'}],
    }
    mock.call(lambda: mock.server.state.rules.add(decode_rule(rule)))
    tool = HarnessTool(Clock(1.0))
    adapter = CommandAdapter(DRIVER, timeout=30.0)
    base = environment(mock)
    await adapter.start(AgentEnvironment(base.base_url, base.api_key, base.model, base.clock, tool))
    try:
        first = await adapter.run("[weather] Oslo?", None, stream=False)
        final, _ = await poll_to_the_end(adapter, first)
    finally:
        await adapter.close()
    assert final.status == "completed" and final.updates[0].text
    first_id, follow_up_id = [entry.response_id for entry in mock.journal() if entry.method == "POST"]
    (call,) = mock.ground_truth(first_id)["function_calls"]
    assert [(e.name, e.arguments, e.call_id) for e in tool.executions] == [
        ("get_weather", '{"city":"Oslo"}', call["call_id"])
    ]
    outputs = mock.ground_truth(follow_up_id)["tool_outputs"]
    assert outputs == [{"call_id": call["call_id"], "output": weather_report("Oslo")}]


# --- the program is reaped on the loop that started it ----------------------------------------
# asyncio closes a child's transport only once it has seen, on the child's own loop, the exit and the end of
# stdout and stderr. A transport left open is closed by its `__del__` when the collector finds it: a
# ResourceWarning, and once the loop is closed an error, which pytest reports as unraisable in whatever
# later test is running then. Each test here runs on a loop of its own, closes it, and collects.


def left_to_the_collector(scenario: Callable[[], Awaitable[None]]) -> list[str]:
    """Run `scenario` on a loop of its own, close the loop, collect: what asyncio left for `__del__` to close."""
    gc.collect()  # what earlier tests left is theirs, not this scenario's
    left: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda u: left.append(f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            with asyncio.Runner() as runner:
                runner.run(scenario())
            gc.collect()
    finally:
        sys.unraisablehook = previous
    return left + [str(w.message) for w in caught if "transport" in str(w.message)]


SILENT_ON_RUNS = "sys.stderr.write('working\\n'); sys.stderr.flush()"


def test_a_cancelled_run_reaps_the_program_before_the_cancellation_goes_on() -> None:
    ended: list[int | None] = []

    async def scenario() -> None:
        adapter = fake_driver(SILENT_ON_RUNS)
        await adapter.start(environment())
        process = adapter._process
        assert process is not None
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(adapter.run("hi", None, stream=False), 0.3)
        ended.append(process.returncode)
        with pytest.raises(AgentError, match="cancelled before its result line"):
            await adapter.run("hi", None, stream=False)
        # Not closed: the cancellation alone must leave nothing behind.

    assert left_to_the_collector(scenario) == []
    assert ended == [-signal.SIGKILL], "killed and reaped, not only killed"


def test_a_cancelled_start_reaps_the_program() -> None:
    pids: list[int | None] = []

    async def scenario() -> None:
        adapter = CommandAdapter(python_program("import sys; sys.stdin.read()"))  # never answers hello
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(adapter.start(environment()), 0.5)
        pids.append(adapter.pid)

    assert left_to_the_collector(scenario) == []
    assert pids == [None], "stopped, not left waiting on its stdin"


def test_an_adapter_refused_at_construction_has_nothing_to_clean_up() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="empty"):
            CommandAdapter("  ")

    assert left_to_the_collector(scenario) == []


def test_a_cancelled_poll_until_done_reaps_the_program_too() -> None:
    async def scenario() -> None:
        adapter = fake_driver(SILENT_ON_RUNS)
        await adapter.start(environment())
        process = adapter._process
        assert process is not None
        task = asyncio.create_task(adapter.poll_until_done("t", max_polls=3, deadline_seconds=None))
        # Cancelled twice while it reaps: the reaping still ends before the cancellation goes on.
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert process.returncode is not None

    assert left_to_the_collector(scenario) == []


def test_a_program_killed_from_outside_is_reaped_by_close() -> None:
    async def scenario() -> None:
        adapter = fake_driver(SILENT_ON_RUNS)
        await adapter.start(environment())
        assert adapter.pid is not None
        os.killpg(adapter.pid, signal.SIGKILL)
        with pytest.raises(CommandError, match=r"exited before|closed its stdout"):
            await adapter.run("hi", None, stream=False)
        await adapter.close()

    assert left_to_the_collector(scenario) == []


@pytest.mark.parametrize(
    "behaviour",
    [
        "send(type='result', id=rid + 1, text='', token=None)",  # a protocol error: killed after a grace
        "sys.exit(1)",  # dies in a run
        "send(type='result', id=rid, text='', token=None)",  # well behaved: exits at stdin's end
    ],
    ids=["protocol-error", "dies", "clean"],
)
def test_every_way_out_leaves_no_transport_open(behaviour: str) -> None:
    async def scenario() -> None:
        adapter = fake_driver(behaviour)
        await adapter.start(environment())
        with contextlib.suppress(CommandError):
            await adapter.run("hi", None, stream=False)
        await adapter.restart()
        await adapter.close()

    assert left_to_the_collector(scenario) == []


def test_an_adapter_dropped_without_close_ends_its_program() -> None:
    async def scenario() -> None:
        adapter = fake_driver(SILENT_ON_RUNS)
        await adapter.start(environment())
        process = adapter._process
        assert process is not None
        del adapter  # a caller's bug; the program would otherwise wait on its stdin for ever
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL

    assert left_to_the_collector(scenario) == []


def test_a_grandchild_holding_stdout_does_not_hold_close_up() -> None:
    # In a session of its own, so the kill of the program's group misses it; it keeps stdout and stderr open.
    code = (
        "import json, subprocess, sys\n"
        "child = subprocess.Popen(['sleep', '120'], start_new_session=True)\n"
        "print(json.dumps({'type': 'ready', 'id': 1, 'protocol': 1, 'name': str(child.pid)}), flush=True)\n"
        "sys.stdin.read()\n"
    )

    async def scenario() -> None:
        adapter = CommandAdapter(python_program(code), stop_timeout=0.3)
        await adapter.start(environment())
        grandchild = int(adapter.program_name or "0")
        try:
            # Bounded by the adapter's own deadlines; before them, close waited as long as the grandchild lived.
            await asyncio.wait_for(adapter.close(), 60)
        finally:
            os.kill(grandchild, signal.SIGKILL)

    assert left_to_the_collector(scenario) == []
