"""pydantic-ai: an `Agent` on `OpenAIResponsesModel` with `openai_background=True`, used as its documentation says.

Its token is the run's message history (`ModelMessagesTypeAdapter` JSON): a history that ends in a
`'suspended'` `ModelResponse` is a run to continue, and running the agent again on it checks on the same
background job. A plain call asks for `PendingModelResponse` among its outputs, so the run ends as soon as
the job is left waiting (the documented "submit now, collect later"); the caller's next call is one check.
A stream is `agent.iter` with `node.stream(...)`, the documented way to see a model request's events;
breaking out of it is the framework's "walk-away detach", after which the history holds the job to resume.
The framework's own poller (a fixed 2 s between retrieves) is `agent.run` on the history with `str` as the
only output; its sleep goes through `Agent.using_sleep`, the framework's hook for whose clock it waits on.

The agent gets the harness's `get_weather` as a function tool (`Tool.from_schema`, with the harness's own
schema), the way its documentation registers a tool from a schema; the framework's graph runs the tool loop
(a `CallToolsNode` runs each call and the next model request submits the outputs), so what `tool-call-once`
judges is the framework's own loop across polls, resumes and restarts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from openai import AsyncOpenAI
from pydantic import ValidationError
from pydantic_ai import Agent, ModelMessagesTypeAdapter, RunContext, Tool
from pydantic_ai.messages import ModelMessage, PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta
from pydantic_ai.models.openai import OpenAIResponsesModel, OpenAIResponsesModelSettings
from pydantic_ai.output import PendingModelResponse
from pydantic_ai.providers.openai import OpenAIProvider

from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate, one_line
from harness.conformance.tool import HarnessTool


class PydanticAIAgent:
    name = "pydantic-ai"

    def __init__(self) -> None:
        self._environment: AgentEnvironment | None = None
        self._client: AsyncOpenAI | None = None
        self._agent: Agent[None, Any] | None = None

    async def start(self, environment: AgentEnvironment) -> None:
        self._environment = environment
        # max_retries=2 is the SDK's default, written out: the framework adds no retries of its own.
        self._client = AsyncOpenAI(base_url=environment.base_url, api_key=environment.api_key, max_retries=2)
        model = OpenAIResponsesModel(environment.model, provider=OpenAIProvider(openai_client=self._client))
        tools = [_function_tool(environment.tool)] if environment.tool is not None else []
        self._agent = Agent(model, model_settings=OpenAIResponsesModelSettings(openai_background=True), tools=tools)

    async def restart(self) -> None:
        assert self._environment is not None
        await self.close()
        await self.start(self._environment)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = None
        self._agent = None

    def _now(self) -> float:
        assert self._environment is not None
        return self._environment.clock.now()

    @contextlib.contextmanager
    def _on_run_clock(self) -> Iterator[None]:
        """The framework's waits (2 s between polls) in scenario seconds of the run's one clock."""
        assert self._environment is not None
        with Agent.using_sleep(self._environment.clock.sleep):
            yield

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        assert self._agent is not None, "start() first"
        history: list[ModelMessage] | None = None
        if token is not None:
            try:
                history = ModelMessagesTypeAdapter.validate_json(token)
            except ValidationError as error:
                return AgentReply((), token, error=one_line(f"not a message history: {error}"))
        try:
            with self._on_run_clock():
                if stream:
                    return await self._stream(prompt, history, token, max_updates)
                result = await self._agent.run(prompt, message_history=history, output_type=[str, PendingModelResponse])
        except Exception as error:  # whatever the framework raises is the answer
            return AgentReply((), token, error=one_line(f"{type(error).__name__}: {error}"))
        if isinstance(result.output, PendingModelResponse):
            pending = _dump(result.all_messages())
            return AgentReply((AgentUpdate("", pending, "pending", self._now()),), pending)
        return AgentReply((AgentUpdate(result.output, None, "output", self._now()),), None)

    async def _stream(
        self, prompt: str | None, history: list[ModelMessage] | None, token: str | None, max_updates: int | None
    ) -> AgentReply:
        assert self._agent is not None
        updates: list[AgentUpdate] = []
        async with self._agent.iter(prompt, message_history=history, output_type=str) as run:
            try:
                async for node in run:
                    if not Agent.is_model_request_node(node):
                        continue
                    async with node.stream(run.ctx) as events:
                        async for event in _text_events(events):
                            kind, text = event
                            # What a caller can store at this moment is the history the run has so far.
                            updates.append(AgentUpdate(text, _dump(run.all_messages()), kind, self._now()))
                            if max_updates is not None and len(updates) >= max_updates:
                                break
                    if max_updates is not None and len(updates) >= max_updates:
                        # Walking away: the run's history now ends in the suspended job, the token to resume.
                        return AgentReply(tuple(updates), _dump(run.all_messages()), cut=True)
            except Exception as error:  # a dropped stream or a failure, as the framework reports it
                return AgentReply(tuple(updates), token, error=one_line(f"{type(error).__name__}: {error}"))
        if run.result is None:
            return AgentReply(tuple(updates), _dump(run.all_messages()))
        updates.append(AgentUpdate("", None, "output", self._now()))
        return AgentReply(tuple(updates), None)

    async def poll_until_done(self, token: str, *, max_polls: int, deadline_seconds: float | None) -> AgentReply:
        """The framework's own poller: the run on the pending history, with `str` as its only output.

        It has no bound on the number of polls but its own (1,000); a deadline is its `request_timeout`,
        given in real seconds, so the scenario's deadline is scaled by the run's clock.
        """
        assert self._agent is not None and self._environment is not None
        settings: dict[str, Any] = {}
        if deadline_seconds is not None:
            settings["request_timeout"] = self._environment.clock.real_seconds(deadline_seconds)
        try:
            history = ModelMessagesTypeAdapter.validate_json(token)
            with self._on_run_clock():
                result = await self._agent.run(message_history=history, output_type=str, model_settings=settings)
        except Exception as error:
            return AgentReply((), token, error=one_line(f"{type(error).__name__}: {error}"))
        return AgentReply((AgentUpdate(result.output, None, "output", self._now()),), None)


def _function_tool(harness_tool: HarnessTool) -> Tool[None]:
    """The harness's tool as a pydantic-ai tool: each time the framework runs it, the harness counts it."""

    def get_weather(ctx: RunContext[None], **arguments: Any) -> str:
        return harness_tool.execute(arguments, call_id=ctx.tool_call_id)

    spec = harness_tool.spec
    return Tool.from_schema(get_weather, spec["name"], spec["description"], spec["parameters"], takes_ctx=True)


async def _text_events(events: AsyncIterator[Any]) -> AsyncIterator[tuple[str, str]]:
    """Each stream event as (kind, text appended): text parts start with their first delta."""
    async for event in events:
        text = ""
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
            text = event.part.content
        elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            text = event.delta.content_delta
        yield type(event).__name__, text


def _dump(messages: list[ModelMessage]) -> str:
    return ModelMessagesTypeAdapter.dump_json(messages).decode()
