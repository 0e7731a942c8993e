"""An append-only log of encoded SSE frames, each with the time it becomes visible.

Frames are kept as one contiguous buffer plus end offsets, so replaying from any
cursor is a single slice (one write on the socket) and a response costs a few
kilobytes however many events it has. Once sealed, the buffer is immutable bytes:
slices handed to the transport are zero-copy views that a later change (a cancel
truncating the log) can never invalidate.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


class EventLog:
    __slots__ = ("_buffer", "_ends", "_times")

    def __init__(self) -> None:
        self._buffer: bytes | bytearray = bytearray()
        self._ends = array("Q")
        self._times = array("d")

    @classmethod
    def sealed(cls, frames: Sequence[bytes], times: Sequence[float]) -> EventLog:
        """A whole log in one go, already sealed: one join instead of an append per frame."""
        log = cls()
        log._buffer = b"".join(frames)
        log._ends = array("Q", accumulate(map(len, frames)))
        log._times = array("d", accumulate(times, max))  # never backwards, as `append` guarantees
        return log

    def append(self, frame: bytes, visible_at: float) -> int:
        """Add the next frame; returns its sequence number. Times never go backwards."""
        if self._times and visible_at < self._times[-1]:
            visible_at = self._times[-1]
        if isinstance(self._buffer, bytes):
            self._buffer = bytearray(self._buffer)
        self._buffer += frame
        self._ends.append(len(self._buffer))
        self._times.append(visible_at)
        return len(self._ends) - 1

    def seal(self) -> None:
        """Freeze the frames written so far into immutable bytes."""
        self._buffer = bytes(self._buffer)

    def __len__(self) -> int:
        return len(self._ends)

    def visible_count(self, now: float) -> int:
        """How many frames have been released by `now`."""
        return bisect_right(self._times, now)

    def visible_at(self, sequence_number: int) -> float:
        return self._times[sequence_number]

    def frames(self, start: int, stop: int) -> bytes | memoryview:
        """Frames start..stop-1 as one contiguous chunk (a zero-copy view once sealed)."""
        begin = self._ends[start - 1] if start > 0 else 0
        end = self._ends[stop - 1] if stop > 0 else 0
        if isinstance(self._buffer, bytes):
            return memoryview(self._buffer)[begin:end]
        return bytes(self._buffer[begin:end])

    def frame(self, sequence_number: int) -> bytes:
        return bytes(self.frames(sequence_number, sequence_number + 1))

    def truncate(self, count: int) -> None:
        """Forget every frame from `count` on (a cancel ends the log where it stands)."""
        if count >= len(self._ends):
            return
        self._buffer = self._buffer[: self._ends[count - 1] if count > 0 else 0]
        del self._ends[count:]
        del self._times[count:]
