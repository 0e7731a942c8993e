"""tool-call-once: each tool call the model asks for runs once, and its output is submitted once.

Expected comes from the ground truth (the function calls each response of the conversation made,
the tool outputs each one was given); measured from the harness tool's own record of its runs.
An execution is matched to a call by its `call_id` when the agent says which call it runs, else
by its arguments. Measured across polls, resumes and restarts, and the loop must go on: a call
whose output never reaches the model (a continuation token standing in for it) is a failure.
"""

from __future__ import annotations

from typing import Any

from harness.conformance.checks.base import NotApplicable, Verdict, check
from harness.conformance.checks.evidence import describe
from harness.conformance.delivery import conversation_ids
from harness.conformance.history import History, ToolExecution
from harness.conformance.results import Level
from harness.conformance.tool import canonical_arguments


@check(
    "tool-call-once",
    Level.MUST,
    "Each tool call the model asks for is executed exactly once and its output submitted exactly once, "
    "across polls, stream resumptions and restarts; a continuation token never stands in for the output.",
)
def tool_call_once(history: History) -> Verdict:
    truths = history.server.truths
    created = [rid for rid in history.server.created_response_ids() if rid in truths]
    calls = [(rid, call) for rid in created for call in truths[rid].get("function_calls", ())]
    if not calls:
        raise NotApplicable("the model called no tool: the agent offered none, or the scenario asks for none")
    executions = list(history.tool_executions)
    submitted: dict[str, list[str]] = {}
    for rid in created:
        for output in truths[rid].get("tool_outputs", ()):
            submitted.setdefault(output["call_id"], []).append(rid)
    runs = _match(calls, executions)
    unmatched = [e for e in executions if not any(e in matched for matched in runs.values())]
    problems = []
    lines = []
    for rid, call in calls:
        call_id = call["call_id"]
        ran, posted = runs[call_id], submitted.get(call_id, [])
        where = ", ".join(f"instance {e.agent_instance} call {e.call}" for e in ran) or "never"
        lines.append(
            f"{call_id} {call['name']}({call['arguments']}) of {rid}: ran {len(ran)}x ({where}), "
            f"output submitted {len(posted)}x{' in ' + ', '.join(posted) if posted else ''}"
        )
        if len(posted) != 1:
            problems.append(f"{call_id}: output submitted {len(posted)} times")
        if executions and len(ran) != 1:
            problems.append(f"{call_id}: ran {len(ran)} times")
    problems += [f"an extra run of {e.name}({e.arguments}) matches no call of the model" for e in unmatched]
    turns = conversation_ids(history)
    last = truths[turns[-1]] if turns else {}
    if last.get("function_calls") and not problems:
        problems.append(f"the conversation stops at {turns[-1]}, whose calls no response answered")
    final = history.final_call
    if problems and last.get("function_calls") and final is not None:
        left = "a null token: told the run was over" if final.token_out is None else "a token for the calling response"
        problems.append(f"the caller was left with {left}, the model still waiting for the output")
    evidence = tuple(lines) + tuple(_describe(e) for e in executions) + tuple(describe(c) for c in history.calls)
    expected = "each call of the model run once, its output submitted once, the loop on to the answer"
    measured = "; ".join(problems) or "; ".join(lines)
    if not executions and not problems:
        # Outputs were submitted, but by a tool out of the harness's sight: how often it ran is unknown.
        return Verdict(None, expected, f"the harness's tool never ran; {measured}", evidence=evidence)
    return Verdict(not problems, expected, measured, evidence=evidence)


def _match(calls: list[tuple[str, dict[str, Any]]], executions: list[ToolExecution]) -> dict[str, list[ToolExecution]]:
    """Each call's runs: by call_id when the run names one, else by name and arguments (first come)."""
    runs: dict[str, list[ToolExecution]] = {call["call_id"]: [] for _, call in calls}
    by_arguments: dict[tuple[str, str], list[str]] = {}
    for _, call in calls:
        key = (call["name"], canonical_arguments(call["arguments"]))
        by_arguments.setdefault(key, []).append(call["call_id"])
    for execution in executions:
        if execution.call_id is not None and execution.call_id in runs:
            runs[execution.call_id].append(execution)
            continue
        candidates = by_arguments.get((execution.name, execution.arguments), [])
        if candidates:
            # Identical arguments in two calls: the least-run call takes it, so one run each is a pass.
            target = min(candidates, key=lambda call_id: len(runs[call_id]))
            runs[target].append(execution)
    return runs


def _describe(execution: ToolExecution) -> str:
    named = f" for {execution.call_id}" if execution.call_id else ""
    return (
        f"tool run{named}: {execution.name}({execution.arguments}) -> {execution.output!r} "
        f"by instance {execution.agent_instance} during call {execution.call} at {execution.at:.2f} s"
    )
