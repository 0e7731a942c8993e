"""What one poll through an agent's adapter costs beyond a raw HTTP GET of the same response (`bgr bench`).

A mock in a process of its own (`bgr serve`, so that it shares no interpreter lock with the client)
holds one background response queued for ever, so every poll gets the same answer. The same run
alternates rounds of polls through the adapter (`run(None, token)`) with rounds of raw GETs of
`/v1/responses/{id}` on one keep-alive `http.client` connection, the least a client can do. Each is
measured in wall time per poll (the median) and in client CPU per poll: this process's and that of
any live child process the adapter runs (a `cmd:` driver), the mock's excluded. Alternating rounds
spreads a busy machine's noise over both sides; the overhead is the difference, the ratio the
quotient, both from the same run.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.conformance.adapters import make_adapter
from harness.conformance.adapters.base import AgentAdapter, AgentEnvironment
from harness.conformance.journal_scope import own_entries
from harness.conformance.mock_admin import MockAdmin
from harness.conformance.target import open_target
from mock_server.config import LONGEST_TIMELINE_SECONDS
from mock_server.faults import decode_fault
from mock_server.rules import Match, Rule
from mock_server.serve_command import bgr_serve

__all__ = [
    "DEFAULT_POLLS",
    "PollCost",
    "PollOverhead",
    "PolledResponse",
    "RawPoller",
    "measure_poll_overhead",
    "polled_response",
]

DEFAULT_POLLS = 400
ROUNDS = 8
"""Polls are measured in this many alternating rounds of the adapter and the raw GET."""
WARMUP_POLLS = 20
"""Polls of each kind before measuring: connections open, lazily built models built."""
HELD_SECONDS = LONGEST_TIMELINE_SECONDS
"""Scenario seconds the response stays queued: the longest a fault may ask for, longer than any benchmark."""
MARKER = "[bgr:bench:poll-overhead]"
MOCK_START_SECONDS = 30.0
MODEL = "gpt-4o"


@dataclass(frozen=True, slots=True)
class PollCost:
    polls: int
    latency_us: float
    """Median wall time of one poll, in microseconds."""
    cpu_us: float
    """Client CPU per poll (mean), in microseconds."""


@dataclass(frozen=True, slots=True)
class PollOverhead:
    agent: str
    raw: PollCost
    """The baseline: a raw GET of the same response on one keep-alive connection."""
    adapter: PollCost

    @property
    def latency_overhead_us(self) -> float:
        return self.adapter.latency_us - self.raw.latency_us

    @property
    def cpu_overhead_us(self) -> float:
        return self.adapter.cpu_us - self.raw.cpu_us

    @property
    def latency_ratio(self) -> float:
        return self.adapter.latency_us / self.raw.latency_us

    @property
    def cpu_ratio(self) -> float:
        return self.adapter.cpu_us / self.raw.cpu_us


@dataclass(frozen=True, slots=True)
class PolledResponse:
    """One queued response, and the two ways of polling it."""

    raw: RawPoller
    through_adapter: Callable[[], Awaitable[None]]
    """One poll through the adapter: `run(None, token)`, failing if the adapter reports an error."""
    mock_pid: int
    """The mock's process, whose CPU is the server's, not the client's."""


@contextlib.asynccontextmanager
async def polled_response(
    agent: str, *, adapter_factory: Callable[[], AgentAdapter] | None = None, seed: int | None = None
) -> AsyncIterator[PolledResponse]:
    """A mock holding one response queued for ever, created through the adapter of `agent`."""
    with (
        bgr_serve("--seed", str(seed or 0), start_seconds=MOCK_START_SECONDS) as mock,
        open_target(mock.root, None, None) as target,
    ):
        mock_pid = mock.pid
        async with MockAdmin(target.url) as admin:
            held = decode_fault({"type": "background", "queue_seconds": HELD_SECONDS})
            rule_id = await admin.add_rule(Rule((held,), Match(input_contains=MARKER)))
            adapter = adapter_factory() if adapter_factory else make_adapter(agent)
            await adapter.start(AgentEnvironment(f"{target.url}/v1", "bgr-bench-key", MODEL, target.clock))
            try:
                first = await adapter.run(f"Benchmark one poll, please. {MARKER}", None, stream=False)
                if first.error is not None or first.token is None:
                    raise RuntimeError(f"{agent} did not start a background response: {first.error or 'no token'}")
                token = first.token
                created = own_entries(await admin.journal_since(0), MARKER, marks=())
                response_id = next(entry["response_id"] for entry in created if entry.get("response_id"))

                async def through_adapter() -> None:
                    reply = await adapter.run(None, token, stream=False)
                    if reply.error is not None:
                        raise RuntimeError(f"{agent} failed a poll: {reply.error}")

                with RawPoller(target.url, f"/v1/responses/{response_id}") as raw:
                    yield PolledResponse(raw, through_adapter, mock_pid)
            finally:
                await adapter.close()
                await admin.delete_rule(rule_id)


async def measure_poll_overhead(
    agent: str,
    polls: int = DEFAULT_POLLS,
    *,
    adapter_factory: Callable[[], AgentAdapter] | None = None,
    seed: int | None = None,
) -> PollOverhead:
    """Poll one queued response `polls` times through the adapter of `agent` and as many times raw."""
    if polls < ROUNDS:
        raise ValueError(f"polls must be at least {ROUNDS}, got {polls}")
    per_round = polls // ROUNDS
    raw_latencies: list[float] = []
    adapter_latencies: list[float] = []
    raw_cpu = adapter_cpu = 0.0
    async with polled_response(agent, adapter_factory=adapter_factory, seed=seed) as response:
        for _ in range(WARMUP_POLLS):
            response.raw.poll()
            await response.through_adapter()
        for _ in range(ROUNDS):
            cpu = _client_cpu(response.mock_pid)
            for _ in range(per_round):
                began = time.perf_counter()
                response.raw.poll()
                raw_latencies.append(time.perf_counter() - began)
            raw_cpu += _client_cpu(response.mock_pid) - cpu
            cpu = _client_cpu(response.mock_pid)
            for _ in range(per_round):
                began = time.perf_counter()
                await response.through_adapter()
                adapter_latencies.append(time.perf_counter() - began)
            adapter_cpu += _client_cpu(response.mock_pid) - cpu
    count = per_round * ROUNDS
    return PollOverhead(
        agent,
        PollCost(count, statistics.median(raw_latencies) * 1e6, raw_cpu / count * 1e6),
        PollCost(count, statistics.median(adapter_latencies) * 1e6, adapter_cpu / count * 1e6),
    )


class RawPoller:
    """GETs of one path on one keep-alive connection, each answer read whole and checked."""

    def __init__(self, root: str, path: str) -> None:
        parts = urlsplit(root)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        self._path = path
        self._headers = {"Authorization": "Bearer bgr-bench-key", "Accept": "application/json"}

    def __enter__(self) -> RawPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()

    def poll(self) -> None:
        self._connection.request("GET", self._path, headers=self._headers)
        reply = self._connection.getresponse()
        body = reply.read()
        if reply.status != 200 or not body:
            raise RuntimeError(f"raw GET {self._path}: {reply.status} {body[:200]!r}")


def _client_cpu(mock_pid: int) -> float:
    """CPU seconds of this process and of every live descendant but the mock (a `cmd:` adapter's driver)."""
    return time.process_time() + sum(_process_cpu(pid) for pid in _descendants(os.getpid(), mock_pid))


def _descendants(pid: int, excluded: int) -> Iterator[int]:
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in map(int, task.read_text().split()):
                if child != excluded:
                    yield child
                    yield from _descendants(child, excluded)


def _process_cpu(pid: int) -> float:
    """User and system CPU of a live process from /proc (Linux); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
