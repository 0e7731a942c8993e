"""The mock in a process of its own: a fresh interpreter serving one config until its parent lets go of it.

For a caller whose own work is CPU-bound Python (`bgr run` and `bgr fuzz` play an in-process agent's
scenarios): on a thread beside it, the mock competes with it for the one interpreter lock, and each waits
out the other's switch interval; in a process of its own, each has a core. The parent binds the
socket, so the port is known before the child exists and nothing races for it; the child serves it
with a fleet worker's code (`mock_server.workers.run_worker`) and says `ready` or what failed on the
same kind of pipe. It carries on the parent's clock from its anchor, so both read one scenario time.
It serves until its stdin closes: when the parent stops it, and also when the parent dies, so no mock
outlives the run that started it. The config goes over that pipe too, never on the command line
(it may hold the admin token).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from mock_server.clock import Clock, ClockAnchor
from mock_server.config import ServerConfig
from mock_server.workers import FleetError, await_ready, run_worker

__all__ = ["ServerProcess", "ServerProcessError"]

STOP_TIMEOUT_SECONDS = 10.0
"""How long a stopped child may take to close its connections (it gives live streams 1 s) before it is killed."""
_LENGTH = struct.Struct("!Q")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class ServerProcessError(ValueError):
    """The child could not serve (a config the mock refuses, a cassette it cannot use); the message is one line."""


class ServerProcess:
    """A MockServer in a child process, on 127.0.0.1 by default (port 0 picks a free one)."""

    def __init__(
        self, config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None
    ) -> None:
        """`clock`: a run's one scaled clock, shared with its callers; None makes one at `config.time_scale`."""
        self.config = config or ServerConfig()
        self.clock = clock or Clock(self.config.time_scale)
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = -1
        """The read end of the child's ready pipe, between `spawn` and `wait_ready`."""

    def start(self) -> ServerProcess:
        return self.spawn().wait_ready()

    def spawn(self) -> ServerProcess:
        """Start the child without waiting for it: the port is bound and the config sent; `wait_ready` follows."""
        listener = socket.create_server((self.host, self.port))
        ready_read, ready_write = os.pipe()
        try:
            self.port = listener.getsockname()[1]
            environment = dict(os.environ)
            environment["PYTHONPATH"] = os.pathsep.join(filter(None, (_PACKAGE_ROOT, environment.get("PYTHONPATH"))))
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(listener.fileno()), str(ready_write)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(listener.fileno(), ready_write),
                env=environment,
                start_new_session=True,  # a Ctrl-C at the terminal is the parent's to handle; it stops the child
            )
            assert self._process.stdin is not None
            payload = pickle.dumps((self.config, self.clock.anchor))
            with contextlib.suppress(BrokenPipeError):  # a child that died at once: the ready pipe says how
                self._process.stdin.write(_LENGTH.pack(len(payload)) + payload)
                self._process.stdin.flush()
        except BaseException:
            os.close(ready_read)
            self.stop()
            raise
        finally:
            listener.close()  # the child holds its own copy
            os.close(ready_write)
        self._ready = ready_read
        return self

    def wait_ready(self) -> ServerProcess:
        """Until the child serves, or ServerProcessError with what it said when it could not."""
        ready, self._ready = self._ready, -1
        if ready < 0:
            return self
        try:
            await_ready(ready, 1)
        except FleetError as error:
            self.stop()
            raise ServerProcessError(str(error)) from None
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(ready)
        return self

    def stop(self) -> None:
        if self._ready >= 0:
            os.close(self._ready)
            self._ready = -1
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # the child is gone already
                process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as `base_url`."""
        return f"{self.url}/v1"


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the parent closed the pipe before sending the config")
        data += chunk
    return data


def _main(listener_fd: int, ready: int) -> None:
    stdin = sys.stdin.fileno()
    (length,) = _LENGTH.unpack(_read_exactly(stdin, _LENGTH.size))
    config, anchor = pickle.loads(_read_exactly(stdin, length))
    assert isinstance(config, ServerConfig) and isinstance(anchor, ClockAnchor)
    clock = Clock(anchor.time_scale, start=anchor.scenario_time_at(time.time()))
    run_worker(config, socket.socket(fileno=listener_fd), ready, clock=clock, parent=stdin)


if __name__ == "__main__":
    _main(int(sys.argv[1]), int(sys.argv[2]))
