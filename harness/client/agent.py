"""The one thing the client library needs of an agent: a call with background responses allowed.

Tokens cross this boundary serialized (a string): pollers, resumers and token stores keep them
without ever looking inside, so they work for any agent whose tokens can be written down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Agent", "AgentError", "AgentReply", "AgentUpdate"]


class AgentError(Exception):
    """The agent failed in a way that is a result (an error to report), not a bug of the caller."""


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    text: str
    token: str | None
    kind: str = ""
    received_at: float | None = None
    """When the agent received it, by the clock the agent was given (`Clock.now()`); None: when the call returned."""


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


class Agent(Protocol):
    async def run(
        self,
        prompt: str | None,
        token: str | None,
        *,
        stream: bool,
        max_updates: int | None = None,
    ) -> AgentReply:
        """One call with background responses allowed.

        `prompt` is given on the first call only; later calls pass `token` alone. With `stream`, read
        at most `max_updates` updates and then stop reading (cut=True), as a dropped connection would.
        Errors from the agent come back in `AgentReply.error`.
        """
        ...
