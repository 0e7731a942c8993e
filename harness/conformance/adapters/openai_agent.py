"""The reference agent: the `openai` SDK's Responses API used as the contract says, the yardstick.

Its token is JSON `{"response_id": ..., "sequence_number": N}` (`response_token.py`; the sequence
number only when streaming); it resumes with `starting_after`, polls with backoff 1, 2, 4, ... 30 s
under a bound, and reports failed, incomplete and cancelled endings as errors with their status.

It offers the model the harness's tool and runs the tool loop itself: when a response ends
`completed` with function calls, it runs each call once and creates the follow-up
(`previous_response_id` and the outputs) in the same call, so its token moves on to the
follow-up. A token naming a response therefore means "its calls are not submitted yet", which
is what makes a restart or a resume run each call exactly once.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

from openai import APIConnectionError, APIError, APIStatusError, AsyncOpenAI, DefaultAsyncHttpxClient

from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate, one_line
from harness.conformance.adapters.response_token import decode_response_token, encode_response_token
from harness.conformance.adapters.sdk_stream import close_sdk_stream

TERMINAL = {"completed", "failed", "incomplete", "cancelled"}
TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete"}


class OpenAIAgent:
    name = "openai"
    checks_sequence = True
    """Drop events already delivered and report a gap (sequence-dedupe); the test suite's broken agents turn it off."""

    def __init__(self) -> None:
        self._client: AsyncOpenAI | None = None
        self._environment: AgentEnvironment | None = None

    async def start(self, environment: AgentEnvironment) -> None:
        self._environment = environment
        self._client = AsyncOpenAI(
            base_url=environment.base_url,
            api_key=environment.api_key,
            max_retries=2,
            http_client=DefaultAsyncHttpxClient(verify=_tls_context()),
        )

    async def restart(self) -> None:
        assert self._environment is not None
        await self.close()
        await self.start(self._environment)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> AsyncOpenAI:
        assert self._client is not None, "start() first"
        return self._client

    def _now(self) -> float:
        assert self._environment is not None
        return self._environment.clock.now()

    def _scenario_seconds(self, real_seconds: float) -> float:
        assert self._environment is not None
        return self._environment.clock.scenario_seconds(real_seconds)

    @property
    def model(self) -> str:
        assert self._environment is not None
        return self._environment.model

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        state: dict[str, Any] | None = None
        if token is not None:
            state = decode_response_token(token)
            if state is None:
                return AgentReply((), token, error=f"not a token of this agent: {token[:60]!r}")
        try:
            if stream:
                return await self._stream(prompt, state, max_updates)
            if state is None:
                response = await self.client.responses.create(
                    model=self.model, input=prompt or "", background=True, **self._tools()
                )
            else:
                response = await self.client.responses.retrieve(state["response_id"])
            while _function_calls(response):
                response = await self._submit_outputs(response, stream=False)
            return _reply(response, self._now())
        except APIStatusError as error:
            asked = _retry_after(error)
            # The wire speaks real seconds (the mock scales them); the poller waits in scenario seconds.
            retry_after = None if asked is None else self._scenario_seconds(asked)
            return AgentReply((), token, error=one_line(str(error)), retry_after=retry_after)
        except APIError as error:
            return AgentReply((), token, error=one_line(str(error)))

    async def poll_until_done(self, token: str, *, max_polls: int, deadline_seconds: float | None) -> AgentReply:
        """The lesson's Demo 3 with a bound, through bgr's reference Poller (1, 2, 4, ... 30 s, Retry-After)."""
        from harness.client.poller import Poller, PollTimeout

        assert self._environment is not None
        poller = Poller(self, max_polls=max_polls, deadline_seconds=deadline_seconds, clock=self._environment.clock)
        try:
            return (await poller.poll(token)).as_reply()
        except PollTimeout as timeout:
            return timeout.as_reply()

    def _tools(self) -> dict[str, Any]:
        tool = self._environment.tool if self._environment else None
        return {"tools": [tool.spec]} if tool is not None else {}

    async def _submit_outputs(self, response: Any, *, stream: bool) -> Any:
        """Run each of the response's function calls once and create the follow-up with their outputs."""
        tool = self._environment.tool if self._environment else None
        outputs = []
        for call in _function_calls(response):
            if tool is not None and call.name == tool.name:
                output = tool.execute(call.arguments, call_id=call.call_id)
            else:
                output = f"error: no tool named {call.name!r}"
            outputs.append({"type": "function_call_output", "call_id": call.call_id, "output": output})
        return await self.client.responses.create(
            model=self.model,
            input=outputs,  # type: ignore[arg-type]
            previous_response_id=response.id,
            background=True,
            stream=stream,  # type: ignore[call-overload]
            **self._tools(),
        )

    async def _stream(
        self,
        prompt: str | None,
        state: dict[str, Any] | None,
        max_updates: int | None,
        earlier: tuple[AgentUpdate, ...] = (),
        opened: Any = None,
    ) -> AgentReply:
        """`opened`: the stream of a tool loop's follow-up, after `earlier` updates of this call; until its
        first event the position is still the end of the response that called the tool (`state`)."""
        if opened is not None:
            events, response_id = opened, state["response_id"] if state else None
        elif state is None:
            events = await self.client.responses.create(
                model=self.model, input=prompt or "", background=True, stream=True, **self._tools()
            )
            response_id = None
        else:
            response_id = state["response_id"]
            cursor = state.get("sequence_number")
            if cursor is None:
                events = await self.client.responses.retrieve(response_id, stream=True)
            else:
                events = await self.client.responses.retrieve(response_id, stream=True, starting_after=cursor)
        updates: list[AgentUpdate] = list(earlier)
        token = encode_response_token(response_id, state.get("sequence_number") if state else None)
        status = error = None
        calling = None  # the response ended with function calls: the tool loop goes on
        # The last sequence number delivered: a backend or proxy may repeat events after a reconnect
        # (sequence-dedupe), and a hole in the numbering means an event was lost. A tool loop's follow-up
        # is another response, numbered from 0 again.
        delivered = state.get("sequence_number") if state and opened is None else None
        if not self.checks_sequence:
            delivered = None
        try:
            async for event in events:
                number = event.sequence_number
                if delivered is not None and number <= delivered:
                    continue
                if delivered is not None and number > delivered + 1:
                    gap = f"events {delivered + 1}..{number - 1} never arrived (a gap in sequence numbers)"
                    return AgentReply(tuple(updates), token, error=f"stream broken: {gap}")
                delivered = number if self.checks_sequence else None
                if event.type == "response.created":
                    response_id = event.response.id
                if max_updates == 0 and response_id is not None:
                    # Asked to deliver nothing: what was read only says which response to resume, from where.
                    return AgentReply(
                        (),
                        encode_response_token(response_id, state.get("sequence_number") if state else None),
                        cut=True,
                    )
                if event.type in TERMINAL_EVENTS and not _function_calls(event.response):
                    status = event.response.status
                    error = _ending_error(event.response)
                    token = None
                else:
                    token = encode_response_token(response_id, event.sequence_number)
                text = event.delta if event.type == "response.output_text.delta" else ""
                updates.append(AgentUpdate(text, token, event.type, self._now()))
                if max_updates is not None and len(updates) >= max_updates and token is not None:
                    return AgentReply(tuple(updates), token, cut=True)
                if event.type == "response.completed" and _function_calls(event.response):
                    calling = event.response
                    break
        except APIConnectionError as dropped:
            if status is not None:  # dropped after the terminal event: the answer is whole, the run is over
                return AgentReply(tuple(updates), None, status, error)
            return AgentReply(tuple(updates), token, error=f"stream dropped: {one_line(str(dropped))}")
        finally:
            await close_sdk_stream(events)
        if calling is not None:
            return await self._follow_up(calling, token, updates, max_updates)
        if token is not None and response_id is not None:
            # The stream ended without a terminal event: a cancel. Ask what became of it.
            final = await self.client.responses.retrieve(response_id)
            if _function_calls(final):  # a resume after the calling response's last event
                return await self._follow_up(final, token, updates, max_updates)
            if final.status in TERMINAL:
                return AgentReply(tuple(updates), None, final.status, _ending_error(final))
        return AgentReply(tuple(updates), token, status, error)

    async def _follow_up(
        self, calling: Any, token: str | None, updates: list[AgentUpdate], max_updates: int | None
    ) -> AgentReply:
        """Submit the calling response's outputs and stream the follow-up within the same call."""
        opened = await self._submit_outputs(calling, stream=True)
        state = decode_response_token(token) if token is not None else None
        return await self._stream(None, state, max_updates, tuple(updates), opened)


def _function_calls(response: Any) -> list[Any]:
    """The function calls of a completed response (a tool loop's turn), none for any other."""
    if response.status != "completed":
        return []
    return [item for item in response.output if item.type == "function_call"]


def _reply(response: Any, received_at: float) -> AgentReply:
    done = response.status in TERMINAL
    text = response.output_text if response.status in ("completed", "incomplete") else ""
    token = None if done else encode_response_token(response.id, None)
    update = AgentUpdate(text, token, response.status, received_at)
    return AgentReply((update,), token, response.status, _ending_error(response))


def _ending_error(response: Any) -> str | None:
    if response.status == "failed":
        detail = response.error.message if response.error else "no error given"
        return f"response failed: {detail}"
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else "unknown"
        return f"response incomplete: {reason}"
    if response.status == "cancelled":
        return "response cancelled"
    return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The default TLS context, made once per process: making one loads every CA certificate (tens of ms of
    CPU), and each scenario and each fuzz example starts a fresh agent."""
    return ssl.create_default_context()


def _retry_after(error: APIStatusError) -> float | None:
    """What a 429 asked for, once the SDK's own retries are spent: `retry-after-ms`, else `Retry-After`."""
    if error.status_code != 429:
        return None
    headers = error.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None
