"""A template filled is the %-format of its text, with its frames in order: byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.byte_template import TemplateBuilder

NAMES = (b"r", b"m", b"c")
VALUES = {b"r": b"resp_1", b"m": b"msg_1", b"c": b"1700000000"}
literal = st.binary(max_size=12).filter(lambda text: b"%" not in text)
field = st.sampled_from(NAMES).map(lambda name: b"%(" + name + b")s")
text = st.lists(literal | field, max_size=8).map(b"".join)


@given(before=text, prefix=text, suffixes=st.lists(literal, max_size=5), after=text, tokens=st.data())
def test_a_filled_template_is_the_format_of_its_text(
    before: bytes, prefix: bytes, suffixes: list[bytes], after: bytes, tokens: st.DataObject
) -> None:
    encoded = tokens.draw(st.lists(literal, min_size=len(suffixes), max_size=len(suffixes)))
    builder = TemplateBuilder()
    builder.text(before)
    builder.hole(b"T")
    builder.frames(prefix, suffixes)
    builder.text(after)
    values = {**VALUES, b"T": b'"the text"'}
    frames = b"".join(prefix % values + token + suffix for token, suffix in zip(encoded, suffixes, strict=True))
    assert builder.build().fill(values, encoded) == before % values + b'"the text"' + frames + after % values


def test_a_template_fills_its_fields_with_themselves_to_stay_a_format() -> None:
    builder = TemplateBuilder()
    builder.text(b'{"id":"%(r)s","created_at":%(c)s}')
    template = builder.build()
    slotted = template.fill({name: b"%(" + name + b")s" for name in NAMES})
    assert slotted == b'{"id":"%(r)s","created_at":%(c)s}'
    assert template.size == len(b'{"id":"","created_at":}')


def test_one_run_of_frames_whose_suffixes_hold_no_field() -> None:
    builder = TemplateBuilder()
    with pytest.raises(ValueError, match="suffix holds a field"):
        builder.frames(b"p", [b"%(m)s"])
    builder.frames(b"p", [b"s"])
    with pytest.raises(ValueError, match="one run of frames"):
        builder.frames(b"p", [b"s"])
