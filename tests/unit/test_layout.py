"""The house's rooms, and what each may import: checked on the source, so a stray import fails here first."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import harness.client
import mock_server
from tests.paths import ROOT

# Each room: the bgr packages its modules may import (its own included). Third-party and stdlib are free.
ALLOWED = {
    "mock_server": {"mock_server"},
    "harness/client": {"harness.client"},
    "harness/conformance": {"harness.conformance", "harness.client", "mock_server"},
    "harness/fuzz": {"harness.fuzz", "harness.conformance", "harness.client", "mock_server"},
    "harness/commands": {"harness.commands", "harness.fuzz", "harness.conformance", "harness.client", "mock_server"},
}
BGR_PACKAGES = ("harness", "mock_server", "pytest_bgr")

CLIENT_SURFACE = {
    "SYSTEM_CLOCK",
    "Agent",
    "AgentError",
    "AgentReply",
    "AgentUpdate",
    "Backoff",
    "Clock",
    "MemoryTokenStore",
    "Operation",
    "PollOutcome",
    "PollProgress",
    "PollRecord",
    "PollTimeout",
    "Poller",
    "Reconnect",
    "SqliteTokenStore",
    "StreamGaveUp",
    "StreamOutcome",
    "StreamResumer",
    "SystemClock",
    "TokenStore",
}
MOCK_SURFACE = {
    "APIError",
    "Clock",
    "JournalEntry",
    "MockServer",
    "ServerConfig",
    "ServerThread",
    "Timing",
    "serve_until_stopped",
}


def bgr_imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The bgr modules a file imports (`from x import y` counts x; relative imports do not occur here)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in BGR_PACKAGES}


def room_files() -> list[tuple[str, Path]]:
    return [(room, path) for room in ALLOWED for path in sorted((ROOT / room).rglob("*.py"))]


@pytest.mark.parametrize(("room", "path"), room_files(), ids=lambda value: str(value).removeprefix(str(ROOT) + "/"))
def test_each_module_imports_only_what_its_room_may(room: str, path: Path) -> None:
    allowed = ALLOWED[room]
    strays = {name for name in bgr_imports(path) if not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert not strays, f"{path.relative_to(ROOT)} ({room}) imports {sorted(strays)}; it may import {sorted(allowed)}"


def test_the_rooms_cover_every_module() -> None:
    covered = {path for _, path in room_files()}
    every = {path for package in ("harness", "mock_server") for path in (ROOT / package).rglob("*.py")}
    assert every - covered == {ROOT / "harness" / "__init__.py"}


def test_the_pytest_entry_point_imports_nothing_of_bgr_when_loaded() -> None:
    assert bgr_imports(ROOT / "pytest_bgr.py", top_level_only=True) == set()


@pytest.mark.parametrize(
    ("module", "surface"), [(harness.client, CLIENT_SURFACE), (mock_server, MOCK_SURFACE)], ids=["client", "mock"]
)
def test_the_public_surface_is_curated(module: object, surface: set[str]) -> None:
    exported = set(module.__all__)  # type: ignore[attr-defined]
    assert exported == surface, f"added: {sorted(exported - surface)}, removed: {sorted(surface - exported)}"
    for name in exported:
        assert getattr(module, name) is not None


# What `bgr run` must not import before a scenario plays: another command's modules, and vcrpy (with the HTTP
# libraries it patches) when no cassette is given. Each took tenths of a second of every run's start.
NOT_FOR_BGR_RUN = (
    "harness.commands.bench",
    "harness.commands.fuzz",
    "harness.commands.matrix",
    "harness.commands.poll",
    "harness.commands.record",
    "harness.commands.serve",
    "harness.conformance.poll_overhead",
    "harness.conformance.reports",
    "harness.fuzz",
    "vcr",
)


def test_bgr_run_imports_only_what_it_uses() -> None:
    """In a fresh interpreter, as the `bgr` script starts: the command, the runner and the reference agent."""
    program = (
        "import sys\n"
        "from harness.commands.main import main\n"
        "main.get_command(None, 'run')\n"
        "import harness.conformance.runner, harness.conformance.adapters.openai_agent\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "harness.commands.run" in loaded and "openai" in loaded
    strays = sorted(name for name in loaded if name.split(".")[0] == "vcr" or name.startswith(NOT_FOR_BGR_RUN))
    assert not strays, f"bgr run imports {strays}"
