"""`/v1/responses`: create, poll, stream and resume, cancel, delete."""

from __future__ import annotations

import dataclasses
import zlib

from aiohttp import web

from mock_server.conversation import continue_conversation
from mock_server.errors import APIError
from mock_server.exchange import journal_entry, json_body
from mock_server.fault_engine import engage, shaped_spec, stream_filters
from mock_server.faults import Fault
from mock_server.params import ResponseParams, parse_cursor, parse_flag, parse_response_params
from mock_server.recorded import RecordedAnswer, RecordedRecipe
from mock_server.routes import json_bytes_response, json_response, recording_for
from mock_server.rules import RequestFacts
from mock_server.state import STATE, MockState
from mock_server.store import Recipe, StoredResponse
from mock_server.streaming import send_events
from mock_server.timeline import Script, TimelineSpec


async def create_response(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    params = continue_conversation(parse_response_params(json_body(request)), state.store)
    facts = RequestFacts(
        request.method, request.path, params.model, params.input_text, params.stream, params.background, creates=True
    )
    faults = await engage(request, state, facts)
    answer = None if state.recordings is None else recording_for(request, state.recordings.match)
    recipe = (
        _generated_recipe(state, params, faults) if answer is None else _recorded_recipe(state, params, faults, answer)
    )
    response_id = recipe.id
    state.remember_ids()
    response = StoredResponse.create(recipe)
    journal_entry(request).response_id = response_id
    if params.store:
        state.store.add(response)
    if params.stream:
        return await send_events(request, response.timeline.log, 0, state.clock, response, stream_filters(faults))
    if not params.background:
        await state.clock.sleep_until(response.finished_at)
    return json_bytes_response(response.snapshot_json(response.effective_now(state.clock.now())))


def _generated_recipe(state: MockState, params: ResponseParams, faults: tuple[Fault, ...]) -> Recipe:
    response_id = state.ids.next("resp_")
    length = state.config.answer_tokens
    base = TimelineSpec.from_timing(state.config.background if params.background else state.config.foreground)
    jitter_seed = zlib.crc32(f"{state.config.seed}:{response_id}".encode())
    script = Script(params, state.config.seed, length, shaped_spec(base, faults, length, jitter_seed))
    if params.tool_loop.tools or script.spec.reasoning_parts:
        # Pacing faults spread the deltas there are: tool calls and reasoning stream more or fewer than the answer.
        deltas = script.delta_count()
        if deltas != length:
            script = dataclasses.replace(script, spec=shaped_spec(base, faults, deltas, jitter_seed))
    return Recipe(id=response_id, item_id=state.ids.next("msg_"), created_at=state.clock.now(), script=script)


def _recorded_recipe(
    state: MockState, params: ResponseParams, faults: tuple[Fault, ...], answer: RecordedAnswer
) -> Recipe:
    """The recorded answer under its own id (a new one once that is taken), paced as recorded unless a fault
    reshapes its timeline."""
    response_id = answer.response_id if answer.response_id not in state.store else state.ids.next("resp_")
    base = TimelineSpec.from_timing(state.config.background if params.background else state.config.foreground)
    deltas = max(1, answer.delta_count)
    spec = shaped_spec(base, faults, deltas, zlib.crc32(f"{state.config.seed}:{response_id}".encode()))
    script = Script(params, state.config.seed, deltas, spec)
    created_at = state.clock.now()
    return RecordedRecipe(response_id, "", created_at, script, answer=answer, recorded_pace=spec == base)


async def retrieve_response(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    response = _lookup(request)
    stream = parse_flag(request.query.get("stream"), "stream")
    cursor = parse_cursor(request.query.get("starting_after"))
    age_of_cursor = None
    if stream and cursor is not None and 0 <= cursor < response.visible_events(float("inf")):
        age_of_cursor = state.clock.now() - response.visible_at(cursor)
    faults = await engage(request, state, _facts(request, response, stream), age_of_cursor)
    if not stream:
        snapshot = response.snapshot_json(response.effective_now(state.clock.now()))
        # Counted after answering, so the first `queued_polls` polls all see `queued`.
        state.store.record_poll(response)
        return json_bytes_response(snapshot)
    log = response.timeline.log
    if not response.params.background:
        raise APIError(
            400,
            "This response cannot be streamed because it was not created with background=true.",
            param="stream",
        )
    start = 0 if cursor is None else cursor + 1
    return await send_events(request, log, start, state.clock, response, stream_filters(faults))


async def cancel_response(request: web.Request) -> web.Response:
    state = request.app[STATE]
    response = _lookup(request)
    await engage(request, state, _facts(request, response, stream=False))
    if not response.params.background:
        raise APIError(400, "Only responses created with background=true can be cancelled.", param="response_id")
    now = response.effective_now(state.clock.now())
    state.store.cancel(response.id, now)
    return json_bytes_response(response.snapshot_json(now))


async def delete_response(request: web.Request) -> web.Response:
    state = request.app[STATE]
    response = _lookup(request)
    await engage(request, state, _facts(request, response, stream=False))
    state.store.delete(response.id)
    return json_response({"id": response.id, "object": "response", "deleted": True})


def _lookup(request: web.Request) -> StoredResponse:
    response_id = request.match_info["response_id"]
    journal_entry(request).response_id = response_id
    return request.app[STATE].store.get(response_id)


def _facts(request: web.Request, response: StoredResponse, stream: bool) -> RequestFacts:
    """Facts about a request on a stored response: the response's own model and input are matched."""
    params = response.params
    return RequestFacts(
        request.method, request.path, params.model, params.input_text, stream, params.background, creates=False
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/responses", create_response)
    app.router.add_get("/v1/responses/{response_id}", retrieve_response)
    app.router.add_post("/v1/responses/{response_id}/cancel", cancel_response)
    app.router.add_delete("/v1/responses/{response_id}", delete_response)
