"""Bytes with named holes, filled by position and joined once.

A shape's events (`mock_server.timeline`) are the same for every prompt but for a few values: the ids,
the times, the answer's text and its deltas' tokens. Kept as pieces, a response costs a list copy, a
store per hole and one join; nothing fixed is scanned or copied twice, as a %-format of each piece and
a join of the results would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["FIELD", "ByteTemplate", "TemplateBuilder"]

FIELD = re.compile(rb"%\((\w+)\)s")
"""A hole in the text a template is built from: `%(name)s`, as the compiled scripts spell their slots."""


@dataclass(frozen=True, slots=True)
class _Frames:
    """`count` frames from `start`, each three pieces: the prefix (filled once for all), a token, its suffix."""

    start: int
    count: int
    prefix: ByteTemplate


@dataclass(frozen=True, slots=True)
class ByteTemplate:
    pieces: tuple[bytes, ...]
    holes: tuple[tuple[int, bytes], ...]
    """(position, name) of each hole outside the frames."""
    frames: _Frames | None = None

    @property
    def size(self) -> int:
        return sum(map(len, self.pieces)) + (self.frames.prefix.size if self.frames is not None else 0)

    def fill(self, values: Mapping[bytes, bytes], tokens: Sequence[bytes] = ()) -> bytes:
        """The bytes with every hole filled from `values`, and the frames' tokens (encoded) in order."""
        parts = list(self.pieces)
        for position, name in self.holes:
            parts[position] = values[name]
        frames = self.frames
        if frames is not None:
            start, stop = frames.start, frames.start + 3 * frames.count
            parts[start:stop:3] = (frames.prefix.fill(values),) * frames.count
            parts[start + 1 : stop : 3] = tokens
        return b"".join(parts)


class TemplateBuilder:
    """A template, piece by piece in the order of its bytes."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._holes: list[tuple[int, bytes]] = []
        self._frames: _Frames | None = None

    def text(self, text: bytes) -> None:
        """Fixed bytes, but for their `%(name)s` fields, which become holes."""
        for index, part in enumerate(FIELD.split(text)):
            if index % 2:
                self.hole(part)
            elif part:
                self._pieces.append(part)

    def hole(self, name: bytes) -> None:
        self._holes.append((len(self._pieces), name))
        self._pieces.append(b"")

    def frames(self, prefix: bytes, suffixes: Sequence[bytes]) -> None:
        """One frame per suffix, `prefix + token + suffix`: the prefix's fields are holes, the tokens are given
        to `fill`. A template has one run of frames; the suffixes hold no field."""
        if self._frames is not None:
            raise ValueError("a template holds one run of frames")
        if any(FIELD.search(suffix) for suffix in suffixes):
            raise ValueError("a frame's suffix holds a field")
        prefix_builder = TemplateBuilder()
        prefix_builder.text(prefix)
        self._frames = _Frames(len(self._pieces), len(suffixes), prefix_builder.build())
        for suffix in suffixes:
            self._pieces += (b"", b"", suffix)

    def build(self) -> ByteTemplate:
        return ByteTemplate(tuple(self._pieces), tuple(self._holes), self._frames)
