"""poll-without-input: polls and resumes carry the token only, never the user's message again."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "poll-without-input",
    Level.MUST,
    "A polling or resuming call carries only the session and the token, never the user's message again.",
)
def poll_without_input(history: History) -> Verdict:
    journal = history.server.journal
    with_input = [
        entry
        for entry in journal
        # Refused requests (a 429 or 503 a client retries) created nothing: only accepted ones count.
        if entry["method"] == "POST"
        and (entry.get("status") or 500) < 400
        and (entry.get("body", {}).get("has_input") or entry.get("body", {}).get("has_messages"))
    ]
    if not with_input:
        raise NotApplicable("no request carried input")
    continuing = [call for call in history.calls[1:] if call.token_in is not None]
    if not continuing:
        raise NotApplicable("the scenario made no call with a token")
    resent = with_input[1:]
    caller_side = [call.index for call in continuing if call.sent_prompt]
    problems = [
        f"request {entry['index']} {entry['method']} {entry['path']} sent input again: "
        f"{str(entry['body'].get('input_preview', entry['body'].get('messages_preview', '')))[:80]!r}"
        for entry in resent
    ]
    problems += [f"call {index} passed the prompt together with a token" for index in caller_side]
    return Verdict(
        passed=not problems,
        expected="exactly one request with the prompt; every later request carries none",
        measured="; ".join(problems) or f"1 request with input, {len(journal) - 1} without",
        evidence=tuple(
            f"{e['index']}: {e['method']} {e['path']} has_input={e.get('body', {}).get('has_input')}" for e in journal
        ),
    )
