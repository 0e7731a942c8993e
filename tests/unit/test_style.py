"""The house rules a linter can check: ruff clean and formatted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [RUFF, "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run([RUFF, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
