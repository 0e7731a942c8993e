"""`/v1/chat/completions`, streamed and not: what agents that simulate background responses call.

An answer is generated (mock_server/chat_script.py) unless a cassette's recorded chat completion matches the
create (mock_server/recorded_chat.py); the same faults apply to both.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from mock_server.answer import answer_tokens, count_tokens
from mock_server.chat_script import ChatScript, chat_times, compiled_chat
from mock_server.event_log import EventLog
from mock_server.exchange import json_body
from mock_server.fault_engine import engage, shaped_spec, stream_filters
from mock_server.faults import Fault
from mock_server.objects import chat_completion
from mock_server.params import ChatParams, parse_chat_params
from mock_server.recorded_chat import RecordedChat
from mock_server.routes import recording_for
from mock_server.rules import RequestFacts
from mock_server.state import STATE
from mock_server.streaming import send_events
from mock_server.timeline import TimelineSpec


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    params = parse_chat_params(json_body(request))
    facts = RequestFacts(request.method, request.path, params.model, params.input_text, params.stream, None, True)
    faults = await engage(request, state, facts)
    recorded = None if state.recordings is None else recording_for(request, state.recordings.match_chat)
    now = state.clock.now()
    completion_id = state.ids.next("chatcmpl-")
    state.remember_ids()
    if recorded is not None:
        return await _replay(request, params, faults, recorded, completion_id, now)
    spec = shaped_spec(TimelineSpec.from_timing(state.config.foreground), faults, state.config.answer_tokens, 0)
    if not params.stream:
        tokens = answer_tokens(state.config.seed, params.model, params.input_text, None, state.config.answer_tokens)
        gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
        await state.clock.sleep_until(now + spec.first_token_seconds + gap * (len(tokens) - 1))
        input_tokens = count_tokens(params.input_text)
        completion = chat_completion(completion_id, params.model, now, "".join(tokens), input_tokens, len(tokens))
        return web.Response(body=orjson.dumps(completion), content_type="application/json")

    config = state.config
    script = ChatScript(params.model, params.input_text, config.seed, config.answer_tokens, params.include_usage)
    compiled = compiled_chat(script, completion_id, now)
    times = chat_times(compiled.deltas, compiled.frames, spec.first_token_seconds, spec.tokens_per_second)
    log = EventLog(compiled.render(completion_id, now), times, origin=now)
    return await send_events(request, log, 0, state.clock, filters=stream_filters(faults))


async def _replay(
    request: web.Request,
    params: ChatParams,
    faults: tuple[Fault, ...],
    recorded: RecordedChat,
    completion_id: str,
    now: float,
) -> web.StreamResponse:
    """The recorded answer under a minted id and time, paced as recorded unless a fault re-paces it."""
    state = request.app[STATE]
    base = TimelineSpec.from_timing(state.config.foreground)
    spec = shaped_spec(base, faults, max(1, recorded.delta_count), 0)
    if not params.stream:
        await state.clock.sleep_until(now + recorded.finished_after(spec))
        return web.Response(body=recorded.completion_json(completion_id, now), content_type="application/json")
    # Only the pace counts: faults that end a response (fail, incomplete) leave a chat answer as they find it.
    paced_as_recorded = (spec.first_token_seconds, spec.tokens_per_second) == (
        base.first_token_seconds,
        base.tokens_per_second,
    )
    log = recorded.event_log(completion_id, now, spec, paced_as_recorded, params.include_usage)
    return await send_events(request, log, 0, state.clock, filters=stream_filters(faults))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", create_chat_completion)
