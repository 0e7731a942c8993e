"""Recorded chat completions: the Chat Completions creates of cassettes, as answers the chat route serves.

Each `POST .../chat/completions` of a cassette that the upstream answered (200) is one `RecordedChat`: a
streamed answer's `data:` chunks byte for byte, with when each had arrived, or a non-streamed answer's JSON.
A match (mock_server/playback.py) hands it to the chat route, which serves it under a completion id and a
`created` time it mints (as it does for the answers it generates: two plays never share an id); everything
else is the recording's. The faults the chat path honours apply on top: the stream faults (drops, cuts,
slices, stalls, resets, malformed frames) to its chunks, the pacing faults (`slow`, `slow_answer`) to when
they are released.

What a recording lacks is made from what it has, and nothing it has is changed: a streamed create answered
by a non-streamed recording (possible when matched on `input`) gets chunks made from its message, its text
split into words; a non-streamed create answered by a streamed recording gets the completion its chunks add
up to; a cassette without bgr's times is paced as the mock paces its own answers.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from mock_server.cassette import CassetteError, Interaction
from mock_server.event_log import EventLog
from mock_server.sse import CHAT_DONE, data_frame, frames_of, payload_of
from mock_server.timeline import TimelineSpec

if TYPE_CHECKING:  # vcrpy is imported only where a cassette is read (mock_server/cassette.py)
    from vcr.request import Request

__all__ = ["RecordedChat", "chat_answers_of", "is_chat_create"]

_CREATED = re.compile(rb'"created"\s*:\s*\d+')
_WORD = re.compile(r"\s*\S+\s*|\s+")
_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
"""What the SDK's strict validation accepts as a completion's `finish_reason`."""


def is_chat_create(method: str, url: str) -> bool:
    return method == "POST" and urlparse(url).path.rstrip("/").endswith("/chat/completions")


@dataclass(frozen=True, slots=True)
class RecordedChat:
    """One chat completion as recorded, in both of its forms (one recorded, the other made from it)."""

    source: str
    """`FILE#INDEX` of the interaction, for errors and the journal."""
    request: Request
    completion_id: str
    """The recorded id ("" when it had none): replaced by the one the mock mints."""
    frames: tuple[bytes, ...]
    """Every chunk of the stream, `data: [DONE]` included; made from `completion` when not streamed."""
    times: tuple[float, ...] | None
    """When each chunk had arrived, in seconds after the request; None: not recorded."""
    completion: bytes
    """The `chat.completion` JSON: byte for byte when not streamed, else what the chunks add up to."""
    streamed: bool
    says: tuple[bool, ...]
    """For each frame: does it say something (text, a refusal, a piece of a tool call)? Those are paced."""
    usage_frame: bytes | None = None
    """For chunks made from a completion: its usage as a chunk, sent when the request asks for usage."""

    @property
    def delta_count(self) -> int:
        return sum(self.says)

    def event_log(
        self, completion_id: str, created: float, spec: TimelineSpec, recorded_pace: bool, include_usage: bool
    ) -> EventLog:
        """The chunks under this id and time, released from `created`: as recorded, or paced by `spec`."""
        frames, says = list(self.frames), list(self.says)
        if self.usage_frame is not None and include_usage:
            frames.insert(len(frames) - 1, self.usage_frame)  # before `data: [DONE]`, as the API sends it
            says.insert(len(says) - 1, False)
        times = list(self.times) if recorded_pace and self.times is not None else _paced(says, spec)
        minted = [self._minted(frame, completion_id, created) for frame in frames]
        ends = array("Q", accumulate(map(len, minted)))
        return EventLog(b"".join(minted), array("d", accumulate(times, max)), origin=created, ends=ends)

    def completion_json(self, completion_id: str, created: float) -> bytes:
        return self._minted(self.completion, completion_id, created)

    def finished_after(self, spec: TimelineSpec) -> float:
        """Seconds a non-streamed answer takes: its deltas at the spec's pace, as a generated one takes."""
        gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
        return spec.first_token_seconds + gap * max(0, self.delta_count - 1)

    def _minted(self, raw: bytes, completion_id: str, created: float) -> bytes:
        if self.completion_id:
            # JSON-quoted on both sides: only the id itself is replaced, never a text that contains it.
            raw = raw.replace(orjson.dumps(self.completion_id), orjson.dumps(completion_id))
        return _CREATED.sub(b'"created":%d' % int(created), raw, count=1)


def _says(frames: list[bytes]) -> tuple[bool, ...]:
    return tuple(_is_delta(payload_of(frame)) for frame in frames)


def _is_delta(payload: dict[str, Any] | None) -> bool:
    """A chunk that says something: text, a refusal or a piece of a tool call."""
    for choice in (payload or {}).get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and (delta.get("content") or delta.get("refusal") or delta.get("tool_calls")):
            return True
    return False


def _paced(says: list[bool], spec: TimelineSpec) -> list[float]:
    """The mock's pacing: the role chunk at once, the deltas from the first token at the token rate, the rest
    with the last delta (as mock_server/chat_script.py's `chat_times` paces a generated answer)."""
    gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
    now, first, times = 0.0, True, []
    for delta in says:
        if delta:
            now += spec.first_token_seconds if first else gap
            first = False
        times.append(now)
    return times


# ---- from interactions to answers ------------------------------------------------------------------


def chat_answers_of(interactions: list[Interaction], source: str) -> list[RecordedChat]:
    """One answer per chat create of the cassette that the upstream answered (status 200).

    A chunk or completion of the wrong shape is a one-line CassetteError naming the interaction."""
    answers = []
    for index, interaction in enumerate(interactions):
        request = interaction.request
        if interaction.status != 200 or not is_chat_create(request.method, request.uri):
            continue
        read = _streamed if interaction.is_event_stream else _unstreamed
        try:
            answer = read(interaction, f"{source}#{index}")
        except (TypeError, ValueError, AttributeError, KeyError) as error:
            problem = f"interactions[{index}]: not a chat completion ({type(error).__name__}: {error})"
            raise CassetteError(source, problem) from None
        if answer is not None:
            answers.append(answer)
    return answers


def _streamed(interaction: Interaction, source: str) -> RecordedChat | None:
    frames = frames_of(interaction.body)
    chunks = [payload for payload in map(payload_of, frames) if payload is not None]
    if not chunks:
        return None
    if not frames[-1].rstrip().endswith(b"[DONE]"):
        frames.append(CHAT_DONE)  # a stream recorded without its end still ends as the API's do
    times = interaction.event_times
    known = tuple(times) + (times[-1:] * (len(frames) - len(times))) if times else None
    completion = _completion_of(chunks)
    return RecordedChat(
        source,
        interaction.request,
        str(chunks[0].get("id") or ""),
        tuple(frames),
        known[: len(frames)] if known else None,
        orjson.dumps(completion),
        streamed=True,
        says=_says(frames),
    )


def _unstreamed(interaction: Interaction, source: str) -> RecordedChat | None:
    try:
        completion = orjson.loads(interaction.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        return None
    frames, usage = _chunks_of(completion)
    return RecordedChat(
        source,
        interaction.request,
        str(completion.get("id") or ""),
        tuple(frames),
        None,
        interaction.body,
        streamed=False,
        says=_says(frames),
        usage_frame=usage,
    )


def _chunk_base(source: dict[str, Any]) -> dict[str, Any]:
    base = {
        "id": source.get("id", ""),
        "object": "chat.completion.chunk",
        "created": source.get("created", 0),
        "model": source.get("model", ""),
    }
    for key in ("service_tier", "system_fingerprint"):
        if key in source:
            base[key] = source[key]
    return base


def _chunks_of(completion: dict[str, Any]) -> tuple[list[bytes], bytes | None]:
    """A completion as the chunks of a stream: per choice, its role, its words, its tool calls, its end."""
    base = _chunk_base(completion)

    def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return data_frame({**base, "choices": [choice]})

    frames = []
    for position, choice in enumerate(completion["choices"]):
        index = choice.get("index", position) if isinstance(choice, dict) else position
        message = choice.get("message") if isinstance(choice, dict) else None
        message = message if isinstance(message, dict) else {}
        frames.append(chunk(index, {"role": message.get("role") or "assistant", "content": ""}))
        content = message.get("content")
        for word in _WORD.findall(content) if isinstance(content, str) else ():
            frames.append(chunk(index, {"content": word}))
        for call_index, call in enumerate(message.get("tool_calls") or ()):
            frames.append(chunk(index, {"tool_calls": [{"index": call_index, **dict(call)}]}))
        frames.append(chunk(index, {}, choice.get("finish_reason") or "stop"))
    frames.append(CHAT_DONE)
    usage = completion.get("usage")
    return frames, data_frame({**base, "choices": [], "usage": usage}) if isinstance(usage, dict) else None


def _completion_of(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What a stream's chunks add up to: per choice, its text, refusal and tool calls joined, and its end."""
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
            into = choices.setdefault(
                index, {"index": index, "message": message, "logprobs": None, "finish_reason": None}
            )
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str):
                    into["message"][key] = (into["message"][key] or "") + delta[key]
            for call in delta.get("tool_calls") or ():
                _add_tool_call(into["message"].setdefault("tool_calls", []), call)
            if choice.get("finish_reason") is not None:
                into["finish_reason"] = choice["finish_reason"]
    for choice in choices.values():
        if choice["finish_reason"] not in _FINISH_REASONS:
            choice["finish_reason"] = "stop"  # a stream recorded without its end
    completion = {**_chunk_base(chunks[0]), "object": "chat.completion"}
    completion["choices"] = [choices[index] for index in sorted(choices)]
    completion["usage"] = next((chunk["usage"] for chunk in reversed(chunks) if chunk.get("usage")), None)
    return completion


def _add_tool_call(calls: list[dict[str, Any]], piece: Any) -> None:
    if not isinstance(piece, dict):
        return
    index = piece.get("index", len(calls))
    if not isinstance(index, int) or not 0 <= index <= len(calls):
        raise ValueError(f"tool call index {index!r} where {len(calls)} at most was due")
    if index == len(calls):
        calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    call = calls[index]
    for key in ("id", "type"):
        if piece.get(key):
            call[key] = piece[key]
    function = piece.get("function") if isinstance(piece.get("function"), dict) else {}
    for key in ("name", "arguments"):
        if isinstance(function.get(key), str):
            call["function"][key] += function[key]
