"""Polling throughput, in answered polls per second: bgr's `GET /v1/responses/{id}` against a minimal handler.

bgr runs with background responses that finish the moment they are made, so every poll sees the final
Response object; the baseline (benchmarks/minimal_poll_server.py) answers the same path with those
very bytes, captured from bgr. One asyncio load client in this process keeps CONCURRENCY polls in
flight on keep-alive connections. The summary reports bgr / baseline from the same run; nothing
here asserts on timing.

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
ROUNDS = 7
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


@pytest.fixture(params=POLL_TARGETS, ids=lambda name: name.replace(" ", "-"))
def poll_server(request: pytest.FixtureRequest, polled_response: PolledResponse) -> Iterator[ServerProcess]:
    if request.param == "bgr poll":
        yield polled_response.server
        return
    argv = [
        sys.executable,
        str(BENCHMARKS / "minimal_poll_server.py"),
        "--port",
        "0",
        "--body",
        str(polled_response.path),
    ]
    with serve_subprocess(request.param, argv) as server:
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
    poll_server: ServerProcess,
    polled_response: PolledResponse,
    throughput_report: ThroughputReport,
) -> None:
    measured = not benchmark.disabled
    throughput_report.measured = measured
    polls = POLLS_PER_ROUND if measured else SMOKE_POLLS
    url = f"{poll_server.base_url}/responses/{polled_response.response_id}"
    result = TargetResult(streams_per_round=polls, events_per_round=polls)
    pid = poll_server.process.pid

    with asyncio.Runner() as runner:
        session = runner.run(open_session())
        try:

            def one_round() -> int:
                server_cpu, client_cpu = process_cpu_seconds(pid), time.process_time()
                started = time.perf_counter()
                answered = runner.run(poll_many(session, url, polls, polled_response.body))
                result.rounds.append(
                    RoundSample(
                        events=answered,
                        wall_seconds=time.perf_counter() - started,
                        server_cpu_seconds=process_cpu_seconds(pid) - server_cpu,
                        client_cpu_seconds=time.process_time() - client_cpu,
                    )
                )
                return answered

            if measured:
                runner.run(poll_many(session, url, WARMUP_POLLS, polled_response.body))
            answered = benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
        finally:
            runner.run(session.close())

    assert answered == polls
    throughput_report.polls[poll_server.name] = result
    benchmark.extra_info.update(
        target=poll_server.name,
        polls_per_second=round(result.rate),
        server_cpu_fraction=round(result.server_cpu, 3),
        client_cpu_fraction=round(result.client_cpu, 3),
        polls_per_round=polls,
        concurrency=CONCURRENCY,
    )
