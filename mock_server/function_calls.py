"""Which function tools the mock model calls for a request, and with what arguments.

A pure function of the request, the seed and the response's script: the model calls
tools the way the real API lets it (`tools`, `tool_choice`, `parallel_tool_calls`), and
what a scenario asked for decides the rest. Arguments not given by the scenario are
generated from the tool's JSON schema, seeded, so they are the same on every run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.params import FunctionTool, ResponseParams

_PLACES = "Paris Lisbon Kyoto Nairobi Oslo Lima Hanoi Quebec Dakar Tallinn Porto Cusco Zürich Kraków Reykjavík".split()
_ARGUMENT_PIECE = re.compile(r"[^\W_]{1,4}|\s+|[^\w\s]+|_+")
"""Argument deltas are short, like the real API's (`{"`, `city`, `":"`, `Par`, `is`, `"}`)."""


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    """A scenario's wish that the model call a tool: which one (None: the first offered), with what arguments."""

    name: str | None = None
    arguments: str | None = None
    """A JSON object, encoded; None generates arguments from the tool's parameters schema."""
    count: int = 1


@dataclass(frozen=True, slots=True)
class PlannedCall:
    name: str
    arguments: str


def planned_calls(
    params: ResponseParams, wishes: tuple[ToolCallSpec, ...], rounds: int, seed: int
) -> tuple[PlannedCall, ...]:
    """The calls this response makes (empty: it answers in text)."""
    loop = params.tool_loop
    if not loop.tools or loop.tool_choice == "none":
        return ()
    by_name = {tool.name: tool for tool in loop.tools}
    if loop.tool_choice == "function":
        # A named function is always called, whatever the scenario says about other tools.
        chosen = [wish for wish in wishes if wish.name in (None, loop.tool_choice_name)]
        wishes = tuple(ToolCallSpec(loop.tool_choice_name, wish.arguments, wish.count) for wish in chosen) or (
            ToolCallSpec(loop.tool_choice_name),
        )
    elif loop.tool_rounds >= rounds or not wishes:
        if loop.tool_choice != "required":
            return ()
        wishes = wishes or (ToolCallSpec(),)
    calls: list[PlannedCall] = []
    for wish in wishes:
        tool = by_name.get(wish.name) if wish.name is not None else loop.tools[0]
        if tool is None:
            continue  # the model can call only the tools it is offered
        for _ in range(wish.count):
            arguments = wish.arguments
            if arguments is None:
                arguments = generated_arguments(tool, seed, params.input_text, len(calls))
            calls.append(PlannedCall(tool.name, arguments))
    if calls and not loop.parallel_tool_calls:
        return (calls[0],)
    if loop.max_tool_calls is not None:
        calls = calls[: loop.max_tool_calls]
    return tuple(calls)


def argument_pieces(arguments: str) -> list[str]:
    """The arguments as the deltas that stream them; joined, they are the arguments exactly."""
    return _ARGUMENT_PIECE.findall(arguments)  # every character is in exactly one piece


def generated_arguments(tool: FunctionTool, seed: int, input_text: str, index: int) -> str:
    schema = orjson.loads(tool.parameters) if tool.parameters is not None else {}
    stream = _Choices(f"{seed}\x00{tool.name}\x00{index}\x00{input_text}")
    value = _value(schema, stream)
    if not isinstance(value, dict):
        value = {}
    return orjson.dumps(value).decode()


class _Choices:
    """Seeded choices from a keyed hash, stable across Python versions."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self._drawn = 0

    def below(self, bound: int) -> int:
        self._drawn += 1
        digest = hashlib.blake2b(self._key, digest_size=8, salt=self._drawn.to_bytes(16, "big")).digest()
        return int.from_bytes(digest, "big") % max(bound, 1)


def _value(schema: Any, choices: _Choices) -> Any:
    if not isinstance(schema, dict):
        return _PLACES[choices.below(len(_PLACES))]
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return schema["enum"][choices.below(len(schema["enum"]))]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((option for option in kind if option != "null"), "string")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        required = schema.get("required")
        keys = [key for key in properties if not isinstance(required, list) or key in required]
        return {key: _value(properties[key], choices) for key in keys}
    if kind == "array":
        return [_value(schema.get("items", {}), choices)]
    if kind == "integer":
        return 1 + choices.below(100)
    if kind == "number":
        return (10 + choices.below(900)) / 10
    if kind == "boolean":
        return choices.below(2) == 1
    if kind == "null":
        return None
    return _PLACES[choices.below(len(_PLACES))]
