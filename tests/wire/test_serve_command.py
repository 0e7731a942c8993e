"""The one `bgr serve` starter: ready on its banner, bounded when it never comes, and always stopped."""

from __future__ import annotations

import shlex
import sys

import pytest

from mock_server.serve_command import ServeStartError, bgr_serve, serve_announcing
from tests.raw_http import send


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_it_serves_on_loopback_once_the_banner_is_out_and_stops_cleanly() -> None:
    with bgr_serve("--seed", "4") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.base_url in server.banner and server.pids == ()
        assert send("GET", f"{server.root}/_bgr/health").status == 200
    assert server.process.returncode == 0  # SIGTERM: a clean exit, not a kill
    assert not server.stderr_path.exists()


def test_a_server_that_fails_to_start_is_a_start_error_with_its_stderr(tmp_path) -> None:
    with (
        pytest.raises(ServeStartError, match="exited with 1") as raised,
        bgr_serve("--store", f"sqlite:{tmp_path}/missing/dir/x.db"),
    ):
        pytest.fail("it cannot have started")
    assert "store" in str(raised.value) and "\n" not in str(raised.value)  # one line, for `bgr bench`
    assert "store" in raised.value.stderr_tail


def test_a_server_that_never_prints_is_given_up_on_and_stopped() -> None:
    silent = python("import time; time.sleep(120)")
    with (
        pytest.raises(ServeStartError, match=r"printed no URL within 0\.5 s"),
        serve_announcing(silent, start_seconds=0.5) as server,
    ):
        pytest.fail(f"it printed nothing, yet {server.base_url}")


def test_a_server_that_ignores_sigterm_is_killed_after_the_bound() -> None:
    stubborn = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('serving http://127.0.0.1:9/v1', flush=True); time.sleep(120)"
    )
    with serve_announcing(stubborn, stop_seconds=0.5) as server:
        assert server.base_url == "http://127.0.0.1:9/v1", shlex.join(stubborn)
    assert server.process.returncode == -9
