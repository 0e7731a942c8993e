"""Benchmark fixtures (servers on 127.0.0.1, captured frames, peers) and the end-of-session throughput summary."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks import peers
from benchmarks.support import (
    COMPARISONS,
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


def _measuring(config: pytest.Config) -> bool:
    # pytest-benchmark's own rule (BenchmarkSession.disabled), read before any benchmark runs.
    return not config.getoption("benchmark_disable") or bool(config.getoption("benchmark_enable"))


@pytest.fixture(scope="session")
def aimock_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    missing = peers.install_aimock() if _measuring(request.config) else peers.aimock_missing()
    if missing:
        pytest.skip(missing)
    with peers.serve_aimock(tmp_path_factory.mktemp("aimock")) as server:
        yield server


@pytest.fixture(scope="session")
def llmock_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    missing = peers.install_llmock() if _measuring(request.config) else peers.llmock_missing()
    if missing:
        pytest.skip(missing)
    with peers.serve_llmock() as server:
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
    if report is None:
        return
    _write_streaming(terminalreporter, report)
    _write_paired(terminalreporter, report)
    _write_polling(terminalreporter, report)


def _write_paired(terminalreporter: pytest.TerminalReporter, report: ThroughputReport) -> None:
    if not report.paired:
        return
    write = terminalreporter.write_line
    terminalreporter.section("interleaved rounds: bgr / baseline (median [min-max] over neighbouring rounds)")
    if not report.measured:
        write("benchmarks disabled: one short smoke round per target, figures are indicative only")
    write(f"{'pair':<52}{'by events/s':>22}{'by events per server-cpu-s':>30}")
    for ratio in report.paired:
        write(f"{ratio.first + ' / ' + ratio.second:<52}{_spread(ratio.wall):>22}{_spread(ratio.server_cpu):>30}")


def _spread(ratios: list[float]) -> str:
    if not ratios:
        return "n/a"
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"


def _write_streaming(terminalreporter: pytest.TerminalReporter, report: ThroughputReport) -> None:
    if not report.results:
        return
    write = terminalreporter.write_line
    terminalreporter.section("streaming throughput (events/s)")
    if not report.measured:
        write("benchmarks disabled: one short smoke round per target, figures are indicative only")
    names = [target.name for target in TARGETS]
    results = {name: report.results[name] for name in names if name in report.results and report.results[name].rounds}
    write(
        f"{'target':<26}{'events/s':>10}{'server cpu':>12}{'client cpu':>12}"
        f"{'events/server-cpu-s':>21}{'rounds':>8}{'streams':>9}"
    )
    for name, result in results.items():
        write(
            f"{name:<26}{result.rate:>10,.0f}{result.server_cpu:>12.0%}{result.client_cpu:>12.0%}"
            f"{_count(result.events_per_server_cpu_second):>21}{len(result.rounds):>8}{result.streams_per_round:>9}"
        )
    ratios = [(bgr, baseline) for bgr, baseline in COMPARISONS if bgr in results and baseline in results]
    if ratios:
        write("")
        write("bgr / baseline, by events/s and by events per server-cpu-second (> 1: bgr is faster):")
        for bgr, baseline in ratios:
            write(f"{bgr + ' / ' + baseline:<52}{_ratios(results[bgr], results[baseline]):>24}")
    # Server or client should hold a core; if neither did, something else on the machine took the CPU.
    contended = [
        name for name, result in results.items() if report.measured and max(result.server_cpu, result.client_cpu) < 0.85
    ]
    if contended:
        write(f"WARNING: neither server nor client kept a core busy for {', '.join(contended)}: the machine was busy")
    write(
        f"{EVENTS_PER_STREAM} events per Responses stream, {EVENTS_PER_STREAM - 5} frames per Chat stream, "
        f"{report.concurrency} streams in flight; events/s is the median over rounds. A client cpu near 100% means "
        "the client, not the server, was the limit: then compare events per server-cpu-second."
    )


def _write_polling(terminalreporter: pytest.TerminalReporter, report: ThroughputReport) -> None:
    polls = {name: result for name, result in report.polls.items() if result.rounds}
    if not polls:
        return
    write = terminalreporter.write_line
    terminalreporter.section("polling throughput (polls/s)")
    if not report.measured:
        write("benchmarks disabled: one short smoke round per target, figures are indicative only")
    write(f"{'target':<26}{'polls/s':>10}{'server cpu':>12}{'client cpu':>12}{'rounds':>8}")
    for name, result in polls.items():
        write(
            f"{name:<26}{result.rate:>10,.0f}{result.server_cpu:>12.0%}{result.client_cpu:>12.0%}{len(result.rounds):>8}"
        )
    if "bgr poll" in polls and "minimal poll" in polls:
        write(f"bgr poll / minimal poll: {_ratios(polls['bgr poll'], polls['minimal poll'])} (polls/s ; per cpu-s)")


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ratios(bgr: TargetResult, baseline: TargetResult) -> str:
    wall = f"{bgr.rate / baseline.rate:.2f}"
    bgr_cpu, baseline_cpu = bgr.events_per_server_cpu_second, baseline.events_per_server_cpu_second
    cpu = "n/a" if bgr_cpu is None or baseline_cpu is None else f"{bgr_cpu / baseline_cpu:.2f}"
    return f"{wall} ; {cpu}"
