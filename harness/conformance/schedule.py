"""The order in which concurrent scenarios start (`bgr run --jobs N`), so that a verdict does not depend on N.

Two rules, each for a reason:
- the scenarios that time the agent's own poller (a `self-poll` step, judged by `backoff` and
  `timeout` from the journal's times) start first, together, and the others only once every one of
  those pollers has begun and is past the waits before the cap, whose tolerances are the tightest: a
  loop kept busy by the others there would be blamed on the agent. A poller is timed from its own
  create's answer, so the agent's one-time costs (models built lazily on a first answer: ~0.15 s of
  CPU for the `openai` SDK, blocking the loop) are paid in the creates, before any poll is timed;
  the first stream's own costs come later, in the capped waits, and are a few ms once those exist;
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
"""Scenario seconds from the start of the last timed poller until the others join: its waits before the cap
(1 + 2 + 4 + 8 + 16 s), whose tolerances are 0.85 to 4.6 s (17 to 92 ms at the default time scale); a capped
wait of 30 s is allowed 8.1 s (162 ms), more than the others' load stalls a loop for."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Indices into the scenarios, in the order to start them."""

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
    estimates = [estimated_seconds(scenario) for scenario in scenarios]
    longest_first = sorted(range(len(scenarios)), key=lambda index: -estimates[index])
    timed = tuple(index for index in longest_first if times_a_poller(scenarios[index]))
    return Plan(timed, tuple(index for index in longest_first if index not in timed))
