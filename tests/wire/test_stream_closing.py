"""An adapter that stops reading a stream ends it: nothing of the SDK's stream is left to the garbage collector.

The `openai` SDK's stream and its generator refer to each other, so a stream read in part and only
`close()`d stays suspended until the cyclic collector frees it, on whatever thread runs then (the
mock's, here) and perhaps while its loop is closing, where finalizing it fails. The collector is
held off while each call runs, so what the adapter leaves behind is still there to be counted.
"""

from __future__ import annotations

import asyncio
import gc
import types
from collections.abc import Iterator

import pytest

from harness.conformance.adapters import make_adapter
from harness.conformance.adapters.base import AgentEnvironment, AgentReply
from mock_server import Clock, ServerThread
from mock_server.rules import decode_rule

LOOP_TURNS = 100
"""Loop iterations to let generators that were let go end on the loop (a few suffice): a count, not a time."""
DROPPED = "[dropped]"


@pytest.fixture
def collector_held() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def suspended_generators() -> list[str]:
    """Async generators of the SDK and its HTTP stack that started and have not ended."""
    return sorted(
        generator.__qualname__
        for generator in gc.get_objects()
        if isinstance(generator, types.AsyncGeneratorType)
        and generator.ag_frame is not None
        and generator.ag_frame.f_lasti >= 0
        and generator.ag_code.co_filename.find("site-packages") >= 0
    )


async def left_behind(before: list[str]) -> list[str]:
    for _ in range(LOOP_TURNS):
        await asyncio.sleep(0)
        now = suspended_generators()
        if len(now) <= len(before):
            return []
    return [name for name in now if name not in before or now.count(name) > before.count(name)]


@pytest.mark.parametrize("agent", ["openai", "litellm"])
@pytest.mark.parametrize("how", ["cut", "nothing-delivered", "dropped"])
async def test_a_stream_stopped_early_is_ended_by_the_adapter(
    agent: str, how: str, mock: ServerThread, collector_held: None
) -> None:
    rule = decode_rule({"match": {"input_contains": DROPPED}, "faults": [{"type": "drop_after_events", "events": 5}]})
    mock.call(lambda: mock.server.state.rules.add(rule))
    adapter = make_adapter(agent)
    await adapter.start(AgentEnvironment(mock.base_url, "test-key", "gpt-4o", Clock(1.0)))
    try:
        before = suspended_generators()
        reply: AgentReply
        if how == "cut":
            reply = await adapter.run("Write a poem.", None, stream=True, max_updates=4)
            assert reply.cut, reply.error
        elif how == "nothing-delivered":
            reply = await adapter.run("Write a poem.", None, stream=True, max_updates=0)
            assert reply.token is not None, reply.error
        else:
            reply = await adapter.run(f"{DROPPED} Write a poem.", None, stream=True)
            assert reply.error is not None and reply.token is not None
        assert await left_behind(before) == []
    finally:
        await adapter.close()
