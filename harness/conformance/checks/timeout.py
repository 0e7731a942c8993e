"""timeout: a poller has a bound and stops with a clear error when the operation never finishes."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import describe, polls_of
from harness.conformance.delivery import main_response_id
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "timeout",
    Level.SHOULD,
    "A poller has a bound (polls or a deadline) and stops with a clear timeout error when it is reached.",
    needs=("self-poll",),
)
def timeout(history: History) -> Verdict:
    asked = [call.asked.get("max_polls") for call in history.calls_of("self-poll")]
    bound = next((value for value in asked if value is not None), None)
    if bound is None:
        raise NotApplicable("no self-polling step with a bound")
    response_id = main_response_id(history)
    if response_id is None:
        raise NotApplicable("no response was created")
    polls = len(polls_of(history, response_id))
    final = history.final_call
    problems = []
    if final is None or final.error is None:
        problems.append("the poller returned without an error")
    if polls > bound:
        problems.append(f"{polls} polls, more than the bound of {bound}")
    return Verdict(
        passed=not problems,
        expected=f"at most {bound} polls, then a timeout error",
        measured="; ".join(problems) or f"stopped after {polls} polls with: {final.error if final else ''}",
        evidence=(describe(final),) if final else (),
    )
