"""tool_calls: the model calls a function tool (given or generated arguments) before it answers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, ClassVar

import orjson

from mock_server.faults.base import Fault, Range, check_ranges, register
from mock_server.function_calls import ToolCallSpec
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class ToolCalls(Fault):
    """Not a fault but a behaviour of the model: a rule asks for it like any other, and several add up."""

    type: ClassVar[str] = "tool_calls"
    name: Annotated[str, Range(1, 64)] | None = None
    """The tool to call; None calls the first tool the request offers."""
    arguments: Annotated[str, Range(2, 100_000)] | None = None
    """A JSON object, as the API's `arguments` string; None generates them from the tool's schema, seeded."""
    count: Annotated[int, Range(1, 128)] = 1
    """Calls of this tool in one response (parallel calls, unless the request sets `parallel_tool_calls: false`)."""
    rounds: Annotated[int, Range(1, 100)] = 1
    """Model turns of one conversation that call tools; the turn after the last of them answers in text."""

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.count < 1 or self.rounds < 1:
            raise ValueError("count and rounds must be at least 1")
        if self.arguments is not None:
            try:
                decoded = orjson.loads(self.arguments)
            except orjson.JSONDecodeError:
                raise ValueError("arguments must be a JSON object, encoded as a string") from None
            if not isinstance(decoded, dict):
                raise ValueError("arguments must be a JSON object, encoded as a string")

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        wish = ToolCallSpec(self.name, self.arguments, self.count)
        rounds = self.rounds if not spec.tool_calls else max(spec.tool_rounds, self.rounds)
        return dataclasses.replace(spec, tool_calls=(*spec.tool_calls, wish), tool_rounds=rounds)
