"""Scenarios as data: what the backend does, what the caller does, which checks apply.

A scenario file (YAML, one per case, under scenarios/<suite>/) looks like:

    id: stream-cut-mid-delta
    suite: streaming
    description: A background stream cut after 8 updates, resumed from the last token.
    backend:                      # rules for this scenario's requests only (matched on its prompt)
      - faults: [{type: background, queue_seconds: 0.5}]
    script:
      - start: {stream: true, max_updates: 8}
      - resume: {}
    expect: {token_budget_bytes: 2048}
    checks: [null-means-done, resume-exactly-once, token-size]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.checks import CHECKS
from mock_server.faults import FaultSpecError
from mock_server.rules import Rule, decode_rule

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
STEP_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "start": {"stream": bool, "max_updates": int},
    "poll": {"max_polls": int, "interval_seconds": (int, float)},
    "resume": {"max_updates": int, "from": str},
    "restart": {},
    "self-poll": {"max_polls": int, "deadline_seconds": (int, float)},
    "foreign-token": {},
}
RESUME_FROM = ("last", "last-non-null", "first")
EXPECTATIONS = {"immediate": bool, "self_polling": bool, "max_polls": int, "token_budget_bytes": int}
DEFAULT_PROMPT = "Compare object-oriented, functional, and procedural programming paradigms."


class ScenarioFileError(ValueError):
    def __init__(self, path: Path | str, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    suite: str
    description: str
    prompt: str
    backend: tuple[dict[str, Any], ...]
    """Rules as data; the runner binds them to this scenario's prompt marker."""
    script: tuple[Step, ...]
    expect: dict[str, Any]
    checks: tuple[str, ...]
    path: str = ""

    def rules(self, marker: str) -> list[Rule]:
        """This scenario's rules, matched only on requests whose input holds `marker`."""
        bound = []
        for data in self.backend:
            rule = decode_rule({**data, "match": {**data.get("match", {}), "input_contains": marker}})
            bound.append(rule)
        return bound


def load_scenario_file(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ScenarioFileError(path, "file", " ".join(str(error).split())) from None
    return decode_scenario(data, path)


def decode_scenario(data: Any, path: Path | str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioFileError(path, "(top level)", "expected a mapping")
    known = {"id", "suite", "description", "prompt", "backend", "script", "expect", "checks"}
    for key in data:
        if key not in known:
            raise ScenarioFileError(path, str(key), f"unknown key; expected one of {sorted(known)}")
    for key in ("id", "suite", "description"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ScenarioFileError(path, key, "required, a non-empty string")
    backend = data.get("backend") or []
    if not isinstance(backend, list):
        raise ScenarioFileError(path, "backend", "expected a list of rules")
    for index, rule in enumerate(backend):
        try:
            decode_rule({**rule, "match": {**(rule.get("match") or {}), "input_contains": "x"}}, f"backend[{index}]")
        except (FaultSpecError, AttributeError, TypeError) as error:
            field_name = getattr(error, "field", f"backend[{index}]")
            raise ScenarioFileError(path, field_name, getattr(error, "message", str(error))) from None
    script = _decode_script(data.get("script"), path)
    expect = data.get("expect") or {}
    if not isinstance(expect, dict):
        raise ScenarioFileError(path, "expect", "expected a mapping")
    for key, value in expect.items():
        if key not in EXPECTATIONS or not isinstance(value, EXPECTATIONS[key]):
            raise ScenarioFileError(path, f"expect.{key}", f"expected one of {sorted(EXPECTATIONS)} with its type")
    checks = data.get("checks")
    if not isinstance(checks, list) or not checks:
        raise ScenarioFileError(path, "checks", "expected a non-empty list of check ids")
    for index, check_id in enumerate(checks):
        if check_id not in CHECKS:
            raise ScenarioFileError(path, f"checks[{index}]", f"unknown check {check_id!r}; known: {sorted(CHECKS)}")
    return Scenario(
        id=data["id"],
        suite=data["suite"],
        description=data["description"],
        prompt=data.get("prompt", DEFAULT_PROMPT),
        backend=tuple(backend),
        script=script,
        expect=expect,
        checks=tuple(checks),
        path=str(path),
    )


def _decode_script(data: Any, path: Path | str) -> tuple[Step, ...]:
    if not isinstance(data, list) or not data:
        raise ScenarioFileError(path, "script", "expected a non-empty list of steps")
    steps = []
    for index, item in enumerate(data):
        where = f"script[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise ScenarioFileError(path, where, f"a step is one of {sorted(STEP_PARAMS)} with its parameters")
        ((kind, params),) = item.items()
        if kind not in STEP_PARAMS:
            raise ScenarioFileError(path, where, f"unknown step {kind!r}; known: {sorted(STEP_PARAMS)}")
        params = params or {}
        for key, value in params.items():
            expected = STEP_PARAMS[kind].get(key)
            wrong_bool = isinstance(value, bool) and expected is not bool
            if expected is None or wrong_bool or not isinstance(value, expected):
                raise ScenarioFileError(path, f"{where}.{kind}.{key}", f"unknown or wrongly typed parameter of {kind}")
        if index == 0 and kind != "start":
            raise ScenarioFileError(path, where, "a script begins with `start`")
        if kind == "resume" and params.get("from", "last") not in RESUME_FROM:
            raise ScenarioFileError(path, f"{where}.resume.from", f"expected one of {RESUME_FROM}")
        steps.append(Step(kind, dict(params)))
    return tuple(steps)


def discover(directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    """Every scenario under `directory` (subfolders are suites; `mock/` holds mock-only files)."""
    scenarios = [load_scenario_file(path) for path in sorted(directory.glob("*/*.yaml")) if path.parent.name != "mock"]
    seen: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise ScenarioFileError(scenario.path, "id", f"duplicate of {seen[scenario.id]}")
        seen[scenario.id] = scenario.path
    return scenarios
