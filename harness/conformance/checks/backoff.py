"""backoff: an agent's own poller waits 1 s, then doubles after each unsuccessful poll, capped at 30 s,
and never polls sooner than a 429's Retry-After.

Judged from the server journal's request times, so it holds for a poller in any language. Each wait
counts from the moment the agent could have acted (the previous answer; for the first, its request to
poll) and may be late by the agent's dispatch latency and the event loop's stalls, both measured in the
same run, never early.
"""

from __future__ import annotations

from typing import Any

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import polls_of
from harness.conformance.delivery import main_response_id
from harness.conformance.history import SELF_POLL_MARK, History
from harness.conformance.results import Level

FIRST_WAIT_SECONDS = 1.0
CAP_SECONDS = 30.0
TOLERANCE_SECONDS = 0.1
"""Absolute slack per gap, in scenario seconds."""
TOLERANCE_REAL_SECONDS = 0.05
"""Lateness allowed for scheduling on a busy machine, in real seconds: 2.5 scenario s at a time scale of 0.02.
A loaded machine delayed single polls of a correct in-process poller by 47 ms; it never makes a poll early,
so early polls get no such slack and a fixed interval or a low cap is still caught."""
TOLERANCE_FRACTION = 0.25
"""Relative slack per gap, so that seeded jitter of up to 20% passes."""


def expected_gaps(count: int) -> list[float]:
    gaps, delay = [], FIRST_WAIT_SECONDS
    for _ in range(count):
        gaps.append(delay)
        delay = min(delay * 2, CAP_SECONDS)
    return gaps


def late_allowance(time_scale: float = 1.0, latency: float = 0.0) -> float:
    """How late, in scenario seconds, a correct poller's poll may come in this run: the machine's scheduling
    (real seconds, so more scenario seconds the smaller the scale) and the agent's dispatch latency."""
    return TOLERANCE_REAL_SECONDS / time_scale + latency


def early_slack(expected: float) -> float:
    """How early, in scenario seconds, a poll for a wait of `expected` may come: the slack and seeded jitter."""
    return TOLERANCE_SECONDS + TOLERANCE_FRACTION * expected


def resolves(expected: float, time_scale: float = 1.0, latency: float = 0.0) -> bool:
    """Whether this run can tell a wait of `expected` from one twice as long: its polls may come late by at most
    half of it. A run that cannot (a small time scale, a slow agent) must not call a doubled wait either way."""
    return late_allowance(time_scale, latency) <= expected / 2


def within(
    measured: float, expected: float, time_scale: float = 1.0, latency: float = 0.0, stalled: float = 0.0
) -> bool:
    """Whether a gap is the expected wait. A busy machine or a slow agent only makes a poll late, never early:
    lateness is allowed the real-time slack, the agent's `latency` and the seconds the loop `stalled` when the
    poll was due (both measured in the same run), earliness not.

    Where the run cannot tell the wait from twice it, a wait of up to twice it passes: a bound in between would
    fall where a poller that waits twice as long lands, and its verdict would then turn with the machine's load.
    """
    slack = early_slack(expected)
    longest = expected if resolves(expected, time_scale, latency) else 2 * expected
    return expected - slack <= measured <= longest + slack + late_allowance(time_scale, latency) + stalled


def retried_by_sdk(entry: dict[str, Any]) -> bool:
    """An SDK's own retry of the request before (it marks them with `x-stainless-retry-count`): not a poll of
    the agent's poller, whose next wait starts once the retries are over."""
    count = entry.get("headers", {}).get("x-stainless-retry-count", "0")
    return count.isdigit() and int(count) > 0


def dispatch_latency(history: History, create: dict[str, Any]) -> float:
    """Scenario seconds this agent took, in this run and under this machine's load, to carry out one call
    beyond the backend's own time: the start call's round trip less the time the create took to answer.

    A program reads its stdin, an SDK builds its request, the answer is parsed and written back; each of its
    polls goes through the same machinery, so a poll may come that much after its wait is over.
    """
    starts = history.calls_of("start")
    if not starts:
        return 0.0
    served = (create.get("answered_at") or create["received_at"]) - create["received_at"]
    return max(0.0, starts[0].ended_at - starts[0].started_at - served)


def diagnose(gaps: list[float]) -> str:
    """A name for the pattern the gaps follow, for the report."""
    if not gaps:
        return "no polls"
    if len(gaps) >= 3 and all(within(gap, gaps[0]) for gap in gaps):
        return f"a fixed interval of about {gaps[0]:.1f} s"
    if not within(gaps[0], FIRST_WAIT_SECONDS):
        return f"a first wait of {gaps[0]:.1f} s instead of {FIRST_WAIT_SECONDS:g} s"
    if max(gaps) > CAP_SECONDS * (1 + TOLERANCE_FRACTION) + TOLERANCE_SECONDS:
        return f"no cap at {CAP_SECONDS:g} s (waits grew to {max(gaps):.0f} s)"
    plateau = [gap for gap in gaps if within(gap, max(gaps))]
    if len(plateau) >= 2 and not within(max(gaps), CAP_SECONDS):
        return f"a cap of about {max(gaps):.0f} s instead of {CAP_SECONDS:g} s"
    return "doubling from 1 s capped at 30 s"


@check(
    "backoff",
    Level.SHOULD,
    "A poller waits 1 s before its first poll and doubles after each unsuccessful poll, capped at 30 s; "
    "it never polls sooner than a 429's Retry-After.",
    needs=("self-poll",),
)
def backoff(history: History) -> Verdict:
    if not history.calls_of("self-poll"):
        raise NotApplicable("the harness, not the agent, chose when to poll")
    response_id = main_response_id(history)
    if response_id is None:
        raise NotApplicable("no response was created")
    create = next(e for e in history.server.journal if e.get("response_id") == response_id)
    polls = polls_of(history, response_id)
    if not polls:
        return Verdict(None, "polls of the response", "the agent never polled")
    off: list[str] = []
    unresolved: list[str] = []
    """Gaps late by more than the slack, in a run too coarse to tell their wait from twice it."""
    excused: list[str] = []
    """Gaps late by more than the slack, by no more than the loop stood still when they were due."""
    backoff_gaps: list[float] = []
    expected: list[float] = []
    # The poller's first wait starts when it was asked to poll (the harness's mark), not when the create was
    # answered: the agent's own work in between (parsing the answer, say) is no part of its backoff.
    marks = [e for e in history.server.journal if e["method"] == "MARK" and e["path"] == SELF_POLL_MARK]
    previous: dict[str, Any] = marks[0] if marks and marks[0]["received_at"] >= create["received_at"] else create
    delays = iter(expected_gaps(len(polls)))
    scale = history.time_scale
    latency = dispatch_latency(history, create)
    for number, poll in enumerate(polls, 1):
        # A poller sleeps once it has the previous answer: measure from when the server gave it.
        since = previous.get("answered_at") or previous["received_at"]
        gap = poll["received_at"] - since
        asked = previous.get("retry_after_seconds") if previous.get("status") == 429 else None
        if retried_by_sdk(poll):
            # The SDK's wait, not the poller's; it still must not come sooner than a Retry-After asked.
            if (
                previous.get("retry_after_seconds") is not None
                and gap < previous["retry_after_seconds"] - TOLERANCE_SECONDS
            ):
                off.append(
                    f"poll {number} came {gap:.2f} s after a {previous.get('status')} that asked for "
                    f"{previous['retry_after_seconds']:g} s"
                )
        elif asked is not None:
            # After a 429 the wait is the backend's to set; backoff resumes with the next poll.
            if gap < asked - TOLERANCE_SECONDS:
                off.append(f"poll {number} came {gap:.2f} s after a 429 that asked for {asked:g} s")
        else:
            want = next(delays)
            expected.append(want)
            backoff_gaps.append(gap)
            # From the earliest moment a correct poller's poll was due to its arrival.
            stalled = history.stalled(since + want - early_slack(want), poll["received_at"])
            if not within(gap, want, scale, latency, stalled):
                off.append(f"gap {len(backoff_gaps)}: expected {want:g} s, measured {gap:.2f} s")
            elif not within(gap, want, scale, latency):
                excused.append(f"gap {len(backoff_gaps)} ({gap:.2f} s for {want:g} s, {stalled:.2f} s of them stalled)")
            elif not resolves(want, scale, latency) and not within(gap, want):
                unresolved.append(f"gap {len(backoff_gaps)} ({gap:.2f} s for {want:g} s)")
        previous = poll
    pattern = diagnose(backoff_gaps)
    return Verdict(
        passed=not off,
        expected="gaps "
        + ", ".join(f"{gap:g}" for gap in expected)
        + f" s (±{TOLERANCE_SECONDS} s ±{TOLERANCE_FRACTION:.0%}; late by up to {TOLERANCE_REAL_SECONDS / scale:g} s"
        + f" more, the agent's dispatch latency of {latency:.2f} s and the event loop's stalls), Retry-After honoured",
        measured="gaps "
        + ", ".join(f"{gap:.2f}" for gap in backoff_gaps)
        + f" s: {pattern}"
        + (
            f"; {', '.join(unresolved)} late, but this run cannot tell such a wait from twice it"
            " (a larger --time-scale can)"
            if unresolved
            else ""
        )
        + (f"; {', '.join(excused)} late by no more than the run's event loop stood still" if excused else ""),
        details="; ".join(off),
        evidence=tuple(
            f"{e['method']} {e['path']} at +{e['received_at'] - create['received_at']:.2f} s -> {e.get('status')}"
            + (f" (Retry-After {e['retry_after_seconds']:g} s)" if e.get("retry_after_seconds") else "")
            for e in [create, *marks[:1], *polls]
        ),
    )
