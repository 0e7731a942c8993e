"""Adapters: the only modules that know an agent's API. `make_adapter` maps `--agent` names to them."""

from __future__ import annotations

import importlib

from harness.conformance.adapters.base import AgentAdapter


def make_adapter(spec: str) -> AgentAdapter:
    """`openai`, `agent-framework`, `pydantic-ai`, `litellm`, `litellm-proxy`, `openai-node`, `cmd:<command line>`, or
    `py:<module>:<factory>` (an adapter in Python)."""
    if spec == "openai":
        from harness.conformance.adapters.openai_agent import OpenAIAgent

        return OpenAIAgent()
    if spec == "agent-framework":
        from harness.conformance.adapters.agent_framework import AgentFrameworkAgent

        return AgentFrameworkAgent()
    if spec == "pydantic-ai":
        from harness.conformance.adapters.pydantic_ai_agent import PydanticAIAgent

        return PydanticAIAgent()
    if spec == "litellm":
        from harness.conformance.adapters.litellm_agent import LiteLLMAgent

        return LiteLLMAgent()
    if spec == "litellm-proxy":
        from harness.conformance.adapters.litellm_proxy import LiteLLMProxyAgent

        return LiteLLMProxyAgent()
    if spec == "openai-node":
        from harness.conformance.adapters.openai_node import openai_node_agent

        return openai_node_agent()
    if spec.startswith("cmd:") and spec[4:].strip():
        from harness.conformance.adapters.command import CommandAdapter

        return CommandAdapter(spec[4:].strip())
    if spec.startswith("py:"):
        module_name, _, factory_name = spec[3:].partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), factory_name)
        except (ImportError, AttributeError, ValueError) as error:
            raise ValueError(f"cannot load the adapter {spec!r}: {error}") from None
        return factory()  # type: ignore[no-any-return]
    raise ValueError(
        f"unknown agent {spec!r}: use openai, agent-framework, pydantic-ai, litellm, litellm-proxy, openai-node, "
        "cmd:<command> or py:<module>:<factory>"
    )
