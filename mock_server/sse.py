"""Server-sent event frames: one LF-terminated block per event, encoded once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import orjson

CHAT_DONE = b"data: [DONE]\n\n"
_FRAME_END = re.compile(rb"\r?\n\r?\n")
_TOKEN_JSON: dict[str, bytes] = {}
_TOKEN_JSON_KEPT = 4096
"""Answer words repeat (a small vocabulary); a bound all the same, in case answers stop being words."""


def event_frame(payload: dict[str, Any]) -> bytes:
    """A Responses API event: `event: <type>` then its one-line JSON."""
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def data_frame(payload: dict[str, Any]) -> bytes:
    """A Chat Completions chunk: a `data:` line only."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def frames_of(body: bytes) -> list[bytes]:
    """A recorded stream's frames, each with its blank line; CRLF streams are kept as they are."""
    frames, start = [], 0
    for found in _FRAME_END.finditer(body):
        frames.append(body[start : found.end()])
        start = found.end()
    return frames


def payload_of(frame: bytes) -> dict[str, Any] | None:
    """A frame's `data:` JSON object; None for anything else (`[DONE]`, a malformed or missing payload)."""
    for line in frame.splitlines():
        if line.startswith(b"data:"):
            try:
                value = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


def parse_frames(raw: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of concatenated frames (for ground truth and tests)."""
    events = []
    for block in raw.split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                events.append(orjson.loads(line[6:]))
    return events


def tokens_json(tokens: list[str]) -> Sequence[bytes]:
    """Each token as a JSON string, byte for byte what orjson makes of it; remembered, since words repeat."""
    if len(tokens) > 1:  # one token: itemgetter gives it alone, not in a tuple
        try:
            # One C call for the whole answer: a third of the cost of a lookup per token.
            encoded: tuple[bytes, ...] = itemgetter(*tokens)(_TOKEN_JSON)
            return encoded
        except KeyError:
            pass
    for token in tokens:
        if token not in _TOKEN_JSON and len(_TOKEN_JSON) < _TOKEN_JSON_KEPT:
            _TOKEN_JSON[token] = orjson.dumps(token)
    return [_TOKEN_JSON.get(token) or orjson.dumps(token) for token in tokens]
