"""Benchmark fixtures (servers on 127.0.0.1, captured frames) and the end-of-session throughput summary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.support import (
    CONCURRENCY,
    EVENTS_PER_STREAM,
    REPORT_KEY,
    STREAM_REQUEST,
    TARGETS,
    CapturedStream,
    ServerProcess,
    ThroughputReport,
    bgr_argv,
    last_frame_is_completed,
    serve_subprocess,
)


@pytest.fixture(scope="session")
def throughput_report(request: pytest.FixtureRequest) -> ThroughputReport:
    # `measured` is set by the benchmarks from `benchmark.disabled`, the plugin's own verdict.
    report = ThroughputReport(measured=False, concurrency=CONCURRENCY)
    request.config.stash[REPORT_KEY] = report
    return report


@pytest.fixture(scope="session")
def bgr_server() -> Iterator[ServerProcess]:
    with serve_subprocess("bgr", bgr_argv()) as server:
        yield server


@pytest.fixture(scope="session")
def captured_stream(bgr_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> CapturedStream:
    """One real bgr response to the benchmark's request, saved for the baselines to replay byte for byte."""

    async def fetch() -> bytes:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.post(f"{bgr_server.base_url}/responses", json=STREAM_REQUEST) as response,
        ):
            assert response.status == 200, await response.text()
            assert response.content_type == "text/event-stream"
            return await response.read()

    body = asyncio.run(fetch())
    assert body.count(b"\n\n") == EVENTS_PER_STREAM
    assert last_frame_is_completed(body)
    path: Path = tmp_path_factory.mktemp("sse") / "frames.sse"
    path.write_bytes(body)
    return CapturedStream(body=body, path=path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is None or not report.results:
        return
    write = terminalreporter.write_line
    terminalreporter.section("streaming throughput (events/s)")
    if not report.measured:
        write("benchmarks disabled: one short smoke round per target, figures are indicative only")
    reference = report.results.get("bgr")
    write(
        f"{'target':<20}{'events/s':>10}{'bgr/target':>12}{'server cpu':>12}{'client cpu':>12}"
        f"{'events/server-cpu-s':>21}{'bgr/target':>12}{'rounds':>8}{'streams':>9}"
    )
    for name in TARGETS:
        result = report.results.get(name)
        if result is None or not result.rounds:
            continue
        efficiency = result.events_per_server_cpu_second
        wall_ratio = cpu_ratio = "n/a"
        if reference is not None and reference.rounds:
            wall_ratio = f"{reference.rate / result.rate:.2f}"
            reference_efficiency = reference.events_per_server_cpu_second
            if reference_efficiency is not None and efficiency is not None:
                cpu_ratio = f"{reference_efficiency / efficiency:.2f}"
        efficiency_text = "n/a" if efficiency is None else f"{efficiency:,.0f}"
        write(
            f"{name:<20}{result.rate:>10,.0f}{wall_ratio:>12}{result.server_cpu:>12.0%}{result.client_cpu:>12.0%}"
            f"{efficiency_text:>21}{cpu_ratio:>12}{len(result.rounds):>8}{result.streams_per_round:>9}"
        )
    # Server or client should hold a core; if neither did, something else on the machine took the CPU.
    contended = [
        name
        for name, result in report.results.items()
        if report.measured and result.rounds and max(result.server_cpu, result.client_cpu) < 0.85
    ]
    if contended:
        write(f"WARNING: neither server nor client kept a core busy for {', '.join(contended)}: the machine was busy")
    write(
        f"{EVENTS_PER_STREAM} events per stream, {report.concurrency} streams in flight; events/s is the median over "
        "rounds; bgr/target > 1 means bgr is faster. A client cpu near 100% means the client, not the server, "
        "was the limit: then compare events per server-cpu-second."
    )
