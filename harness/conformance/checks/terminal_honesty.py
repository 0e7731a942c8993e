"""terminal-honesty: failed, cancelled and incomplete endings are reported as such, never as a success."""

from __future__ import annotations

from typing import Any

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import TERMINAL_FAILURES, describe, truth
from harness.conformance.history import History
from harness.conformance.results import Level


@check(
    "terminal-honesty",
    Level.MUST,
    "Failed, cancelled and incomplete operations are reported as such (an error or a status), "
    "never as a successful answer.",
)
def terminal_honesty(history: History) -> Verdict:
    ending = truth(history)["final_status"]
    if ending not in TERMINAL_FAILURES:
        raise NotApplicable(f"the response ended {ending}")
    final = history.final_call
    if final is None:
        return Verdict(False, f"the agent reports {ending}", "no call was made")
    honest = final.error is not None or final.status == ending
    if final.token_out is not None and final.error is None:
        measured = "the last call still returned a token (the ending was never reported)"
        honest = False
    elif honest:
        measured = f"reported: status={final.status!r}, error={final.error!r}"
    else:
        measured = f"reported as success: status={final.status!r}, no error, {len(final.text)} chars of text"
    backend = f"backend: the response ended {ending}" + "".join(
        f" ({event['type']}: {_reason(event)})"
        for event in truth(history)["events"][-1:]
        if event["type"] in ("response.failed", "response.incomplete")
    )
    return Verdict(honest, f"an error or status {ending!r}", measured, evidence=(backend, describe(final)))


def _reason(event: dict[str, Any]) -> str:
    response = event.get("response", {})
    return str((response.get("error") or {}).get("message") or (response.get("incomplete_details") or {}).get("reason"))
