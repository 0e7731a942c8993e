"""A real redis-server on a free loopback port, and `bgr serve --workers N` fleets on it; all stopped in finally.

Used by tests/wire/test_workers.py and the workers benchmark. redis-server comes from Debian's
package (`.ci/run` installs it); without it these tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from mock_server.serve_command import ServeCommand, bgr_serve, stop_process

BGR = str(Path(sys.executable).parent / "bgr")
START_TIMEOUT_SECONDS = 20.0


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
        stop_process(self.process, 15.0)


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
        stop_process(process, 15.0)


@contextmanager
def serve_fleet(store: str, workers: int, *options: str) -> Iterator[ServeCommand]:
    """`bgr serve --workers N --store STORE [options]` on a free loopback port, once every worker serves."""
    with bgr_serve("--workers", str(workers), "--store", store, *options, stop_seconds=15.0) as fleet:
        yield fleet
