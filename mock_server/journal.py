"""Every request the mock received, recorded on arrival (before validation) and completed on answer."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Headers a check may need: the SDK's retry marker, idempotency, who called, and the mock's own.
JOURNALED_HEADERS = ("x-stainless-retry-count", "idempotency-key", "user-agent", "content-type")
JOURNALED_HEADER_PREFIX = "x-bgr-"
INPUT_PREVIEW_CHARS = 200


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


def journaled_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a check may need, by lower-case name (`headers` is case-insensitive, as aiohttp's are)."""
    kept = {name: value for name in JOURNALED_HEADERS if (value := headers.get(name)) is not None}
    for name in headers:
        if name[: len(JOURNALED_HEADER_PREFIX)].lower() == JOURNALED_HEADER_PREFIX:
            kept[name.lower()] = headers[name]
    return kept


def body_essentials(body: Any) -> dict[str, Any]:
    """What checks look at in a request body, without keeping whole prompts around."""
    if not isinstance(body, dict):
        return {"json_type": type(body).__name__}
    essentials: dict[str, Any] = {
        key: body[key]
        for key in ("model", "background", "stream", "store", "previous_response_id")
        if key in body and isinstance(body[key], str | bool | int | float | None)
    }
    for key in ("input", "messages"):
        if key in body:
            value = body[key]
            essentials[f"has_{key}"] = value not in (None, "", [])
            text = value if isinstance(value, str) else repr(value)
            essentials[f"{key}_preview"] = text[:INPUT_PREVIEW_CHARS]
            essentials[f"{key}_items"] = len(value) if isinstance(value, list) else 1
    return essentials


class Journal:
    def __init__(self, limit: int = 1_000_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._count = 0

    def add(self, entry: JournalEntry) -> None:
        entry.index = self._count
        self._count += 1
        self._entries.append(entry)

    @property
    def dropped(self) -> int:
        """Entries pushed out by the limit."""
        return self._count - len(self._entries)

    def entries(self, since: int = 0) -> list[JournalEntry]:
        """Entries with index >= since, oldest first."""
        skip = max(0, since - self.dropped)
        return [entry for i, entry in enumerate(self._entries) if i >= skip]

    def finish(self, entry: JournalEntry) -> None:
        """The request has been answered: `entry` is complete (a shared journal publishes it now)."""

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
