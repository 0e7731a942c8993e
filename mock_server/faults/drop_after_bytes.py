"""drop_after_bytes: close the connection after N bytes of body, so usually mid-event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from mock_server.faults.base import BYTE_STAGE, Action, Chunk, Close, Fault, Range, register


@register
@dataclass(frozen=True, slots=True)
class DropAfterBytes(Fault):
    type: ClassVar[str] = "drop_after_bytes"
    bytes: Annotated[int, Range(0, 1 << 30)] = 1

    def stream_filter(self) -> _Filter:
        return _Filter(self.bytes)


@dataclass(slots=True)
class _Filter:
    remaining: int
    stage: int = field(default=BYTE_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        if len(action.data) < self.remaining:
            self.remaining -= len(action.data)
            return [action]
        head = action.data[: self.remaining]
        self.remaining = 0
        return [Chunk(head), Close()] if head else [Close()]
