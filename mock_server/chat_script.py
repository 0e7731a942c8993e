"""A Chat Completions stream, compiled once per script into SSE bytes with slots for its id and time.

The same design as Responses (mock_server/timeline.py): what a stream says is a pure function of
the model, the prompt, the seed, the answer's length and whether usage is asked for; only the
completion id and the `created` time differ between streams. So the chunks are encoded once per
script, the deltas as a join of pre-encoded pieces, and each stream is one bytes %-format.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import lru_cache

from mock_server.answer import answer_tokens, count_tokens
from mock_server.objects import chat_chunk, chat_usage
from mock_server.sized_cache import cached_by_size
from mock_server.sse import CHAT_DONE, data_frame, tokens_json

CHAT_BYTES_KEPT = 8 << 20
"""Compiled chat streams are kept up to this size in all, least recently used first out (about 600
streams of 64 tokens)."""

_ID_SLOT = "%(i)s"
_CREATED = b'"created":0,'
_CREATED_SLOT = b'"created":%(c)s,'


@dataclass(frozen=True, slots=True)
class ChatScript:
    """Everything a streamed chat completion says, besides its id and its time."""

    model: str
    input_text: str
    seed: int
    answer_length: int
    include_usage: bool


@dataclass(frozen=True, slots=True)
class CompiledChat:
    body: bytes
    """Every frame, `data: [DONE]` included; with %-format fields for the slots unless `slotted` is False."""
    deltas: int
    frames: int
    slotted: bool

    def render(self, completion_id: str, created: float) -> bytes:
        if not self.slotted:
            return self.body
        # The id goes in unescaped: IdFactory's are plain ASCII.
        return self.body % {b"i": completion_id.encode(), b"c": b"%d" % int(created)}


def compiled_chat(script: ChatScript, completion_id: str, created: float) -> CompiledChat:
    """The script's compiled stream, shared when it can be; else encoded for this one stream."""
    compiled = compile_chat(script)
    return compiled if compiled is not None else _compile(script, completion_id, int(created))


@cached_by_size(CHAT_BYTES_KEPT, lambda compiled: 1 if compiled is None else len(compiled.body), second_sight=True)
def compile_chat(script: ChatScript) -> CompiledChat | None:
    """None when the model's name holds a % (the only text of the request that the chunks echo)."""
    if "%" in script.model:
        return None
    compiled = _compile(script, _ID_SLOT, 0)
    body = compiled.body.replace(_CREATED, _CREATED_SLOT)
    # orjson escapes quotes inside strings, so `"created":0,` can only be the key, once per chunk.
    assert body.count(_CREATED_SLOT) == compiled.frames - 1
    return CompiledChat(body, compiled.deltas, compiled.frames, slotted=True)


def _compile(script: ChatScript, completion_id: str, created: int) -> CompiledChat:
    tokens = answer_tokens(script.seed, script.model, script.input_text, None, script.answer_length)

    def chunk(delta: dict[str, str], **ending: object) -> bytes:
        return data_frame(chat_chunk(completion_id, script.model, created, delta, **ending))  # type: ignore[arg-type]

    # The deltas differ only in their token: encoded once around an empty one, then joined.
    prefix, suffix = chunk({"content": ""}).split(b'"content":""', 1)
    prefix += b'"content":'
    deltas = [prefix, b"", suffix] * len(tokens)
    deltas[1::3] = tokens_json(tokens)
    frames = [chunk({"role": "assistant", "content": ""}), b"".join(deltas), chunk({}, finish_reason="stop")]
    if script.include_usage:
        frames.append(chunk({}, usage=chat_usage(count_tokens(script.input_text), len(tokens))))
    frames.append(CHAT_DONE)
    return CompiledChat(b"".join(frames), len(tokens), len(frames) - 1 + len(tokens), slotted=False)


@lru_cache(maxsize=256)
def chat_times(deltas: int, frames: int, first_token_seconds: float, tokens_per_second: float) -> array[float]:
    """When each frame is released, after the request: the role chunk at once, then the deltas, then the rest."""
    gap = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
    times = [0.0, *(first_token_seconds + index * gap for index in range(deltas))]
    finished = first_token_seconds + gap * (deltas - 1)
    times += [finished] * (frames - len(times))
    return array("d", times)  # shared by every stream with these times: never changed
