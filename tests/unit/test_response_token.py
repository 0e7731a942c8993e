"""The Responses adapters' continuation token: one format, written and read in one module."""

from __future__ import annotations

import pytest

from harness.conformance.adapters import response_token
from harness.conformance.adapters.response_token import decode_response_token, encode_response_token
from harness.conformance.caller import FOREIGN_TOKEN


def test_the_module_exports_its_two_functions() -> None:
    assert set(response_token.__all__) == {"decode_response_token", "encode_response_token"}


@pytest.mark.parametrize("sequence_number", [None, 0, 41])
def test_a_token_reads_back_as_written(sequence_number: int | None) -> None:
    token = encode_response_token("resp_abc", sequence_number)
    assert token is not None
    state = decode_response_token(token)
    assert state is not None
    assert state["response_id"] == "resp_abc"
    assert state.get("sequence_number") == sequence_number


def test_the_text_is_compact_json_with_the_sequence_only_when_known() -> None:
    assert encode_response_token("resp_abc", 7) == '{"response_id":"resp_abc","sequence_number":7}'
    assert encode_response_token("resp_abc", None) == '{"response_id":"resp_abc"}'
    assert encode_response_token(None, 7) is None


@pytest.mark.parametrize(
    "token",
    [
        FOREIGN_TOKEN,
        "not json",
        "[1, 2]",
        '{"response_id": "chatcmpl_1"}',
        '{"response_id": "resp_1", "messages": []}',
        '{"response_id": "resp_1", "sequence_number": "3"}',
    ],
    ids=["dotnet", "text", "list", "other-id", "extra-key", "text-sequence"],
)
def test_another_format_is_not_taken(token: str) -> None:
    assert decode_response_token(token) is None
