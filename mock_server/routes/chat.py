"""`/v1/chat/completions`, streamed and not: what agents that simulate background responses call."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mock_server.answer import answer_tokens, count_tokens
from mock_server.event_log import EventLog
from mock_server.exchange import json_body
from mock_server.fault_engine import engage, shaped_spec, stream_filters
from mock_server.objects import chat_chunk, chat_completion, chat_usage
from mock_server.params import parse_chat_params
from mock_server.rules import RequestFacts
from mock_server.sse import CHAT_DONE, data_frame
from mock_server.state import STATE
from mock_server.streaming import send_events
from mock_server.timeline import TimelineSpec


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    params = parse_chat_params(json_body(request))
    facts = RequestFacts(request.method, request.path, params.model, params.input_text, params.stream, None, True)
    faults = await engage(request, state, facts)
    now = state.clock.now()
    completion_id = state.ids.next("chatcmpl-")
    state.remember_ids()
    tokens = answer_tokens(state.config.seed, params.model, params.input_text, None, state.config.answer_tokens)
    spec = shaped_spec(TimelineSpec.from_timing(state.config.foreground), faults, len(tokens), jitter_seed=0)
    first_at = now + spec.first_token_seconds
    gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
    finished_at = first_at + gap * (len(tokens) - 1)
    input_tokens = count_tokens(params.input_text)
    if not params.stream:
        await state.clock.sleep_until(finished_at)
        completion = chat_completion(completion_id, params.model, now, "".join(tokens), input_tokens, len(tokens))
        return web.Response(body=orjson.dumps(completion), content_type="application/json")

    def chunk(delta: dict[str, str], **ending: Any) -> bytes:
        return data_frame(chat_chunk(completion_id, params.model, now, delta, **ending))

    frames = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": token}) for token in tokens)]
    times = [now, *(first_at + index * gap for index in range(len(tokens)))]
    frames.append(chunk({}, finish_reason="stop"))
    if params.include_usage:
        frames.append(chunk({}, usage=chat_usage(input_tokens, len(tokens))))
    frames.append(CHAT_DONE)
    times += [finished_at] * (len(frames) - len(times))
    log = EventLog.of(frames, times)
    return await send_events(request, log, 0, state.clock, filters=stream_filters(faults))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", create_chat_completion)
