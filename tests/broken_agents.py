"""Deliberately broken agents: the reference agent with one defect each. The harness must catch every one."""

from __future__ import annotations

import orjson

from harness.adapters.base import AgentReply, AgentUpdate
from harness.adapters.openai_agent import OpenAIAgent


class NullTooEarly(OpenAIAgent):
    """Says it is done (null token) on the first poll, whatever the backend says."""

    name = "broken:null-too-early"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        if token is not None and not stream:
            return AgentReply(tuple(AgentUpdate(u.text, None, u.kind) for u in reply.updates), None, reply.status)
        return reply


class _ShiftedCursor(OpenAIAgent):
    shift = 0

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if token is not None and stream:
            state = orjson.loads(token)
            if "sequence_number" in state:
                state["sequence_number"] = max(-1, state["sequence_number"] + self.shift)
                token = orjson.dumps(state).decode()
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class RepeatingResume(_ShiftedCursor):
    """Resumes three events too early: content comes twice."""

    name = "broken:repeating-resume"
    shift = -3


class SkippingResume(_ShiftedCursor):
    """Resumes two events too late: content is lost."""

    name = "broken:skipping-resume"
    shift = 2


class ResendsPrompt(OpenAIAgent):
    """Polls by sending the prompt again (a new response), as a naive retry loop would."""

    name = "broken:resends-prompt"

    async def start(self, environment) -> None:
        await super().start(environment)
        self._prompt: str | None = None

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if prompt is not None:
            self._prompt = prompt
        elif not stream and self._prompt is not None:
            await self.client.responses.create(model=self.model, input=self._prompt, background=True)
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class FailureAsEmptySuccess(OpenAIAgent):
    """Reports a failed, incomplete or cancelled run as a successful empty answer."""

    name = "broken:failure-as-success"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        if reply.error is not None and reply.token is None:
            return AgentReply(tuple(AgentUpdate("", None, u.kind) for u in reply.updates), None, "completed")
        return reply
