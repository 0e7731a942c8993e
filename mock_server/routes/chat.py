"""`/v1/chat/completions`, streamed and not: what agents that simulate background responses call."""

from __future__ import annotations

import orjson
from aiohttp import web

from mock_server.answer import answer_tokens, count_tokens
from mock_server.event_log import EventLog
from mock_server.exchange import json_body
from mock_server.objects import chat_chunk, chat_completion, chat_usage
from mock_server.params import parse_chat_params
from mock_server.sse import CHAT_DONE, data_frame
from mock_server.state import STATE
from mock_server.streaming import send_events


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    params = parse_chat_params(json_body(request))
    now = state.clock.now()
    completion_id = state.ids.next("chatcmpl-")
    tokens = answer_tokens(state.config.seed, params.model, params.input_text, None, state.config.answer_tokens)
    timing = state.config.foreground
    first_at = now + timing.first_token_seconds
    gap = 1.0 / timing.tokens_per_second if timing.tokens_per_second > 0 else 0.0
    finished_at = first_at + gap * (len(tokens) - 1)
    input_tokens = count_tokens(params.input_text)
    if not params.stream:
        await state.clock.sleep_until(finished_at)
        completion = chat_completion(completion_id, params.model, now, "".join(tokens), input_tokens, len(tokens))
        return web.Response(body=orjson.dumps(completion), content_type="application/json")

    log = EventLog()
    log.append(data_frame(chat_chunk(completion_id, params.model, now, {"role": "assistant", "content": ""})), now)
    for index, token in enumerate(tokens):
        log.append(data_frame(chat_chunk(completion_id, params.model, now, {"content": token})), first_at + index * gap)
    log.append(data_frame(chat_chunk(completion_id, params.model, now, {}, finish_reason="stop")), finished_at)
    if params.include_usage:
        usage = chat_usage(input_tokens, len(tokens))
        log.append(data_frame(chat_chunk(completion_id, params.model, now, {}, usage=usage)), finished_at)
    log.append(CHAT_DONE, finished_at)
    log.seal()
    return await send_events(request, log, 0, state.clock)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", create_chat_completion)
