"""The litellm proxy as a middlebox: the reference `openai` agent talks to a litellm proxy that forwards to the mock.

The chain is judged as one agent: whatever the reference agent does right and the chain still gets
wrong is the gateway's doing. The proxy is the `litellm` command (`litellm --config FILE`) on a free
loopback port, configured with one model that forwards to the run's backend. It takes seconds to
start, so one proxy serves every scenario that uses the same backend in this process (the runner
makes a fresh adapter per scenario), and it is stopped when the process exits.

The proxy needs the dependencies of litellm's `proxy` extra. That extra also pins `litellm-proxy`
and `litellm-enterprise` builds the registry may not have; the `bgr[litellm-proxy]` extra lists
what the proxy imports instead.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import yaml

from harness.conformance.adapters.base import AgentEnvironment
from harness.conformance.adapters.openai_agent import OpenAIAgent

MASTER_KEY = "sk-bgr-loopback-only"
"""The proxy refuses to start without a master key; this one guards a loopback port for one run."""
UPSTREAM_KEY_VARIABLE = "BGR_UPSTREAM_API_KEY"
START_SECONDS = 120.0
"""Real seconds the proxy may take to answer its liveness probe (about 20 s on a busy 2-core machine)."""


class ProxyStartError(RuntimeError):
    """The litellm proxy could not be started: the message says why, in one line."""


class LiteLLMProxy:
    """One `litellm --config` process forwarding the model to `upstream`, on a free loopback port."""

    def __init__(self, upstream: str, model: str, api_key: str) -> None:
        executable = shutil.which("litellm", path=str(Path(sys.executable).parent)) or shutil.which("litellm")
        if executable is None:
            raise ProxyStartError("the litellm proxy needs the `litellm` command: pip install 'bgr[litellm-proxy]'")
        self._directory = Path(tempfile.mkdtemp(prefix="bgr-litellm-proxy-"))
        config = {
            "model_list": [
                {
                    "model_name": model,
                    # Keys are read from the proxy's environment, so none is written to a file.
                    "litellm_params": {
                        "model": f"openai/{model}",
                        "api_base": upstream,
                        "api_key": f"os.environ/{UPSTREAM_KEY_VARIABLE}",
                    },
                }
            ],
        }
        config_path = self._directory / "config.yaml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.port = _free_port()
        self.log_path = self._directory / "proxy.log"
        environment = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "NO_DOCS": "True",
            "LITELLM_MASTER_KEY": MASTER_KEY,
            UPSTREAM_KEY_VARIABLE: api_key,
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [executable, "--config", str(config_path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self._directory,
                start_new_session=True,
            )
        self._wait_until_alive()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _wait_until_alive(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ProxyStartError(f"the litellm proxy exited with {self._process.returncode}: {self._last_line()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise ProxyStartError(f"the litellm proxy did not answer within {START_SECONDS:.0f} s: {self._last_line()}")

    def _last_line(self) -> str:
        lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)


_PROXIES: dict[tuple[str, str], LiteLLMProxy] = {}
_STARTING = threading.Lock()
"""Scenarios run side by side (`bgr run --jobs`) start their agents at once: one proxy for all of them."""


def proxy_for(environment: AgentEnvironment) -> LiteLLMProxy:
    """The process's proxy for this backend and model, started on first use."""
    key = (environment.base_url, environment.model)
    with _STARTING:
        if key not in _PROXIES:
            _PROXIES[key] = LiteLLMProxy(environment.base_url, environment.model, environment.api_key)
        return _PROXIES[key]


@atexit.register
def _stop_proxies() -> None:
    for proxy in _PROXIES.values():
        proxy.stop()
    _PROXIES.clear()


class LiteLLMProxyAgent(OpenAIAgent):
    """The reference agent, unchanged, with the proxy as its backend."""

    name = "litellm-proxy"

    async def start(self, environment: AgentEnvironment) -> None:
        proxy = await asyncio.to_thread(proxy_for, environment)  # seconds of start-up, off the event loop
        await super().start(replace(environment, base_url=proxy.base_url, api_key=MASTER_KEY))

    async def restart(self) -> None:
        """A fresh agent on the same proxy (its environment already points there): the gateway is not restarted."""
        assert self._environment is not None
        await self.close()
        await OpenAIAgent.start(self, self._environment)


def _free_port() -> int:
    """A port the OS calls free now; the proxy binds it a moment later (litellm takes no port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
