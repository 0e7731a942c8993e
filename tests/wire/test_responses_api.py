"""The Responses API through the real `openai` SDK in strict validation mode, over real sockets."""

from __future__ import annotations

import time

import openai
import pytest
from openai import OpenAI

from mock_server import ServerConfig, ServerThread, Timing
from tests.conftest import FAST_BACKGROUND

TERMINAL = {"completed", "failed", "cancelled", "incomplete"}
BACKGROUND_ORDER = [
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
CLOSING_ORDER = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def deltas(events: list) -> str:
    return "".join(event.delta for event in events if event.type == "response.output_text.delta")


def poll_until_terminal(client: OpenAI, response_id: str, limit: int = 500) -> tuple[object, list[str]]:
    statuses = []
    for _ in range(limit):
        response = client.responses.retrieve(response_id)
        statuses.append(response.status)
        if response.status in TERMINAL:
            return response, statuses
        time.sleep(0.01)
    raise AssertionError(f"still {statuses[-1]} after {limit} polls")


def test_background_create_then_poll_to_completion(client: OpenAI, mock: ServerThread) -> None:
    created = client.responses.create(model="gpt-4o", input="Compare paradigms.", background=True)
    assert created.status == "queued"
    assert created.id.startswith("resp_")
    assert created.background is True
    assert created.output == [] and created.usage is None

    final, statuses = poll_until_terminal(client, created.id)

    assert final.status == "completed"
    assert final.output_text == mock.ground_truth(created.id)["text"]
    assert final.completed_at is not None and final.usage is not None
    assert final.usage.output_tokens == 24
    # Statuses only move forward: queued, then in_progress, then completed.
    order = ["queued", "in_progress", "completed"]
    ranks = [order.index(status) for status in statuses]
    assert ranks == sorted(ranks)


def test_background_stream_event_order_and_sequence(client: OpenAI, mock: ServerThread) -> None:
    events = list(client.responses.create(model="gpt-4o", input="Stream it.", background=True, stream=True))

    types = [event.type for event in events]
    assert types[:5] == BACKGROUND_ORDER
    assert types[-4:] == CLOSING_ORDER
    assert set(types[5:-4]) == {"response.output_text.delta"}
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].response.status == "queued"
    truth = mock.ground_truth(events[0].response.id)
    assert deltas(events) == truth["text"] == events[-1].response.output_text
    assert [event["type"] for event in truth["events"]] == types


@pytest.mark.parametrize("cut_after", [1, 5, 6, 20])
def test_stream_cut_and_resumed_with_starting_after(client: OpenAI, cut_after: int) -> None:
    """Cut after `cut_after` events (before any delta, mid-deltas), resume from the last sequence number."""
    stream = client.responses.create(model="gpt-4o", input=f"Cut at {cut_after}.", background=True, stream=True)
    first_part = []
    for event in stream:
        first_part.append(event)
        if len(first_part) == cut_after:
            break
    stream.close()
    response_id = first_part[0].response.id
    last = first_part[-1].sequence_number

    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=last))

    assert rest[0].sequence_number == last + 1
    assert [event.sequence_number for event in first_part + rest] == list(range(len(first_part) + len(rest)))
    final = client.responses.retrieve(response_id)
    assert deltas(first_part + rest) == final.output_text
    assert rest[-1].type == "response.completed"


def test_resume_twice(client: OpenAI) -> None:
    stream = client.responses.create(model="gpt-4o", input="Twice.", background=True, stream=True)
    received = [next(iter(stream)) for _ in range(3)]
    stream.close()
    response_id = received[0].response.id
    second = client.responses.retrieve(response_id, stream=True, starting_after=received[-1].sequence_number)
    for event in second:
        received.append(event)
        if event.type == "response.output_text.delta":
            break
    second.close()
    received += list(client.responses.retrieve(response_id, stream=True, starting_after=received[-1].sequence_number))

    assert [event.sequence_number for event in received] == list(range(len(received)))
    assert deltas(received) == client.responses.retrieve(response_id).output_text


def test_stream_helper_replays_and_filters_on_the_client(client: OpenAI, mock: ServerThread) -> None:
    """`responses.stream(response_id=..., starting_after=N)` sends no cursor: the server replays from 0."""
    created = client.responses.create(model="gpt-4o", input="Helper.", background=True)
    poll_until_terminal(client, created.id)
    mark = len(mock.journal())

    with client.responses.stream(response_id=created.id, starting_after=7) as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert events[0].sequence_number == 8
    assert final.output_text == mock.ground_truth(created.id)["text"]
    request = mock.journal(mark)[0]
    assert request.query == {"stream": "true"}


def test_resume_follows_the_live_tail(start_mock) -> None:
    """Resuming while the response is still generating gets the stored events, then the rest as it comes."""
    slow = Timing(queue_seconds=0.05, first_token_seconds=0.05, tokens_per_second=100.0)
    mock = start_mock(ServerConfig(background=slow, answer_tokens=30))
    with OpenAI(base_url=mock.base_url, api_key="k", _strict_response_validation=True, max_retries=0) as client:
        created = client.responses.create(model="gpt-4o", input="Live.", background=True)
        resumed = list(client.responses.retrieve(created.id, stream=True, starting_after=1))
        assert resumed[0].sequence_number == 2
        assert resumed[-1].type == "response.completed"
        assert deltas(resumed) == mock.ground_truth(created.id)["text"]


def test_foreground_create_completes_at_once(client: OpenAI, mock: ServerThread) -> None:
    response = client.responses.create(model="gpt-4o", input="Now.", instructions="Be brief.", metadata={"k": "v"})
    assert response.status == "completed"
    assert response.background is False
    assert response.instructions == "Be brief." and response.metadata == {"k": "v"}
    assert response.output_text == mock.ground_truth(response.id)["text"]
    assert client.responses.retrieve(response.id).output_text == response.output_text


def test_foreground_stream_has_no_queued_event(client: OpenAI) -> None:
    events = list(client.responses.create(model="gpt-4o", input="Now, streamed.", stream=True))
    assert events[0].type == "response.created" and events[0].response.status == "in_progress"
    assert "response.queued" not in {event.type for event in events}
    assert events[1].type == "response.in_progress"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert deltas(events) == events[-1].response.output_text


def test_streaming_a_foreground_response_is_refused(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Not background.")
    with pytest.raises(openai.BadRequestError) as raised:
        list(client.responses.retrieve(response.id, stream=True))
    assert "background" in raised.value.message


def test_cancel_is_idempotent_and_final(start_mock) -> None:
    mock = start_mock(ServerConfig(background=Timing(queue_seconds=60.0)))
    with OpenAI(base_url=mock.base_url, api_key="k", _strict_response_validation=True, max_retries=0) as client:
        created = client.responses.create(model="gpt-4o", input="Cancel me.", background=True)
        first = client.responses.cancel(created.id)
        second = client.responses.cancel(created.id)
        polled = client.responses.retrieve(created.id)
        replay = list(client.responses.retrieve(created.id, stream=True))

    assert first.status == second.status == polled.status == "cancelled"
    assert first.model_dump() == second.model_dump()
    # Cancelled while queued: the stream holds what had been released (created, queued) and ends.
    assert [event.type for event in replay] == ["response.created", "response.queued"]


def test_cancel_of_a_foreground_response_is_a_400(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Foreground.")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(response.id)


def test_delete_then_not_found(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-4o", input="Delete me.", background=True)
    raw = client.responses.with_raw_response.delete(created.id)
    assert raw.http_request.method == "DELETE"
    import json

    assert json.loads(raw.text) == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.responses.retrieve("resp_unknown"),
        lambda c: list(c.responses.retrieve("resp_unknown", stream=True, starting_after=3)),
        lambda c: c.responses.cancel("resp_unknown"),
        lambda c: c.responses.delete("resp_unknown"),
    ],
    ids=["retrieve", "stream", "cancel", "delete"],
)
def test_unknown_ids_are_404(client: OpenAI, call) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        call(client)
    assert raised.value.body["code"] is None or isinstance(raised.value.body["code"], str)
    assert "resp_unknown" in raised.value.message


def test_unstored_responses_are_not_retrievable(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="Ephemeral.", store=False)
    assert response.status == "completed" and response.output_text
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_answers_are_deterministic_per_seed(start_mock) -> None:
    def first_answer(seed: int) -> tuple[str, str]:
        mock = start_mock(ServerConfig(seed=seed, background=FAST_BACKGROUND))
        with OpenAI(base_url=mock.base_url, api_key="k", max_retries=0) as client:
            response = client.responses.create(model="gpt-4o", input="Same question.")
            return response.id, response.output_text

    assert first_answer(7) == first_answer(7)
    assert first_answer(7) != first_answer(8)
