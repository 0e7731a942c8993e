"""The Redis store writes recipes in the SQLite store's format, faster; the SQLite decoder reads them back equal."""

from __future__ import annotations

import orjson
import pytest

from mock_server.function_calls import ToolCallSpec
from mock_server.params import parse_response_params
from mock_server.redis_store import encode_recipe
from mock_server.sqlite_store import _decode_recipe, _encode_recipe
from mock_server.store import Recipe
from mock_server.timeline import Script, TimelineSpec

BODIES = [
    {"model": "gpt-4o", "input": "Plain.", "stream": True},
    {
        "model": "gpt-4o",
        "input": [{"role": "user", "content": "Weather?"}],
        "instructions": "Be brief.",
        "background": True,
        "metadata": {"k": "v"},
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        "tool_choice": "required",
        "reasoning": {"effort": "low"},
        "text": {"verbosity": "low"},
    },
]


@pytest.mark.parametrize("body", BODIES)
def test_recipe_encodings_agree(body: dict) -> None:
    spec = TimelineSpec(queue_seconds=1.5, jitter=0.2, jitter_seed=7, tool_calls=(ToolCallSpec(name="get_weather"),))
    recipe = Recipe("resp_1", "msg_1", 1_700_000_000.25, Script(parse_response_params(body), 3, 12, spec))
    assert orjson.loads(encode_recipe(recipe)) == orjson.loads(_encode_recipe(recipe))
    assert _decode_recipe(encode_recipe(recipe)) == recipe
