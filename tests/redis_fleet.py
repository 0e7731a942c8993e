"""A real redis-server on a free loopback port, and `bgr serve --workers N` fleets on it; all stopped in finally.

Used by tests/wire/test_workers.py and the workers benchmark. redis-server comes from Debian's
package (`.ci/run` installs it); without it these tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

BGR = str(Path(sys.executable).parent / "bgr")
START_TIMEOUT_SECONDS = 20.0
_URL = re.compile(rb"(http://127\.0\.0\.1:\d+)/v1 ")
_PIDS = re.compile(rb"pids ([\d ]+)\)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """redis-server on 127.0.0.1 and a free port, nothing persisted to disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*argv, "--daemonize", "no", "--loglevel", "warning"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.02)
        client.close()
        yield RedisServer(process, port)
    finally:
        stop_process(process)


@dataclass(frozen=True, slots=True)
class Fleet:
    process: subprocess.Popen[bytes]
    url: str
    """Up to the port: `/v1` and `/_bgr` follow."""
    pids: tuple[int, ...]
    stderr: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


@contextmanager
def serve_fleet(store: str, workers: int, *options: str) -> Iterator[Fleet]:
    """`bgr serve --port 0 --workers N --store STORE [options]`, once every worker serves."""
    with tempfile.NamedTemporaryFile(prefix="bgr-fleet-", suffix=".err", delete=False) as stderr:
        path = Path(stderr.name)
    argv = [BGR, "serve", "--port", "0", "--workers", str(workers), "--store", store, *options]
    with path.open("wb") as stderr_file:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file)
    try:
        announced = _read_announce(process)
        if announced is None:
            raise RuntimeError(f"the fleet did not start: {' '.join(argv)}\n{path.read_text()[-2000:]}")
        url, pids = announced
        yield Fleet(process, url, pids, path)
    finally:
        stop_process(process)
        path.unlink(missing_ok=True)


def _read_announce(process: subprocess.Popen[bytes]) -> tuple[str, tuple[int, ...]] | None:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    seen = b""
    while (remaining := deadline - time.monotonic()) > 0 and select.select([fd], [], [], remaining)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        seen += chunk
        if b"\n" in seen:
            line = seen.split(b"\n", 1)[0]
            url, pids = _URL.search(line), _PIDS.search(line)
            if url is None:
                return None
            return url.group(1).decode(), tuple(int(pid) for pid in pids.group(1).split()) if pids else ()
    return None


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()
