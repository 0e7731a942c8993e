"""Which versions of an agent's packages a run judged, for its results and the matrix's rows.

Reports say what was tested, not what is installed later: the versions are read when the run starts
and kept in the result's `extra["versions"]`.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

AGENT_PACKAGES: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "agent-framework": ("agent-framework-core", "agent-framework-openai", "openai"),
    "pydantic-ai": ("pydantic-ai-slim", "openai"),
    "litellm": ("litellm",),
    "litellm-proxy": ("litellm", "openai"),
}
"""The Python distributions behind each named agent, the framework first."""

NODE_PACKAGE = Path(__file__).parent / "adapters" / "node" / "node_modules" / "openai" / "package.json"


def agent_versions(agent: str) -> dict[str, str]:
    """Distribution name -> installed version for a named agent; empty for agents bgr does not know."""
    if agent == "openai-node":
        return _node_versions()
    versions = {}
    for distribution in AGENT_PACKAGES.get(agent, ()):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _node_versions() -> dict[str, str]:
    try:
        return {"openai (npm)": str(json.loads(NODE_PACKAGE.read_text())["version"])}
    except (OSError, ValueError, KeyError):
        return {}
