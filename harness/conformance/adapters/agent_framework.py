"""Microsoft's `agent-framework` (Python): `Agent` with `agent_framework.openai.OpenAIChatClient`, as documented.

Background mode is `options={"background": True}`; polling and resuming pass
`options={"continuation_token": token}` and no prompt. The framework's token is a plain
dict, so it is serialized as JSON, the way a user would store it. The framework has no
poller of its own (the caller sleeps), so this adapter offers none.

The agent gets the harness's `get_weather` as a function tool (`agent_framework.tool`), the way
its documentation registers tools; the framework's own function-invocation loop decides when
to run it and what to send back, so what `tool-call-once` judges is the framework's loop.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from agent_framework import Agent, FunctionTool, tool
from agent_framework.openai import OpenAIChatClient

from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate, one_line


class AgentFrameworkAgent:
    name = "agent-framework"

    def __init__(self) -> None:
        self._environment: AgentEnvironment | None = None
        self._agent: Agent | None = None
        self._session: Any = None

    async def start(self, environment: AgentEnvironment) -> None:
        self._environment = environment
        client = OpenAIChatClient(model=environment.model, api_key=environment.api_key, base_url=environment.base_url)
        tools = [_function_tool(environment)] if environment.tool is not None else None
        self._agent = Agent(client=client, name="bgr-agent-under-test", tools=tools)
        self._session = self._agent.create_session()

    def _now(self) -> float:
        assert self._environment is not None
        return self._environment.clock.now()

    async def restart(self) -> None:
        assert self._environment is not None
        await self.close()
        await self.start(self._environment)

    async def close(self) -> None:
        self._agent = None
        self._session = None

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        assert self._agent is not None, "start() first"
        options: dict[str, Any] = {"background": True}
        if token is not None:
            options = {"continuation_token": _load(token)}
        try:
            if stream:
                return await self._stream(prompt, options, max_updates)
            if prompt is None:
                response = await self._agent.run(session=self._session, options=options)
            else:
                response = await self._agent.run(prompt, session=self._session, options=options)
        except Exception as error:  # whatever the framework raises is the answer
            return AgentReply((), token, error=one_line(f"{type(error).__name__}: {error}"))
        reply_token = _dump(response.continuation_token)
        update = AgentUpdate(response.text or "", reply_token, "response", self._now())
        return AgentReply((update,), reply_token)

    async def _stream(self, prompt: str | None, options: dict[str, Any], max_updates: int | None) -> AgentReply:
        assert self._agent is not None
        if prompt is None:
            stream = self._agent.run(session=self._session, options=options, stream=True)
        else:
            stream = self._agent.run(prompt, session=self._session, options=options, stream=True)
        updates: list[AgentUpdate] = []
        try:
            async for update in stream:
                # Deltas append to the answer; `output_text.done` arrives as one more update that
                # *replaces* the whole text. A caller joins the appended texts, so that is the text here.
                text = "".join(
                    content.text
                    for content in update.contents
                    if content.type == "text" and getattr(content, "merge_mode", "append") == "append"
                )
                updates.append(AgentUpdate(text, _dump(update.continuation_token), _event_type(update), self._now()))
                if max_updates is not None and len(updates) >= max_updates:
                    return AgentReply(tuple(updates), updates[-1].token, cut=True)
        except Exception as error:  # a dropped stream or a failure, as the framework reports it
            last = updates[-1].token if updates else _dump(options.get("continuation_token"))
            return AgentReply(tuple(updates), last, error=one_line(f"{type(error).__name__}: {error}"))
        finally:
            # As C#'s `break` out of `await foreach` disposes the enumerator: close what we stopped reading.
            with contextlib.suppress(Exception):
                await stream.close()
        return AgentReply(tuple(updates), updates[-1].token if updates else None)


def _function_tool(environment: AgentEnvironment) -> FunctionTool:
    """The harness's tool as a framework function tool: each time the framework runs it, the harness counts it."""
    harness_tool = environment.tool
    assert harness_tool is not None

    def get_weather(city: str) -> str:
        return harness_tool.execute({"city": city})

    spec = harness_tool.spec
    registered: FunctionTool = tool(
        get_weather,
        name=spec["name"],
        description=spec["description"],
        schema=spec["parameters"],
        approval_mode="never_require",
    )  # type: ignore[assignment]
    return registered


def _event_type(update: Any) -> str:
    """The Responses API event behind an update, for the report (the framework keeps it as raw data)."""
    raw = getattr(update, "raw_representation", None)
    raw = getattr(raw, "raw_representation", raw)
    return str(getattr(raw, "type", "") or "update")


def _dump(token: Any) -> str | None:
    return None if token is None else json.dumps(dict(token), sort_keys=True)


def _load(token: str) -> Any:
    """What a user does with a stored token: parse the JSON back; anything else is passed as it is."""
    try:
        return json.loads(token)
    except json.JSONDecodeError:
        return token
