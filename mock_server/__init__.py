"""bgr's mock backend: an OpenAI Responses API (background, streaming, resumption) and Chat Completions."""

from mock_server.clock import Clock
from mock_server.config import ServerConfig, Timing
from mock_server.errors import APIError
from mock_server.journal import JournalEntry
from mock_server.server import MockServer, ServerThread, serve_until_stopped

__all__ = [
    "APIError",
    "Clock",
    "JournalEntry",
    "MockServer",
    "ServerConfig",
    "ServerThread",
    "Timing",
    "serve_until_stopped",
]
