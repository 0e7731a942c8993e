"""`bgr serve` as a child process: started on 127.0.0.1 and a port the server picks, ready once its banner
names the URL, and always stopped (SIGTERM, then SIGKILL after a bound).

The one starter of the tests, the benchmarks and `bgr bench`'s poll overhead. It lives beside the mock
because the banner is the mock's (`serve_until_stopped`, `serve_workers`) and every room may import
the mock; it starts the command line by name, importing nothing of the harness.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServeCommand", "ServeStartError", "bgr_serve", "serve_announcing", "stop_process"]

BGR_SERVE = (sys.executable, "-c", "from harness.commands.main import main; main()", "serve")
"""This interpreter's bgr, so the child runs the same code and packages as its parent."""
START_SECONDS = 30.0
"""Real seconds a server may take to print its URL (a few tenths of a second on a quiet machine)."""
STOP_SECONDS = 10.0
"""Real seconds a server may take to exit after SIGTERM before it is killed."""
URL = re.compile(rb"(http://127\.0\.0\.1:\d+/v1)")
PIDS = re.compile(rb"pids ([\d ]+)\)")


class ServeStartError(RuntimeError):
    """The server exited or printed no URL in time: one line naming its command line and stderr's last line
    (`bgr bench` shows it as its error), with more of stderr in `stderr_tail`."""

    def __init__(self, message: str, stderr_tail: str) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


@dataclass(frozen=True, slots=True)
class ServeCommand:
    """A started `bgr serve` command: its process, where it serves, and where its stderr goes (not to be
    confused with `mock_server.server_process.ServerProcess`, the mock of one run in a child of its own)."""

    process: subprocess.Popen[bytes]
    base_url: str
    """Up to and including `/v1`."""
    pids: tuple[int, ...]
    """The worker processes a `--workers` banner names; empty for one process serving itself."""
    banner: str
    """The line that said where it serves."""
    stderr_path: Path

    @property
    def root(self) -> str:
        """Up to the port: `/v1` and `/_bgr` follow."""
        return self.base_url.removesuffix("/v1")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, seconds: float = STOP_SECONDS) -> int:
        """SIGTERM, SIGKILL if it is still there after `seconds`; the exit status."""
        return stop_process(self.process, seconds)


@contextmanager
def bgr_serve(
    *options: str,
    start_seconds: float = START_SECONDS,
    stop_seconds: float = STOP_SECONDS,
    env: Mapping[str, str] | None = None,
) -> Iterator[ServeCommand]:
    """`bgr serve --host 127.0.0.1 --port 0 [options]`, once it serves; stopped on leaving."""
    argv = [*BGR_SERVE, "--host", "127.0.0.1", "--port", "0", *options]
    with serve_announcing(argv, start_seconds=start_seconds, stop_seconds=stop_seconds, env=env) as server:
        yield server


@contextmanager
def serve_announcing(
    argv: Sequence[str],
    *,
    start_seconds: float = START_SECONDS,
    stop_seconds: float = STOP_SECONDS,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[ServeCommand]:
    """Any server that prints its loopback URL (`http://127.0.0.1:PORT/v1`) on stdout once it listens."""
    with tempfile.NamedTemporaryFile(prefix="bgr-serve-", suffix=".err", delete=False) as stderr:
        stderr_path = Path(stderr.name)
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=cwd
        )
    try:
        banner = _read_banner(process, start_seconds)
        if banner is None:
            status = f"exited with {process.returncode}" if process.poll() is not None else "printed no URL"
            tail = stderr_path.read_text(errors="replace")[-2000:]
            last = next((line.strip() for line in reversed(tail.splitlines()) if line.strip()), "nothing on stderr")
            raise ServeStartError(f"{' '.join(argv)} {status} within {start_seconds:g} s: {last}", tail)
        line, url, pids = banner
        yield ServeCommand(process, url, pids, line, stderr_path)
    finally:
        stop_process(process, stop_seconds)
        stderr_path.unlink(missing_ok=True)


def _read_banner(process: subprocess.Popen[bytes], seconds: float) -> tuple[str, str, tuple[int, ...]] | None:
    """The first line on stdout, the URL it names and any worker pids; None if it names none in time."""
    # select + os.read, not readline: a server that never prints must fail its caller in time, not hang it.
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + seconds
    seen = b""
    while (remaining := deadline - time.monotonic()) > 0 and select.select([fd], [], [], remaining)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:  # stdout closed: the process is exiting; its status says why
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            return None
        seen += chunk
        if b"\n" in seen:
            line = seen.split(b"\n", 1)[0]
            url, pids = URL.search(line), PIDS.search(line)
            if url is None:
                return None
            workers = tuple(int(pid) for pid in pids.group(1).split()) if pids else ()
            return line.decode(errors="replace"), url.group(1).decode(), workers
    return None


def stop_process(process: subprocess.Popen[bytes], seconds: float = STOP_SECONDS) -> int:
    """SIGTERM, then SIGKILL after `seconds`; closes its stdout pipe; the exit status. A no-op once it ended."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=seconds)
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode
