"""How the mock behaves when nothing more specific is asked of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_server.redis_address import SCHEME as REDIS_SCHEME
from mock_server.redis_address import parse_redis_address

ADMIN_TOKEN_ENV = "BGR_ADMIN_TOKEN"
"""Where `bgr serve` and the harness's admin client read the admin token from, when not given one."""

LONGEST_TIMELINE_SECONDS = 10_000_000.0
"""The longest a queue, a wait for the first token or a response's whole run may last, in scenario seconds
(about 115 days: long enough for a response that never ends within a test, short enough to stay finite)."""
SLOWEST_TOKENS_PER_SECOND = 0.01
FASTEST_TOKENS_PER_SECOND = 1_000_000.0
"""Paces outside these (other than 0, all at once) mean nothing for a mock, and far outside would overflow."""


@dataclass(frozen=True, slots=True)
class Timing:
    """When a response's events become visible, in scenario seconds."""

    queue_seconds: float = 0.0
    """Time spent `queued` before `in_progress` (background responses only)."""
    first_token_seconds: float = 0.0
    """From `in_progress` to the first text delta."""
    tokens_per_second: float = 0.0
    """Pace of the deltas after the first; 0 releases them all at once."""

    def __post_init__(self) -> None:
        for name in ("queue_seconds", "first_token_seconds"):
            if not 0 <= getattr(self, name) <= LONGEST_TIMELINE_SECONDS:
                raise ValueError(f"{name} must be 0 to {LONGEST_TIMELINE_SECONDS:,.0f}")
        pace = self.tokens_per_second
        if pace != 0 and not SLOWEST_TOKENS_PER_SECOND <= pace <= FASTEST_TOKENS_PER_SECOND:
            raise ValueError(
                f"tokens_per_second must be 0, or {SLOWEST_TOKENS_PER_SECOND:g} to {FASTEST_TOKENS_PER_SECOND:,.0f}"
            )


DEFAULT_MATCH_ON = ("method", "path", "body")
"""vcrpy's matchers a recorded create is matched on unless asked otherwise. vcrpy's own default compares scheme,
host and port too, which a replay on the mock never shares with the recording, and not the body."""

INSTANT = Timing()
SLOW_BACKGROUND = Timing(queue_seconds=1.0, first_token_seconds=0.5, tokens_per_second=40.0)
"""Slow enough for a person to watch a background response move through its statuses."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    seed: int = 0
    """Every generated text and id is a function of this seed and the request."""
    answer_tokens: int = 48
    """Length of each answer, in text deltas."""
    background: Timing = SLOW_BACKGROUND
    foreground: Timing = INSTANT
    time_scale: float = 1.0
    max_body_bytes: int = 1 << 20
    store: str = "memory"
    """`memory`, `sqlite:PATH` to keep responses across restarts, or `redis://HOST:PORT[/DB]` to share them
    between processes."""
    journal_limit: int = 1_000_000
    """Oldest journal entries are dropped past this many (and counted as dropped)."""
    cassettes: tuple[str, ...] = ()
    """vcrpy cassettes whose recorded responses answer the creates they match (mock_server/recorded.py)."""
    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    """vcrpy's matcher names (and bgr's `input`) a create must pass to be answered by a recording."""
    unmatched: str = "error"
    """What a create no recording matches gets, with cassettes: `error` (a 400 naming the mismatch) or `generate`."""
    journal_max_bytes: int = 64 << 20
    """...or past about this many bytes held (each entry's text plus ~1 KB for the entry itself)."""
    idle_timeout_seconds: float = 60.0
    """A connection with no request under way is closed after this long, in real seconds (not scaled):
    one that never sends a request, and a keep-alive connection between requests."""
    read_timeout_seconds: float = 10.0
    """A request's head, and then its body, must each arrive within this long (real seconds) once they
    have started; a stalled head closes the connection, a stalled body gets a 408 first."""
    admin_token: str | None = field(default=None, repr=False)
    """When set, every `/_bgr/` request must carry `Authorization: Bearer <token>` (else a 401)."""

    def __post_init__(self) -> None:
        if self.answer_tokens < 1:
            raise ValueError("answer_tokens must be at least 1")
        if not self.time_scale > 0:
            raise ValueError("time_scale must be positive")
        if self.admin_token is not None and not _header_safe(self.admin_token):
            raise ValueError("the admin token must be non-empty printable ASCII without spaces")
        if self.journal_limit < 1 or self.journal_max_bytes < 1:
            raise ValueError("journal_limit and journal_max_bytes must be at least 1")
        if not (self.idle_timeout_seconds > 0 and self.read_timeout_seconds > 0):
            raise ValueError("idle_timeout_seconds and read_timeout_seconds must be positive")
        if self.store.startswith(REDIS_SCHEME):
            parse_redis_address(self.store)
        elif self.store != "memory" and not (self.store.startswith("sqlite:") and len(self.store) > len("sqlite:")):
            raise ValueError(f"store must be 'memory', 'sqlite:PATH' or 'redis://HOST:PORT', got {self.store!r}")


def _header_safe(token: str) -> bool:
    return bool(token) and token.isascii() and token.isprintable() and " " not in token
