"""The programs that write the Responses token again outside Python write the same format.

The openai-node agent and the example driver cannot import `response_token`; what they claim (their
tokens are `{"response_id", "sequence_number"}`) is checked on the tokens they hand over, and on
the reference format's tokens they are handed back.
"""

from __future__ import annotations

import shlex
import sys

import orjson
import pytest

from harness.conformance.adapters.base import AgentEnvironment
from harness.conformance.adapters.command import CommandAdapter
from harness.conformance.adapters.openai_node import NODE_AGENT, NODE_AGENT_DIR
from harness.conformance.adapters.response_token import decode_response_token, encode_response_token
from mock_server import Clock, ServerThread
from tests.node_packages import ensure_node_packages
from tests.paths import ROOT

PROGRAMS = {
    "openai-node": shlex.join(["node", str(NODE_AGENT)]),
    "python-driver": shlex.join([sys.executable, str(ROOT / "examples" / "python_driver.py")]),
}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
async def test_the_tokens_it_writes_are_the_reference_format(program: str, mock: ServerThread) -> None:
    if program == "openai-node":
        ensure_node_packages(NODE_AGENT_DIR)
    adapter = CommandAdapter(PROGRAMS[program], timeout=30.0)
    await adapter.start(AgentEnvironment(mock.base_url, "test-key", "gpt-4o", Clock(1.0)))
    try:
        cut = await adapter.run("Write a poem.", None, stream=True, max_updates=6)
        assert cut.cut and cut.token is not None, cut.error
        tokens = [update.token for update in cut.updates if update.token is not None] + [cut.token]
        for token in tokens:
            state = decode_response_token(token)
            assert state is not None, f"{program} wrote {token!r}, not the reference format"
            assert isinstance(state.get("sequence_number"), int)
            # The same JSON document, whatever the spacing.
            again = encode_response_token(state["response_id"], state["sequence_number"])
            assert again is not None and orjson.loads(again) == orjson.loads(token)

        # A token the reference module writes resumes in the program right after the cut.
        state = decode_response_token(cut.token)
        assert state is not None
        handed = encode_response_token(state["response_id"], state["sequence_number"])
        rest = await adapter.run(None, handed, stream=True)
        assert rest.error is None and rest.token is None
        assert rest.updates and rest.updates[-1].kind == "response.completed"
        truth = mock.ground_truth(state["response_id"])
        assert "".join(u.text for u in cut.updates + rest.updates) == truth["text"]
    finally:
        await adapter.close()
