"""Server-sent event frames: one LF-terminated block per event, encoded once."""

from __future__ import annotations

from typing import Any

import orjson

CHAT_DONE = b"data: [DONE]\n\n"


def event_frame(payload: dict[str, Any]) -> bytes:
    """A Responses API event: `event: <type>` then its one-line JSON."""
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def data_frame(payload: dict[str, Any]) -> bytes:
    """A Chat Completions chunk: a `data:` line only."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def parse_frames(raw: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of concatenated frames (for ground truth and tests)."""
    events = []
    for block in raw.split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                events.append(orjson.loads(line[6:]))
    return events
