"""The one interface through which the conformance engine reaches an agent under test.

Adapters are the only modules that know an agent's API. An adapter is a client-library `Agent`
(one call with background responses allowed) that the engine can also start, restart and close.
Tokens cross this boundary serialized (a string): the harness stores, restarts and compares them
without ever looking inside, which is what makes `token-persistable` and `token-size` checkable
for agents in any language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.client.agent import Agent, AgentError, AgentReply, AgentUpdate
from harness.conformance.tool import HarnessTool
from mock_server import Clock

__all__ = [
    "AgentAdapter",
    "AgentEnvironment",
    "AgentError",
    "AgentReply",
    "AgentUpdate",
    "Unsupported",
    "one_line",
]

ERROR_CHARS = 300
"""An error crossing this boundary is one line, at most this long, so reports and tables stay readable."""


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """`text` with every run of whitespace (newlines included) made one space, cut to `limit` chars."""
    return " ".join(text.split())[:limit]


class Unsupported(Exception):
    """The agent cannot do what the step asks; the history records it, and checks that need the step skip."""


@dataclass(frozen=True, slots=True)
class AgentEnvironment:
    """Where the agent finds its backend, and the run's one clock (scenario seconds)."""

    base_url: str
    api_key: str
    model: str
    clock: Clock
    tool: HarnessTool | None = None
    """The harness's tool (`get_weather`): an agent registers it, and runs it through `tool.execute`."""

    @property
    def time_scale(self) -> float:
        """Real seconds per scenario second, for agents in other processes (`BGR_TIME_SCALE`)."""
        return self.clock.time_scale


class AgentAdapter(Agent, Protocol):
    name: str

    async def start(self, environment: AgentEnvironment) -> None:
        """Create the agent (and its session). Called once, and again after `restart`."""

    async def restart(self) -> None:
        """Throw the agent away and make a fresh one (a new process, for programs)."""

    async def close(self) -> None:
        """Release everything."""
