"""The expected-failures baseline: `scenario:check` lines that are known to fail.

A listed failure does not fail the run; a listed entry that now passes is stale, and does.
"""

from __future__ import annotations

from pathlib import Path

from harness.conformance.checks import CHECKS


class BaselineError(ValueError):
    pass


def load_baseline(path: Path, scenario_ids: set[str]) -> frozenset[str]:
    entries = set()
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise BaselineError(f"{path}: {error.strerror or error}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        scenario, _, check_id = line.partition(":")
        if not check_id:
            raise BaselineError(f"{path}:{number}: expected 'scenario:check', got {line!r}")
        if scenario not in scenario_ids:
            raise BaselineError(f"{path}:{number}: unknown scenario {scenario!r}")
        if check_id not in CHECKS:
            raise BaselineError(f"{path}:{number}: unknown check {check_id!r}")
        entries.add(line)
    return frozenset(entries)
