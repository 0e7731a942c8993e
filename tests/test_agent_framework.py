"""Microsoft's `agent-framework` (Agent + OpenAIChatClient) against the mock, used as its docs say."""

from __future__ import annotations

import asyncio

from agent_framework import Agent
from agent_framework.openai import OpenAIChatClient

from mock_server import MockServer, ServerConfig
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
