"""token-scope: a token from another agent is rejected with a clear error, not silently used."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import describe
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "token-scope",
    Level.SHOULD,
    "A token from another agent instance or type is rejected with a clear error, not silently misused.",
    needs=("foreign-token",),
)
def token_scope(history: History) -> Verdict:
    foreign = [call for call in history.calls if call.step == "foreign-token"]
    if not foreign:
        raise NotApplicable("the scenario offered no foreign token")
    accepted = [call for call in foreign if call.error is None]
    return Verdict(
        passed=not accepted,
        expected="an error for a token this agent did not make",
        measured="; ".join(f"call {c.index} accepted it ({len(c.text)} chars, token {c.token_out!r})" for c in accepted)
        or "rejected: " + (foreign[0].error or ""),
        evidence=tuple(describe(call) for call in foreign),
    )
