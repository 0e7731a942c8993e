"""The order in which concurrent scenarios start (`bgr run --jobs N`), so that a verdict does not depend on N.

Three rules, each for a reason:
- the shortest scenario that starts with a stream and the shortest that does not play first,
  together and before any other, so that the agent's one-time costs (models built lazily on a
  first answer or a first event: ~0.1 s of CPU each for the `openai` SDK) are paid before any
  scenario times a poller;
- the scenarios that time the agent's own poller (a `self-poll` step, judged by `backoff` and
  `timeout` from the journal's times) start next, and the others only once those pollers are past
  the waits before the cap, whose tolerances are the tightest: a loop kept busy by the others there
  would be blamed on the agent;
- within each group the longest starts first, so that it does not end the run late.

A scenario's length is estimated from its data: how long its backend holds the response in the
background, bounded by how long its own poller may go on, plus any Retry-After it must honour.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from harness.client.backoff import Backoff
from harness.conformance.scenarios import ConformanceScenario, script_of

UNBOUNDED_POLLS = 200
"""A self-poll without `max_polls` polls up to the caller's default."""
QUIET_SECONDS = 32.0
"""Scenario seconds the timed scenarios run before the others join: the create and the waits of a backoff
before its cap (1 + 2 + 4 + 8 + 16 s), whose tolerances are 0.85 to 4.6 s (17 to 92 ms at the default time
scale); a capped wait of 30 s is allowed 8.1 s (162 ms), more than the others' load stalls a loop for."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Indices into the scenarios, in the order to start them."""

    alone: tuple[int, ...]
    timed: tuple[int, ...]
    rest: tuple[int, ...]


def estimated_seconds(scenario: ConformanceScenario) -> float:
    """Scenario seconds the scenario will probably take (0 when nothing in it waits)."""
    held = 0.0
    waited = 0.0
    for rule in scenario.rules:
        for fault in rule.faults:
            queued = getattr(fault, "queue_seconds", None) or 0.0
            held = max(held, queued + (getattr(fault, "in_progress_seconds", None) or 0.0))
            waited += getattr(fault, "retry_after", None) or (getattr(fault, "retry_after_ms", None) or 0) / 1000
    for step in script_of(scenario).steps:
        if step.kind == "self-poll":
            bound = sum(itertools.islice(Backoff().delays(), int(step.params.get("max_polls", UNBOUNDED_POLLS))))
            deadline = step.params.get("deadline_seconds")
            held = min(held, bound if deadline is None else min(bound, float(deadline)))
    return held + waited


def times_a_poller(scenario: ConformanceScenario) -> bool:
    return any(step.kind == "self-poll" for step in script_of(scenario).steps)


def concurrent_plan(scenarios: Sequence[ConformanceScenario]) -> Plan:
    if not scenarios:
        return Plan((), (), ())
    estimates = [estimated_seconds(scenario) for scenario in scenarios]
    kinds: dict[bool, list[int]] = {}
    for index, scenario in enumerate(scenarios):
        kinds.setdefault(_starts_streaming(scenario), []).append(index)
    alone = tuple(sorted(min(indices, key=estimates.__getitem__) for indices in kinds.values()))
    others = sorted(
        (index for index in range(len(scenarios)) if index not in alone), key=lambda index: -estimates[index]
    )
    timed = tuple(index for index in others if times_a_poller(scenarios[index]))
    return Plan(alone, timed, tuple(index for index in others if index not in timed))


def _starts_streaming(scenario: ConformanceScenario) -> bool:
    steps = script_of(scenario).steps
    return bool(steps) and steps[0].kind == "start" and bool(steps[0].params.get("stream"))
