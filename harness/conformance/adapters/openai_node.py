"""openai-node (npm `openai`): `node/openai-node-agent.mjs`, a program over the cmd: protocol.

The program is what a user of openai-node writes; this module only says where it is and that its
packages must be installed first (`npm ci` in `node/`, which `.ci/run` does).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from harness.conformance.adapters.command import CommandAdapter

NODE_AGENT_DIR = Path(__file__).parent / "node"
NODE_AGENT = NODE_AGENT_DIR / "openai-node-agent.mjs"


def openai_node_agent() -> CommandAdapter:
    """The cmd: adapter for the Node.js agent, or a one-line error naming what is missing."""
    if shutil.which("node") is None:
        raise ValueError("the openai-node agent needs Node.js (node) on PATH")
    if not (NODE_AGENT_DIR / "node_modules" / "openai").is_dir():
        raise ValueError(f"the openai-node agent's packages are not installed: run `npm ci --prefix {NODE_AGENT_DIR}`")
    adapter = CommandAdapter(f"node {shlex.quote(str(NODE_AGENT))}")
    adapter.name = "openai-node"
    return adapter
