"""resume-exactly-once: streamed and resumed content is neither repeated nor skipped, and in order."""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import truth
from harness.conformance.delivery import delivery_map
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "resume-exactly-once",
    Level.MUST,
    "Resuming from the last update's token continues exactly there: nothing repeated, nothing skipped, in order.",
)
def resume_exactly_once(history: History) -> Verdict:
    if not any(call.stream for call in history.calls):
        raise NotApplicable("no streaming call")
    expected_truth = truth(history)
    delivery = delivery_map(history)
    problems = []
    for kind, verb in (("repeat", "repeated"), ("skip", "skipped"), ("foreign", "not in the answer")):
        segments = delivery.of_kind(kind)
        if segments:
            chars = sum(len(segment.text) for segment in segments)
            first = segments[0]
            problems.append(
                f"{chars} chars {verb} (first in call {first.call}, update {first.update}: {first.text[:40]!r})"
            )
    for call in history.calls:
        resumed_later = any(later.step == "resume" for later in history.calls[call.index + 1 :])
        if call.cut and call.token_out is None and not resumed_later:
            problems.append(
                f"call {call.index} was cut after an update with a null token: the caller took the stream as "
                "complete and could not resume"
            )
    delivered = delivery.delivered()
    complete = history.final_call is not None and history.final_call.token_out is None
    if complete and delivered != expected_truth["text"] and not problems:
        problems.append("delivered text differs from the backend's")
    return Verdict(
        passed=not problems,
        expected=f"{len(expected_truth['text'])} chars delivered once, in order",
        measured="; ".join(problems) or f"{len(delivered)} chars delivered once, in order",
        evidence=(
            *_resume_requests(history),
            *(
                f"call {s.call} update {s.update} {s.kind} [{s.start}:{s.end}] {s.text[:50]!r}"
                for s in delivery.segments
                if s.kind != "ok"
            ),
        )[:24],
    )


def _resume_requests(history: History) -> list[str]:
    """What each resume asked the server for: the cursor decides what can repeat or go missing."""
    return [
        f"request {e['index']}: {e['method']} {e['path']} starting_after="
        f"{e.get('query', {}).get('starting_after', '(none: replay from the first event)')}"
        for e in history.server.journal
        if e["method"] == "GET" and e.get("query", {}).get("stream") == "true"
    ]
