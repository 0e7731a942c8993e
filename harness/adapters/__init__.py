"""Adapters: the only modules that know an agent's API. `make_adapter` maps `--agent` names to them."""

from __future__ import annotations

from harness.adapters.base import AgentAdapter


def make_adapter(spec: str) -> AgentAdapter:
    """`openai`, `agent-framework`, or `cmd:<command line>`."""
    if spec == "openai":
        from harness.adapters.openai_agent import OpenAIAgent

        return OpenAIAgent()
    if spec == "agent-framework":
        from harness.adapters.agent_framework import AgentFrameworkAgent

        return AgentFrameworkAgent()
    if spec.startswith("cmd:") and spec[4:].strip():
        from harness.adapters.command import CommandAdapter

        return CommandAdapter(spec[4:].strip())
    raise ValueError(f"unknown agent {spec!r}: use openai, agent-framework or cmd:<command>")
