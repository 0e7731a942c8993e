"""backoff: an agent's own poller waits 1 s, then doubles after each unsuccessful poll, capped at 30 s.

Judged from the server journal's request times, so it holds for a poller in any language.
"""

from __future__ import annotations

import itertools

from harness.checks.base import NotApplicable, Verdict, check
from harness.checks.evidence import polls_of
from harness.delivery import main_response_id
from harness.history import History
from harness.results import Level

FIRST_WAIT_SECONDS = 1.0
CAP_SECONDS = 30.0
TOLERANCE_SECONDS = 0.3
"""Absolute slack per gap, in scenario seconds: timer and scheduling noise under a time scale."""
TOLERANCE_FRACTION = 0.1
"""Relative slack per gap, so that seeded jitter of up to 10% passes."""


def expected_gaps(count: int) -> list[float]:
    gaps, delay = [], FIRST_WAIT_SECONDS
    for _ in range(count):
        gaps.append(delay)
        delay = min(delay * 2, CAP_SECONDS)
    return gaps


@check(
    "backoff",
    Level.SHOULD,
    "A poller waits 1 s before its first poll and doubles after each unsuccessful poll, capped at 30 s.",
)
def backoff(history: History) -> Verdict:
    if not history.expectations.get("self_polling"):
        raise NotApplicable("the harness, not the agent, chose when to poll")
    response_id = main_response_id(history)
    if response_id is None:
        raise NotApplicable("no response was created")
    create = next(e for e in history.server.journal if e.get("response_id") == response_id)
    polls = polls_of(history, response_id)
    if not polls:
        return Verdict(None, "polls of the response", "the agent never polled")
    times = [create["received_at"], *(entry["received_at"] for entry in polls)]
    measured = [later - earlier for earlier, later in itertools.pairwise(times)]
    expected = expected_gaps(len(measured))
    off = [
        f"gap {n + 1}: expected {want:g} s, measured {got:.2f} s"
        for n, (want, got) in enumerate(zip(expected, measured, strict=True))
        if abs(got - want) > TOLERANCE_SECONDS + TOLERANCE_FRACTION * want
    ]
    return Verdict(
        passed=not off,
        expected="gaps "
        + ", ".join(f"{gap:g}" for gap in expected)
        + f" s (±{TOLERANCE_SECONDS} s ±{TOLERANCE_FRACTION:.0%})",
        measured="gaps " + ", ".join(f"{gap:.2f}" for gap in measured) + " s",
        details="; ".join(off),
        evidence=tuple(f"{e['method']} {e['path']} at +{e['received_at'] - times[0]:.2f} s" for e in [create, *polls]),
    )
