"""Polling throughput, in answered polls per second: bgr's `GET /v1/responses/{id}` against a minimal handler.

bgr runs with background responses that finish the moment they are made, so every poll sees the final
Response object; the baseline (benchmarks/minimal_poll_server.py) answers the same path with those
very bytes, captured from bgr. One asyncio load client in this process keeps CONCURRENCY polls in
flight on keep-alive connections, in rounds that alternate between the two servers (A B B A ...), so
that load from elsewhere on a shared machine falls on both alike. The summary reports bgr / baseline
by the median over neighbouring rounds; nothing here asserts on timing.

Measure:  .venv/bin/pytest benchmarks/test_polling_throughput.py --benchmark-enable
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.support import (
    BENCHMARKS,
    CONCURRENCY,
    PROMPT,
    PairedRatio,
    RoundSample,
    ServerProcess,
    TargetResult,
    ThroughputReport,
    bgr_instant_background_argv,
    open_session,
    process_cpu_seconds,
    serve_subprocess,
)

POLL_TARGETS = ("bgr poll", "minimal poll")
POLLS_PER_ROUND = 5000
ROUNDS = 8
"""Rounds of each server, alternating."""
WARMUP_POLLS = 1000
SMOKE_POLLS = 300
ROUND_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PolledResponse:
    server: ServerProcess
    response_id: str
    body: bytes
    """What bgr answers a poll of it: the final Response object."""
    path: Path


@pytest.fixture(scope="session")
def polled_response(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolledResponse]:
    with serve_subprocess("bgr poll", bgr_instant_background_argv()) as server:

        async def create_and_poll() -> tuple[str, bytes]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                request = {"model": "gpt-4o", "input": PROMPT, "background": True}
                async with session.post(f"{server.base_url}/responses", json=request) as created:
                    assert created.status == 200, await created.text()
                    response_id = (await created.json())["id"]
                async with session.get(f"{server.base_url}/responses/{response_id}") as polled:
                    assert polled.status == 200 and polled.content_type == "application/json"
                    return response_id, await polled.read()

        response_id, body = asyncio.run(create_and_poll())
        assert b'"status":"completed"' in body, body[:300]
        path = tmp_path_factory.mktemp("poll") / "poll.json"
        path.write_bytes(body)
        yield PolledResponse(server, response_id, body, path)


@pytest.fixture
def minimal_poll_server(polled_response: PolledResponse) -> Iterator[ServerProcess]:
    argv = [
        sys.executable,
        str(BENCHMARKS / "minimal_poll_server.py"),
        "--port",
        "0",
        "--body",
        str(polled_response.path),
    ]
    with serve_subprocess("minimal poll", argv) as server:
        yield server


async def poll_many(session: aiohttp.ClientSession, url: str, polls: int, body: bytes) -> int:
    """GET `url` `polls` times, CONCURRENCY at a time; every answer must be `body`. Returns the polls answered."""
    tickets = iter(range(polls))

    async def worker() -> int:
        answered = 0
        for _ in tickets:
            async with session.get(url) as response:
                received = await response.read()
            if response.status != 200 or received != body:
                raise AssertionError(f"{url}: HTTP {response.status}: {received[:300]!r}")
            answered += 1
        return answered

    async with asyncio.timeout(ROUND_TIMEOUT_SECONDS):
        return sum(await asyncio.gather(*(worker() for _ in range(CONCURRENCY))))


@pytest.mark.benchmark(group="polling-throughput")
def test_polling_throughput(
    benchmark: BenchmarkFixture,
    polled_response: PolledResponse,
    minimal_poll_server: ServerProcess,
    throughput_report: ThroughputReport,
) -> None:
    measured = not benchmark.disabled
    throughput_report.measured = measured
    polls = POLLS_PER_ROUND if measured else SMOKE_POLLS
    servers = (polled_response.server, minimal_poll_server)
    results = [TargetResult(streams_per_round=polls, events_per_round=polls) for _ in servers]

    with asyncio.Runner() as runner:
        sessions = [runner.run(open_session()) for _ in servers]

        def one_round(side: int) -> None:
            server = servers[side]
            url = f"{server.base_url}/responses/{polled_response.response_id}"
            pid = server.process.pid
            server_cpu, client_cpu = process_cpu_seconds(pid), time.process_time()
            started = time.perf_counter()
            answered = runner.run(poll_many(sessions[side], url, polls, polled_response.body))
            results[side].rounds.append(
                RoundSample(
                    events=answered,
                    wall_seconds=time.perf_counter() - started,
                    server_cpu_seconds=process_cpu_seconds(pid) - server_cpu,
                    client_cpu_seconds=time.process_time() - client_cpu,
                )
            )

        def play() -> None:
            # Alternating rounds (A B B A ...), so that load from elsewhere on the machine falls on both alike.
            for index in range(ROUNDS if measured else 1):
                for side in (0, 1) if index % 2 == 0 else (1, 0):
                    one_round(side)

        try:
            if measured:
                for side, server in enumerate(servers):
                    url = f"{server.base_url}/responses/{polled_response.response_id}"
                    runner.run(poll_many(sessions[side], url, WARMUP_POLLS, polled_response.body))
            benchmark.pedantic(play, rounds=1, iterations=1)
        finally:
            for session in sessions:
                runner.run(session.close())

    for name, result in zip(POLL_TARGETS, results, strict=True):
        assert sum(sample.events for sample in result.rounds) == polls * len(result.rounds)
        throughput_report.polls[name] = result
    ratio = PairedRatio("bgr poll", "minimal poll", results[0].rounds, results[1].rounds)
    throughput_report.paired.append(ratio)
    benchmark.extra_info.update(
        polls_per_second={name: round(result.rate) for name, result in zip(POLL_TARGETS, results, strict=True)},
        wall_ratios=ratio.wall,
        server_cpu_ratios=ratio.server_cpu,
        polls_per_round=polls,
        concurrency=CONCURRENCY,
    )
