"""Conformance scenarios: scenario files (`mock_server.scenario_file`, the one format) with a caller script.

The file format, its versions and its FILE:LINE:FIELD errors belong to the one decoder; this module
adds what the caller's part means: the steps the caller plays and the checks that judge the run.
A scenario's rules are bound to its prompt's marker at run time, so scenarios share one mock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.conformance.checks import CHECKS
from mock_server.faults import FaultSpecError
from mock_server.rules import Rule
from mock_server.scenario_file import SUFFIXES, Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = [
    "DEFAULT_PROMPT",
    "SCENARIOS_DIR",
    "STEP_PARAMS",
    "ConformanceScenario",
    "Script",
    "Step",
    "bound_rules",
    "decode_script",
    "discover",
    "load_conformance_scenario",
    "parse_conformance_scenario",
]

SCENARIOS_DIR = Path(__file__).resolve().parent.parent.parent / "scenarios"
MOCK_ONLY_DIR = "mock"
"""`scenarios/mock/` holds files for `bgr serve` alone: no caller script."""
STEP_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "start": {"stream": bool, "max_updates": int},
    "poll": {"max_polls": int, "interval_seconds": (int, float)},
    "resume": {"max_updates": int, "from": str},
    "restart": {},
    "self-poll": {"max_polls": int, "deadline_seconds": (int, float)},
    "foreign-token": {},
}
RESUME_FROM = ("last", "last-non-null", "first")
DEFAULT_PROMPT = "Compare object-oriented, functional, and procedural programming paradigms."


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Script:
    """The caller's part of a scenario file."""

    steps: tuple[Step, ...]
    checks: tuple[str, ...]
    token_budget_bytes: int | None = None
    """The size every token must stay within (`token-size`); None: the check's default."""


ConformanceScenario = Scenario[Script]
"""A scenario file with a caller script: what `bgr run` plays."""


def decode_script(data: Mapping[str, Any]) -> Script:
    """The `CallerDecoder` of conformance scenarios: errors are `FaultSpecError(field, message)`."""
    for key in ("id", "suite", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise FaultSpecError(key, "required with a script: a non-empty string")
    checks = data.get("checks")
    if not isinstance(checks, list) or not checks:
        raise FaultSpecError("checks", "expected a non-empty list of check ids")
    for index, check_id in enumerate(checks):
        if check_id not in CHECKS:
            raise FaultSpecError(f"checks[{index}]", f"unknown check {check_id!r}; known: {', '.join(sorted(CHECKS))}")
    budget = data.get("token_budget_bytes")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise FaultSpecError("token_budget_bytes", f"expected a whole number of bytes, at least 1; got {budget!r}")
    return Script(_decode_steps(data.get("script")), tuple(checks), budget)


def _decode_steps(data: Any) -> tuple[Step, ...]:
    if not isinstance(data, list) or not data:
        raise FaultSpecError("script", "expected a non-empty list of steps")
    steps = []
    for index, item in enumerate(data):
        where = f"script[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise FaultSpecError(where, f"a step is one of {', '.join(STEP_PARAMS)} with its parameters")
        ((kind, params),) = item.items()
        if kind not in STEP_PARAMS:
            raise FaultSpecError(where, f"unknown step {kind!r}; known: {', '.join(STEP_PARAMS)}")
        params = params or {}
        if not isinstance(params, dict):
            raise FaultSpecError(f"{where}.{kind}", "expected a table of parameters")
        for key, value in params.items():
            expected = STEP_PARAMS[kind].get(key)
            wrong_bool = isinstance(value, bool) and expected is not bool
            if expected is None or wrong_bool or not isinstance(value, expected):
                known = ", ".join(STEP_PARAMS[kind]) or "none"
                raise FaultSpecError(f"{where}.{kind}.{key}", f"unknown or wrongly typed parameter (known: {known})")
        if index == 0 and kind != "start":
            raise FaultSpecError(where, "a script begins with `start`")
        if kind == "resume" and params.get("from", "last") not in RESUME_FROM:
            raise FaultSpecError(f"{where}.resume.from", f"expected one of {', '.join(RESUME_FROM)}")
        steps.append(Step(kind, dict(params)))
    return tuple(steps)


def load_conformance_scenario(path: Path | str) -> ConformanceScenario:
    """A scenario file that `bgr run` can play; a file without a script is a one-line error."""
    return _playable(load_scenario(path, decode_script))


def parse_conformance_scenario(text: str, path: str) -> ConformanceScenario:
    return _playable(parse_scenario(text, path, "yaml", decode_script))


def _playable(scenario: Scenario[Script]) -> ConformanceScenario:
    if scenario.caller is None:
        raise ScenarioError(
            scenario.path,
            None,
            "script",
            "no caller script: a scenario for the mock alone (use `bgr serve --scenario`)",
        )
    return scenario


def script_of(scenario: ConformanceScenario) -> Script:
    assert scenario.caller is not None, "conformance scenarios are loaded with a script"
    return scenario.caller


def bound_rules(scenario: ConformanceScenario, marker: str) -> list[Rule]:
    """Fresh copies of the scenario's rules that match only requests whose input holds `marker`."""
    return [
        dataclasses.replace(rule, match=dataclasses.replace(rule.match, input_contains=marker), id=0, applied=0)
        for rule in scenario.rules
    ]


def discover(directory: Path = SCENARIOS_DIR) -> list[ConformanceScenario]:
    """Every scenario under `directory` (subfolders are suites; `mock/` holds mock-only files)."""
    paths = sorted(
        path for path in directory.glob("*/*") if path.suffix.lower() in SUFFIXES and path.parent.name != MOCK_ONLY_DIR
    )
    scenarios = [load_conformance_scenario(path) for path in paths]
    seen: dict[str, str] = {}
    for scenario in scenarios:
        assert scenario.id is not None
        if scenario.id in seen:
            raise ScenarioError(scenario.path, 1, "id", f"duplicate of {seen[scenario.id]}")
        seen[scenario.id] = scenario.path
    return scenarios
