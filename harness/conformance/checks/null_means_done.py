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
    "with the complete final answer; the update that ends it carries null itself, and a call failing "
    "while it still runs hands back a token.",
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
        ended = call.stream and call.token_out is None and bool(call.updates) and call.updates[-1].token is not None
        # A cancel ends a stream with no terminal event: the agent learns of it from a poll, not an update.
        if ended and expected_truth["final_status"] != "cancelled":
            last = call.updates[-1]
            problems.append(
                f"call {call.index} ended the response, yet its last update ({last.kind or 'update'}) "
                "carries a token: the update that ends a response carries null itself"
            )
        had_token = call.token_in is not None or any(update.token is not None for update in call.updates)
        failed_running = call.error is not None and call.token_out is None and had_token
        # Failing while the operation still runs: it will complete, the call was cut, or the poller timed out.
        if failed_running and call.step != "foreign-token" and (completed or call.cut or call.status == "timed_out"):
            problems.append(
                f"call {call.index} failed ({call.error[:80]}) with a null token while the operation still ran: "
                "it should hand back the token to continue from"
            )
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
        expected="a token on every update until the end, null on the one that ends it and only with the complete "
        "answer; a token back from a call that fails while the operation runs",
        measured="; ".join(problems) or "tokens null exactly at the end",
        evidence=(*shown, *(describe(call) for call in history.calls)),
    )
