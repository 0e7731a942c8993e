"""The Node.js example driver as a `cmd:` agent: its npm packages installed from the lock file once."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.paths import ROOT

NODE_DRIVER = ROOT / "examples" / "node_driver"
NPM_CI_TIMEOUT_SECONDS = 300


def node_driver_command() -> str:
    """`node .../driver.mjs`, after `npm ci` if its node_modules are missing (as on a fresh clone)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the Node.js example driver (apt-get install nodejs npm)")
    if not (NODE_DRIVER / "node_modules" / "openai" / "package.json").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DRIVER,
            check=True,
            capture_output=True,
            timeout=NPM_CI_TIMEOUT_SECONDS,
        )
    return f"{node} {NODE_DRIVER / 'driver.mjs'}"
