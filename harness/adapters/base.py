"""The one interface through which the harness reaches an agent under test.

Adapters are the only modules that know an agent's API. Tokens cross this boundary
serialized (a string): the harness stores, restarts and compares them without ever
looking inside, which is what makes `token-persistable` and `token-size` checkable
for agents in any language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ERROR_CHARS = 300
"""An error crossing this boundary is one line, at most this long, so reports and tables stay readable."""


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """`text` with every run of whitespace (newlines included) made one space, cut to `limit` chars."""
    return " ".join(text.split())[:limit]


class AgentError(Exception):
    """The agent under test failed in a way that is a result, not a harness bug."""


class Unsupported(Exception):
    """The agent cannot do what the step asks (the check becomes SKIPPED, not failed)."""


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    text: str
    token: str | None
    kind: str = ""
    received_at: float | None = None
    """`time.monotonic()` when the adapter received it; None: when the call returned."""


@dataclass(frozen=True, slots=True)
class AgentReply:
    """What one call returned: its updates (one for a non-streaming call) and its outcome."""

    updates: tuple[AgentUpdate, ...]
    token: str | None
    status: str | None = None
    error: str | None = None
    cut: bool = False
    retry_after: float | None = None
    """Seconds the backend asked to wait (a 429's Retry-After) before the next call."""


@dataclass(frozen=True, slots=True)
class AgentEnvironment:
    """Where the agent finds its backend, and how fast scenario time runs."""

    base_url: str
    api_key: str
    model: str
    time_scale: float


class AgentAdapter(Protocol):
    name: str

    async def start(self, environment: AgentEnvironment) -> None:
        """Create the agent (and its session). Called once, and again after `restart`."""

    async def run(
        self,
        prompt: str | None,
        token: str | None,
        *,
        stream: bool,
        max_updates: int | None = None,
    ) -> AgentReply:
        """One call with background responses allowed.

        `prompt` is given on the first call only; later calls pass `token` alone. With
        `stream`, read at most `max_updates` updates and then stop reading (cut=True), as a
        dropped connection would. Errors from the agent come back in `AgentReply.error`.
        """
        ...

    async def restart(self) -> None:
        """Throw the agent away and make a fresh one (a new process, for programs)."""

    async def close(self) -> None:
        """Release everything."""
