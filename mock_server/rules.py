"""Which faults apply to a request: rules matched on what reaches the server.

Agents under test are black boxes, so a rule matches what they send (model, a marker in
the input, path, method, stream and background flags). For requests about a stored
response (polls, resumes, cancels) the response's own model and input are matched, so a
marker in the prompt follows the response. A rule may apply to its first N matches only.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_server.errors import shown
from mock_server.faults import Fault, FaultSpecError, decode_fault
from mock_server.faults.base import FiltersStream, InterceptsRequest, ShapesTimeline

_MATCH_KEYS = {"model", "input_contains", "path", "method", "stream", "background"}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    method: str
    path: str
    model: str | None
    input_text: str
    stream: bool
    background: bool | None
    creates: bool
    """A create call: timeline faults apply only here."""


@dataclass(frozen=True, slots=True)
class Match:
    model: str | None = None
    input_contains: str | None = None
    path: str | None = None
    """A glob such as `/v1/responses/*`."""
    method: str | None = None
    stream: bool | None = None
    background: bool | None = None

    def matches(self, facts: RequestFacts) -> bool:
        return (
            (self.model is None or self.model == facts.model)
            and (self.input_contains is None or self.input_contains in facts.input_text)
            and (self.path is None or fnmatch.fnmatchcase(facts.path, self.path))
            and (self.method is None or self.method.upper() == facts.method)
            and (self.stream is None or self.stream == facts.stream)
            and (self.background is None or self.background == facts.background)
        )


@dataclass(slots=True)
class Rule:
    faults: tuple[Fault, ...]
    match: Match = field(default_factory=Match)
    times: int | None = None
    """Apply to the first N matching requests only (None: always)."""
    name: str | None = None
    id: int = 0
    applied: int = 0

    def applicable(self, facts: RequestFacts) -> tuple[Fault, ...]:
        """The faults of this rule that act on this kind of request."""
        return tuple(fault for fault in self.faults if _acts_on(fault, facts))

    def as_dict(self) -> dict[str, Any]:
        match = {key: value for key in _MATCH_KEYS if (value := getattr(self.match, key)) is not None}
        return {
            "id": self.id,
            "name": self.name,
            "match": match,
            "times": self.times,
            "applied": self.applied,
            "faults": [fault.as_dict() for fault in self.faults],
        }


def _acts_on(fault: Fault, facts: RequestFacts) -> bool:
    if isinstance(fault, ShapesTimeline):
        return facts.creates
    if isinstance(fault, FiltersStream):
        return facts.stream
    return isinstance(fault, InterceptsRequest)


class RuleBook:
    """Rules in the order added; every matching rule contributes its faults."""

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)
        for rule in rules or []:
            self.add(rule)

    def add(self, rule: Rule) -> Rule:
        rule.id = next(self._ids)
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> None:
        self._rules.clear()

    def __bool__(self) -> bool:
        return bool(self._rules)

    def rules(self) -> list[Rule]:
        return list(self._rules)

    def select(self, facts: RequestFacts) -> list[Fault]:
        chosen: list[Fault] = []
        for rule in self._rules:
            if rule.times is not None and rule.applied >= rule.times:
                continue
            if not rule.match.matches(facts):
                continue
            faults = rule.applicable(facts)
            if faults and self.claim(rule):
                chosen.extend(faults)
        return chosen

    def claim(self, rule: Rule) -> bool:
        """Count one application of `rule`; False when its `times` are used up (a shared book counts in one place)."""
        rule.applied += 1
        return True


def decode_rule(data: Any, field_path: str = "rule") -> Rule:
    """A rule from `{"name", "match": {...}, "times", "faults": [...]}`, errors naming the field."""
    if not isinstance(data, dict):
        raise FaultSpecError(field_path, "expected a table")
    unknown = set(data) - {"name", "match", "times", "faults"}
    if unknown:
        raise FaultSpecError(f"{field_path}.{sorted(unknown)[0]}", "unknown key; expected name, match, times, faults")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise FaultSpecError(f"{field_path}.name", "expected a string")
    times = data.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultSpecError(f"{field_path}.times", f"expected a whole number of at least 1, got {shown(times)}")
    faults = data.get("faults")
    if not isinstance(faults, list) or not faults:
        raise FaultSpecError(f"{field_path}.faults", "expected a non-empty list of faults")
    return Rule(
        faults=tuple(decode_fault(item, f"{field_path}.faults[{i}]") for i, item in enumerate(faults)),
        match=decode_match(data.get("match", {}), f"{field_path}.match"),
        times=times,
        name=name,
    )


def decode_match(data: Any, field_path: str) -> Match:
    if not isinstance(data, dict):
        raise FaultSpecError(field_path, "expected a table")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _MATCH_KEYS:
            raise FaultSpecError(f"{field_path}.{key}", f"unknown match key; expected one of {sorted(_MATCH_KEYS)}")
        expected = bool if key in ("stream", "background") else str
        if not isinstance(value, expected):
            raise FaultSpecError(f"{field_path}.{key}", f"expected a {expected.__name__}, got {shown(value)}")
        values[key] = value
    return Match(**values)


def decode_faults_header(raw: str) -> list[Fault]:
    """`X-Bgr-Faults`: a JSON list of faults for this one request."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise FaultSpecError("x-bgr-faults", f"not valid JSON ({error.msg})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FaultSpecError("x-bgr-faults", "expected a JSON list of faults")
    return [decode_fault(item, f"x-bgr-faults[{i}]") for i, item in enumerate(data)]
