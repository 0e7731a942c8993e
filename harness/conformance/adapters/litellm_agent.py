"""litellm's SDK: `litellm.aresponses(..., background=True)`, `aget_responses(id, stream=True, starting_after=N)`.

The model is `openai/<model>` with the mock as `api_base`, as litellm's documentation shows for any
OpenAI-compatible endpoint. litellm hands back its own response ids (base64 that wraps the provider,
the model id and the upstream id) and decodes them on retrieve, so the token is the id litellm gave and
the last `sequence_number` seen, as JSON (`response_token.py`). litellm has no poller of its own (the caller sleeps).
"""

from __future__ import annotations

import contextlib
import os

# litellm fetches a model price list over the network when imported; the package ships a copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from typing import Any

import litellm

from harness.conformance.adapters.base import AgentEnvironment, AgentReply, AgentUpdate, one_line
from harness.conformance.adapters.response_token import decode_response_token, encode_response_token
from harness.conformance.adapters.sdk_stream import close_sdk_stream

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
            state = decode_response_token(token)
            if state is None:
                return AgentReply((), token, error=f"not a token of this agent: {token[:60]!r}")
        try:
            if stream:
                return await self._stream(prompt, state, token, max_updates)
            if state is None:
                response = await litellm.aresponses(
                    model=f"openai/{self._environment.model}", input=prompt or "", background=True, **self._endpoint
                )
            else:
                response = await litellm.aget_responses(state["response_id"], **self._endpoint)
        except Exception as error:  # litellm maps every provider error to its own exception types
            message = one_line(f"{type(error).__name__}: {error}")
            return AgentReply((), token, error=message, retry_after=_retry_after(error))
        status = str(response.status)
        reply_token = encode_response_token(response.id, None) if status in PENDING else None
        text = response.output_text if status in ("completed", "incomplete") else ""
        update = AgentUpdate(text or "", reply_token, status, self._now())
        return AgentReply((update,), reply_token, status, _ending(response))

    async def _stream(
        self, prompt: str | None, state: dict[str, Any] | None, token: str | None, max_updates: int | None
    ) -> AgentReply:
        assert self._environment is not None
        if state is None:
            events = await litellm.aresponses(
                model=f"openai/{self._environment.model}",
                input=prompt or "",
                background=True,
                stream=True,
                **self._endpoint,
            )
            response_id = None
        else:
            response_id = state["response_id"]
            events = await litellm.aget_responses(
                response_id, stream=True, starting_after=state.get("sequence_number"), **self._endpoint
            )
        updates: list[AgentUpdate] = []
        last = token
        status = error = None
        try:
            async for event in events:
                kind = str(getattr(event.type, "value", event.type))
                if kind == "response.created":
                    response_id = _field(event.response, "id")
                if kind in TERMINAL_EVENTS:
                    status = _field(event.response, "status")
                    error = _ending(event.response)
                    last = None
                else:
                    last = encode_response_token(response_id, event.sequence_number)
                text = (getattr(event, "delta", "") or "") if kind == "response.output_text.delta" else ""
                updates.append(AgentUpdate(text, last, kind, self._now()))
                if max_updates is not None and len(updates) >= max_updates and last is not None:
                    return AgentReply(tuple(updates), last, cut=True)
        except Exception as dropped:
            return AgentReply(tuple(updates), last, error=one_line(f"{type(dropped).__name__}: {dropped}"))
        finally:
            # A cut or a drop stops reading: end the stream here, not in the garbage collector.
            with contextlib.suppress(Exception):
                await close_sdk_stream(events)
        return AgentReply(tuple(updates), last, status, error)


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


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return float(headers["retry-after"]) if "retry-after" in headers else None
    except (TypeError, ValueError):
        return None
