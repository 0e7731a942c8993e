"""Cassettes for tests, made here (our own data) in the structure of public recordings of background mode.

They copy the shape of the pydantic-ai repository's cassettes, not their content: pydantic-ai's serializer
writes JSON bodies as `parsed_body` mappings, streams as `body: {string: ...}`, header values as lists,
no bgr timings, a usage without `cache_write_tokens`, and `starting_after` resumes whose events order
their keys differently from the first stream's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml

RESPONSE_ID = "resp_0test0000000000000000000000000000000000000000000001"
ITEM_ID = "msg_0test0000000000000000000000000000000000000000000001"
POLLED_ID = "resp_0test0000000000000000000000000000000000000000000002"
PROMPT = "What is the temperature in Oslo?"
DELTAS = ("It", " is", " 72", "°F", " in", " Oslo", " today", ".")
TEXT = "".join(DELTAS)


def response_object(response_id: str, status: str, output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    completed = status == "completed"
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1771881597,
        "status": status,
        "background": True,
        "completed_at": 1771881600 if completed else None,
        "error": None,
        "frequency_penalty": 0.0,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-4o-2024-08-06",
        "output": output or [],
        "parallel_tool_calls": True,
        "presence_penalty": 0.0,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default" if completed else "auto",
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 15,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": len(DELTAS),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15 + len(DELTAS),
        }
        if completed
        else None,
        "user": None,
        "metadata": {},
    }


def _message(status: str, text: str) -> dict[str, Any]:
    content = (
        [{"annotations": [], "text": text, "logprobs": [], "type": "output_text"}] if status == "completed" else []
    )
    return {"id": ITEM_ID, "content": content, "role": "assistant", "status": status, "type": "message"}


def events(response_id: str = RESPONSE_ID) -> list[dict[str, Any]]:
    """A background text answer's events, as the real API streams them."""
    part = {"item_id": ITEM_ID, "content_index": 0, "output_index": 0}
    done_part = {"annotations": [], "text": TEXT, "logprobs": [], "type": "output_text"}
    items: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_object(response_id, "queued")},
        {"type": "response.queued", "response": response_object(response_id, "queued")},
        {"type": "response.in_progress", "response": response_object(response_id, "in_progress")},
        {"type": "response.output_item.added", "item": _message("in_progress", ""), "output_index": 0},
        {"type": "response.content_part.added", **part, "part": {**done_part, "text": ""}},
        *({"type": "response.output_text.delta", "delta": delta, "logprobs": [], **part} for delta in DELTAS),
        {"type": "response.output_text.done", "text": TEXT, "logprobs": [], **part},
        {"type": "response.content_part.done", **part, "part": done_part},
        {"type": "response.output_item.done", "item": _message("completed", TEXT), "output_index": 0},
        {
            "type": "response.completed",
            "response": response_object(response_id, "completed", [_message("completed", TEXT)]),
        },
    ]
    return [{**event, "sequence_number": n} for n, event in enumerate(items)]


def sse(payloads: list[dict[str, Any]], *, reorder: bool = False) -> str:
    frames = []
    for payload in payloads:
        if reorder:  # a resumed stream of the real API puts sequence_number second
            payload = {"type": payload["type"], "sequence_number": payload["sequence_number"], **payload}
        frames.append(f"event: {payload['type']}\ndata: {orjson.dumps(payload).decode()}\n\n")
    return "".join(frames)


def _request(method: str, uri: str, body: dict[str, Any] | None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "headers": {"accept": ["application/json"], "content-type": ["application/json"], "host": ["api.example"]},
        "method": method,
        "uri": uri,
    }
    if body is None:
        request["body"] = ""
    else:
        request["parsed_body"] = body
    return request


def _response(content_type: str, *, text: str | None = None, parsed: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "headers": {"content-type": [content_type], "openai-version": ["2020-10-01"]},
        "status": {"code": 200, "message": "OK"},
    }
    if text is not None:
        response["body"] = {"string": text}
    else:
        response["parsed_body"] = parsed
    return response


def pydantic_ai_shaped(path: Path) -> Path:
    """A streamed create of PROMPT, a `starting_after=0` resume, and a second create that was only polled."""
    create = {"background": True, "input": [{"content": PROMPT, "role": "user"}], "model": "gpt-4o", "stream": True}
    polled_create = {**create, "input": [{"content": "Polled only", "role": "user"}], "stream": False}
    base = "https://api.example/v1/responses"
    stream_type = "text/event-stream; charset=utf-8"
    data = {
        "interactions": [
            {
                "request": _request("POST", base, create),
                "response": _response(stream_type, text=sse(events())),
            },
            {
                "request": _request("GET", f"{base}/{RESPONSE_ID}?starting_after=0&stream=true", None),
                "response": _response(stream_type, text=sse(events()[1:], reorder=True)),
            },
            {
                "request": _request("POST", base, polled_create),
                "response": _response("application/json", parsed=response_object(POLLED_ID, "queued")),
            },
            {
                "request": _request("GET", f"{base}/{POLLED_ID}?stream=false", None),
                "response": _response("application/json", parsed=response_object(POLLED_ID, "in_progress")),
            },
            {
                "request": _request("GET", f"{base}/{POLLED_ID}?stream=false", None),
                "response": _response(
                    "application/json",
                    parsed=response_object(POLLED_ID, "completed", [_message("completed", TEXT)]),
                ),
            },
        ],
        "version": 1,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return path
