"""The order of concurrent scenarios, and which journal entries are a scenario's own (no network)."""

from __future__ import annotations

from typing import Any

from harness.conformance.caller import FOREIGN_TOKEN
from harness.conformance.journal_scope import own_entries, response_id_in
from harness.conformance.scenarios import discover, script_of
from harness.conformance.schedule import Plan, concurrent_plan, estimated_seconds

SCENARIOS = discover()
BY_ID = {scenario.id: scenario for scenario in SCENARIOS}


def test_the_plan_plays_every_scenario_once_the_timed_ones_first_and_the_longest_first() -> None:
    plan = concurrent_plan(SCENARIOS)
    order = [*plan.timed, *plan.rest]
    assert sorted(order) == list(range(len(SCENARIOS)))
    timed = [SCENARIOS[i] for i in plan.timed]
    self_polling = {s.id for s in SCENARIOS if any(step.kind == "self-poll" for step in script_of(s).steps)}
    assert {s.id for s in timed} == self_polling and {"three-capped-polls", "self-poll-timeout"} <= self_polling
    assert timed[0].id == "three-capped-polls"  # the longest first
    durations = [estimated_seconds(s) for s in timed]
    assert durations == sorted(durations, reverse=True)
    rest = [estimated_seconds(SCENARIOS[i]) for i in plan.rest]
    assert rest == sorted(rest, reverse=True) and rest[0] > 0
    assert concurrent_plan([]) == Plan((), ())


def test_estimates_follow_the_backend_and_the_poller() -> None:
    assert estimated_seconds(BY_ID["three-capped-polls"]) == 120  # 60 s queued, 60 s in progress
    assert estimated_seconds(BY_ID["self-poll-timeout"]) == 15  # held for ever, but 4 polls: 1 + 2 + 4 + 8 s
    assert estimated_seconds(BY_ID["rate-limited-poll"]) == 1  # a Retry-After of 1 s
    assert estimated_seconds(BY_ID["cut-mid-delta"]) == 0


def entry(index: int, method: str, path: str, response_id: str | None = None, **body: Any) -> dict[str, Any]:
    return {"index": index, "method": method, "path": path, "response_id": response_id, "body": body}


def test_a_scenario_keeps_its_own_entries_of_an_interleaved_journal() -> None:
    mine, theirs = "[bgr:a:1]", "[bgr:b:2]"
    journal = [
        entry(0, "POST", "/v1/responses", None, input_preview=f"Hi {mine}"),  # refused: no id, but its input
        entry(1, "POST", "/v1/responses", "resp_a", input_preview=f"Hi {mine}"),
        entry(2, "POST", "/v1/responses", "resp_b", input_preview=f"Hi {theirs}"),
        entry(3, "MARK", "self-poll asked"),
        entry(4, "GET", "/v1/responses/resp_b", "resp_b"),
        entry(5, "GET", "/v1/responses/resp_a", "resp_a"),
        entry(6, "MARK", "self-poll asked"),
        entry(7, "GET", "/v1/responses/resp_foreign0001", "resp_foreign0001"),
        entry(8, "POST", "/v1/chat/completions", None, messages_preview=f"[{{'content': 'Hi {mine}'}}]"),
    ]
    kept = own_entries(journal, mine, marks={6})
    assert [e["index"] for e in kept] == [0, 1, 5, 6, 8]
    assert [e["index"] for e in own_entries(journal, theirs, marks={3})] == [2, 3, 4]
    foreign = response_id_in(FOREIGN_TOKEN)
    assert foreign == "resp_foreign0001"
    assert [e["index"] for e in own_entries(journal, mine, {6}, [foreign])] == [0, 1, 5, 6, 7, 8]


def test_a_tool_loop_follow_up_is_kept_by_what_it_continues() -> None:
    """A follow-up's input is only the tool's output (no marker): its previous_response_id makes it this one's."""
    mine, theirs = "[bgr:a:1]", "[bgr:b:2]"
    journal = [
        entry(0, "POST", "/v1/responses", "resp_a", input_preview=f"Hi {mine}"),
        entry(1, "POST", "/v1/responses", "resp_b", input_preview=f"Hi {theirs}"),
        entry(2, "POST", "/v1/responses", "resp_a2", previous_response_id="resp_a", input_preview="[{'call_id': ...}]"),
        entry(3, "POST", "/v1/responses", "resp_b2", previous_response_id="resp_b", input_preview="[{'call_id': ...}]"),
        entry(4, "GET", "/v1/responses/resp_a2", "resp_a2"),
        entry(5, "POST", "/v1/responses", "resp_a3", previous_response_id="resp_a2"),
        entry(6, "POST", "/v1/responses", None, previous_response_id="resp_a3"),  # refused: kept by what it continues
    ]
    assert [e["index"] for e in own_entries(journal, mine, set())] == [0, 2, 4, 5, 6]
    assert [e["index"] for e in own_entries(journal, theirs, set())] == [1, 3]


def test_a_preview_cut_inside_the_marker_still_names_its_scenario() -> None:
    marker = "[bgr:a-long-scenario-id:0123abcd]"

    def create(prompt_chars: int) -> dict[str, Any]:
        return entry(0, "POST", "/v1/responses", "resp_a", input_preview=("p" * prompt_chars + marker)[:200])

    assert len(own_entries([create(170)], marker, set())) == 1  # cut inside the nonce
    # Cut inside the id: it could be another scenario's whose id starts the same, so it is nobody's.
    assert own_entries([create(180)], marker, set()) == ()


def test_only_a_base64_json_token_names_a_response() -> None:
    assert response_id_in("not base64!") is None
    assert response_id_in("WzFd") is None  # [1]
    assert response_id_in("eyJyZXNwb25zZUlkIjoxfQ==") is None  # {"responseId": 1}
