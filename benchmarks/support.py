"""Shared by the benchmarks and their conftest: servers as subprocesses, the workload, the report.

Every server runs in a process of its own so the load client (in the pytest process) and the
server never share an interpreter or a GIL; on a 2-core machine each gets roughly one core.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiohttp
import pytest

from mock_server.serve_command import serve_announcing

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
# The console script installed next to this interpreter (the package has no __main__).
BGR = Path(sys.executable).parent / "bgr"

ANSWER_TOKENS = 64
EVENTS_PER_STREAM = ANSWER_TOKENS + 8  # created, in_progress, item/part added, deltas, 4 done-events, completed
CHAT_FRAMES_PER_STREAM = ANSWER_TOKENS + 3  # the role chunk, deltas, the finish chunk, data: [DONE]
PROMPT = "Benchmark the streaming path, please."
STREAM_REQUEST = {"model": "gpt-4o", "input": PROMPT, "stream": True}
CONCURRENCY = 8

Api = Literal["responses", "chat"]


@dataclass(frozen=True, slots=True)
class Target:
    """One server asked one way: what a row of the summary measures."""

    name: str
    server: str
    """`bgr`, a peer (`aimock`, `llmock`) or a mode of the minimal server (benchmarks/minimal_sse_server.py)."""
    api: Api = "responses"
    distinct: bool = False
    """A new prompt on every request, so that bgr never encoded any of a response's events before."""

    @property
    def path(self) -> str:
        return "/responses" if self.api == "responses" else "/chat/completions"

    @property
    def events_per_stream(self) -> int:
        return EVENTS_PER_STREAM if self.api == "responses" else CHAT_FRAMES_PER_STREAM

    def request_body(self, prompt: str) -> dict[str, object]:
        if self.api == "responses":
            return {**STREAM_REQUEST, "input": prompt}
        return {"model": STREAM_REQUEST["model"], "messages": [{"role": "user", "content": prompt}], "stream": True}


PEERS = ("aimock", "llmock")
MINIMAL_MODES = {
    "minimal per-event": "per-event",
    "minimal per-stream": "per-stream",
    "encode per-event": "encode-per-event",
    "encode per-stream": "encode-per-stream",
}
TARGETS = (
    Target("bgr", "bgr"),
    Target("bgr distinct prompts", "bgr", distinct=True),
    Target("bgr chat", "bgr", "chat"),
    *(
        target
        for peer in PEERS
        for target in (
            Target(peer, peer),
            Target(f"{peer} distinct prompts", peer, distinct=True),
            Target(f"{peer} chat", peer, "chat"),
        )
    ),
    *(Target(name, mode) for name, mode in MINIMAL_MODES.items()),
)
TARGETS_BY_NAME = {target.name: target for target in TARGETS}
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("bgr chat", "bgr"),
    ("bgr distinct prompts", "bgr"),
    *((f"bgr{path}", f"{peer}{path}") for path in ("", " chat", " distinct prompts") for peer in PEERS),
    *(("bgr", name) for name in MINIMAL_MODES),
    *(("bgr distinct prompts", name) for name in MINIMAL_MODES),
)
"""(bgr target, baseline): each printed as a ratio of events per second, both measured in the same run."""
PAIRS: tuple[tuple[str, str], ...] = (
    ("bgr chat", "bgr"),
    ("bgr distinct prompts", "bgr"),
    *((f"bgr{path}", f"{peer}{path}") for path in ("", " chat", " distinct prompts") for peer in PEERS),
)
"""The ratios the goals are about, measured again with interleaved rounds (benchmarks/test_paired_throughput.py)."""


@dataclass(frozen=True, slots=True)
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    """Up to and including `/v1`."""


@contextmanager
def serve_subprocess(name: str, argv: list[str], start_timeout: float = 20.0) -> Iterator[ServerProcess]:
    """Start a server that prints its URL on stdout; always stop it (SIGTERM, then SIGKILL)."""
    with serve_announcing(argv, start_seconds=start_timeout, cwd=ROOT) as server:
        yield ServerProcess(name, server.process, server.base_url)


@dataclass(frozen=True, slots=True)
class CapturedStream:
    body: bytes
    """A whole SSE body as bgr served it."""
    path: Path
    """The same bytes in a file, for the baseline servers."""


COMPLETED_FRAME_START = b"event: response.completed\n"
CHAT_DONE_FRAME = b"data: [DONE]\n\n"


def last_frame_is_completed(body: bytes, api: Api = "responses") -> bool:
    """Whether a stream ended cleanly: its last frame is `response.completed` (or `data: [DONE]`) and is terminated."""
    if not body.endswith(b"\n\n"):
        return False
    if api == "chat":
        return body.endswith(CHAT_DONE_FRAME)
    previous_end = body.rfind(b"\n\n", 0, len(body) - 2)
    return body.startswith(COMPLETED_FRAME_START, previous_end + 2 if previous_end >= 0 else 0)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to tell server-bound from client-bound."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
        fields = stat.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


REQUEST_TIMEOUT_SECONDS = 30.0


async def open_session() -> aiohttp.ClientSession:
    """The load client's session: limit == concurrency, so exactly that many keep-alive connections, all reused."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))


def bgr_argv() -> list[str]:
    return [str(BGR), "serve", "--host", "127.0.0.1", "--port", "0", "--answer-tokens", str(ANSWER_TOKENS)]


def bgr_instant_background_argv() -> list[str]:
    """bgr whose background responses finish the moment they are made: polls see the final Response."""
    return [*bgr_argv(), "--queue-seconds", "0", "--first-token-seconds", "0", "--tokens-per-second", "0"]


def minimal_argv(mode: str, frames_file: Path) -> list[str]:
    script = BENCHMARKS / "minimal_sse_server.py"
    return [sys.executable, str(script), "--port", "0", "--mode", mode, "--frames", str(frames_file)]


# --- results, collected by the benchmarks and printed once at the end ----------------------------


@dataclass(slots=True)
class RoundSample:
    events: int
    wall_seconds: float
    server_cpu_seconds: float
    client_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.wall_seconds


@dataclass(slots=True)
class TargetResult:
    streams_per_round: int
    events_per_round: int
    rounds: list[RoundSample] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Events per wall second, median over rounds: the headline figure."""
        return statistics.median(sample.rate for sample in self.rounds)

    @property
    def server_cpu(self) -> float:
        """Busy fraction of the server's core; near 1.0 means the server, not the client, is the limit."""
        return sum(s.server_cpu_seconds for s in self.rounds) / sum(s.wall_seconds for s in self.rounds)

    @property
    def client_cpu(self) -> float:
        return sum(s.client_cpu_seconds for s in self.rounds) / sum(s.wall_seconds for s in self.rounds)

    @property
    def events_per_server_cpu_second(self) -> float | None:
        """Server cost per event, whatever the client's speed: comparable even when the client limits.

        None when the rounds were too short to register (CPU time is counted in 10 ms ticks).
        """
        cpu = sum(s.server_cpu_seconds for s in self.rounds)
        return sum(s.events for s in self.rounds) / cpu if cpu >= 0.05 else None


@dataclass(slots=True)
class PairedRatio:
    """Two targets measured in alternating rounds: the ratio of each round of the first to its neighbour."""

    first: str
    second: str
    first_rounds: list[RoundSample]
    second_rounds: list[RoundSample]

    @property
    def wall(self) -> list[float]:
        return [a.rate / b.rate for a, b in zip(self.first_rounds, self.second_rounds, strict=True)]

    @property
    def server_cpu(self) -> list[float]:
        """Ratios of events per second of server CPU; rounds too short to register (10 ms ticks) are left out."""
        return [
            (a.events / a.server_cpu_seconds) / (b.events / b.server_cpu_seconds)
            for a, b in zip(self.first_rounds, self.second_rounds, strict=True)
            if min(a.server_cpu_seconds, b.server_cpu_seconds) >= 0.05
        ]


@dataclass(slots=True)
class ThroughputReport:
    measured: bool
    """False under --benchmark-disable: one short smoke round per target, indicative only."""
    concurrency: int
    results: dict[str, TargetResult] = field(default_factory=dict)
    polls: dict[str, TargetResult] = field(default_factory=dict)
    paired: list[PairedRatio] = field(default_factory=list)
    """Polling targets (benchmarks/test_polling_throughput.py): events are answered polls."""


REPORT_KEY = pytest.StashKey[ThroughputReport]()
