"""Faults over real sockets, seen by the real `openai` SDK and `agent-framework`."""

from __future__ import annotations

import asyncio
import json
import socket

import openai
import pytest
from openai import OpenAI

from harness.conformance.mock_admin import MockAdmin, MockAdminError
from mock_server import ServerConfig, ServerThread
from mock_server.rules import decode_rule
from tests.conftest import FAST_BACKGROUND
from tests.raw_http import send
from tests.wire.test_responses_api import deltas, poll_until_terminal


def rule(**data) -> object:
    return decode_rule(data)


def sdk(mock: ServerThread, **options) -> OpenAI:
    return OpenAI(
        base_url=mock.base_url, api_key="k", _strict_response_validation=True, **{"max_retries": 0, **options}
    )


def test_dropped_stream_raises_in_the_sdk_and_resumes_exactly(start_mock) -> None:
    drop = rule(match={"input_contains": "[drop]"}, times=1, faults=[{"type": "drop_after_events", "events": 9}])
    mock = start_mock(ServerConfig(background=FAST_BACKGROUND, answer_tokens=24))
    mock.call(lambda: mock.server.state.rules.add(drop))
    with sdk(mock) as client:
        received = []
        with pytest.raises(openai.APIConnectionError):
            for event in client.responses.create(model="gpt-4o", input="[drop] now", background=True, stream=True):
                received.append(event)
        assert len(received) == 9
        response_id = received[0].response.id
        rest = list(client.responses.retrieve(response_id, stream=True, starting_after=received[-1].sequence_number))

    assert [e.sequence_number for e in received + rest] == list(range(len(received) + len(rest)))
    assert deltas(received + rest) == mock.ground_truth(response_id)["text"]
    assert any("drop_after_events" in fault for fault in mock.journal()[0].faults)


def test_429_with_retry_after_is_retried_by_the_sdk(start_mock) -> None:
    limited = rule(
        match={"path": "/v1/responses"}, times=1, faults=[{"type": "http_error", "status": 429, "retry_after": 1}]
    )
    mock = start_mock()
    mock.call(lambda: mock.server.state.rules.add(limited))
    with sdk(mock, max_retries=2) as client:
        response = client.responses.create(model="gpt-4o", input="Rate limited once.")
    assert response.status == "completed"
    first, second = mock.journal()
    assert (first.status, first.headers["x-stainless-retry-count"]) == (429, "0")
    assert (second.status, second.headers["x-stainless-retry-count"]) == (200, "1")
    # The SDK honoured Retry-After: the retry came no sooner than a second later.
    assert second.received_at - first.received_at >= 1.0


@pytest.mark.parametrize(
    ("fault", "status", "terminal_event"),
    [
        ({"type": "fail", "after_deltas": 3, "message": "boom"}, "failed", "response.failed"),
        ({"type": "incomplete", "after_deltas": 5}, "incomplete", "response.incomplete"),
    ],
)
def test_failed_and_incomplete_through_polling_and_streaming(start_mock, fault, status, terminal_event) -> None:
    mock = start_mock()
    mock.call(lambda: mock.server.state.rules.add(rule(match={"input_contains": "[end]"}, faults=[fault])))
    with sdk(mock) as client:
        created = client.responses.create(model="gpt-4o", input="[end] polled", background=True)
        final, _ = poll_until_terminal(client, created.id)
        events = list(client.responses.create(model="gpt-4o", input="[end] streamed", background=True, stream=True))

    assert final.status == status
    assert events[-1].type == terminal_event and events[-1].response.status == status
    if status == "failed":
        assert final.error.code == "server_error" and final.error.message == "boom"
        assert len(deltas(events)) > 0 and "response.completed" not in {e.type for e in events}
    else:
        assert final.incomplete_details.reason == "max_output_tokens"
        assert final.output_text == mock.ground_truth(created.id)["text"]
        assert deltas(events) == events[-1].response.output_text
        assert len([e for e in events if e.type == "response.output_text.delta"]) == 5


def test_one_byte_writes_are_reassembled_by_the_sdk(start_mock) -> None:
    mock = start_mock()
    with sdk(mock) as client:
        sliced = list(
            client.responses.create(
                model="gpt-4o",
                input="Slice me.",
                stream=True,
                extra_headers={"X-Bgr-Faults": json.dumps([{"type": "slice_writes", "size": 1}])},
            )
        )
    truth = mock.ground_truth(sliced[0].response.id)
    assert [(e.type, e.sequence_number) for e in sliced] == [(e["type"], e["sequence_number"]) for e in truth["events"]]
    assert deltas(sliced) == truth["text"]


def test_drop_mid_event_leaves_no_partial_event_in_the_sdk(start_mock) -> None:
    mock = start_mock()
    header = json.dumps([{"type": "drop_after_bytes", "bytes": 1500}])
    with sdk(mock) as client:
        received = []
        with pytest.raises(openai.APIConnectionError):
            for event in client.responses.create(
                model="gpt-4o", input="Bytes.", background=True, stream=True, extra_headers={"X-Bgr-Faults": header}
            ):
                received.append(event)
    assert received and [e.sequence_number for e in received] == list(range(len(received)))


def test_reset_is_a_connection_error(start_mock) -> None:
    mock = start_mock()
    header = json.dumps([{"type": "reset", "after_events": 2}])
    with sdk(mock) as client, pytest.raises(openai.APIConnectionError):
        list(
            client.responses.create(model="gpt-4o", input="Reset.", stream=True, extra_headers={"X-Bgr-Faults": header})
        )


def test_sequence_gap_and_repeat_reach_the_wire(mock: ServerThread) -> None:
    body = {"model": "gpt-4o", "input": "Gaps.", "background": True, "stream": True}
    faults = [{"type": "sequence_gap", "at_sequence": 6}, {"type": "sequence_repeat", "at_sequence": 8}]
    raw = send("POST", f"{mock.base_url}/responses", json_body=body, headers={"X-Bgr-Faults": json.dumps(faults)}).body
    numbers = [json.loads(line[6:])["sequence_number"] for line in raw.split(b"\n") if line.startswith(b"data: ")]
    assert 6 not in numbers and numbers.count(8) == 2
    assert numbers[:6] == list(range(6))


def test_expired_cursor_gets_openai_400(start_mock) -> None:
    mock = start_mock()
    mock.call(lambda: mock.server.state.rules.add(rule(faults=[{"type": "expire_cursors", "max_age_seconds": 0}])))
    with sdk(mock) as client:
        created = client.responses.create(model="gpt-4o", input="Old cursor.", background=True)
        poll_until_terminal(client, created.id)
        with pytest.raises(openai.BadRequestError) as raised:
            list(client.responses.retrieve(created.id, stream=True, starting_after=2))
        assert "old" in raised.value.message and raised.value.body["param"] == "starting_after"
        # Without a cursor there is nothing to expire: the full replay works.
        assert list(client.responses.retrieve(created.id, stream=True))[-1].type == "response.completed"


def test_background_paced_by_polls(start_mock) -> None:
    mock = start_mock()
    paced = rule(faults=[{"type": "background", "queued_polls": 2, "in_progress_polls": 3}])
    mock.call(lambda: mock.server.state.rules.add(paced))
    with sdk(mock) as client:
        created = client.responses.create(model="gpt-4o", input="Polls.", background=True)
        statuses = [client.responses.retrieve(created.id).status for _ in range(7)]
    assert created.status == "queued"
    assert statuses == ["queued", "queued", "in_progress", "in_progress", "in_progress", "completed", "completed"]


def test_slow_answer_and_hang_on_polls(start_mock) -> None:
    mock = start_mock()
    hang = rule(match={"method": "GET"}, times=1, faults=[{"type": "hang", "seconds": 0.1}])
    mock.call(lambda: mock.server.state.rules.add(hang))
    with sdk(mock) as client:
        created = client.responses.create(model="gpt-4o", input="Hang once.")
        with pytest.raises(openai.APIConnectionError):
            client.responses.retrieve(created.id)
        assert client.responses.retrieve(created.id).status == "completed"
    assert [entry.status for entry in mock.journal()] == [200, None, 200]


def test_rules_over_the_admin_api(mock: ServerThread) -> None:
    spec = {"name": "flaky", "match": {"model": "m"}, "times": 2, "faults": [{"type": "http_error", "status": 503}]}
    added = send("POST", f"{mock.url}/_bgr/rules", json_body=spec).json()
    assert added["id"] == 1 and added["faults"][0]["type"] == "http_error"
    statuses = [
        send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "x"}).status for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert send("GET", f"{mock.url}/_bgr/rules").json()["rules"][0]["applied"] == 2
    bad = send("POST", f"{mock.url}/_bgr/rules", json_body={"faults": [{"type": "slow", "jitter": 9}]})
    assert bad.status == 400 and bad.json()["error"]["param"] == "rule.faults[0].jitter"
    assert send("DELETE", f"{mock.url}/_bgr/rules/1").status == 200
    assert send("DELETE", f"{mock.url}/_bgr/rules/1").status == 404


def test_rules_in_batches_over_the_admin_api(mock: ServerThread) -> None:
    """Several rules in one POST (all decoded before any is added), several ids in one DELETE."""
    assert send("GET", f"{mock.url}/_bgr/health").json()["rule_batches"] is True
    slow = {"faults": [{"type": "slow", "first_token_seconds": 0.01}]}
    added = send("POST", f"{mock.url}/_bgr/rules", json_body={"rules": [slow, {"name": "two", **slow}]}).json()
    assert [rule["id"] for rule in added["rules"]] == [1, 2] and added["rules"][1]["name"] == "two"
    bad = send("POST", f"{mock.url}/_bgr/rules", json_body={"rules": [slow, {"faults": [{"type": "nope"}]}]})
    assert bad.status == 400 and bad.json()["error"]["param"] == "rules[1].faults[0].type"
    assert send("POST", f"{mock.url}/_bgr/rules", json_body={"rules": slow}).json()["error"]["param"] == "rules"
    assert [rule["id"] for rule in send("GET", f"{mock.url}/_bgr/rules").json()["rules"]] == [1, 2]
    assert send("DELETE", f"{mock.url}/_bgr/rules/1,2").json() == {"ids": [1, 2], "deleted": True}
    assert send("GET", f"{mock.url}/_bgr/rules").json()["rules"] == []
    send("POST", f"{mock.url}/_bgr/rules", json_body=slow)
    missing = send("DELETE", f"{mock.url}/_bgr/rules/3,9")
    assert missing.status == 404 and "'9'" in missing.json()["error"]["message"]
    assert send("GET", f"{mock.url}/_bgr/rules").json()["rules"] == []  # the one that existed went
    assert send("DELETE", f"{mock.url}/_bgr/rules/3,x").status == 400


async def test_the_harness_adds_and_removes_a_scenarios_rules_together(mock: ServerThread) -> None:
    rules = [decode_rule({"name": name, "faults": [{"type": "slow", "first_token_seconds": 0.01}]}) for name in "abc"]
    async with MockAdmin(mock.url) as admin:
        ids = await admin.add_rules(rules)
        held = await asyncio.to_thread(lambda: mock.call(lambda: mock.server.state.rules.rules()))
        assert [(rule.id, rule.name) for rule in held] == list(zip(ids, "abc", strict=True))
        (single,) = await admin.add_rules(rules[:1])
        await admin.delete_rules([*ids, single])
        assert await asyncio.to_thread(lambda: mock.call(lambda: mock.server.state.rules.rules())) == []
        with pytest.raises(MockAdminError, match="404"):
            await admin.delete_rules(ids[:2])


def test_bad_fault_header_is_400(mock: ServerThread) -> None:
    reply = send(
        "POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "x"}, headers={"X-Bgr-Faults": "{"}
    )
    assert reply.status == 400 and "X-Bgr-Faults" in reply.json()["error"]["message"]


def test_faults_are_off_unless_asked(mock: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", mock.server.port)):
        pass
    send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "x"})
    assert mock.journal()[-1].faults == []
