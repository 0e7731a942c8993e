"""Fixtures: a real mock server on a loopback port, and real clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from openai import OpenAI

from mock_server import ServerConfig, ServerThread, Timing

# Background responses that finish in a fraction of a second, so tests never wait on the mock.
FAST_BACKGROUND = Timing(queue_seconds=0.05, first_token_seconds=0.02, tokens_per_second=400.0)


@pytest.fixture
def start_mock() -> Iterator[Callable[..., ServerThread]]:
    """Factory: start a mock with a given config; every server started is stopped at teardown."""
    started: list[ServerThread] = []

    def start(config: ServerConfig | None = None) -> ServerThread:
        server = ServerThread(config or ServerConfig(background=FAST_BACKGROUND, answer_tokens=24)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mock(start_mock: Callable[..., ServerThread]) -> ServerThread:
    return start_mock()


@pytest.fixture
def client(mock: ServerThread) -> Iterator[OpenAI]:
    """The real SDK, validating every field, with no retries to hide what the server said."""
    with OpenAI(base_url=mock.base_url, api_key="test-key", _strict_response_validation=True, max_retries=0) as sdk:
        yield sdk
