"""immediate-completion: when the backend finishes at once, the first call returns null and the answer."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import TERMINAL, describe, truth
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "immediate-completion",
    Level.MUST,
    "The first call may complete at once (token null); agents handle the immediate case as well as the deferred one.",
)
def immediate_completion(history: History) -> Verdict:
    expected_truth = truth(history)
    if expected_truth.get("status_at_creation") not in TERMINAL:
        raise NotApplicable("the backend did not finish the response at once")
    if not history.calls:
        return Verdict(False, "a first call", "no call was made")
    first = history.calls[0]
    later_requests = [
        f"{entry['method']} {entry['path']}" for entry in history.server.journal[1:] if entry.get("status") != 404
    ]
    problems = []
    if first.error is not None:
        problems.append(f"the first call raised: {first.error}")
    if first.token_out is not None:
        problems.append("the first call returned a token although the response was already complete")
    if first.text != expected_truth["text"]:
        problems.append(f"the first call gave {len(first.text)} of {len(expected_truth['text'])} chars")
    return Verdict(
        passed=not problems,
        expected="first call: null token, the complete answer, no polling",
        measured="; ".join(problems)
        or f"null token and the full answer at once ({len(later_requests)} later requests)",
        evidence=(describe(first), *later_requests),
    )
