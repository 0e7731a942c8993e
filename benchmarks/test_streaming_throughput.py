"""Streaming throughput, in SSE events per second: bgr against minimal aiohttp handlers serving the same bytes.

Each target is a separate server process on 127.0.0.1; one asyncio load client in this process
keeps a fixed number of streams in flight on keep-alive connections and counts the events it
receives. bgr is measured twice: asked one prompt throughout (its compiled script is reused, as in
a load test) and a new prompt on every request (every response is encoded from scratch). Every
target is measured the same way in the same run, and the summary at the end of the session
reports bgr as a ratio of each baseline; nothing here asserts on timing.

Measure:  .venv/bin/pytest benchmarks --benchmark-enable
Smoke:    .venv/bin/pytest benchmarks   (the project default, --benchmark-disable: one short round each)
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
    BGR_TARGETS,
    CONCURRENCY,
    EVENTS_PER_STREAM,
    STREAM_REQUEST,
    TARGETS,
    CapturedStream,
    RoundSample,
    ServerProcess,
    TargetResult,
    ThroughputReport,
    last_frame_is_completed,
    minimal_argv,
    process_cpu_seconds,
    serve_subprocess,
)

STREAMS_PER_ROUND = 2000
"""Measured rounds: 2000 streams x 72 events; about 0.2 s (per-stream baseline) to 1.2 s (per-event) per round
on the 2-core reference machine. bgr stores every response (store defaults to true), so its heap grows over
the rounds as it would under real load."""
ROUNDS = 7
WARMUP_STREAMS = 400
"""Unmeasured, before the rounds: opens the keep-alive connections and warms both processes."""
SMOKE_STREAMS = 200
"""Under --benchmark-disable (CI) each target runs one round this small: correctness, not numbers."""
ROUND_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0

BASELINE_MODES = {
    "minimal per-event": "per-event",
    "minimal per-stream": "per-stream",
    "encode per-event": "encode-per-event",
    "encode per-stream": "encode-per-stream",
}


@pytest.fixture(params=TARGETS, ids=lambda name: name.replace(" ", "-"))
def sse_server(
    request: pytest.FixtureRequest, bgr_server: ServerProcess, captured_stream: CapturedStream
) -> Iterator[ServerProcess]:
    name: str = request.param
    if name in BGR_TARGETS:
        yield dataclasses.replace(bgr_server, name=name)
        return
    # A fresh baseline per test, so only the server under test ever holds state.
    with serve_subprocess(name, minimal_argv(BASELINE_MODES[name], captured_stream.path)) as server:
        yield server


async def open_session() -> aiohttp.ClientSession:
    # limit == concurrency: exactly that many keep-alive connections, reused for every stream.
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))


_PROMPT_NUMBERS = itertools.count()
"""Across rounds too: a prompt bgr has seen could be answered from its compiled scripts."""


def request_bodies(streams: int, distinct: bool) -> list[bytes]:
    """The bodies to send, encoded before the clock starts: one prompt throughout, or a new one each time."""
    if not distinct:
        return [json.dumps(STREAM_REQUEST).encode()] * streams
    prompts = (f"{STREAM_REQUEST['input']} #{next(_PROMPT_NUMBERS)}" for _ in range(streams))
    return [json.dumps({**STREAM_REQUEST, "input": prompt}).encode() for prompt in prompts]


async def stream_many(session: aiohttp.ClientSession, url: str, bodies: list[bytes], body_length: int | None) -> int:
    """Send each body and read its whole SSE answer, CONCURRENCY at a time; returns the events received.

    `body_length`, when given, is the length every answer must have (byte-identical to the captured stream).
    """
    headers = {"Content-Type": "application/json"}
    tickets = iter(bodies)  # shared by the workers: each stream is sent exactly once

    async def worker() -> int:
        events = 0
        for payload in tickets:
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
            # Correctness only (cheap, C-level scans): a fast server that drops events must not win.
            if response.status != 200:
                raise AssertionError(f"{url}: HTTP {response.status}: {body[:300]!r}")
            count = body.count(b"\n\n")
            if count != EVENTS_PER_STREAM or not last_frame_is_completed(body):
                raise AssertionError(f"{url}: incomplete stream, {count} events, ends {body[-120:]!r}")
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
    sse_server: ServerProcess,
    captured_stream: CapturedStream,
    throughput_report: ThroughputReport,
) -> None:
    measured = not benchmark.disabled
    throughput_report.measured = measured
    streams = STREAMS_PER_ROUND if measured else SMOKE_STREAMS
    url = f"{sse_server.base_url}/responses"
    distinct = sse_server.name == "bgr distinct prompts"
    body_length = None if distinct else len(captured_stream.body)  # other prompts, other words
    server_pid = sse_server.process.pid
    result = TargetResult(streams_per_round=streams, events_per_round=streams * EVENTS_PER_STREAM)

    with asyncio.Runner() as runner:
        session = runner.run(open_session())
        try:

            def one_round() -> int:
                # Timed here as well as by pytest-benchmark, so the summary has figures in disabled mode too;
                # CPU times tell whether the server or the client was the limit.
                bodies = request_bodies(streams, distinct)
                server_cpu = process_cpu_seconds(server_pid)
                client_cpu = time.process_time()
                started = time.perf_counter()
                events = runner.run(stream_many(session, url, bodies, body_length))
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
                runner.run(stream_many(session, url, request_bodies(WARMUP_STREAMS, distinct), body_length))
            events = benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
        finally:
            runner.run(session.close())

    assert events == streams * EVENTS_PER_STREAM
    throughput_report.results[sse_server.name] = result
    efficiency = result.events_per_server_cpu_second
    benchmark.extra_info.update(
        target=sse_server.name,
        events_per_second=round(result.rate),
        events_per_server_cpu_second=None if efficiency is None else round(efficiency),
        server_cpu_fraction=round(result.server_cpu, 3),
        client_cpu_fraction=round(result.client_cpu, 3),
        events_per_round=result.events_per_round,
        streams_per_round=streams,
        concurrency=CONCURRENCY,
        events_per_second_by_round=[round(sample.rate) for sample in result.rounds],
    )
