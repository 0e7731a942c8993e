"""Every check on hand-built histories: for each rule, histories that must pass and histories that must not.

In the manner of porcupine's ok/bad fixture pairs: each fixture is the smallest history that shows
one behaviour, and the table says what its check must conclude (SUCCESS; FAILURE for a broken MUST,
WARNING for a broken SHOULD; SKIPPED where the rule does not apply). Cases that once showed a check
disagreeing with CONTRACT.md section 1 stay below as regressions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from harness.conformance.caller import FOREIGN_TOKEN
from harness.conformance.checks import CHECKS
from harness.conformance.history import SELF_POLL_MARK, History, Stall, Stopped
from harness.conformance.results import CheckResult, Level, Status
from tests.histories import (
    CALL_ID,
    FOLLOW_UP,
    PIECES,
    RID,
    T0,
    TEXT,
    Builder,
    deltas,
    execution,
    function_call,
    opening,
    sized_token,
    token,
    tool_output,
)

SHOULD_CHECKS = {"backoff", "timeout", "token-size", "token-scope", "sequence-dedupe"}
CUT = 5
"""Text deltas a cut stream delivers before the harness stops reading."""
LAST_BEFORE_CUT = 3 + CUT - 1
"""Sequence number of the last update of a cut stream (after three opening events)."""


def judge(check_id: str, history: History) -> CheckResult:
    return CHECKS[check_id](history)


def polled(builder: Builder, *, final_text: str = TEXT, gaps: tuple[float, ...] = (2.0, 2.0, 2.0)) -> Builder:
    """Create, then polls every 2 s until the last one hands back `final_text` and a null token."""
    builder.create(at=0.0).polls(gaps)
    builder.call("start", token_out=token(0))
    for _ in gaps[:-1]:
        builder.call("poll")
    return builder.call("poll", text=final_text, token_out=None, status="completed")


def cut_stream(builder: Builder) -> Builder:
    """A background stream cut by the harness after CUT text deltas."""
    builder.create(at=0.0, stream=True)
    return builder.call("start", stream=True, updates=[*opening(), *deltas(PIECES[:CUT], 3)], cut=True)


def resumed(builder: Builder, pieces: tuple[str, ...], first_sequence: int) -> Builder:
    """The resume of a cut stream: a streaming GET from the last token, then the given deltas to the end."""
    builder.stream_get(at=3.0, starting_after=LAST_BEFORE_CUT)
    return builder.call("resume", stream=True, updates=deltas(pieces, first_sequence, end=True))


# --- null-means-done ---------------------------------------------------------------------


def nmd_ok_polls() -> History:
    """Polls in progress keep the token; the last one returns null with the whole answer."""
    return polled(Builder()).build()


def nmd_ok_stream() -> History:
    """A stream read to its end: a token on every update, null only on the terminal one."""
    builder = Builder().create(stream=True)
    return builder.call("start", stream=True, updates=[*opening(), *deltas(PIECES, 3, end=True)]).build()


def nmd_ok_failed_with_error() -> History:
    """A failed response: a null token with no answer is fine when the failure is raised."""
    builder = Builder(final_status="failed").create().polls([2.0, 2.0])
    builder.call("start", token_out=token(0)).call("poll")
    return builder.call("poll", error="response failed: The model crashed.", token_out=None).build()


def nmd_bad_null_then_content() -> History:
    """The first update (response.created) carries a null token; the answer follows it."""
    builder = Builder().create(stream=True)
    updates = [("", None, "response.created"), *deltas(PIECES, 1, end=True)]
    return builder.call("start", stream=True, updates=updates).build()


def nmd_bad_poll_null_partial() -> History:
    """A poll says done (null token) with only part of a completed answer."""
    return polled(Builder(), final_text=TEXT[:40]).build()


def nmd_bad_completed_with_token() -> History:
    """A poll reports status completed yet still hands back a token."""
    builder = Builder().create().polls([2.0, 2.0])
    builder.call("start", token_out=token(0)).call("poll")
    return builder.call("poll", text=TEXT, token_out=token(9), status="completed").build()


def nmd_bad_stream_null_early() -> History:
    """A stream ends with a null token after 6 of 12 deltas: 'done' without the complete answer."""
    builder = Builder().create(stream=True)
    updates = [*opening(), *deltas(PIECES[:6], 3), ("", None, "response.completed")]
    return builder.call("start", stream=True, updates=updates).build()


def no_response_created() -> History:
    """The only create was refused (503): no response exists to judge."""
    builder = Builder().create(status=503)
    return builder.call("start", error="InternalServerError: Error code: 503", token_out=None).build()


# --- resume-exactly-once -----------------------------------------------------------------


def reo_ok_exact_resume() -> History:
    return resumed(cut_stream(Builder()), PIECES[CUT:], LAST_BEFORE_CUT + 1).build()


def reo_bad_repeat() -> History:
    """The resume starts one delta early: the last delta before the cut (12 chars) comes twice."""
    return resumed(cut_stream(Builder()), PIECES[CUT - 1 :], LAST_BEFORE_CUT).build()


def reo_bad_skip() -> History:
    """The resume starts one delta late: 12 chars are never delivered."""
    return resumed(cut_stream(Builder()), PIECES[CUT + 1 :], LAST_BEFORE_CUT + 2).build()


def reo_bad_out_of_order() -> History:
    """Every delta arrives exactly once, but two of them swapped."""
    swapped = (PIECES[CUT + 1], PIECES[CUT], *PIECES[CUT + 2 :])
    return resumed(cut_stream(Builder()), swapped, LAST_BEFORE_CUT + 1).build()


def reo_bad_foreign() -> History:
    """The resume delivers text the backend never produced."""
    builder = cut_stream(Builder())
    builder.stream_get(at=3.0, starting_after=LAST_BEFORE_CUT)
    updates = [("Lorem ipsum ", token(LAST_BEFORE_CUT + 1), "response.output_text.delta")]
    updates += deltas(PIECES[CUT:], LAST_BEFORE_CUT + 2, end=True)
    return builder.call("resume", stream=True, updates=updates).build()


def reo_bad_repeat_straddling() -> History:
    """The resume sends the rest in one update that starts by repeating the last 4 delivered chars."""
    builder = cut_stream(Builder())
    rest = "".join(PIECES[:CUT])[-4:] + "".join(PIECES[CUT:])
    builder.stream_get(at=3.0, starting_after=LAST_BEFORE_CUT)
    updates = [(rest, token(LAST_BEFORE_CUT + 1), "response.output_text.delta"), ("", None, "response.completed")]
    return builder.call("resume", stream=True, updates=updates).build()


def reo_bad_cut_after_null() -> History:
    """An update mid-stream carries a null token; the harness cuts right after it and cannot resume."""
    builder = Builder().create(stream=True)
    updates = [*opening(), *deltas(PIECES[:CUT], 3), ("", None, "response.output_text.delta")]
    return builder.call("start", stream=True, updates=updates, cut=True).build()


# --- backoff -----------------------------------------------------------------------------

LESSON_GAPS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0)


def self_polled(gaps: tuple[float, ...], *, self_polling: bool = True, stream_probe: bool = False) -> History:
    """The agent's own poller: a create at t0, then GET polls (not streams) at the given gaps."""
    builder = Builder()
    builder.create(at=0.0)
    if stream_probe:
        builder.stream_get(at=0.5)
    builder.polls(gaps)
    builder.call("start", token_out=token(0))
    step = "self-poll" if self_polling else "poll"  # `poll`: the harness chose when
    if not gaps:
        return builder.call(step, error="RuntimeError: poller crashed", token_out=token(0)).build()
    return builder.call(step, text=TEXT, token_out=None, status="completed").build()


def backoff_ok() -> History:
    return self_polled(LESSON_GAPS)


def backoff_ok_jitter() -> History:
    """The lesson's gaps with ±8% seeded jitter, alternating up and down."""
    return self_polled(tuple(gap * (1.08 if n % 2 == 0 else 0.92) for n, gap in enumerate(LESSON_GAPS)))


def backoff_ok_stream_get_not_a_poll() -> History:
    """A streaming GET of the response is no poll: it must not shift the gaps."""
    return self_polled(LESSON_GAPS, stream_probe=True)


def backoff_bad_fixed_interval() -> History:
    return self_polled((2.0,) * 7)


def backoff_bad_no_cap() -> History:
    return self_polled((1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0))


def backoff_bad_cap_20() -> History:
    return self_polled((1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0))


def backoff_bad_first_wait_2() -> History:
    return self_polled((2.0, 4.0, 8.0, 16.0, 30.0, 30.0))


def backoff_skip_harness_polls() -> History:
    return self_polled(LESSON_GAPS, self_polling=False)


def backoff_unknown_never_polled() -> History:
    return self_polled(())


# --- timeout -----------------------------------------------------------------------------


def timed_out(polls: int, *, error: str | None, bound: int | None = 4) -> History:
    """A response that never finishes; the agent's poller makes `polls` polls, then returns."""
    builder = Builder().create(at=0.0).polls((1.0, 2.0, 4.0, 8.0, 16.0, 30.0)[:polls])
    builder.call("start", token_out=token(0))
    asked = {"max_polls": bound} if bound is not None else {}
    return builder.call("self-poll", error=error, token_out=token(0), asked=asked).build()


def timeout_ok() -> History:
    return timed_out(4, error="TimeoutError: timed out after 4 polls; resume later with the token")


def timeout_bad_beyond_bound() -> History:
    return timed_out(6, error="TimeoutError: timed out after 6 polls")


def timeout_bad_no_error() -> History:
    return timed_out(4, error=None)


def timeout_skip_no_bound() -> History:
    return timed_out(4, error="TimeoutError", bound=None)


# --- token-size --------------------------------------------------------------------------


def sized_stream(*runs: list[int], budget: int | None = None) -> History:
    """One streaming call per run of token sizes (the first started, the others resumed)."""
    builder = Builder(token_budget_bytes=budget)
    builder.create(stream=True)
    for number, sizes in enumerate(runs):
        updates = [("", sized_token(size), "response.in_progress") for size in sizes]
        builder.call("start" if number == 0 else "resume", stream=True, updates=updates, cut=number < len(runs) - 1)
    return builder.build()


def size_ok_within_budget() -> History:
    return replace(nmd_ok_stream(), token_budget_bytes=1024)


def size_ok_linear() -> History:
    return sized_stream([100 + 40 * n for n in range(16)])


def size_bad_over_budget() -> History:
    return sized_stream([60, 60, 1500], budget=1024)


def size_bad_over_default_budget() -> History:
    return sized_stream([60, 5000])


def size_bad_superlinear() -> History:
    return sized_stream([50 + 8 * n * n for n in range(16)])


def size_ok_linear_per_stream() -> History:
    """Cut and resumed: each stream's tokens grow linearly (10 B an update) from the same base."""
    run = [100 + 10 * n for n in range(10)]
    return sized_stream(run, run)


def size_skip_no_token() -> History:
    """Completed at once: not a single token was handed out."""
    builder = Builder(finished_at_creation=True).create()
    return builder.call("start", text=TEXT, token_out=None, status="completed").build()


# --- token-persistable -------------------------------------------------------------------


def persist_ok_poll() -> History:
    builder = Builder().create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll", text=TEXT, token_out=None, status="completed").build()


def persist_ok_stream() -> History:
    builder = cut_stream(Builder()).restart()
    return resumed(builder, PIECES[CUT:], LAST_BEFORE_CUT + 1).build()


def persist_ok_failed_status() -> History:
    """The response fails after the restart; the restarted agent reports status failed."""
    builder = Builder(final_status="failed").create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll", token_out=None, status="failed").build()


def persist_ok_failed_error() -> History:
    """The same, but the restarted agent raises the failure: the stored token still reached the response."""
    builder = Builder(final_status="failed").create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll", error="response failed: The model crashed.", token_out=None).build()


def persist_bad_rejected() -> History:
    builder = Builder().create(at=0.0)
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll", error="ValueError: continuation token is not valid").build()


def persist_bad_never_finished() -> History:
    builder = Builder().create(at=0.0).polls([2.0, 2.0])
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll").call("poll").build()


def persist_bad_partial() -> History:
    builder = Builder().create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0)).restart()
    return builder.call("poll", text=TEXT[:50], token_out=None, status="completed").build()


def persist_bad_stream_replayed() -> History:
    """After the restart the stored token resumes from the beginning: the first CUT deltas come twice."""
    builder = cut_stream(Builder()).restart()
    builder.stream_get(at=3.0)
    return builder.call("resume", stream=True, updates=deltas(PIECES, 3, end=True)).build()


def persist_skip_no_restart() -> History:
    return nmd_ok_polls()


# --- token-scope -------------------------------------------------------------------------


def foreign(error: str | None) -> History:
    builder = Builder().create(at=0.0)
    builder.call("start", token_out=token(0))
    out = FOREIGN_TOKEN if error is None else None
    return builder.call("foreign-token", token_in=FOREIGN_TOKEN, token_out=out, error=error).build()


def scope_ok() -> History:
    return foreign("ValueError: not a token of this agent: 'eyJyZXNwb25zZUlkIjoicmVzcF9mb3JlaWdu'")


def scope_bad_accepted() -> History:
    return foreign(None)


def scope_skip() -> History:
    return nmd_ok_polls()


# --- poll-without-input ------------------------------------------------------------------


def pwi_ok() -> History:
    return nmd_ok_polls()


def pwi_ok_refused_then_accepted() -> History:
    """The SDK retries a create refused with 503: the refused request created nothing."""
    builder = Builder().create(at=0.0, status=503).create(at=0.5).polls([2.0, 2.0], start=0.5)
    builder.call("start", token_out=token(0)).call("poll")
    return builder.call("poll", text=TEXT, token_out=None, status="completed").build()


def pwi_bad_second_post() -> History:
    """The poll goes out as a second create with the prompt (a resend), making a second response."""
    builder = Builder().create(at=0.0).create(at=2.0, response_id="resp_dup0002", text="A shorter answer.")
    builder.call("start", token_out=token(0))
    return builder.call("poll", text=TEXT, token_out=None, status="completed").build()


def pwi_bad_prompt_with_token() -> History:
    """The agent accepts a call carrying both the prompt and a token (the wire shows no resend)."""
    builder = Builder().create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0))
    return builder.call("poll", sent_prompt=True, text=TEXT, token_out=None, status="completed").build()


def pwi_bad_chat_messages_resent() -> History:
    """A client-side background agent on Chat Completions re-sends the messages to resume."""
    builder = Builder()
    for at in (0.0, 3.0):
        body = {"model": "gpt-4o", "stream": True, "has_messages": True, "messages_preview": "[{'role': 'user'}]"}
        builder.request("POST", "/v1/chat/completions", at=at, body=body)
    builder.call("start", stream=True, updates=deltas(PIECES[:CUT], 0), cut=True)
    return builder.call("resume", stream=True, updates=deltas(PIECES[CUT:], CUT, end=True)).build()


def pwi_skip_no_token_call() -> History:
    return size_skip_no_token()


def pwi_skip_no_input() -> History:
    builder = Builder()
    return builder.call("start", error="APIConnectionError: Connection error.", token_out=None).build()


# --- immediate-completion ----------------------------------------------------------------


def immediate(*, text: str = TEXT, token_out: str | None = None, error: str | None = None) -> History:
    builder = Builder(finished_at_creation=True).create(at=0.0)
    status = "completed" if token_out is None and error is None else None
    return builder.call("start", text=text, token_out=token_out, status=status, error=error).build()


def immediate_ok() -> History:
    return immediate()


def immediate_bad_token() -> History:
    return immediate(text="", token_out=token(0))


def immediate_bad_partial() -> History:
    return immediate(text=TEXT[:30])


def immediate_bad_raised() -> History:
    return immediate(text="", error="KeyError: 'continuation_token'")


def immediate_skip_deferred() -> History:
    return nmd_ok_polls()


# --- terminal-honesty --------------------------------------------------------------------


def ending(
    final_status: str,
    *,
    text: str = "",
    status: str | None = None,
    error: str | None = None,
    token_out: str | None = None,
) -> History:
    """A response that ends `final_status`; the last poll reports whatever is given."""
    builder = Builder(final_status=final_status).create(at=0.0).polls([2.0, 2.0])
    builder.call("start", token_out=token(0)).call("poll")
    return builder.call("poll", text=text, status=status, error=error, token_out=token_out).build()


def honesty_ok_error() -> History:
    return ending("failed", error="response failed: server_error: The model crashed.")


def honesty_ok_status() -> History:
    return ending("failed", status="failed")


def honesty_ok_incomplete_partial() -> History:
    return ending("incomplete", text=TEXT[:60], status="incomplete")


def honesty_bad_empty_success() -> History:
    return ending("failed")


def honesty_bad_cancelled_as_completed() -> History:
    return ending("cancelled", text=TEXT[:20], status="completed")


def honesty_bad_never_reported() -> History:
    return ending("incomplete", token_out=token(0))


def honesty_skip_completed() -> History:
    return nmd_ok_polls()


# --- the table ---------------------------------------------------------------------------


# --- tool-call-once ----------------------------------------------------------------------------


def tool_loop(
    *,
    executions: tuple[int, ...] = (1,),
    submissions: int = 1,
    call_ids: bool = True,
    instance_of_run: int = 0,
) -> Builder:
    """The model calls get_weather in RID; the agent runs it during the given calls and submits its
    output `submissions` times (follow-ups FOLLOW_UP, FOLLOW_UP-2, ...), then polls the last to TEXT."""
    builder = Builder().tool_turn(at=0.0, response_id=RID, calls=[function_call()])
    builder.poll(at=2.0)
    builder.call("start", token_out=token(0))
    for number in range(submissions):
        follow_up = FOLLOW_UP if number == 0 else f"{FOLLOW_UP}-{number + 1}"
        builder.tool_turn(at=2.1 + number, response_id=follow_up, outputs=[tool_output()], previous=RID, text=TEXT)
    last = FOLLOW_UP if submissions <= 1 else f"{FOLLOW_UP}-{submissions}"
    if submissions:
        builder.call("poll", token_out=token(0, last))
        builder.poll(at=5.0, response_id=last)
        builder.call("poll", text=TEXT, token_out=None, status="completed")
    else:
        builder.polls((2.0, 2.0, 2.0), start=2.0)
        for _ in range(3):
            builder.call("poll", token_out=token(0))
    builder.tool_executions = [
        execution(CALL_ID if call_ids else None, instance=instance_of_run, call=call) for call in executions
    ]
    return builder


def tco_ok_polled() -> History:
    return tool_loop().build()


def tco_ok_matched_by_arguments() -> History:
    return tool_loop(call_ids=False).build()


def tco_ok_after_a_restart() -> History:
    return tool_loop(instance_of_run=1).build()


def tco_ok_two_parallel_calls() -> History:
    other = function_call("call_oslo0001", '{"city":"Oslo"}')
    builder = Builder().tool_turn(at=0.0, response_id=RID, calls=[function_call(), other])
    builder.call("start", token_out=token(0))
    outputs = [tool_output(), tool_output("call_oslo0001", "Oslo: snowing")]
    builder.tool_turn(at=2.0, response_id=FOLLOW_UP, outputs=outputs, previous=RID, text=TEXT)
    builder.call("poll", token_out=token(0, FOLLOW_UP))
    builder.call("poll", text=TEXT, token_out=None, status="completed")
    # Run in the other order, one without a call id: each call still ran once.
    builder.tool_executions = [execution("call_oslo0001", '{"city":"Oslo"}'), execution(None)]
    return builder.build()


def tco_bad_rerun_on_resume() -> History:
    return tool_loop(executions=(1, 2)).build()


def tco_bad_never_submitted() -> History:
    """The continuation token stands in for the output: the first response is polled again and again."""
    return tool_loop(submissions=0, executions=()).build()


def tco_bad_submitted_twice() -> History:
    return tool_loop(submissions=2).build()


def tco_bad_extra_run() -> History:
    builder = tool_loop()
    builder.tool_executions.append(execution(None, '{"city":"Rome"}', call=2))
    return builder.build()


def tco_unknown_out_of_sight() -> History:
    return tool_loop(executions=()).build()


@dataclass(frozen=True)
class Case:
    check: str
    fixture: Callable[[], History]
    status: Status
    needle: str = ""
    """Text the verdict's measured value and details must hold."""

    @property
    def id(self) -> str:
        return f"{self.check}:{self.fixture.__name__}"


# --- issue 11: the whole of null-means-done and timeout; sequence-dedupe; unwritable tokens ------------------


def nmd_bad_terminal_update_keeps_token() -> History:
    """The stream ends the response, but the terminal update still carries a token (only the call is null)."""
    builder = Builder().create(stream=True)
    updates = [*opening(), *deltas(PIECES, 3), ("", token(3 + len(PIECES)), "response.completed")]
    return builder.call("start", stream=True, updates=updates, token_out=None, status="completed").build()


def nmd_bad_dropped_with_null() -> History:
    """The connection dropped mid-stream; the agent hands back a null token while the response still runs."""
    builder = Builder().create(stream=True)
    updates = [*opening(), *deltas(PIECES[:CUT], 3)]
    return builder.call("start", stream=True, updates=updates, token_out=None, error="stream dropped").build()


def nmd_ok_dropped_keeps_token() -> History:
    builder = Builder().create(stream=True).stream_get(at=1.0, starting_after=LAST_BEFORE_CUT)
    updates = [*opening(), *deltas(PIECES[:CUT], 3)]
    builder.call("start", stream=True, updates=updates, error="stream dropped")
    return builder.call("resume", stream=True, updates=deltas(PIECES[CUT:], LAST_BEFORE_CUT + 1, end=True)).build()


def timeout_bad_null_token() -> History:
    builder = Builder().create(at=0.0).polls((1.0, 2.0, 4.0, 8.0))
    builder.call("start", token_out=token(0))
    return builder.call("self-poll", error="timed out", token_out=None, asked={"max_polls": 4}).build()


def deadline_polls(gaps: tuple[float, ...]) -> History:
    """A self-poll asked for at most 8 polls within 10 s, on a response that never finishes."""
    builder = Builder().create(at=0.0).request("MARK", SELF_POLL_MARK, at=0.0, status=None).polls(gaps)
    builder.call("start", token_out=token(0))
    asked = {"max_polls": 8, "deadline_seconds": 10.0}
    builder.call("self-poll", error="timed out", token_out=token(0), asked=asked)
    # The call lasted as long as its polls did.
    history = builder.build()
    last = history.calls[-1]
    calls = (*history.calls[:-1], replace(last, ended_at=last.started_at + sum(gaps)))
    return replace(history, calls=calls)


def timeout_ok_deadline() -> History:
    return deadline_polls((1.0, 2.0, 4.0))


def timeout_bad_past_deadline() -> History:
    return deadline_polls((1.0, 2.0, 4.0, 8.0, 16.0))


def with_fault(builder: Builder, fault: str) -> Builder:
    builder.journal[-1]["faults"].append(fault)
    return builder


def dedupe_ok_repeat_dropped() -> History:
    builder = with_fault(Builder().create(stream=True), "sequence_repeat(at_sequence=5)")
    return builder.call("start", stream=True, updates=[*opening(), *deltas(PIECES, 3, end=True)]).build()


def dedupe_bad_repeat_delivered() -> History:
    builder = with_fault(Builder().create(stream=True), "sequence_repeat(at_sequence=5)")
    pieces = [*PIECES[:3], PIECES[2], *PIECES[3:]]
    return builder.call("start", stream=True, updates=[*opening(), *deltas(pieces, 3, end=True)]).build()


def dedupe_ok_gap_reported() -> History:
    builder = with_fault(Builder().create(stream=True), "sequence_gap(at_sequence=8)")
    builder.call("start", stream=True, updates=[*opening(), *deltas(PIECES[:5], 3)], error="gap: event 8 missing")
    return builder.call("resume", stream=True, updates=deltas(PIECES[5:], 8, end=True)).build()


def dedupe_bad_gap_passed_over() -> History:
    builder = with_fault(Builder().create(stream=True), "sequence_gap(at_sequence=8)")
    pieces = [*PIECES[:5], *PIECES[6:]]
    return builder.call("start", stream=True, updates=[*opening(), *deltas(pieces, 3, end=True)]).build()


def persist_bad_unwritable() -> History:
    builder = Builder().create(at=0.0).polls([2.0])
    builder.call("start", token_out=token(0) + "\udc80").restart()
    return builder.call("poll", text=TEXT, token_out=None, status="completed").build()


def with_slow_start(history: History, seconds: float) -> History:
    """The same history, its start call taking `seconds` (an agent with that much dispatch latency)."""
    start = history.calls[0]
    return replace(history, calls=(replace(start, ended_at=start.started_at + seconds), *history.calls[1:]))


def backoff_ok_late_by_own_latency() -> History:
    """Each poll 4 s late, from an agent whose start call took 3 s: its own latency, no backoff defect."""
    return with_slow_start(self_polled(tuple(gap + 4.0 for gap in LESSON_GAPS)), 3.0)


def backoff_bad_late_beyond_latency() -> History:
    """The same lateness from an agent whose start call was quick."""
    return self_polled(tuple(gap + 4.0 for gap in LESSON_GAPS))


def backoff_bad_early_despite_latency() -> History:
    """A slow agent may be late, never early: a fixed 0.5 s interval stays a defect."""
    return with_slow_start(self_polled((0.5,) * 7), 3.0)


STALLED_GAPS = (1.0, 2.0, 4.0, 8.0, 16.0, 43.0, 30.0)
"""The lesson's gaps with the sixth 13 s late: 0.26 real seconds at the fixtures' scale, far past its slack."""


def stalled_at(history: History, ended_at: float, seconds: float) -> History:
    """The same history, in a run whose event loop stood still for `seconds` until `ended_at` (scenario time)."""
    return replace(history, stalls=(Stall(T0 + ended_at, seconds),))


def backoff_ok_late_while_stalled() -> History:
    """The late poll came when the run's loop had stood still 14 s: the machine's doing, not the poller's."""
    return stalled_at(self_polled(STALLED_GAPS), sum(STALLED_GAPS[:6]), 14.0)


def backoff_bad_late_stall_elsewhere() -> History:
    """The same lateness, with the loop's stall in the middle of the wait: no excuse for the poll."""
    return stalled_at(self_polled(STALLED_GAPS), sum(STALLED_GAPS[:5]) + 15.0, 14.0)


def timeout_ok_past_deadline_while_stalled() -> History:
    """The fourth poll and the return at 15 s, 5 s past a deadline of 10 s, while the loop stood still from 10 s."""
    return stalled_at(deadline_polls((1.0, 2.0, 4.0, 8.0)), 15.0, 5.0)


def timeout_bad_past_deadline_stall_before() -> History:
    """The same, with the loop's stall before the deadline: it cannot have made the poll late."""
    return stalled_at(deadline_polls((1.0, 2.0, 4.0, 8.0)), 9.0, 5.0)


def backoff_ok_sdk_retries_skipped() -> History:
    """A 503 retried twice by the SDK itself (x-stainless-retry-count 1, 2), 1 s apart: not the poller's waits."""
    builder = Builder().create(at=0.0)
    builder.poll(at=1.0, status=503).poll(at=2.0).poll(at=3.0)
    for entry, count in zip(builder.journal[-3:], ("0", "1", "2"), strict=True):
        entry["headers"]["x-stainless-retry-count"] = count
    builder.journal[-3]["answered_at"] = builder.journal[-3]["received_at"]
    builder.polls((2.0, 4.0, 8.0), start=3.0)
    builder.call("start", token_out=token(0))
    return builder.call("self-poll", text=TEXT, token_out=None, status="completed").build()


OK, FAIL, WARN, SKIP, UNKNOWN = Status.SUCCESS, Status.FAILURE, Status.WARNING, Status.SKIPPED, Status.UNKNOWN

CASES = [
    Case("null-means-done", nmd_ok_polls, OK, "tokens null exactly at the end"),
    Case("null-means-done", nmd_ok_stream, OK),
    Case("null-means-done", nmd_ok_failed_with_error, OK),
    Case("null-means-done", pwi_bad_second_post, OK),  # judged against the first response, not the resend
    Case("null-means-done", nmd_bad_null_then_content, FAIL, "call 0 update 0 (response.created) has a null token"),
    Case("null-means-done", nmd_bad_poll_null_partial, FAIL, f"call 3 returned a null token with 40 of {len(TEXT)}"),
    Case(
        "null-means-done", nmd_bad_completed_with_token, FAIL, "call 2 reported status completed yet returned a token"
    ),
    Case("null-means-done", no_response_created, SKIP, "no Responses API response"),
    Case("resume-exactly-once", reo_ok_exact_resume, OK, f"{len(TEXT)} chars delivered once"),
    Case("resume-exactly-once", nmd_ok_stream, OK),
    Case("resume-exactly-once", persist_ok_stream, OK),
    Case("resume-exactly-once", reo_bad_repeat, FAIL, "12 chars repeated"),
    Case("resume-exactly-once", reo_bad_repeat_straddling, FAIL, "repeated"),
    Case("resume-exactly-once", reo_bad_skip, FAIL, "12 chars skipped"),
    Case("resume-exactly-once", reo_bad_out_of_order, FAIL),
    Case("resume-exactly-once", nmd_bad_stream_null_early, FAIL, f"{len(TEXT) - 72} chars skipped"),
    Case("resume-exactly-once", reo_bad_cut_after_null, FAIL, f"{len(TEXT) - 12 * CUT} chars skipped"),
    Case("resume-exactly-once", reo_bad_foreign, FAIL, "12 chars not in the answer"),
    Case("resume-exactly-once", persist_bad_stream_replayed, FAIL, f"{12 * CUT} chars repeated"),
    Case("resume-exactly-once", nmd_ok_polls, SKIP, "no streaming call"),
    Case("backoff", backoff_ok, OK, "gaps 1.00, 2.00, 4.00, 8.00, 16.00, 30.00, 30.00 s"),
    Case("backoff", backoff_ok_jitter, OK),
    Case("backoff", backoff_ok_stream_get_not_a_poll, OK),
    Case("backoff", backoff_bad_fixed_interval, WARN, "gap 3: expected 4 s, measured 2.00 s"),
    Case("backoff", backoff_bad_no_cap, WARN, "gap 7: expected 30 s, measured 64.00 s"),
    Case("backoff", backoff_bad_cap_20, WARN, "gap 6: expected 30 s, measured 20.00 s"),
    # At the fixtures' scale of 0.02 a poll may be 2.5 s late: 8 s for 4 s is too close to call, 16 s for 8 s is not.
    Case("backoff", backoff_bad_first_wait_2, WARN, "gap 4: expected 8 s, measured 16.00 s"),
    Case("backoff", backoff_skip_harness_polls, SKIP, "the harness, not the agent"),
    Case("backoff", backoff_unknown_never_polled, UNKNOWN, "never polled"),
    Case("timeout", timeout_ok, OK, "stopped after 4 polls with: TimeoutError"),
    Case("timeout", timeout_bad_beyond_bound, WARN, "6 polls, more than the bound of 4"),
    Case("timeout", timeout_bad_no_error, WARN, "returned without an error"),
    Case("timeout", timeout_skip_no_bound, SKIP),
    Case("timeout", backoff_ok, SKIP),
    Case("token-size", size_ok_within_budget, OK),
    Case("token-size", size_ok_linear, OK, "100-700 B over 16 tokens"),
    Case("token-size", size_bad_over_budget, WARN, "largest token 1500 B exceeds the budget of 1024 B"),
    Case("token-size", size_bad_over_default_budget, WARN, "largest token 5000 B exceeds the budget of 4096 B"),
    Case("token-size", size_bad_superlinear, WARN, "faster than linearly"),
    Case("token-size", size_skip_no_token, SKIP, "no token"),
    Case("token-persistable", persist_ok_poll, OK, "continued after the restart"),
    Case("token-persistable", persist_ok_stream, OK),
    Case("token-persistable", persist_ok_failed_status, OK),
    Case("token-persistable", persist_bad_rejected, FAIL, "call 1 after the restart failed: ValueError"),
    Case("token-persistable", persist_bad_never_finished, FAIL, "never finished"),
    Case("token-persistable", persist_bad_partial, FAIL, f"50 of {len(TEXT)} chars reached the caller"),
    Case("token-persistable", persist_bad_stream_replayed, FAIL, f"{len(TEXT) + 12 * CUT} of {len(TEXT)} chars"),
    Case("token-persistable", persist_skip_no_restart, SKIP, "restart"),
    Case("token-scope", scope_ok, OK, "rejected: ValueError: not a token of this agent"),
    Case("token-scope", scope_bad_accepted, WARN, "call 1 accepted it"),
    Case("token-scope", scope_skip, SKIP, "no foreign token"),
    Case("poll-without-input", pwi_ok, OK, "1 request with input, 3 without"),
    Case("poll-without-input", pwi_ok_refused_then_accepted, OK),
    Case("poll-without-input", pwi_bad_second_post, FAIL, "request 1 POST /v1/responses sent input again"),
    Case("poll-without-input", pwi_bad_prompt_with_token, FAIL, "call 1 passed the prompt together with a token"),
    Case("poll-without-input", pwi_bad_chat_messages_resent, FAIL, "request 1 POST /v1/chat/completions sent input"),
    Case("poll-without-input", pwi_skip_no_token_call, SKIP, "no call with a token"),
    Case("poll-without-input", pwi_skip_no_input, SKIP, "no request carried input"),
    Case("immediate-completion", immediate_ok, OK, "null token and the full answer at once"),
    Case("immediate-completion", immediate_bad_token, FAIL, "returned a token although"),
    Case("immediate-completion", immediate_bad_partial, FAIL, f"the first call gave 30 of {len(TEXT)} chars"),
    Case("immediate-completion", immediate_bad_raised, FAIL, "the first call raised: KeyError"),
    Case("immediate-completion", immediate_skip_deferred, SKIP, "did not finish the response at once"),
    Case("terminal-honesty", honesty_ok_error, OK, "error='response failed"),
    Case("terminal-honesty", honesty_ok_status, OK, "status='failed'"),
    Case("terminal-honesty", honesty_ok_incomplete_partial, OK, "status='incomplete'"),
    Case("terminal-honesty", honesty_bad_empty_success, FAIL, "reported as success: status=None, no error, 0 chars"),
    Case("terminal-honesty", honesty_bad_cancelled_as_completed, FAIL, "reported as success: status='completed'"),
    Case("terminal-honesty", honesty_bad_never_reported, FAIL, "still returned a token"),
    Case("terminal-honesty", honesty_skip_completed, SKIP, "the response ended completed"),
    Case("tool-call-once", tco_ok_polled, OK, f"ran 1x (instance 0 call 1), output submitted 1x in {FOLLOW_UP}"),
    Case("tool-call-once", tco_ok_matched_by_arguments, OK, "ran 1x"),
    Case("tool-call-once", tco_ok_after_a_restart, OK, "ran 1x (instance 1 call 1)"),
    Case("tool-call-once", tco_ok_two_parallel_calls, OK, "call_oslo0001 get_weather"),
    Case("tool-call-once", tco_bad_rerun_on_resume, FAIL, f"{CALL_ID}: ran 2 times"),
    Case("tool-call-once", tco_bad_never_submitted, FAIL, f"{CALL_ID}: output submitted 0 times"),
    Case("tool-call-once", tco_bad_submitted_twice, FAIL, f"{CALL_ID}: output submitted 2 times"),
    Case("tool-call-once", tco_bad_extra_run, FAIL, 'an extra run of get_weather({"city":"Rome"})'),
    Case("tool-call-once", tco_unknown_out_of_sight, UNKNOWN, "the harness's tool never ran"),
    Case("tool-call-once", nmd_ok_polls, SKIP, "the model called no tool"),
    # The final answer of a tool loop is the last turn's text: the other checks judge it, not the call.
    Case("null-means-done", tco_ok_polled, OK, "tokens null exactly at the end"),
    Case("token-persistable", tco_ok_polled, SKIP, "restart"),
    Case("null-means-done", nmd_bad_terminal_update_keeps_token, FAIL, "the update that ends a response carries null"),
    Case("null-means-done", nmd_bad_dropped_with_null, FAIL, "with a null token while the operation still ran"),
    Case("null-means-done", nmd_ok_dropped_keeps_token, OK),
    Case("timeout", timeout_bad_null_token, WARN, "handed back a null token"),
    Case("timeout", timeout_ok_deadline, OK, "stopped after 3 polls"),
    Case("timeout", timeout_bad_past_deadline, WARN, "2 polls after the deadline of 10 s, the first at 15.0 s"),
    Case("backoff", backoff_ok_late_while_stalled, OK, "gap 6 (43.00 s for 30 s, 14.00 s of them stalled) late by no"),
    Case("backoff", backoff_bad_late_stall_elsewhere, WARN, "gap 6: expected 30 s, measured 43.00 s"),
    Case("timeout", timeout_ok_past_deadline_while_stalled, OK, "stopped after 4 polls"),
    Case(
        "timeout",
        timeout_bad_past_deadline_stall_before,
        WARN,
        "1 polls after the deadline of 10 s, the first at 15.0 s",
    ),
    Case("sequence-dedupe", dedupe_ok_repeat_dropped, OK),
    Case("sequence-dedupe", dedupe_bad_repeat_delivered, WARN, "a repeated event was delivered again"),
    Case("sequence-dedupe", dedupe_ok_gap_reported, OK),
    Case("sequence-dedupe", dedupe_bad_gap_passed_over, WARN, "passed over silently"),
    Case("sequence-dedupe", nmd_ok_stream, SKIP, "neither repeated nor skipped"),
    Case("token-persistable", persist_bad_unwritable, FAIL, "cannot be written down: a lone surrogate at char"),
    Case("backoff", backoff_ok_late_by_own_latency, OK),
    Case("backoff", backoff_bad_late_beyond_latency, WARN, "gap 1: expected 1 s, measured 5.00 s"),
    Case("backoff", backoff_bad_early_despite_latency, WARN, "gap 2: expected 2 s, measured 0.50 s"),
    Case("backoff", backoff_ok_sdk_retries_skipped, OK, "gaps 1.00, 2.00, 4.00, 8.00 s"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_check_verdict(case: Case) -> None:
    result = judge(case.check, case.fixture())
    assert (result.id, result.status) == (case.check, case.status), result
    assert case.needle in f"{result.measured} | {result.details}", result


def test_every_check_has_a_passing_and_a_failing_fixture() -> None:
    assert len(CHECKS) == 12
    for check_id, check in CHECKS.items():
        statuses = {case.status for case in CASES if case.check == check_id}
        broken = Status.WARNING if check_id in SHOULD_CHECKS else Status.FAILURE
        assert {Status.SUCCESS, broken, Status.SKIPPED} <= statuses, check_id
        assert check.level is (Level.SHOULD if check_id in SHOULD_CHECKS else Level.MUST), check_id


def test_fixture_pieces_are_unambiguous() -> None:
    assert "".join(PIECES) == TEXT
    assert all(TEXT.count(piece) == 1 for piece in PIECES)


# --- evidence: what a report quotes must name the fault ----------------------------------


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [(reo_bad_repeat, "repeat"), (reo_bad_skip, "skip"), (reo_bad_foreign, "foreign"), (reo_bad_out_of_order, "skip")],
)
def test_resume_evidence_names_the_fault(fixture: Callable[[], History], kind: str) -> None:
    result = judge("resume-exactly-once", fixture())
    assert any(f" {kind} [" in line for line in result.evidence), result.evidence


def delivery_lines(result: CheckResult) -> list[str]:
    """The evidence lines that quote delivered (or missed) text, as opposed to requests."""
    return [line for line in result.evidence if line.startswith("call ")]


def test_resume_evidence_points_at_the_resume_call() -> None:
    result = judge("resume-exactly-once", reo_bad_repeat())
    start, end = len("".join(PIECES[: CUT - 1])), len("".join(PIECES[:CUT]))
    assert delivery_lines(result) == [f"call 1 update 0 repeat [{start}:{end}] {PIECES[CUT - 1]!r}"]


def test_resume_exact_quotes_no_delivered_text() -> None:
    result = judge("resume-exactly-once", reo_ok_exact_resume())
    assert result.status is Status.SUCCESS
    assert delivery_lines(result) == []


def test_null_means_done_stops_at_the_first_null_of_a_stream() -> None:
    """Two null tokens before content in one stream make one problem, not two."""
    builder = Builder().create(stream=True)
    updates = [("", None, "response.created"), ("", None, "response.queued"), *deltas(PIECES, 2, end=True)]
    result = judge("null-means-done", builder.call("start", stream=True, updates=updates).build())
    assert result.status is Status.FAILURE
    assert result.measured.count("has a null token") == 1, result.measured


def test_backoff_evidence_lists_every_request() -> None:
    result = judge("backoff", backoff_ok())
    assert len(result.evidence) == 1 + len(LESSON_GAPS)
    assert result.evidence[0] == "POST /v1/responses at +0.00 s -> 200"
    assert result.evidence[-1] == f"GET /v1/responses/{RID} at +{sum(LESSON_GAPS):.2f} s -> 200"


def test_backoff_flags_only_the_gaps_that_are_off() -> None:
    result = judge("backoff", backoff_bad_cap_20())
    assert result.details == ("gap 6: expected 30 s, measured 20.00 s; gap 7: expected 30 s, measured 20.00 s"), (
        result.details
    )


# --- checks once found to disagree with the rule (fixed; kept as regressions) ---------------


def test_null_means_done_stream_null_before_the_whole_answer() -> None:
    assert judge("null-means-done", nmd_bad_stream_null_early()).status is Status.FAILURE


def test_token_persistable_failed_ending_raised_honestly() -> None:
    assert judge("token-persistable", persist_ok_failed_error()).status is Status.SUCCESS


def test_token_size_linear_in_each_stream() -> None:
    assert judge("token-size", size_ok_linear_per_stream()).status is Status.SUCCESS


def test_resume_straddling_repeat_reports_no_skip() -> None:
    result = judge("resume-exactly-once", reo_bad_repeat_straddling())
    assert result.status is Status.FAILURE
    assert result.measured.startswith("4 chars repeated"), result.measured
    assert "skip" not in result.measured, result.measured


# --- histories round-trip ----------------------------------------------------------------


def rich_history() -> History:
    """Everything a history holds: retries, streams, a cut, a restart, a resume, a foreign token, errors."""
    builder = Builder(final_status="incomplete", token_budget_bytes=2048).create(at=0.0, status=503)
    builder.create(at=0.4, stream=True)
    builder.call("start", stream=True, updates=[*opening(), *deltas(PIECES[:CUT], 3)], cut=True)
    builder.restart().stream_get(at=3.0, starting_after=LAST_BEFORE_CUT)
    builder.call("resume", stream=True, updates=deltas(PIECES[CUT:8], LAST_BEFORE_CUT + 1))
    builder.call("poll", text="", token_out=None, status="incomplete")
    builder.call("foreign-token", token_in=FOREIGN_TOKEN, error="ValueError: not a token of this agent")
    builder.journal[0]["faults"] = ["http_error status=503"]
    builder.journal[0]["headers"]["x-stainless-retry-count"] = "0"
    return builder.build()


def test_history_round_trips_through_as_dict() -> None:
    history = rich_history()
    assert History.from_dict(history.as_dict()) == history


def test_history_round_trips_through_json() -> None:
    history = rich_history()
    again = History.from_dict(json.loads(json.dumps(history.as_dict())))
    assert again == history
    assert again.calls[1].updates[0].token == token(LAST_BEFORE_CUT + 1)
    assert [judge(check_id, again) for check_id in CHECKS] == [judge(check_id, history) for check_id in CHECKS]


def test_history_with_tool_runs_round_trips_and_a_version_2_history_reads_without_them() -> None:
    history = tco_ok_two_parallel_calls()
    again = History.from_dict(json.loads(json.dumps(history.as_dict())))
    assert again == history and again.tool_executions[0].call_id == "call_oslo0001"
    data = history.as_dict()
    data["version"] = 2
    del data["tool_executions"]
    assert History.from_dict(data).tool_executions == ()


def test_a_conversation_is_the_main_response_and_its_continuations() -> None:
    from harness.conformance.delivery import answer_response_id, conversation_ids, main_response_id

    builder = tool_loop(submissions=2)
    builder.create(at=9.0, response_id="resp_unrelated")  # a resend: not part of the conversation
    history = builder.build()
    assert main_response_id(history) == RID
    assert conversation_ids(history) == [RID, FOLLOW_UP, f"{FOLLOW_UP}-2"]
    assert answer_response_id(history) == f"{FOLLOW_UP}-2"
    assert conversation_ids(nmd_ok_polls()) == [RID]


def test_history_from_another_version_is_refused() -> None:
    data = rich_history().as_dict()
    data["version"] = 1
    with pytest.raises(ValueError, match="version 1"):
        History.from_dict(data)


# --- backoff: Retry-After and the named patterns -------------------------------------------


def after_a_429(wait: float) -> History:
    """Poll 1 gets a 429 asking for 20 s; the next poll comes `wait` s later; backoff then goes on (2, 4)."""
    builder = Builder().create(at=0.0)
    builder.poll(at=1.0, status=429)
    builder.journal[-1]["retry_after_seconds"] = 20.0
    builder.polls((wait, 2.0, 4.0), start=1.0)
    builder.call("start", token_out=token(0))
    return builder.call("self-poll", text=TEXT, token_out=None, status="completed").build()


def test_backoff_honours_retry_after() -> None:
    assert judge("backoff", after_a_429(20.0)).status is Status.SUCCESS


def test_backoff_flags_a_poll_sooner_than_retry_after() -> None:
    result = judge("backoff", after_a_429(5.0))
    assert result.status is Status.WARNING
    assert "came 5.00 s after a 429 that asked for 20 s" in result.details


@pytest.mark.parametrize(
    ("fixture", "pattern"),
    [
        (backoff_ok, "doubling from 1 s capped at 30 s"),
        (backoff_ok_jitter, "doubling from 1 s capped at 30 s"),
        (backoff_bad_fixed_interval, "a fixed interval of about 2.0 s"),
        (backoff_bad_no_cap, "no cap at 30 s"),
        (backoff_bad_cap_20, "a cap of about 20 s instead of 30 s"),
        (backoff_bad_first_wait_2, "a first wait of 2.0 s instead of 1 s"),
    ],
)
def test_backoff_names_the_pattern_it_measured(fixture, pattern: str) -> None:
    assert pattern in judge("backoff", fixture()).measured


def one_wait_at_a_tenth(gap: float) -> History:
    """A poller's one wait of its own before the SDK takes over, in a run at a time scale of 0.1 (pydantic-ai's
    fixed 2 s interval in self-poll-server-error: its report saw 2.14 s once and 2.25 s the next time)."""
    return replace(self_polled((gap,)), time_scale=0.1)


@pytest.mark.parametrize("gap", [1.9, 2.14, 2.25, 2.5])
def test_backoff_does_not_call_a_wait_the_run_cannot_tell_from_twice_it(gap: float) -> None:
    # At 0.1 a poll may come 0.5 s late: a bound between 1 s and 2 s would be crossed by the machine's load.
    result = judge("backoff", one_wait_at_a_tenth(gap))
    assert result.status is Status.SUCCESS, result
    assert "this run cannot tell such a wait from twice it" in result.measured


def test_backoff_still_calls_a_wait_longer_than_twice_the_expected_and_the_allowance() -> None:
    assert judge("backoff", one_wait_at_a_tenth(3.5)).status is Status.WARNING


def test_backoff_judges_a_doubled_first_wait_where_the_run_can_tell() -> None:
    assert judge("backoff", replace(self_polled((2.0,)), time_scale=1.0)).status is Status.WARNING
    assert judge("backoff", replace(self_polled((1.02,)), time_scale=1.0)).status is Status.SUCCESS


# --- a step the agent could not do ----------------------------------------------------------


def stopped_before_restart(history: History) -> History:
    """The same calls, then the script stopped: the agent cannot restart."""
    return replace(history, stopped=Stopped(1, "restart", "no process to restart"))


def test_a_check_that_needs_the_step_the_agent_could_not_do_is_skipped() -> None:
    result = judge("token-persistable", stopped_before_restart(nmd_ok_stream()))
    assert result.status is Status.SKIPPED
    assert result.details == "agent cannot: restart: no process to restart"


def test_a_failure_before_the_step_the_agent_could_not_do_still_fails() -> None:
    # The verdict comes from the calls recorded before the script stopped; the stop excuses nothing else.
    bad = nmd_bad_null_then_content()
    assert judge("null-means-done", stopped_before_restart(bad)).status is Status.FAILURE
    assert judge("null-means-done", stopped_before_restart(nmd_ok_stream())).status is Status.SUCCESS


def test_a_stop_survives_the_round_trip_and_is_judged_the_same() -> None:
    history = stopped_before_restart(nmd_bad_null_then_content())
    again = History.from_dict(json.loads(json.dumps(history.as_dict())))
    assert again == history
    assert [judge(check_id, again) for check_id in CHECKS] == [judge(check_id, history) for check_id in CHECKS]
