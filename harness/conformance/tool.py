"""The one tool every agent under test gets from the harness, and the record of each time it runs.

Every agent registers the same deterministic `get_weather(city)`, so a tool loop means the
same thing for every agent: the harness counts the executions (the tool itself writes them
down as data) and `tool-call-once` compares them with the calls the model made. Adapters call
`HarnessTool.execute` from the agent's own tool function, so the agent, not the harness,
decides when the tool runs; a program behind `cmd:` asks the harness to run it (a `tool_call` line).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.conformance.history import ToolExecution
from mock_server import Clock

__all__ = ["WEATHER", "HarnessTool", "ToolExecution", "canonical_arguments", "weather_report"]

WEATHER_NAME = "get_weather"
WEATHER_DESCRIPTION = "The current weather in a city."
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": WEATHER_NAME,
    "description": WEATHER_DESCRIPTION,
    "parameters": WEATHER_PARAMETERS,
    "strict": True,
}
"""The tool as the Responses API takes it (`tools=[WEATHER]`), and as the cmd protocol hands it over."""
SKIES = ("sunny", "cloudy", "raining", "snowing", "windy", "foggy")


def weather_report(city: str) -> str:
    """A pure function of the city: every agent, every run and every language gets the same output."""
    digest = hashlib.blake2b(city.strip().lower().encode(), digest_size=2).digest()
    return f"{city}: {SKIES[digest[0] % len(SKIES)]}, {digest[1] % 35 - 5}°C"


def canonical_arguments(arguments: str | Mapping[str, Any]) -> str:
    """Arguments as compact JSON with sorted keys, so `{"city": "Paris"}` matches `{"city":"Paris"}`."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class HarnessTool:
    """`get_weather(city)`, counting its executions; the caller tells it which instance and call it is in."""

    clock: Clock
    executions: list[ToolExecution] = field(default_factory=list)
    instance: int = 0
    call: int = 0
    name: str = WEATHER_NAME
    _t0: float = 0.0

    def __post_init__(self) -> None:
        self._t0 = self.clock.now()

    @property
    def spec(self) -> dict[str, Any]:
        return dict(WEATHER)

    def execute(self, arguments: str | Mapping[str, Any], call_id: str | None = None) -> str:
        """Run the tool once and write it down; bad arguments get an error text, as a tool would answer."""
        canonical = canonical_arguments(arguments)
        try:
            city = json.loads(canonical)["city"]
            output = weather_report(str(city))
        except (json.JSONDecodeError, KeyError, TypeError):
            output = f"error: {self.name} takes {{'city': string}}, got {canonical[:80]!r}"
        self.executions.append(
            ToolExecution(self.name, canonical, output, self.instance, self.call, self.clock.now() - self._t0, call_id)
        )
        return output
