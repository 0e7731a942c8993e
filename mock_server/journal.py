"""Every request the mock received, recorded on arrival (before validation) and completed on answer."""

from __future__ import annotations

import reprlib
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from mock_server.errors import printable

# Headers a check may need: the SDK's retry marker, idempotency, who called, and the mock's own.
JOURNALED_HEADERS = ("x-stainless-retry-count", "idempotency-key", "user-agent", "content-type")
JOURNALED_HEADER_PREFIX = "x-bgr-"
INPUT_PREVIEW_CHARS = 200
ENTRY_BYTES = 1024
"""Memory of an entry besides its strings' text (measured with tracemalloc: 1.2 KB for a typical poll)."""
JOURNAL_BYTES = 64 << 20
"""The journal's default bound: about 50,000 typical entries."""

_PREVIEW = reprlib.Repr()
# repr() of a whole input would cost its size and fail on ~1,000 levels of nesting; this stops early.
_PREVIEW.maxlevel, _PREVIEW.maxlist, _PREVIEW.maxdict = 8, 40, 40
_PREVIEW.maxstring = _PREVIEW.maxother = INPUT_PREVIEW_CHARS


@dataclass(slots=True)
class JournalEntry:
    received_at: float
    """Scenario time (epoch seconds) when the request arrived."""
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_bytes: int
    body: dict[str, Any] = field(default_factory=dict)
    """The body's essentials: flags, model, whether and how much input was sent."""
    status: int | None = None
    response_id: str | None = None
    error_code: str | None = None
    answered_at: float | None = None
    retry_after_seconds: float | None = None
    """What the answer's `retry-after-ms` / `Retry-After` asked the client to wait, if anything."""
    faults: list[str] = field(default_factory=list)
    """Every fault applied to this request, with its parameters."""
    notes: list[str] = field(default_factory=list)
    index: int = -1
    """Position in the journal, set when the entry is added."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def approximate_bytes(self) -> int:
        """What holding this entry costs: its text, plus what an entry of a few fields takes in memory."""
        size = ENTRY_BYTES + len(self.method) + len(self.path)
        size += sum(len(key) + len(value) for key, value in self.query.items())
        size += sum(len(name) + len(value) for name, value in self.headers.items())
        size += sum(len(key) + len(value) if isinstance(value, str) else len(key) for key, value in self.body.items())
        return size + sum(map(len, self.faults)) + sum(map(len, self.notes))


def journaled_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a check may need, by lower-case name (`headers` is case-insensitive, as aiohttp's are).

    Values that were not UTF-8 on the wire are kept with `?` for what could not be decoded.
    """
    kept = {name: printable(value) for name in JOURNALED_HEADERS if (value := headers.get(name)) is not None}
    for name in headers:
        if name[: len(JOURNALED_HEADER_PREFIX)].lower() == JOURNALED_HEADER_PREFIX:
            kept[printable(name.lower())] = printable(headers[name])
    return kept


def body_essentials(body: Any) -> dict[str, Any]:
    """What checks look at in a request body, without keeping whole prompts around."""
    if not isinstance(body, dict):
        return {"json_type": type(body).__name__}
    essentials: dict[str, Any] = {
        key: value[:INPUT_PREVIEW_CHARS] if isinstance(value := body[key], str) else value
        for key in ("model", "background", "stream", "store", "previous_response_id")
        if key in body and isinstance(body[key], str | bool | int | float | None)
    }
    for key in ("input", "messages"):
        if key in body:
            value = body[key]
            essentials[f"has_{key}"] = value not in (None, "", [])
            text = value if isinstance(value, str) else _PREVIEW.repr(value)
            essentials[f"{key}_preview"] = text[:INPUT_PREVIEW_CHARS]
            essentials[f"{key}_items"] = len(value) if isinstance(value, list) else 1
    return essentials


class Journal:
    """Entries in arrival order, bounded by count and by approximate bytes: the oldest go first.

    Indexes never restart: `dropped` counts entries the bounds pushed out, `cleared` those removed
    by `clear()`, and together they are the index of the first entry held.
    """

    def __init__(self, limit: int = 1_000_000, max_bytes: int = JOURNAL_BYTES) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self._entries: deque[JournalEntry] = deque()
        self._sizes: deque[int] = deque()
        self._count = 0
        self._dropped = 0
        self._cleared = 0
        self.bytes = 0
        """Approximate bytes held now."""

    def add(self, entry: JournalEntry) -> None:
        entry.index = self._count
        self._count += 1
        size = entry.approximate_bytes()
        self._entries.append(entry)
        self._sizes.append(size)
        self.bytes += size
        self._trim()

    def settle(self, entry: JournalEntry) -> None:
        """Count again what `entry` holds, now that its request is answered (faults, notes, body)."""
        position = entry.index - self.first_index
        if 0 <= position < len(self._entries):
            size = entry.approximate_bytes()
            self.bytes += size - self._sizes[position]
            self._sizes[position] = size
            self._trim()

    def _trim(self) -> None:
        # The newest entry stays whatever its size: bounded anyway by aiohttp's header limits.
        while len(self._entries) > 1 and (self.bytes > self.max_bytes or len(self._entries) > self.limit):
            self._entries.popleft()
            self.bytes -= self._sizes.popleft()
            self._dropped += 1

    @property
    def dropped(self) -> int:
        """Entries pushed out by the limits (never those cleared)."""
        return self._dropped

    @property
    def cleared(self) -> int:
        """Entries removed by `clear()`."""
        return self._cleared

    @property
    def first_index(self) -> int:
        return self._count - len(self._entries)

    @property
    def next_index(self) -> int:
        return self._count

    def entries(self, since: int = 0) -> list[JournalEntry]:
        """Entries with index >= since, oldest first."""
        return list(islice(self._entries, max(0, since - self.first_index), None))

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        removed = len(self._entries)
        self._cleared += removed
        self._entries.clear()
        self._sizes.clear()
        self.bytes = 0
        return removed

    def __len__(self) -> int:
        return len(self._entries)
