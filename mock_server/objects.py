"""The JSON objects of the Responses and Chat Completions APIs, as the SDK's strict models expect."""

from __future__ import annotations

from typing import Any

import orjson

from mock_server.params import ResponseParams


def response_object(
    response_id: str,
    params: ResponseParams,
    *,
    created_at: int | orjson.Fragment,
    status: str,
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    completed_at: int | orjson.Fragment | None = None,
    error: dict[str, str] | None = None,
    incomplete_reason: str | None = None,
    echo: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Times are whole epoch seconds, or the slots of a compiled script (mock_server/timeline.py).

    Every field the real API sends is here (tests/fidelity/real_api.toml lists them): `auto` service
    tier until the response ends, the tier that served it after; `billing` once it has completed.
    `echo` is `response_echo(params)`, for callers that make several snapshots of one response.
    """
    tier = params.settings.service_tier
    answer = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": params.background,
        "completed_at": completed_at,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "output": output or [],
        "service_tier": "default" if tier == "auto" and status in _ENDED else tier,
        "usage": usage,
        **(echo or response_echo(params)),
    }
    if status == "completed":
        answer["billing"] = {"payer": "developer"}
    return answer


def response_echo(params: ResponseParams) -> dict[str, Any]:
    """The fields of a Response that echo its request: the same in every snapshot of it."""
    settings, tool_loop = params.settings, params.tool_loop
    return {
        "frequency_penalty": settings.frequency_penalty,
        "instructions": params.instructions,
        "max_output_tokens": params.max_output_tokens,
        "max_tool_calls": tool_loop.max_tool_calls,
        "metadata": dict(params.metadata),
        "model": params.model,
        "parallel_tool_calls": tool_loop.parallel_tool_calls,
        "presence_penalty": settings.presence_penalty,
        "previous_response_id": params.previous_response_id,
        "prompt_cache_key": settings.prompt_cache_key,
        "prompt_cache_retention": settings.prompt_cache_retention,
        "reasoning": {"effort": settings.reasoning_effort, "summary": settings.reasoning_summary},
        "safety_identifier": settings.safety_identifier,
        "store": params.store,
        "temperature": 1.0 if params.temperature is None else params.temperature,
        "text": {"format": _text_format(settings.text_format), "verbosity": settings.text_verbosity},
        "tool_choice": tool_loop.tool_choice_echo,
        "tools": [tool.as_dict() for tool in tool_loop.tools],
        "top_logprobs": settings.top_logprobs,
        "top_p": 1.0 if params.top_p is None else params.top_p,
        "truncation": settings.truncation,
        "user": settings.user,
    }


def _text_format(encoded: str | None) -> dict[str, Any]:
    return {"type": "text"} if encoded is None else orjson.loads(encoded)


_ENDED = frozenset({"completed", "failed", "incomplete"})


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def reasoning_item(item_id: str, summary: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": summary}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def output_message(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def response_usage(input_tokens: int, output_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def chat_completion(
    completion_id: str, model: str, created: float, text: str, input_tokens: int, output_tokens: int
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(created),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": chat_usage(input_tokens, output_tokens),
        "system_fingerprint": None,
    }


def chat_chunk(
    completion_id: str,
    model: str,
    created: float,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
    chunk: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(created),
        "model": model,
        "choices": choices,
        "system_fingerprint": None,
    }
    if usage:
        chunk["usage"] = usage
    return chunk


def chat_usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
