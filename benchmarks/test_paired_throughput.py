"""bgr's ratios to a baseline, with their rounds interleaved: robust to a machine that others share.

The per-target benchmark (test_streaming_throughput.py) measures each target in rounds of its own, one
target after another; when other work on the machine comes and goes, two targets measured a minute
apart see different machines. Here each pair is measured in alternating rounds (A B B A A B ...), both
servers running all along, and each ratio is the median of the ratios of neighbouring rounds: load
that changes slowly next to the rounds cancels out. The summary prints every pair's median and range,
by events per second and by events per second of server CPU. Nothing here asserts on timing.

Measure:  .venv/bin/pytest benchmarks/test_paired_throughput.py --benchmark-enable
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Iterator

import aiohttp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.support import (
    PAIRS,
    PEERS,
    TARGETS_BY_NAME,
    PairedRatio,
    RoundSample,
    ServerProcess,
    Target,
    ThroughputReport,
    bgr_argv,
    open_session,
    process_cpu_seconds,
    serve_subprocess,
)
from benchmarks.test_streaming_throughput import STREAMS_PER_ROUND_OF, request_bodies, stream_many

PAIRED_ROUNDS = 16
"""Rounds of each target, in the order A B B A A B B A ..."""
PAIRED_STREAMS = 1000
SMOKE_STREAMS = 100


@contextlib.contextmanager
def _server(request: pytest.FixtureRequest, target: Target) -> Iterator[ServerProcess]:
    if target.server in PEERS:
        yield dataclasses.replace(request.getfixturevalue(f"{target.server}_server"), name=target.name)
        return
    with serve_subprocess(target.name, bgr_argv()) as server:  # a fresh bgr for each side
        yield server


@pytest.fixture(params=PAIRS, ids=lambda pair: f"{pair[0]}-vs-{pair[1]}".replace(" ", "-"))
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[tuple[Target, ServerProcess], tuple[Target, ServerProcess]]]:
    first, second = (TARGETS_BY_NAME[name] for name in request.param)
    with _server(request, first) as first_server, _server(request, second) as second_server:
        yield (first, first_server), (second, second_server)


def _round(
    runner: asyncio.Runner, session: aiohttp.ClientSession, target: Target, server: ServerProcess, streams: int
) -> RoundSample:
    bodies = request_bodies(target, streams)
    server_cpu, client_cpu = process_cpu_seconds(server.process.pid), time.process_time()
    started = time.perf_counter()
    events = runner.run(stream_many(session, server.base_url + target.path, target, bodies, None))
    return RoundSample(
        events=events,
        wall_seconds=time.perf_counter() - started,
        server_cpu_seconds=process_cpu_seconds(server.process.pid) - server_cpu,
        client_cpu_seconds=time.process_time() - client_cpu,
    )


@pytest.mark.benchmark(group="paired-throughput")
def test_paired_throughput(
    benchmark: BenchmarkFixture,
    pair: tuple[tuple[Target, ServerProcess], tuple[Target, ServerProcess]],
    throughput_report: ThroughputReport,
) -> None:
    measured = not benchmark.disabled
    throughput_report.measured = measured
    rounds = PAIRED_ROUNDS if measured else 1
    sides = [(target, server, [], STREAMS_PER_ROUND_OF.get(target.server, PAIRED_STREAMS)) for target, server in pair]
    with asyncio.Runner() as runner:
        sessions = [runner.run(open_session()), runner.run(open_session())]
        try:
            for (target, server, _, streams), session in zip(sides, sessions, strict=True):
                _round(runner, session, target, server, min(streams, 200) if measured else 10)  # warm-up

            def play() -> None:
                for index in range(rounds):
                    order = (0, 1) if index % 2 == 0 else (1, 0)
                    for side in order:
                        target, server, samples, streams = sides[side]
                        samples.append(
                            _round(runner, sessions[side], target, server, streams if measured else SMOKE_STREAMS)
                        )

            benchmark.pedantic(play, rounds=1, iterations=1)
        finally:
            for session in sessions:
                runner.run(session.close())
    (first, _, first_samples, _), (second, _, second_samples, _) = sides
    ratio = PairedRatio(first.name, second.name, first_samples, second_samples)
    assert len(ratio.wall) == rounds
    throughput_report.paired.append(ratio)
    benchmark.extra_info.update(
        pair=f"{first.name} / {second.name}", wall_ratios=ratio.wall, server_cpu_ratios=ratio.server_cpu
    )
