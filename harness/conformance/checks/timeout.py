"""timeout: a poller has a bound (polls or a deadline), honours each one it is given, and stops with a clear
timeout error that hands back the last token, so the operation can be resumed later.

Past a deadline, a poll or the return may be late by the slack and by the event loop's stalls after the
deadline, measured in the same run (`harness.conformance.stalls`)."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import describe, polls_of
from harness.conformance.delivery import main_response_id
from harness.conformance.history import SELF_POLL_MARK, History
from harness.conformance.results import Level

DEADLINE_SLACK_SECONDS = 0.5
"""Scenario seconds a poll or the return may come after the deadline: the last poll's own round trip."""
DEADLINE_SLACK_REAL_SECONDS = 0.05
"""Real seconds on top, for scheduling on a busy machine (2.5 scenario s at the default time scale)."""


@check(
    "timeout",
    Level.SHOULD,
    "A poller has a bound (polls or a deadline), honours both when given, and stops with a clear timeout "
    "error that hands back the last token.",
    needs=("self-poll",),
)
def timeout(history: History) -> Verdict:
    self_polls = history.calls_of("self-poll")
    bound = next((call.asked.get("max_polls") for call in self_polls if call.asked.get("max_polls") is not None), None)
    deadline = next(
        (call.asked["deadline_seconds"] for call in self_polls if call.asked.get("deadline_seconds") is not None), None
    )
    if bound is None and deadline is None:
        raise NotApplicable("no self-polling step with a bound")
    response_id = main_response_id(history)
    if response_id is None:
        raise NotApplicable("no response was created")
    polls = polls_of(history, response_id)
    final = history.final_call
    problems = []
    if final is None or final.error is None:
        problems.append("the poller returned without an error")
    elif final.token_out is None:
        problems.append("the timeout error handed back a null token: the operation cannot be resumed")
    if bound is not None and len(polls) > bound:
        problems.append(f"{len(polls)} polls, more than the bound of {bound}")
    if deadline is not None:
        slack = DEADLINE_SLACK_SECONDS + DEADLINE_SLACK_REAL_SECONDS / history.time_scale
        marks = [e for e in history.server.journal if e["method"] == "MARK" and e["path"] == SELF_POLL_MARK]
        # What came late only by as long as the run's event loop stood still past the deadline is excused.
        asked_at = marks[0]["received_at"] if marks else None

        def stalled(after: float) -> float:
            return 0.0 if asked_at is None else history.stalled(asked_at + deadline, asked_at + after)

        if asked_at is not None:
            late = [
                poll
                for poll in polls
                if poll["received_at"] - asked_at > deadline + slack + stalled(poll["received_at"] - asked_at)
            ]
            if late:
                after = late[0]["received_at"] - asked_at
                problems.append(f"{len(late)} polls after the deadline of {deadline:g} s, the first at {after:.1f} s")
        took = max((call.ended_at - call.started_at for call in self_polls), default=0.0)
        if took > deadline + slack + stalled(took):
            problems.append(f"returned {took:.1f} s after it was asked, past its deadline of {deadline:g} s")
    asked = " and ".join(
        part for part in (f"at most {bound} polls" if bound else "", f"{deadline:g} s" if deadline else "") if part
    )
    return Verdict(
        passed=not problems,
        expected=f"{asked}, then a timeout error with the last token",
        measured="; ".join(problems)
        or f"stopped after {len(polls)} polls with: {final.error if final else ''} (token kept)",
        evidence=(describe(final),) if final else (),
    )
