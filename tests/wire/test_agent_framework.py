"""Microsoft's `agent-framework` (Agent + OpenAIChatClient) against the mock, used as its docs say."""

from __future__ import annotations

import asyncio

import pytest
from agent_framework import Agent
from agent_framework.openai import OpenAIChatClient

from mock_server import MockServer, ServerConfig
from mock_server.rules import decode_rule
from tests.conftest import FAST_BACKGROUND

CONFIG = ServerConfig(background=FAST_BACKGROUND, answer_tokens=24)
MAX_POLLS = 200


def make_agent(server: MockServer) -> Agent:
    client = OpenAIChatClient(model="gpt-4o", api_key="test-key", base_url=server.base_url)
    return Agent(client=client, name="background-agent")


async def test_background_run_polled_until_token_is_null() -> None:
    async with MockServer(CONFIG) as server:
        agent = make_agent(server)
        session = agent.create_session()
        response = await agent.run("Compare paradigms.", session=session, options={"background": True})
        assert response.continuation_token is not None
        first_token = dict(response.continuation_token)
        polls = 0
        while response.continuation_token is not None:
            assert polls < MAX_POLLS
            await asyncio.sleep(0.01)
            polls += 1
            response = await agent.run(session=session, options={"continuation_token": response.continuation_token})

        truth = server.ground_truth(first_token["response_id"])
        assert response.text == truth["text"]
        requests = [(entry.method, entry.response_id) for entry in server.journal()]
        assert requests[0] == ("POST", first_token["response_id"])
        assert requests[1:] == [("GET", first_token["response_id"])] * polls


async def test_background_stream_read_to_its_final_response() -> None:
    async with MockServer(CONFIG) as server:
        agent = make_agent(server)
        session = agent.create_session()
        updates = []
        stream = agent.run("Write a poem.", session=session, options={"background": True}, stream=True)
        async for update in stream:
            updates.append(update)
        final = await stream.get_final_response()

        response_id = next(u.continuation_token for u in updates if u.continuation_token)["response_id"]
        truth = server.ground_truth(response_id)
        # Deltas append; `response.output_text.done` becomes one more update that *replaces* the text.
        appended = [c.text for u in updates for c in u.contents if c.type == "text" and c.merge_mode == "append"]
        assert "".join(appended) == truth["text"]
        assert final.text == truth["text"]
        # The last update comes from the terminal event and carries no token: the stream is done.
        assert updates[-1].continuation_token is None


async def test_background_stream_through_a_connection_drop_resumed_with_its_last_token() -> None:
    """What agent-framework does after a drop: it resumes with the last token it gave, but sends no cursor."""
    drop = decode_rule(
        {"match": {"input_contains": "[drop]"}, "times": 1, "faults": [{"type": "drop_after_events", "events": 10}]}
    )
    async with MockServer(CONFIG, rules=[drop]) as server:
        agent = make_agent(server)
        session = agent.create_session()
        first: list = []
        with pytest.raises(Exception):  # noqa: B017 - whichever error the framework wraps the drop in
            async for update in agent.run("[drop] a poem", session=session, options={"background": True}, stream=True):
                first.append(update)
        token = next(u.continuation_token for u in reversed(first) if u.continuation_token)
        resumed = [
            update async for update in agent.run(session=session, options={"continuation_token": token}, stream=True)
        ]

        truth = server.ground_truth(token["response_id"])
        before = _appended_text(first)
        after = _appended_text(resumed)
        resume_request = server.journal()[-1]
        # The framework's token holds only the response id, so the resume carries no starting_after...
        assert resume_request.query == {"stream": "true"}
        # ...the server replays from the first event, and the text received before the drop comes again.
        assert after == truth["text"]
        assert before and truth["text"].startswith(before)
        assert (before + after).count(before) == 2


def _appended_text(updates: list) -> str:
    return "".join(c.text for u in updates for c in u.contents if c.type == "text" and c.merge_mode == "append")


async def test_background_tool_loop_with_the_harness_tool_polled_to_the_answer() -> None:
    """The framework's own function-invocation loop, with the harness's get_weather as its function tool."""
    from harness.conformance.adapters.agent_framework import AgentFrameworkAgent
    from harness.conformance.adapters.base import AgentEnvironment
    from harness.conformance.tool import HarnessTool, weather_report
    from mock_server import Clock

    rule = {
        "match": {"input_contains": "[weather]"},
        "faults": [{"type": "tool_calls", "arguments": '{"city":"Lima"}'}],
    }
    async with MockServer(CONFIG) as server:
        server.state.rules.add(decode_rule(rule))
        clock = Clock(1.0)
        tool = HarnessTool(clock)
        agent = AgentFrameworkAgent()
        await agent.start(AgentEnvironment(server.base_url, "test-key", "gpt-4o", clock, tool))
        reply = await agent.run("[weather] Lima?", None, stream=False)
        polls = 0
        while reply.token is not None:
            assert polls < MAX_POLLS and reply.error is None, reply
            await asyncio.sleep(0.01)
            polls += 1
            reply = await agent.run(None, reply.token, stream=False)
        await agent.close()

        posts = [entry for entry in server.journal() if entry.method == "POST"]
        first, follow_up = (server.ground_truth(entry.response_id) for entry in posts)
        (call,) = first["function_calls"]
        assert [(e.name, e.arguments) for e in tool.executions] == [("get_weather", '{"city":"Lima"}')]
        # The output reached the model once, with previous_response_id, and its answer reached the caller.
        assert follow_up["tool_outputs"] == [{"call_id": call["call_id"], "output": weather_report("Lima")}]
        assert follow_up["previous_response_id"] == posts[0].response_id
        assert reply.updates[0].text == follow_up["text"]
