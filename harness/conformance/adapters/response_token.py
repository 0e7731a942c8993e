"""The continuation token of the adapters that drive the Responses API themselves: JSON text.

`{"response_id": "resp_...", "sequence_number": N}`, the sequence number (the last event delivered)
only when streaming. It holds everything needed to continue, so a token written by one process works
in the next. The reference agent and the litellm agent write it; the openai-node agent
(`node/openai-node-agent.mjs`) writes it again in JavaScript, and a test holds it to this module.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["decode_response_token", "encode_response_token"]

KEYS = {"response_id", "sequence_number"}


def encode_response_token(response_id: str | None, sequence_number: int | None) -> str | None:
    """The token for a position in a response, None while no response is known yet."""
    if response_id is None:
        return None
    state: dict[str, Any] = {"response_id": response_id}
    if sequence_number is not None:
        state["sequence_number"] = sequence_number
    return orjson.dumps(state).decode()


def decode_response_token(token: str) -> dict[str, Any] | None:
    """The token's state, or None when it is not one of this format (another agent's, say)."""
    try:
        state = orjson.loads(token)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(state, dict) or not str(state.get("response_id", "")).startswith("resp_"):
        return None
    if set(state) - KEYS:
        return None
    if not isinstance(state.get("sequence_number", 0), int):
        return None
    return state
