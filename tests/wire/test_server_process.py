"""The mock in a process of its own (`bgr fuzz`'s): it serves on the port its parent bound, on the parent's clock,
reports what stops it from serving in one line, and never outlives its parent."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from openai import OpenAI

from harness.conformance.target import TargetError, open_target
from mock_server import Clock, ServerConfig
from mock_server.server_process import ServerProcess, ServerProcessError
from tests.paths import ROOT

CLOCK_SLACK_SECONDS = 0.01
"""Real seconds the child's clock may differ from the parent's: reading wall and monotonic time apart, no more.
A clock started afresh in the child would be behind by its whole start-up (a tenth of a second at least)."""
GONE_WAIT_SECONDS = 30.0
"""How long an orphaned mock may take to see its parent's pipe close and shut down (on a loaded machine)."""


def alive(pid: int) -> bool:
    """Running, not ended: an orphan that ended stays a zombie until whoever adopted it reaps it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    return True


def test_it_serves_the_api_on_the_parents_clock() -> None:
    clock = Clock(0.01)
    with ServerProcess(ServerConfig(seed=5, time_scale=0.01), clock=clock) as mock:
        health = httpx.get(f"{mock.url}/_bgr/health").json()
        assert (health["seed"], health["time_scale"]) == (5, 0.01)
        assert health["pid"] != os.getpid()
        before = clock.now()
        with OpenAI(base_url=mock.base_url, api_key="k", max_retries=0) as client:
            response = client.responses.create(model="gpt-4o", input="Hello.")
        after = clock.now()
        assert response.status == "completed"
        (entry,) = httpx.get(f"{mock.url}/_bgr/journal").json()["entries"]
        # The child stamps the request on its clock: within the parent's readings around it.
        slack = clock.scenario_seconds(CLOCK_SLACK_SECONDS)
        assert before - slack <= entry["received_at"] <= after + slack
    assert not alive(health["pid"])
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{mock.url}/_bgr/health")


def test_what_stops_it_from_serving_is_one_line() -> None:
    with pytest.raises(ServerProcessError) as raised:
        ServerProcess(ServerConfig(cassettes=("/no/such/cassette.yaml",))).start()
    assert str(raised.value) == "/no/such/cassette.yaml: cannot read: No such file or directory"
    with (
        pytest.raises(TargetError, match=r"^/no/such/cassette\.yaml: cannot read"),
        open_target(None, None, None, ("/no/such/cassette.yaml",)),
    ):
        pass


def test_open_target_runs_it_for_bgr_fuzz() -> None:
    with open_target(None, 7, 0.02) as target:
        health = httpx.get(f"{target.url}/_bgr/health").json()
        assert (health["seed"], health["time_scale"]) == (7, 0.02)
        assert health["pid"] != os.getpid() and target.clock.time_scale == 0.02
    assert not alive(health["pid"])


def children() -> list[int]:
    """This process's child processes (every thread's), from /proc."""
    found = []
    for listing in Path("/proc/self/task").glob("*/children"):
        found += [int(pid) for pid in listing.read_text().split()]
    return found


def test_open_target_does_the_callers_work_while_the_mock_starts() -> None:
    """`bgr run` imports the agent meanwhile: the mock's process is already up, and serves once yielded."""
    seen: list[list[int]] = []
    with open_target(None, 7, 0.02, meanwhile=lambda: seen.append(children())) as target:
        health = httpx.get(f"{target.url}/_bgr/health").json()
        assert len(seen) == 1 and health["pid"] in seen[0]
    assert not alive(health["pid"])


def test_what_the_callers_work_raises_stops_the_mock_and_is_raised_as_it_is() -> None:
    class Refused(Exception):
        pass

    spawned: list[int] = []

    def refuse() -> None:
        spawned.extend(children())
        raise Refused("an unknown agent")

    with pytest.raises(Refused), open_target(None, 7, 0.02, meanwhile=refuse):
        pytest.fail("the target was yielded")
    assert spawned and not any(alive(pid) for pid in spawned)


def test_it_ends_when_its_parent_is_killed() -> None:
    parent = textwrap.dedent(
        """
        import sys, time
        import httpx2 as httpx
        from mock_server.server_process import ServerProcess
        mock = ServerProcess().start()
        print(httpx.get(f"{mock.url}/_bgr/health").json()["pid"], flush=True)
        time.sleep(600)
        """
    )
    started = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert started.stdout is not None
        child = int(started.stdout.readline())
        assert alive(child)
    finally:
        started.kill()  # SIGKILL: no cleanup of its own runs
        started.wait()
    deadline = time.monotonic() + GONE_WAIT_SECONDS
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), f"the mock (pid {child}) outlived its parent"
