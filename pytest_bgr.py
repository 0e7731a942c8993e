"""The pytest entry point of bgr: options and markers only, the harness imported once they are used.

Registered as the `pytest11` plugin `bgr`. It imports nothing of bgr at start-up, so a project
with packages of its own named `harness` or `mock_server` runs its pytest untouched; with
`--bgr-agent`, the suites come from `harness.conformance.pytest_plugin`:

    pytest --bgr-agent "cmd:node driver.js" --bgr-suite core -m must
"""

from __future__ import annotations

import pytest

DEFAULT_SEED = 0
DEFAULT_TIME_SCALE = 0.02
"""As `bgr run`'s (`harness.conformance.target`), repeated so that loading the plugin imports nothing."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgr", "background-responses conformance (bgr)")
    group.addoption("--bgr-agent", help="openai | agent-framework | cmd:<command> | py:<module>:<factory>")
    group.addoption("--bgr-suite", action="append", default=[], help="suite to run (repeatable; default all)")
    group.addoption("--bgr-seed", type=int, default=None, help=f"seed of every random choice (default {DEFAULT_SEED})")
    group.addoption(
        "--bgr-time-scale",
        type=float,
        default=None,
        help=f"real seconds per scenario second (default {DEFAULT_TIME_SCALE:g}, or the --bgr-base-url mock's)",
    )
    group.addoption("--bgr-base-url", default=None, help="a running bgr mock to use instead of starting one")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "must: a MUST rule of the background-responses contract")
    config.addinivalue_line("markers", "should: a SHOULD rule of the background-responses contract")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--bgr-agent"):
        return
    from harness.conformance.pytest_plugin import add_conformance_items

    add_conformance_items(session, config, items)
