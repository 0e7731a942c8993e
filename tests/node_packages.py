"""Node packages of the project's Node.js programs, installed from their lock files when a test needs them.

`.ci/run` installs them up front; this lets README's test command pass on a fresh machine too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_SECONDS = 300


def ensure_node_packages(directory: Path, package: str = "openai") -> None:
    """`npm ci` in `directory` unless `package` is already installed there; skip without npm."""
    if (directory / "node_modules" / package).is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    done = subprocess.run(
        [npm, "ci", "--prefix", str(directory), "--no-audit", "--no-fund", "--loglevel=error"],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"npm ci in {directory} failed: {done.stderr.strip()[-500:]}"
