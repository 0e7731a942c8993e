"""How the mock behaves when nothing more specific is asked of it."""

from __future__ import annotations

from dataclasses import dataclass


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
        for name in ("queue_seconds", "first_token_seconds", "tokens_per_second"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


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
    """`memory`, or `sqlite:PATH` to keep responses across restarts."""
    journal_limit: int = 1_000_000
    """Oldest journal entries are dropped past this many (and counted as dropped)."""
    cassettes: tuple[str, ...] = ()
    """vcrpy cassettes whose recorded responses answer the creates they match (mock_server/recorded.py)."""
    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    """vcrpy's matcher names (and bgr's `input`) a create must pass to be answered by a recording."""
    unmatched: str = "error"
    """What a create no recording matches gets, with cassettes: `error` (a 400 naming the mismatch) or `generate`."""

    def __post_init__(self) -> None:
        if self.answer_tokens < 1:
            raise ValueError("answer_tokens must be at least 1")
        if not self.time_scale > 0:
            raise ValueError("time_scale must be positive")
        if self.store != "memory" and not (self.store.startswith("sqlite:") and len(self.store) > len("sqlite:")):
            raise ValueError(f"store must be 'memory' or 'sqlite:PATH', got {self.store!r}")
