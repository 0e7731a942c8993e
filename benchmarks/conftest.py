"""Benchmark fixtures (servers on 127.0.0.1, captured frames) and the end-of-session throughput summary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.support import (
    BASELINE_TARGETS,
    BGR_TARGETS,
    CONCURRENCY,
    EVENTS_PER_STREAM,
    REPORT_KEY,
    STREAM_REQUEST,
    TARGETS,
    CapturedStream,
    ServerProcess,
    TargetResult,
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
    results = {name: report.results[name] for name in TARGETS if name in report.results and report.results[name].rounds}
    write(
        f"{'target':<22}{'events/s':>10}{'server cpu':>12}{'client cpu':>12}"
        f"{'events/server-cpu-s':>21}{'rounds':>8}{'streams':>9}"
    )
    for name, result in results.items():
        write(
            f"{name:<22}{result.rate:>10,.0f}{result.server_cpu:>12.0%}{result.client_cpu:>12.0%}"
            f"{_count(result.events_per_server_cpu_second):>21}{len(result.rounds):>8}{result.streams_per_round:>9}"
        )
    measured_bgr = [name for name in BGR_TARGETS if name in results]
    measured_baselines = [name for name in BASELINE_TARGETS if name in results]
    if measured_bgr and measured_baselines:
        write("")
        write("bgr / baseline, by events/s and by events per server-cpu-second (> 1: bgr is faster):")
        write(f"{'baseline':<22}" + "".join(f"{name:>24}" for name in measured_bgr))
        for baseline in measured_baselines:
            cells = [_ratios(results[name], results[baseline]) for name in measured_bgr]
            write(f"{baseline:<22}" + "".join(f"{cell:>24}" for cell in cells))
    # Server or client should hold a core; if neither did, something else on the machine took the CPU.
    contended = [
        name for name, result in results.items() if report.measured and max(result.server_cpu, result.client_cpu) < 0.85
    ]
    if contended:
        write(f"WARNING: neither server nor client kept a core busy for {', '.join(contended)}: the machine was busy")
    write(
        f"{EVENTS_PER_STREAM} events per stream, {report.concurrency} streams in flight; events/s is the median over "
        "rounds. A client cpu near 100% means the client, not the server, was the limit: then compare events "
        "per server-cpu-second."
    )


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ratios(bgr: TargetResult, baseline: TargetResult) -> str:
    wall = f"{bgr.rate / baseline.rate:.2f}"
    bgr_cpu, baseline_cpu = bgr.events_per_server_cpu_second, baseline.events_per_server_cpu_second
    cpu = "n/a" if bgr_cpu is None or baseline_cpu is None else f"{bgr_cpu / baseline_cpu:.2f}"
    return f"{wall} ; {cpu}"
