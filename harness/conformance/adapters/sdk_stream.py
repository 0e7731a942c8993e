"""Closing an `openai` SDK stream whole, so nothing of it is left to the garbage collector.

`AsyncStream.close()` closes the HTTP response, but a stream read only in part keeps its chain of
async generators suspended (the SDK's `__stream__` down to httpx's `Response.aiter_raw`), and the
stream and its `__stream__` generator refer to each other: only the cyclic garbage collector frees
them, on whatever thread allocates at the time (the mock's, in the tests) and possibly once the
loop that ran them is closing, where finalizing them fails ("Exception ignored in <async_generator
object Response.aiter_raw>"). Closing the stream's own iterator runs the SDK's `finally` (which
closes the response) and ends the chain on the loop that owns it, at once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["close_sdk_stream"]

ITERATORS = ("_iterator", "stream_iterator")


async def close_sdk_stream(stream: Any) -> None:
    """End a stream of the `openai` SDK (or litellm's, which reads the same way) on every exit path."""
    # The SDKs keep the generator they read from in an attribute and have no public way to end it:
    # `_iterator` in openai's AsyncStream (1.x to 3.x), `stream_iterator` in litellm's Responses stream.
    for name in ITERATORS:
        iterator = getattr(stream, name, None)
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()
    close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
    if close is not None:
        await close()
