"""One poll through an adapter against a raw HTTP GET of the same response, with pytest-benchmark.

The same figures as `bgr bench --agent X` (`harness/conformance/poll_overhead.py`), as
pytest-benchmark groups: compare `raw GET` with each adapter in one run's table.

Measure:  .venv/bin/pytest benchmarks/test_poll_overhead.py --benchmark-enable
Smoke:    .venv/bin/pytest benchmarks/test_poll_overhead.py   (the project default: each poll once)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.conformance.poll_overhead import PolledResponse, polled_response

AGENTS = ("openai", "agent-framework")


@pytest.fixture(scope="module", params=AGENTS)
def polled(request: pytest.FixtureRequest) -> Iterator[tuple[str, PolledResponse, asyncio.AbstractEventLoop]]:
    """A queued response created through one adapter, on a loop the benchmark drives poll by poll."""
    loop = asyncio.new_event_loop()
    context = polled_response(request.param)
    try:
        response = loop.run_until_complete(context.__aenter__())
        yield request.param, response, loop
        loop.run_until_complete(context.__aexit__(None, None, None))
    finally:
        loop.close()


@pytest.mark.benchmark(group="one poll")
def test_raw_get(benchmark: BenchmarkFixture, polled: tuple[str, PolledResponse, asyncio.AbstractEventLoop]) -> None:
    agent, response, _ = polled
    benchmark.extra_info["beside"] = agent
    benchmark(response.raw.poll)


@pytest.mark.benchmark(group="one poll")
def test_adapter_poll(
    benchmark: BenchmarkFixture, polled: tuple[str, PolledResponse, asyncio.AbstractEventLoop]
) -> None:
    agent, response, loop = polled
    benchmark.extra_info["agent"] = agent
    benchmark(lambda: loop.run_until_complete(response.through_adapter()))
