"""Compiled chat streams: byte for byte what encoding every chunk for each stream gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.answer import answer_tokens, count_tokens
from mock_server.chat_script import ChatScript, chat_times, compile_chat, compiled_chat
from mock_server.objects import chat_chunk, chat_usage
from mock_server.sse import CHAT_DONE, data_frame

COMPLETION_ID = "chatcmpl-" + "a" * 48
TRICKY_PIECES = ["a", "%", "%%", "%(i)s", "%(c)s", "%d", '"', "\\", "\x00", "é", '"created":0,']
tricky_text = st.lists(st.sampled_from(TRICKY_PIECES)).map("".join)


def encoded_chunk_by_chunk(script: ChatScript, completion_id: str, created: float) -> bytes:
    """The stream as the chat route encoded it before streams were compiled: one orjson call per chunk."""
    tokens = answer_tokens(script.seed, script.model, script.input_text, None, script.answer_length)

    def chunk(delta: dict[str, str], **ending: object) -> bytes:
        return data_frame(chat_chunk(completion_id, script.model, created, delta, **ending))  # type: ignore[arg-type]

    frames = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": token}) for token in tokens)]
    frames.append(chunk({}, finish_reason="stop"))
    if script.include_usage:
        frames.append(chunk({}, usage=chat_usage(count_tokens(script.input_text), len(tokens))))
    frames.append(CHAT_DONE)
    return b"".join(frames)


@settings(max_examples=200)
@given(
    model=tricky_text.filter(bool),
    input_text=tricky_text,
    include_usage=st.booleans(),
    length=st.integers(1, 20),
    created=st.floats(0, 4e9),
)
def test_a_compiled_chat_stream_renders_exactly_what_encoding_each_chunk_gives(
    model: str, input_text: str, include_usage: bool, length: int, created: float
) -> None:
    script = ChatScript(model, input_text, 7, length, include_usage)
    compiled = compiled_chat(script, COMPLETION_ID, created)
    expected = encoded_chunk_by_chunk(script, COMPLETION_ID, created)
    assert compiled.render(COMPLETION_ID, created) == expected
    assert compiled.frames == expected.count(b"\n\n")
    assert compiled.deltas == length
    assert (compile_chat(script) is None) == ("%" in model)


def test_streams_of_one_script_share_its_encoding_and_differ_only_in_who_they_are() -> None:
    script = ChatScript("gpt-4o", "hello", 0, 16, True)
    compile_chat(script)  # kept from its second use on
    compiled = compile_chat(script)
    assert compiled is not None and compile_chat(script) is compiled
    first = compiled.render(COMPLETION_ID, 1_700_000_000.5)
    second = compiled.render("chatcmpl-" + "b" * 48, 1_700_000_100.0)
    assert first.replace(b"a" * 48, b"b" * 48).replace(b"1700000000", b"1700000100") == second


def test_chat_times_release_the_role_chunk_first_then_the_deltas_then_the_ending() -> None:
    times = chat_times(3, 6, 0.5, 2.0)
    assert list(times) == [0.0, 0.5, 1.0, 1.5, 1.5, 1.5]
    assert list(chat_times(3, 5, 0.0, 0.0)) == [0.0] * 5
