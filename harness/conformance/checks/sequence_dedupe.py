"""sequence-dedupe: each backend event delivered once; a gap in sequence numbers surfaced as an error.

Judged only where the backend's journal shows it repeated or skipped an event (the `sequence_repeat`
and `sequence_gap` faults): without one, the history cannot tell a deduplicating caller from another.
"""

from __future__ import annotations

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import describe
from harness.conformance.delivery import delivery_map
from harness.conformance.history import History
from harness.conformance.results import Level

REPEAT, GAP = "sequence_repeat(", "sequence_gap("


@check(
    "sequence-dedupe",
    Level.SHOULD,
    "A caller delivers each backend event once (an event whose sequence_number it already delivered is dropped) "
    "and surfaces a gap in sequence numbers as an error.",
)
def sequence_dedupe(history: History) -> Verdict:
    faults = [fault for entry in history.server.journal for fault in entry.get("faults", ())]
    repeated = [fault for fault in faults if fault.startswith(REPEAT)]
    skipped = [fault for fault in faults if fault.startswith(GAP)]
    if not repeated and not skipped:
        raise NotApplicable("the backend neither repeated nor skipped an event")
    streams = [call for call in history.calls if call.stream]
    if not streams:
        raise NotApplicable("no streaming call")
    delivery = delivery_map(history)
    problems: list[str] = []
    if repeated:
        # A repeated word may also occur later in the answer, so the map can call it a skip: any piece out of
        # place means the event came through twice.
        off = [segment for segment in delivery.segments if segment.kind != "ok"]
        if off and delivery.delivered() != delivery.truth[: len(delivery.delivered())]:
            problems.append(
                f"a repeated event was delivered again: {off[0].kind} {off[0].text!r} at call {off[0].call} "
                f"update {off[0].update}"
            )
    if skipped:
        errors = [call for call in streams if call.error is not None]
        if not errors:
            lost = delivery.of_kind("skip")
            problems.append(
                "the gap was passed over silently: no call reported an error"
                + (f", and {sum(len(s.text) for s in lost)} chars never arrived" if lost else "")
            )
    asked = " and ".join(
        part
        for part, present in (("a repeated event dropped", repeated), ("the gap reported as an error", skipped))
        if present
    )
    return Verdict(
        passed=not problems,
        expected=asked,
        measured="; ".join(problems) or "each event delivered once; the gap reported",
        details="backend: " + ", ".join(repeated + skipped),
        evidence=tuple(describe(call) for call in streams),
    )
