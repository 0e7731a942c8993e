"""bgr's client library: background responses done right, for production code to import.

Backoff between polls, a poller with a bound, a stream resumer that hands each piece of text over
once, and durable token stores. It needs one thing of an agent (`Agent.run`) and imports nothing
else of bgr, so it is as at home in an application as in the harness that checks it.
"""

from harness.client.agent import Agent, AgentError, AgentReply, AgentUpdate
from harness.client.backoff import Backoff
from harness.client.clock import SYSTEM_CLOCK, Clock, SystemClock
from harness.client.poller import Poller, PollOutcome, PollProgress, PollRecord, PollTimeout
from harness.client.resumer import Reconnect, StreamGaveUp, StreamOutcome, StreamResumer
from harness.client.token_store import MemoryTokenStore, Operation, SqliteTokenStore, TokenStore

__all__ = [
    "SYSTEM_CLOCK",
    "Agent",
    "AgentError",
    "AgentReply",
    "AgentUpdate",
    "Backoff",
    "Clock",
    "MemoryTokenStore",
    "Operation",
    "PollOutcome",
    "PollProgress",
    "PollRecord",
    "PollTimeout",
    "Poller",
    "Reconnect",
    "SqliteTokenStore",
    "StreamGaveUp",
    "StreamOutcome",
    "StreamResumer",
    "SystemClock",
    "TokenStore",
]
