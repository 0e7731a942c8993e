"""An immutable log of encoded SSE frames, each with the time it becomes visible.

Frames are kept as one contiguous buffer plus end offsets, so replaying from any
cursor is a single slice (one write on the socket) and a response costs a few
kilobytes however many events it has. The buffer is bytes: slices handed to the
transport are zero-copy views that a later change (a cancel truncating the log)
can never invalidate. Offsets and times may be shared between logs (responses
compiled from one script), so nothing here changes them in place.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


class EventLog:
    __slots__ = ("_buffer", "_ends", "_origin", "_times")

    def __init__(self, buffer: bytes, times: array[float], origin: float = 0.0, ends: array[int] | None = None) -> None:
        """Frame i of `buffer` is released at `origin + times[i]` (never decreasing); `ends[i]` is where it ends.

        Without `ends`, every frame must end with its only blank line (as SSE frames of one-line JSON do).
        """
        self._buffer = buffer
        self._times = times
        self._origin = origin
        self._ends = ends

    @classmethod
    def of(cls, frames: Sequence[bytes], times: Sequence[float]) -> EventLog:
        """A log of these frames, released at these times; a time earlier than the one before counts as equal."""
        ends = array("Q", accumulate(map(len, frames)))
        return cls(b"".join(frames), array("d", accumulate(times, max)), ends=ends)

    def __len__(self) -> int:
        return len(self._times)

    def _frame_ends(self) -> array[int]:
        if self._ends is None:
            self._ends = ends = array("Q")
            end = 0
            for _ in range(len(self._times)):
                end = self._buffer.index(b"\n\n", end) + 2
                ends.append(end)
        return self._ends

    def visible_count(self, now: float) -> int:
        """How many frames have been released by `now`."""
        return bisect_right(self._times, now - self._origin)

    def visible_at(self, sequence_number: int) -> float:
        return self._origin + self._times[sequence_number]

    def frames(self, start: int, stop: int) -> bytes | memoryview:
        """Frames start..stop-1 as one contiguous chunk: the buffer itself when that is all of it, else a view."""
        if start <= 0 and stop >= len(self._times):
            return self._buffer  # aiohttp writes bytes without wrapping them in a payload object
        ends = self._frame_ends()
        begin = ends[start - 1] if start > 0 else 0
        end = ends[stop - 1] if stop > 0 else 0
        return memoryview(self._buffer)[begin:end]

    def frame(self, sequence_number: int) -> bytes:
        return bytes(self.frames(sequence_number, sequence_number + 1))

    def truncate(self, count: int) -> None:
        """Forget every frame from `count` on (a cancel ends the log where it stands)."""
        if count >= len(self._times):
            return
        ends = self._frame_ends()
        self._buffer = self._buffer[: ends[count - 1] if count > 0 else 0]
        self._ends = ends[:count]
        self._times = self._times[:count]  # a copy: the times may be shared with other logs
