"""litellm's SDK: `litellm.aresponses(..., background=True)`, `aget_responses(id, stream=True, starting_after=N)`.

The model is `openai/<model>` with the mock as `api_base`, as litellm's documentation shows for any
OpenAI-compatible endpoint. litellm hands back its own response ids (base64 that wraps the provider,
the model id and the upstream id) and decodes them on retrieve, so the token is the id litellm gave and
the last `sequence_number` seen, as JSON. litellm has no poller of its own (the caller sleeps).

litellm has no agent loop either: its users offer tools in `aresponses(..., tools=[...])` and run the
loop themselves, as the reference agent does. When a response ends `completed` with function calls,
the adapter runs each call once and creates the follow-up (`previous_response_id`, litellm's own id,
and the outputs) in the same call, so its token moves on to the follow-up: a token naming a response
means "its calls are not submitted yet".
"""

from __future__ import annotations

import os

# litellm fetches a model price list over the network when imported; the package ships a copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from typing import Any

import litellm
import orjson

from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate, one_line

litellm.suppress_debug_info = True  # its "Provider List" banner goes to stdout on every error

PENDING = {"queued", "in_progress"}
TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete"}


class LiteLLMAgent:
    name = "litellm"

    def __init__(self) -> None:
        self._environment: AgentEnvironment | None = None

    async def start(self, environment: AgentEnvironment) -> None:
        self._environment = environment

    async def restart(self) -> None:
        assert self._environment is not None
        await self.close()
        await self.start(self._environment)

    async def close(self) -> None:
        """litellm keeps no client per caller: nothing to release."""

    def _now(self) -> float:
        assert self._environment is not None
        return self._environment.clock.now()

    @property
    def _endpoint(self) -> dict[str, Any]:
        assert self._environment is not None
        return {"api_base": self._environment.base_url, "api_key": self._environment.api_key}

    async def run(
        self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None = None
    ) -> AgentReply:
        assert self._environment is not None, "start() first"
        state: dict[str, Any] | None = None
        if token is not None:
            state = _load(token)
            if state is None:
                return AgentReply((), token, error=f"not a token of this agent: {token[:60]!r}")
        try:
            if stream:
                return await self._stream(prompt, state, token, max_updates)
            if state is None:
                response = await litellm.aresponses(
                    model=f"openai/{self._environment.model}",
                    input=prompt or "",
                    background=True,
                    **self._tools(),
                    **self._endpoint,
                )
            else:
                response = await litellm.aget_responses(state["response_id"], **self._endpoint)
            while _function_calls(response):
                response = await self._submit_outputs(response, stream=False)
        except Exception as error:  # litellm maps every provider error to its own exception types
            message = one_line(f"{type(error).__name__}: {error}")
            return AgentReply((), token, error=message, retry_after=_retry_after(error))
        status = str(response.status)
        reply_token = _dump(response.id, None) if status in PENDING else None
        text = response.output_text if status in ("completed", "incomplete") else ""
        update = AgentUpdate(text or "", reply_token, status, self._now())
        return AgentReply((update,), reply_token, status, _ending(response))

    def _tools(self) -> dict[str, Any]:
        tool = self._environment.tool if self._environment else None
        return {"tools": [tool.spec]} if tool is not None else {}

    async def _submit_outputs(self, response: Any, *, stream: bool) -> Any:
        """Run each of the response's function calls once and create the follow-up with their outputs."""
        assert self._environment is not None
        tool = self._environment.tool
        outputs = []
        for call in _function_calls(response):
            name, call_id = _field(call, "name"), _field(call, "call_id")
            if tool is not None and name == tool.name:
                output = tool.execute(_field(call, "arguments") or "", call_id=call_id)
            else:
                output = f"error: no tool named {name!r}"
            outputs.append({"type": "function_call_output", "call_id": call_id, "output": output})
        return await litellm.aresponses(
            model=f"openai/{self._environment.model}",
            input=outputs,
            previous_response_id=_field(response, "id"),
            background=True,
            stream=stream,
            **self._tools(),
            **self._endpoint,
        )

    async def _stream(
        self,
        prompt: str | None,
        state: dict[str, Any] | None,
        token: str | None,
        max_updates: int | None,
        earlier: tuple[AgentUpdate, ...] = (),
        opened: Any = None,
    ) -> AgentReply:
        """`opened`: the stream of a tool loop's follow-up, after `earlier` updates of this call; until its
        first event the position is still the end of the response that called the tool (`token`)."""
        assert self._environment is not None
        if opened is not None:
            events, response_id = opened, state["response_id"] if state else None
        elif state is None:
            events = await litellm.aresponses(
                model=f"openai/{self._environment.model}",
                input=prompt or "",
                background=True,
                stream=True,
                **self._tools(),
                **self._endpoint,
            )
            response_id = None
        else:
            response_id = state["response_id"]
            events = await litellm.aget_responses(
                response_id, stream=True, starting_after=state.get("sequence_number"), **self._endpoint
            )
        updates: list[AgentUpdate] = list(earlier)
        last = token
        status = error = None
        calling = None  # the response ended with function calls: the tool loop goes on
        try:
            async for event in events:
                kind = str(getattr(event.type, "value", event.type))
                if kind == "response.created":
                    response_id = _field(event.response, "id")
                if kind in TERMINAL_EVENTS and not _function_calls(event.response):
                    status = _field(event.response, "status")
                    error = _ending(event.response)
                    last = None
                else:
                    last = _dump(response_id, event.sequence_number)
                text = (getattr(event, "delta", "") or "") if kind == "response.output_text.delta" else ""
                updates.append(AgentUpdate(text, last, kind, self._now()))
                if max_updates is not None and len(updates) >= max_updates and last is not None:
                    return AgentReply(tuple(updates), last, cut=True)
                if kind == "response.completed" and _function_calls(event.response):
                    calling = event.response
                    break
        except Exception as dropped:
            return AgentReply(tuple(updates), last, error=one_line(f"{type(dropped).__name__}: {dropped}"))
        if calling is not None:
            opened = await self._submit_outputs(calling, stream=True)
            return await self._stream(None, _load(last) if last else None, last, max_updates, tuple(updates), opened)
        return AgentReply(tuple(updates), last, status, error)


def _function_calls(response: Any) -> list[Any]:
    """The function calls of a completed response (a tool loop's turn), none for any other."""
    if str(_field(response, "status")) != "completed":
        return []
    return [item for item in _field(response, "output") or () if _field(item, "type") == "function_call"]


def _field(value: Any, name: str) -> Any:
    """litellm gives some events' `response` as a typed object and others as a plain dict."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _ending(response: Any) -> str | None:
    status = str(_field(response, "status"))
    if status == "failed":
        detail = _field(_field(response, "error") or {}, "message")
        return f"response failed: {detail or 'no error given'}"
    if status == "incomplete":
        reason = _field(_field(response, "incomplete_details") or {}, "reason")
        return f"response incomplete: {reason or 'unknown'}"
    if status == "cancelled":
        return "response cancelled"
    return None


def _dump(response_id: str | None, sequence_number: int | None) -> str | None:
    if response_id is None:
        return None
    state: dict[str, Any] = {"response_id": response_id}
    if sequence_number is not None:
        state["sequence_number"] = sequence_number
    return orjson.dumps(state).decode()


def _load(token: str) -> dict[str, Any] | None:
    try:
        state = orjson.loads(token)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(state, dict) or not str(state.get("response_id", "")).startswith("resp_"):
        return None
    return state


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return float(headers["retry-after"]) if "retry-after" in headers else None
    except (TypeError, ValueError):
        return None
