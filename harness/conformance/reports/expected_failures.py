"""A published run's MUST failures as an expected-failures baseline (`scenario:check` lines, `--expected-failures`).

What a framework's CI starts from: the run passes while the framework fails only what it failed when
the report was published, fails on any new failure, and fails on a listed one that passes (stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILE_NAME = "expected-failures.txt"


def _failures(result: dict[str, Any]) -> list[str]:
    return [
        f"{scenario['scenario']}:{check['id']}"
        for scenario in result["scenarios"]
        for check in scenario["checks"]
        if check["status"] == "FAILURE"
    ]


def has_failures(result: dict[str, Any]) -> bool:
    """Whether a results.json holds a FAILURE, expected or not: a run that passed against its baseline may."""
    return bool(_failures(result))


def render_expected_failures(result: dict[str, Any]) -> str:
    """One `scenario:check` line per FAILURE in a results.json, in run order, under a header naming the run."""
    versions = ", ".join(
        f"{name} {version}" for name, version in (result.get("extra") or {}).get("versions", {}).items()
    )
    lines = [
        f"# bgr expected failures of {result['agent']}" + (f" ({versions})" if versions else ""),
        f"# from its published results.json (seed {result['seed']}); pass to bgr run --expected-failures",
    ]
    lines += _failures(result)
    return "\n".join(lines) + "\n"


def write_expected_failures(result: dict[str, Any], directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_text(render_expected_failures(result), encoding="utf-8")
    return path
