"""Probe: inputs that once got a 500 or poisoned the journal, sent over raw sockets as a prober would."""

from __future__ import annotations

import socket

import orjson
import pytest

from mock_server import ServerThread
from tests.raw_http import RawReply, send


def raw_request(mock: ServerThread, head: bytes, body: bytes = b"") -> RawReply:
    """One request written byte for byte (what http.client would refuse to send), read to its end."""
    with socket.create_connection(("127.0.0.1", mock.server.port), timeout=10) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode("latin-1")
    return RawReply(int(status_line.split()[1]), headers, payload)


def assert_envelope(reply: RawReply, status: int) -> dict:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"].startswith("application/json")
    error = orjson.loads(reply.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    "query",
    ["since=%C2%B2", "since=%D9%A1", "since=1_0", "since=%201", "since=-1", "since=" + "9" * 5000],
)
def test_journal_positions_take_ascii_digits_only(mock: ServerThread, query: str) -> None:
    reply = send("GET", f"{mock.url}/_bgr/journal?{query}")
    if query.endswith("9" * 100):
        # A position past every entry: nothing after it, and no 500.
        assert reply.status == 200 and reply.json()["entries"] == []
    else:
        assert assert_envelope(reply, 400)["param"] == "since"


@pytest.mark.parametrize("rule_id", ["%C2%B2", "%D9%A1", "9" * 5000])
def test_rule_ids_take_ascii_digits_only(mock: ServerThread, rule_id: str) -> None:
    added = send("POST", f"{mock.url}/_bgr/rules", json_body={"faults": [{"type": "hang", "seconds": 1}]}).json()
    assert added["id"] == 1
    reply = send("DELETE", f"{mock.url}/_bgr/rules/{rule_id}")
    assert assert_envelope(reply, 400 if "%" in rule_id else 404)["param"] == "rule_id"
    assert len(send("GET", f"{mock.url}/_bgr/rules").json()["rules"]) == 1  # Arabic-Indic one is not rule 1


@pytest.mark.parametrize(
    "header",
    [b"User-Agent: caf\xe9", b"X-Bgr-Note: \xff\xfe", b"Idempotency-Key: \xc3\x28"],
)
def test_a_header_that_is_not_utf8_does_not_poison_the_journal(mock: ServerThread, header: bytes) -> None:
    head = b"GET /v1/responses/resp_none HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"
    assert_envelope(raw_request(mock, head), 404)
    for _ in range(3):  # every later read of the journal, not just the first
        journal = send("GET", f"{mock.url}/_bgr/journal")
        assert journal.status == 200, journal.body[:300]
    entry = journal.json()["entries"][-1]
    assert entry["path"] == "/v1/responses/resp_none" and entry["status"] == 404
    assert any("?" in value for value in entry["headers"].values())


def test_a_query_that_is_not_utf8_is_journaled_readably(mock: ServerThread) -> None:
    assert_envelope(raw_request(mock, b"GET /v1/responses/resp_none?x=%FF%FE HTTP/1.1\r\nHost: x\r\n"), 404)
    assert send("GET", f"{mock.url}/_bgr/journal").status == 200


def test_a_faults_header_that_is_not_utf8_is_a_400(mock: ServerThread) -> None:
    body = b'{"model": "m", "input": "x"}'
    head = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\nX-Bgr-Faults: [\xff]\r\n" % len(body)
    assert assert_envelope(raw_request(mock, head, body), 400)["param"] == "X-Bgr-Faults"
    assert send("GET", f"{mock.url}/_bgr/journal").status == 200


@pytest.mark.parametrize("depth", [990, 1000, 1020])
@pytest.mark.parametrize("field", ["input", "messages", "model", "metadata"])
def test_input_nested_a_thousand_deep_is_a_400_or_answered(mock: ServerThread, depth: int, field: str) -> None:
    nested = b"[" * depth + b'"x"' + b"]" * depth
    path = "/v1/chat/completions" if field == "messages" else "/v1/responses"
    body = b'{"model": "m", "input": "ok", "%s": %s}' % (field.encode(), nested)
    reply = send("POST", f"{mock.url}{path}", body=body)
    assert reply.status == 400, reply.body[:300]
    assert_envelope(RawReply(reply.status, reply.headers, reply.body), 400)
    journal = send("GET", f"{mock.url}/_bgr/journal")
    assert journal.status == 200 and journal.json()["entries"][-1]["status"] == 400
