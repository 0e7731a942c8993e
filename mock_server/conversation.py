"""A create's place in its conversation: the response it continues, and the tool calls its outputs answer.

The real API checks a tool loop when a response is created: every `function_call_output` must
answer a function call of the conversation (its own input, or a previous response), and a
response that called tools is continued only with an output for each call. A continued
response reads the whole conversation, so its answer, and any marker a rule matches, follows
from what came before.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mock_server.errors import APIError
from mock_server.params import ResponseParams
from mock_server.store import ResponseStore, StoredResponse


def continue_conversation(params: ResponseParams, store: ResponseStore) -> ResponseParams:
    """The params with the conversation so far folded in; a 400 as the real API's for a broken tool loop."""
    loop = params.tool_loop
    if params.previous_response_id is None and not loop.tool_outputs:
        return params  # the common case: a conversation of one turn
    previous = _previous(params.previous_response_id, store) if params.previous_response_id else None
    # Rendered once: a stored response keeps its recipe, not its events.
    said = previous.timeline if previous is not None else None
    known = list(loop.known_call_ids)
    pending: list[str] = []
    if previous is not None and said is not None:
        pending = [item["call_id"] for item in function_call_items(said.final)]
        known = [*previous.params.tool_loop.known_call_ids, *pending, *known]
    for call_id, _ in loop.tool_outputs:
        if call_id not in known:
            raise APIError(400, f"No tool call found for function call output with call_id {call_id}.", param="input")
    answered = {call_id for call_id, _ in loop.tool_outputs}
    for call_id in pending:
        if call_id not in answered:
            raise APIError(400, f"No tool output found for function call {call_id}.", param="input")
    if previous is None or said is None:
        return params
    earlier = previous.params
    texts = (earlier.input_text, said.text, params.input_text)
    rounds = earlier.tool_loop.tool_rounds + bool(pending) + loop.tool_rounds
    return dataclasses.replace(
        params,
        input_text="\n".join(text for text in texts if text),
        tool_loop=dataclasses.replace(loop, known_call_ids=tuple(known), tool_rounds=rounds),
    )


def function_call_items(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in response["output"] if item["type"] == "function_call"]


def _previous(response_id: str, store: ResponseStore) -> StoredResponse:
    try:
        return store.get(response_id)
    except APIError:
        raise APIError(
            400,
            f"Previous response with id '{response_id[:64]}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        ) from None
