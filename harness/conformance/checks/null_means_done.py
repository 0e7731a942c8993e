"""null-means-done: a token while in progress, null exactly when finished, with the complete answer."""

from __future__ import annotations

from harness.conformance.checks.base import Verdict, check
from harness.conformance.checks.evidence import describe, truth
from harness.conformance.delivery import delivery_map
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "null-means-done",
    Level.MUST,
    "A token comes back while the operation is in progress and null exactly when it is finished, "
    "with the complete final answer.",
)
def null_means_done(history: History) -> Verdict:
    expected_truth = truth(history)
    full = expected_truth["text"]
    completed = expected_truth["final_status"] == "completed"
    problems: list[str] = []
    shown: list[str] = []
    for call in history.calls:
        if call.stream:
            updates = call.updates
            for number, update in enumerate(updates):
                later_text = any(later.text for later in updates[number + 1 :])
                if update.token is None and later_text:
                    problems.append(
                        f"call {call.index} update {number} ({update.kind or 'update'}) has a null token, "
                        "yet content follows: a caller would stop here"
                    )
                    shown += [
                        f"call {call.index} update {n} {u.kind or 'update'}: "
                        f"token {'null' if u.token is None else f'{u.token_bytes} B'}, text {u.text[:20]!r}"
                        for n, u in enumerate(updates[: max(number + 6, 8)])
                    ]
                    break
        elif call.token_out is None and call.error is None and completed and call.text != full:
            problems.append(f"call {call.index} returned a null token with {len(call.text)} of {len(full)} chars")
        if call.token_out is not None and call.status == "completed":
            problems.append(f"call {call.index} reported status completed yet returned a token")
    final = history.final_call
    if completed and final is not None and final.stream and final.token_out is None and final.error is None:
        missing = [segment for segment in delivery_map(history).of_kind("skip") if segment.end == len(full)]
        if missing:
            problems.append(
                f"the stream ended with a null token {len(missing[-1].text)} chars short of the complete answer"
            )
    return Verdict(
        passed=not problems,
        expected="a token on every update until the end; null only with the complete answer",
        measured="; ".join(problems) or "tokens null exactly at the end",
        evidence=(*shown, *(describe(call) for call in history.calls)),
    )
