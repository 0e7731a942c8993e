"""The mock a run talks to, and the run's one clock: started here, or an external bgr mock adopted.

Both `bgr run` and `bgr fuzz` get their mock from `open_target`, the only place that starts one (for both, in a
process of its own).
An external mock (`--base-url`) keeps its own seed and time scale; a run adopts them, since gaps
measured on another scale would be blamed on the agent, or stops when the user asked for others.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.conformance.mock_admin import admin_headers
from mock_server import Clock, ServerConfig, Timing
from mock_server.config import ADMIN_TOKEN_ENV
from mock_server.server_process import ServerProcess, ServerProcessError

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_TIME_SCALE",
    "FUZZ_TIME_SCALE",
    "HARNESS_BACKGROUND",
    "Target",
    "TargetError",
    "open_target",
]

DEFAULT_SEED = 0
DEFAULT_TIME_SCALE = 0.02
"""Scenario seconds run 50x faster than real ones unless asked otherwise."""
FUZZ_TIME_SCALE = 0.005
"""`bgr fuzz`'s default: its checks judge what was delivered, never a poller's timing, so its scenarios can run
4x faster than a suite's; below this an example is bound by CPU, not by the clock, and streams are mostly replays."""
HARNESS_BACKGROUND = Timing(queue_seconds=1.0, first_token_seconds=0.5, tokens_per_second=40.0)
HEALTH_TIMEOUT_SECONDS = 10.0
CASSETTE_MATCH_ON = ("method", "path", "input")
"""A run's prompts carry a marker and its steps choose stream and background: only the input's start must match."""


class TargetError(ValueError):
    """The mock cannot serve this run; the message is one line for a terminal."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    """The mock's root (not /v1)."""
    seed: int
    clock: Clock
    """The run's one clock, at the mock's time scale; handed to the caller, the agent and its pollers."""
    external: bool

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale


@contextlib.contextmanager
def open_target(
    base_url: str | None,
    seed: int | None,
    time_scale: float | None,
    cassettes: tuple[str, ...] = (),
    *,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[Target]:
    """A mock in a process of its own (seed and time scale as asked, else the defaults), or the one at `base_url`.

    In a child process (`mock_server.server_process`), on the run's clock: on a thread, the mock would compete
    with the run's own Python work (the agent, the other scenarios) for the interpreter lock.
    `seed` or `time_scale` None: not asked for (the default, or what the external mock runs with).
    `cassettes`: recorded answers the mock serves to creates whose input begins with the recorded one.
    `meanwhile`: called while the mock starts (its process's ~0.3 s of imports run on another core), before
    the target is yielded; what it raises stops the mock.
    """
    if base_url is not None:
        if cassettes:
            raise TargetError(
                "--cassette needs bgr's own mock: serve it with `bgr serve --cassette`, without --base-url"
            )
        if meanwhile is not None:
            meanwhile()
        yield adopt(base_url, seed, time_scale)
        return
    clock = Clock(DEFAULT_TIME_SCALE if time_scale is None else time_scale)
    config = ServerConfig(
        seed=DEFAULT_SEED if seed is None else seed,
        time_scale=clock.time_scale,
        background=HARNESS_BACKGROUND,
        cassettes=cassettes,
        match_on=CASSETTE_MATCH_ON,
    )
    server = ServerProcess(config, clock=clock).spawn()
    try:
        if meanwhile is not None:
            meanwhile()
        server.wait_ready()
    except BaseException as error:
        server.stop()
        if isinstance(error, ServerProcessError):  # a cassette that cannot be used: one line already
            raise TargetError(str(error)) from None
        raise
    try:
        yield Target(server.url, config.seed, clock, external=False)
    finally:
        server.stop()


def adopt(base_url: str, seed: int | None, time_scale: float | None) -> Target:
    url = base_url.rstrip("/").removesuffix("/v1")
    health = _health(url)
    theirs_seed, theirs_scale = health.get("seed"), health.get("time_scale")
    if not isinstance(theirs_seed, int) or not isinstance(theirs_scale, int | float) or isinstance(theirs_seed, bool):
        raise TargetError(f"{url} is not a bgr mock of this version: its health names no seed and time scale")
    if seed is not None and seed != theirs_seed:
        raise TargetError(f"the mock at {url} runs with seed {theirs_seed}, not {seed}: drop --seed or restart it")
    if time_scale is not None and time_scale != theirs_scale:
        raise TargetError(
            f"the mock at {url} runs at time scale {theirs_scale:g}, not {time_scale:g}: "
            "drop --time-scale or restart it with the same"
        )
    return Target(url, theirs_seed, Clock(float(theirs_scale)), external=True)


def _health(url: str) -> dict[str, Any]:
    try:
        asked = urllib.request.Request(f"{url}/_bgr/health", headers=admin_headers())
        with urllib.request.urlopen(asked, timeout=HEALTH_TIMEOUT_SECONDS) as reply:
            data = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise TargetError(f"the bgr mock at {url} wants its admin token: set {ADMIN_TOKEN_ENV} to it") from None
        raise TargetError(f"cannot reach a bgr mock at {url}: {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise TargetError(f"cannot reach a bgr mock at {url}: {reason}") from None
    if not isinstance(data, dict):
        raise TargetError(f"{url}/_bgr/health did not answer with a JSON object")
    return data
