"""The mock model's answers: what the hash stream's bytes pick, whatever way the picking is written."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from mock_server.answer import _MULTIBYTE, _WORDS, MULTIBYTE_EVERY, answer_tokens


def _picked_one_by_one(seed: int, model: str, text: str, instructions: str | None, length: int) -> list[str]:
    """The answer as first written: byte i of the keyed stream picks token i by remainder."""
    key = f"{seed}\x00{model}\x00{instructions or ''}\x00{text}".encode()
    stream = b"".join(
        hashlib.blake2b(key, digest_size=64, salt=block.to_bytes(16, "big")).digest()
        for block in range(-(-length // 64))
    )
    tokens = [
        " " + (_MULTIBYTE[byte % len(_MULTIBYTE)] if index % MULTIBYTE_EVERY == 3 else _WORDS[byte % len(_WORDS)])
        for index, byte in enumerate(stream[:length])
    ]
    tokens[0] = tokens[0][1:].capitalize()
    tokens[-1] += "."
    return tokens


@given(
    seed=st.integers(0, 2**32),
    text=st.text(max_size=40),
    instructions=st.none() | st.text(max_size=10),
    length=st.integers(1, 300),
)
def test_answers_are_the_bytes_picks(seed: int, text: str, instructions: str | None, length: int) -> None:
    # Answers are data other runs compare (reports, cassettes, fuzz replays): a faster picking must not change one.
    assert answer_tokens(seed, "gpt-4o", text, instructions, length) == _picked_one_by_one(
        seed, "gpt-4o", text, instructions, length
    )


def test_every_answer_of_four_tokens_holds_a_multibyte_word() -> None:
    tokens = answer_tokens(0, "gpt-4o", "Write a poem", None, 4)
    assert tokens[3].strip(" .") in _MULTIBYTE
