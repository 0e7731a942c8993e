"""slice_writes: send the stream in writes of at most `size` bytes, optionally pausing between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from mock_server.faults.base import BYTE_STAGE, Action, Chunk, Fault, Pause, Range, Seconds, register


@register
@dataclass(frozen=True, slots=True)
class SliceWrites(Fault):
    type: ClassVar[str] = "slice_writes"
    size: Annotated[int, Range(1, 1 << 20)] = 1
    pause_seconds: Seconds = 0.0

    def stream_filter(self) -> _Filter:
        return _Filter(self.size, self.pause_seconds)


@dataclass(slots=True)
class _Filter:
    size: int
    pause_seconds: float
    stage: int = field(default=BYTE_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        out: list[Action] = []
        for start in range(0, len(action.data), self.size):
            if out and self.pause_seconds:
                out.append(Pause(self.pause_seconds))
            out.append(Chunk(action.data[start : start + self.size]))
        return out
