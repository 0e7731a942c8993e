"""token-persistable: a serialized token survives a restart of the caller, and resuming from it works."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import TERMINAL_FAILURES, describe, truth
from harness.conformance.delivery import delivery_map
from harness.conformance.history import Call, History, unwritable_at
from harness.conformance.results import Level


@check(
    "token-persistable",
    Level.MUST,
    "A token survives serialization and a restart of the caller's process: resuming from the stored copy works.",
    needs=("restart",),
)
def token_persistable(history: History) -> Verdict:
    after_restart = [call for call in history.calls if call.agent_instance > 0 and call.token_in is not None]
    if not after_restart:
        raise NotApplicable("no call continued from a token after a restart")
    expected_truth = truth(history)
    ending = expected_truth["final_status"]
    # An error that honestly reports a failed ending means the token worked; any other error means it did not.
    # A token only survives a restart in a form a file can hold; the harness's memory is not such a place.
    problems = [
        f"call {call.index} handed over a token that cannot be written down: a lone surrogate at char {at}, "
        "which neither UTF-8 nor a JSON file of a real client can hold"
        for call, at in _unwritable(history)
    ]
    problems += [
        f"call {call.index} after the restart failed: {call.error}"
        for call in after_restart
        if call.error and not (ending in TERMINAL_FAILURES and call.token_out is None)
    ]
    final = history.final_call
    if final is None or final.token_out is not None:
        problems.append("the operation never finished after the restart")
    elif expected_truth["final_status"] == "completed":
        delivered = delivery_map(history).delivered() if any(c.stream for c in history.calls) else final.text
        if delivered != expected_truth["text"]:
            problems.append(f"{len(delivered)} of {len(expected_truth['text'])} chars reached the caller")
    return Verdict(
        passed=not problems,
        expected="the restarted agent continues from the stored token to the complete answer",
        measured="; ".join(problems) or "continued after the restart to the complete answer",
        evidence=tuple(describe(call) for call in after_restart),
    )


def _unwritable(history: History) -> list[tuple[Call, int]]:
    """The first token of each call that UTF-8 cannot encode, with where it breaks."""
    found = []
    for call in history.calls:
        tokens = [call.token_out, *(update.token for update in call.updates)]
        at = next((at for token in tokens if token is not None and (at := unwritable_at(token)) is not None), None)
        if at is not None:
            found.append((call, at))
    return found
