"""token-size: tokens are measured, stay within a budget, and grow no faster than linearly."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.history import History, utf8_size
from harness.conformance.results import Level

DEFAULT_BUDGET_BYTES = 4096
GROWTH_SLACK_BYTES = 64
"""A second half may add this much more than the first before growth counts as faster than linear."""
MIN_POINTS_FOR_GROWTH = 8


@check(
    "token-size",
    Level.SHOULD,
    "Token sizes are measured and stay within a declared budget, growing no faster than linearly with updates.",
)
def token_size(history: History) -> Verdict:
    budget = history.token_budget_bytes or DEFAULT_BUDGET_BYTES
    sizes = [u.token_bytes for call in history.calls for u in call.updates if u.token is not None]
    sizes += [utf8_size(call.token_out) for call in history.calls if call.token_out is not None and not call.updates]
    if not sizes:
        raise NotApplicable("no token was handed out")
    problems = []
    if max(sizes) > budget:
        problems.append(f"largest token {max(sizes)} B exceeds the budget of {budget} B")
    growth = ""
    # Growth is judged within each stream: a resumed stream's tokens may start small again.
    for call in history.calls:
        stream_sizes = [u.token_bytes for u in call.updates if call.stream and u.token is not None]
        if len(stream_sizes) < MIN_POINTS_FOR_GROWTH:
            continue
        middle = len(stream_sizes) // 2
        first_half = stream_sizes[middle] - stream_sizes[0]
        second_half = stream_sizes[-1] - stream_sizes[middle]
        growth += f"; call {call.index}: +{first_half} B then +{second_half} B over {len(stream_sizes)} updates"
        if second_half > 2 * max(first_half, 0) + GROWTH_SLACK_BYTES:
            problems.append(
                f"call {call.index}: tokens grow faster than linearly (+{first_half} B, then +{second_half} B)"
            )
    return Verdict(
        passed=not problems,
        expected=f"every token <= {budget} B, growth at most linear",
        measured="; ".join(problems) or f"{min(sizes)}-{max(sizes)} B over {len(sizes)} tokens{growth}",
        evidence=(f"sizes: {sizes[:40]}",),
    )
