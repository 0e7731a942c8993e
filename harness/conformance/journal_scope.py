"""Which entries of a shared mock's journal are one scenario's own.

Scenarios played at once on one mock interleave in its journal, so a scenario's history keeps
only what it can prove is its own: a request whose input holds its marker, any request about a
response such a request created or about a response id the caller itself handed over, and the
marks it made. The same filter applies however many scenarios ran, so a verdict does not depend
on it; what no scenario can claim (a request that carries neither its input nor a known id) is
left out of every history.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Iterable
from typing import Any

from mock_server.journal import INPUT_PREVIEW_CHARS

PREVIEW_KEYS = ("input_preview", "messages_preview")
"""Where the journal keeps the start of a request's input: the marker must begin within its first
`INPUT_PREVIEW_CHARS` (an agent's message list, say, spends 82 of them on its framing)."""


def own_entries(
    journal: Iterable[dict[str, Any]], marker: str, marks: Collection[int], handed_over: Collection[str] = ()
) -> tuple[dict[str, Any], ...]:
    """The entries of `journal` (oldest first) that belong to the scenario marked `marker`.

    `marks`: the journal indices of the marks the scenario made; `handed_over`: response ids the
    caller gave the agent itself (a foreign token's).
    """
    entries = list(journal)
    ids = set(handed_over)
    ids.update(entry["response_id"] for entry in entries if entry.get("response_id") and _carries(entry, marker))
    return tuple(
        entry
        for entry in entries
        if (entry["index"] in marks if entry["method"] == "MARK" else entry.get("response_id") in ids)
        or _carries(entry, marker)
    )


def response_id_in(token: str) -> str | None:
    """The response id inside a base64 JSON token such as .NET's `{"responseId", "sequenceNumber"}`, if any."""
    try:
        data = json.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError):
        return None
    found = data.get("responseId") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def _carries(entry: dict[str, Any], marker: str) -> bool:
    body = entry.get("body") or {}
    for key in PREVIEW_KEYS:
        preview = str(body.get(key, ""))
        if marker in preview:
            return True
        # A preview cut short may end inside the marker: its id and at least half of it make it this one's.
        if len(preview) >= INPUT_PREVIEW_CHARS and any(
            preview.endswith(marker[:length])
            for length in range(max(len(marker) // 2, marker.rfind(":") + 1), len(marker))
        ):
            return True
    return False
