"""The peers bgr is measured against: aimock (Node, from npm) and LLMock (Python, from PyPI).

Both are installed under benchmarks/.peers (ignored by git): aimock with `npm install --prefix`,
LLMock in a virtualenv of its own, so its dependencies (FastAPI, uvicorn) never reach bgr's. Each is
started on 127.0.0.1 on a free port and given the same answer: ANSWER_PIECES word-sized pieces for
the benchmark's prompt, so its streams have as many events as bgr's (64 deltas: 72 Responses events,
67 Chat Completions frames).

Install:  .venv/bin/python -m benchmarks.peers
The streaming benchmark installs them itself when it measures (--benchmark-enable); a smoke run
(--benchmark-disable, as in CI) uses only peers already installed and skips the others, saying how
to install them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.support import ANSWER_TOKENS, BENCHMARKS, ServerProcess
from mock_server.serve_command import stop_process

PEERS_DIR = BENCHMARKS / ".peers"
AIMOCK_PACKAGE = "@copilotkit/aimock@1.43.0"
AIMOCK_CLI = PEERS_DIR / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
LLMOCK_PACKAGE = "llmock==0.2.2"
LLMOCK_VENV = PEERS_DIR / "llmock-venv"
LLMOCK = LLMOCK_VENV / "bin" / "llmock"
INSTALL_HINT = "install it with: .venv/bin/python -m benchmarks.peers (or measure with --benchmark-enable)"
INSTALL_TIMEOUT_SECONDS = 300.0
START_TIMEOUT_SECONDS = 30.0

PIECE_CHARS = 6
ANSWER_PIECES = ANSWER_TOKENS
ANSWER_TEXT = "".join(f"w{n:04d} " for n in range(ANSWER_PIECES))
"""Pieces of PIECE_CHARS characters: aimock cuts text every `--chunk-size` characters, LLMock into
words with their trailing space; both give ANSWER_PIECES deltas."""
MATCHED_PROMPT = "Benchmark the streaming path"
"""aimock matches a fixture's `userMessage` as a substring: the benchmark's prompts all contain it."""


def aimock_missing() -> str | None:
    """Why aimock cannot run here, or None."""
    if shutil.which("node") is None:
        return "aimock needs node, which is not installed"
    return None if AIMOCK_CLI.is_file() else f"aimock is not installed: {INSTALL_HINT}"


def llmock_missing() -> str | None:
    return None if LLMOCK.is_file() else f"LLMock is not installed: {INSTALL_HINT}"


def install_aimock() -> str | None:
    """Install aimock if it is absent; None on success, else why it failed."""
    if aimock_missing() is None:
        return None
    if shutil.which("npm") is None:
        return "aimock needs npm, which is not installed"
    PEERS_DIR.mkdir(exist_ok=True)
    argv = ["npm", "install", "--prefix", str(PEERS_DIR), "--no-audit", "--no-fund", AIMOCK_PACKAGE]
    return _run(argv) or aimock_missing()


def install_llmock() -> str | None:
    if llmock_missing() is None:
        return None
    PEERS_DIR.mkdir(exist_ok=True)
    failure = _run([sys.executable, "-m", "venv", str(LLMOCK_VENV)])
    if failure is None:
        pip = LLMOCK_VENV / "bin" / "pip"
        failure = _run([str(pip), "install", "--quiet", "--disable-pip-version-check", LLMOCK_PACKAGE])
    return failure or llmock_missing()


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(argv)}: {error}"
    if done.returncode != 0:
        return f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}"
    return None


def free_port() -> int:
    # A port the kernel just handed out and we released: the peers take a port number, not 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_aimock(workdir: Path) -> Iterator[ServerProcess]:
    fixture = workdir / "aimock-fixtures.json"
    answer = {"match": {"userMessage": MATCHED_PROMPT}, "response": {"content": ANSWER_TEXT}}
    fixture.write_text(json.dumps({"fixtures": [answer]}))
    port = free_port()
    argv = ["node", str(AIMOCK_CLI), "--host", "127.0.0.1", "--port", str(port), "--fixtures", str(fixture)]
    argv += ["--chunk-size", str(PIECE_CHARS), "--latency", "0", "--log-level", "warn"]
    with _serve("aimock", argv, f"http://127.0.0.1:{port}", "/health") as server:
        yield server


@contextlib.contextmanager
def serve_llmock() -> Iterator[ServerProcess]:
    port = free_port()
    argv = [str(LLMOCK), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    argv += ["--tool-mode", "off"]
    with _serve("llmock", argv, f"http://127.0.0.1:{port}", "/health") as server:
        # A reply for every request from now on (`times: null`), whatever its prompt.
        behaviour = {"type": "reply", "text": ANSWER_TEXT, "times": None}
        _post_json(f"http://127.0.0.1:{port}/_llmock/scenario", {"behaviors": [behaviour]})
        yield server


@contextlib.contextmanager
def _serve(name: str, argv: list[str], root: str, health_path: str) -> Iterator[ServerProcess]:
    # Output to /dev/null: nobody reads it, and a pipe left unread would block a chatty server.
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(root + health_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {' '.join(argv)}")
            time.sleep(0.1)
        yield ServerProcess(name, process, root + "/v1")
    finally:
        stop_process(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _post_json(url: str, payload: object) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10.0) as response:
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{url}: HTTP {response.status}")


def main() -> None:
    failures = [failure for failure in (install_aimock(), install_llmock()) if failure]
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"peers installed in {PEERS_DIR}: {AIMOCK_PACKAGE}, {LLMOCK_PACKAGE}")


if __name__ == "__main__":
    main()
