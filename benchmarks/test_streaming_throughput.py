"""Streaming throughput, in SSE events per second: bgr against its peers and against minimal aiohttp handlers.

Each target is a separate server process on 127.0.0.1; one asyncio load client in this process
keeps a fixed number of streams in flight on keep-alive connections and counts the events it
receives. bgr is measured three ways: its Responses stream asked one prompt throughout (its
compiled script is reused, as in a load test), the same with a new prompt on every request (every
response is compiled anew), and its Chat Completions stream. aimock and LLMock (benchmarks/peers.py)
are measured the same three ways with an answer of as many deltas. The minimal handlers replay bgr's
own frames. Every target is measured the same way in the same run, and the summary at the end of
the session reports bgr as ratios of the others; nothing here asserts on timing.

Measure:  .venv/bin/pytest benchmarks --benchmark-enable   (installs the peers first if need be)
Smoke:    .venv/bin/pytest benchmarks   (the project default, --benchmark-disable: one short round each;
          peers that are not installed are skipped)
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import Iterator

import aiohttp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.support import (
    CONCURRENCY,
    MINIMAL_MODES,
    PEERS,
    PROMPT,
    TARGETS,
    CapturedStream,
    RoundSample,
    ServerProcess,
    Target,
    TargetResult,
    ThroughputReport,
    bgr_argv,
    last_frame_is_completed,
    minimal_argv,
    open_session,
    process_cpu_seconds,
    serve_subprocess,
)

STREAMS_PER_ROUND = 2000
"""Measured rounds: 2000 streams x 72 events, about 0.2 s to 1.5 s per round on the 2-core reference machine.
bgr stores every response (store defaults to true), so its heap grows over the rounds as it would under real
load."""
STREAMS_PER_ROUND_OF = {"llmock": 250, "aimock": 1000}
"""Slower servers get shorter rounds (LLMock does about 10k events/s), so a measured run stays within minutes."""
ROUNDS = 7
WARMUP_STREAMS = 400
"""Unmeasured, before the rounds: opens the keep-alive connections and warms both processes."""
SMOKE_STREAMS = 200
"""Under --benchmark-disable (CI) each target runs one round this small: correctness, not numbers."""
ROUND_TIMEOUT_SECONDS = 60.0


@pytest.fixture(params=TARGETS, ids=lambda target: target.name.replace(" ", "-"))
def target(request: pytest.FixtureRequest) -> Target:
    return request.param


@pytest.fixture
def sse_server(request: pytest.FixtureRequest, target: Target) -> Iterator[ServerProcess]:
    if target.server in PEERS:
        # One server per peer for the session (started on first use), shared by its targets: they keep
        # no state per request that grows (aimock's journal is bounded), so the order does not matter.
        server: ServerProcess = request.getfixturevalue(f"{target.server}_server")
        yield dataclasses.replace(server, name=target.name)
        return
    # A fresh bgr or baseline per test, so that only the server under test holds state, and each bgr
    # target starts from an empty store: the heap grows over its rounds (bgr stores every response).
    if target.server == "bgr":
        argv = bgr_argv()
    else:
        captured: CapturedStream = request.getfixturevalue("captured_stream")
        argv = minimal_argv(MINIMAL_MODES[target.name], captured.path)
    with serve_subprocess(target.name, argv) as server:
        yield server


_PROMPT_NUMBERS = itertools.count()
"""Across rounds too: a prompt bgr has seen could be answered from its compiled scripts."""


def request_bodies(target: Target, streams: int) -> list[bytes]:
    """The bodies to send, encoded before the clock starts: one prompt throughout, or a new one each time."""
    if not target.distinct:
        return [json.dumps(target.request_body(PROMPT)).encode()] * streams
    prompts = (f"{PROMPT} #{next(_PROMPT_NUMBERS)}" for _ in range(streams))
    return [json.dumps(target.request_body(prompt)).encode() for prompt in prompts]


async def stream_many(
    session: aiohttp.ClientSession, url: str, target: Target, bodies: list[bytes], body_length: int | None
) -> int:
    """Send each body and read its whole SSE answer, CONCURRENCY at a time; returns the events received.

    `body_length`, when given, is the length every answer must have (byte-identical to the captured stream).
    """
    headers = {"Content-Type": "application/json"}
    tickets = iter(bodies)  # shared by the workers: each stream is sent exactly once
    expected = target.events_per_stream

    async def worker() -> int:
        events = 0
        for payload in tickets:
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
            # Correctness only (cheap, C-level scans): a fast server that drops events must not win.
            if response.status != 200:
                raise AssertionError(f"{url}: HTTP {response.status}: {body[:300]!r}")
            count = body.count(b"\n\n")
            if count != expected or not last_frame_is_completed(body, target.api):
                raise AssertionError(f"{url}: {count} events (expected {expected}), ends {body[-120:]!r}")
            if body_length is not None and len(body) != body_length:
                raise AssertionError(f"{url}: {len(body)} bytes, expected {body_length} like the captured stream")
            events += count
        return events

    async with asyncio.timeout(ROUND_TIMEOUT_SECONDS):
        counts = await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return sum(counts)


@pytest.mark.benchmark(group="streaming-throughput")
def test_streaming_throughput(
    benchmark: BenchmarkFixture,
    target: Target,
    sse_server: ServerProcess,
    captured_stream: CapturedStream,
    throughput_report: ThroughputReport,
) -> None:
    measured = not benchmark.disabled
    throughput_report.measured = measured
    streams = STREAMS_PER_ROUND_OF.get(target.server, STREAMS_PER_ROUND) if measured else SMOKE_STREAMS
    url = sse_server.base_url + target.path
    # bgr's one-prompt Responses stream and the minimal handlers serve the captured bytes, ids aside.
    replays_capture = target.api == "responses" and not target.distinct and target.server not in PEERS
    body_length = len(captured_stream.body) if replays_capture else None
    server_pid = sse_server.process.pid
    result = TargetResult(streams_per_round=streams, events_per_round=streams * target.events_per_stream)

    with asyncio.Runner() as runner:
        session = runner.run(open_session())
        try:

            def one_round() -> int:
                # Timed here as well as by pytest-benchmark, so the summary has figures in disabled mode too;
                # CPU times tell whether the server or the client was the limit.
                bodies = request_bodies(target, streams)
                server_cpu = process_cpu_seconds(server_pid)
                client_cpu = time.process_time()
                started = time.perf_counter()
                events = runner.run(stream_many(session, url, target, bodies, body_length))
                wall = time.perf_counter() - started
                result.rounds.append(
                    RoundSample(
                        events=events,
                        wall_seconds=wall,
                        server_cpu_seconds=process_cpu_seconds(server_pid) - server_cpu,
                        client_cpu_seconds=time.process_time() - client_cpu,
                    )
                )
                return events

            if measured:
                runner.run(
                    stream_many(session, url, target, request_bodies(target, min(streams, WARMUP_STREAMS)), body_length)
                )
            events = benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
        finally:
            runner.run(session.close())

    assert events == streams * target.events_per_stream
    throughput_report.results[target.name] = result
    efficiency = result.events_per_server_cpu_second
    benchmark.extra_info.update(
        target=target.name,
        events_per_second=round(result.rate),
        events_per_server_cpu_second=None if efficiency is None else round(efficiency),
        server_cpu_fraction=round(result.server_cpu, 3),
        client_cpu_fraction=round(result.client_cpu, 3),
        events_per_round=result.events_per_round,
        streams_per_round=streams,
        concurrency=CONCURRENCY,
        events_per_second_by_round=[round(sample.rate) for sample in result.rounds],
    )
