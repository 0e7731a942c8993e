"""Probe: connections that hold the server without finishing a request are closed, over raw sockets.

Each socket waits at most `WAIT` real seconds for the server to act, far longer than the timeouts
configured here, so a busy machine does not change the verdict; a server that never closes fails.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

import orjson
import pytest

from mock_server import ServerConfig, ServerThread

WAIT = 20.0
SHORT = 0.3
LONG = 600.0
"""Longer than any test runs: a close seen within WAIT cannot have come from this timeout."""


def connect(mock: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", mock.server.port), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, reset_ok: bool = False) -> bytes:
    """Everything the server sends until it closes; a socket timeout (never closed) fails the test."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        # Closing on unread bytes (the rest of a refused request) makes the kernel send a RST.
        if not (reset_ok and received):
            raise
    return received


@pytest.fixture
def strict_mock(start_mock: Callable[..., ServerThread]) -> Callable[..., ServerThread]:
    def start(idle: float, read: float) -> ServerThread:
        return start_mock(ServerConfig(idle_timeout_seconds=idle, read_timeout_seconds=read))

    return start


def test_connections_that_never_send_a_request_are_closed(strict_mock: Callable[..., ServerThread]) -> None:
    mock = strict_mock(idle=SHORT, read=LONG)
    sockets = [connect(mock) for _ in range(100)]
    try:
        assert [read_until_closed(sock) for sock in sockets] == [b""] * 100
    finally:
        for sock in sockets:
            sock.close()


def test_a_keep_alive_connection_idle_after_its_answer_is_closed(strict_mock: Callable[..., ServerThread]) -> None:
    mock = strict_mock(idle=SHORT, read=LONG)
    with connect(mock) as sock:
        sock.sendall(b"GET /_bgr/health HTTP/1.1\r\nHost: x\r\n\r\n")
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in received


def test_a_head_that_stalls_midway_is_cut_off_by_the_read_timeout(strict_mock: Callable[..., ServerThread]) -> None:
    mock = strict_mock(idle=LONG, read=SHORT)
    with connect(mock) as sock:
        sock.sendall(b"GET /_bgr/health HTTP/1.1\r\nHost: x\r\n")  # no blank line: the head never ends
        assert read_until_closed(sock) == b""


def test_a_partial_head_pipelined_behind_an_answer_ends_with_the_idle_timeout(
    strict_mock: Callable[..., ServerThread],
) -> None:
    mock = strict_mock(idle=SHORT, read=LONG)
    with connect(mock) as sock:
        sock.sendall(b"GET /_bgr/health HTTP/1.1\r\nHost: x\r\n\r\nGET /_bgr/hea")
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200") and received.count(b"HTTP/1.1") == 1


def test_a_body_that_stalls_gets_a_408_envelope_and_the_connection_closes(
    strict_mock: Callable[..., ServerThread],
) -> None:
    mock = strict_mock(idle=LONG, read=SHORT)
    with connect(mock) as sock:
        head = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        sock.sendall(head + b'{"model"')
        received = read_until_closed(sock)
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408")
    assert orjson.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
    assert mock.journal()[-1].status == 408


def test_a_slow_but_steady_client_within_the_limits_is_served(strict_mock: Callable[..., ServerThread]) -> None:
    mock = strict_mock(idle=LONG, read=LONG)
    with connect(mock) as sock:
        for piece in (b"GET /_bgr/health HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n", b"\r\n"):
            sock.sendall(piece)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * (100 << 10) + b"\r\n\r\n",
        b"GET /v1/responses/\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Bgr-\xe9: yes\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS to a plain port
        b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}",
    ],
)
def test_what_aiohttp_refuses_is_answered_in_the_envelope(mock: ServerThread, request_bytes: bytes) -> None:
    with connect(mock) as sock:
        # The server may answer and close before a long line is all written.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request_bytes)
        received = read_until_closed(sock, reset_ok=True)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split()[1] in (b"400", b"417"), head
    assert b"Content-Type: application/json" in head
    error = orjson.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "invalid_http_request"
