"""An agent for the bgr harness, speaking the cmd protocol (docs/cmd-protocol.md) on stdin/stdout.

It is a real agent: every call goes through the `openai` SDK's Responses API with
`background=True`, the way an application would use it. The harness runs it as the agent
`cmd:python examples/python_driver.py` (in Python: `CommandAdapter("python examples/python_driver.py")`).

The harness starts this program with OPENAI_BASE_URL, OPENAI_API_KEY, BGR_MODEL and
BGR_TIME_SCALE set, sends one JSON request per line on stdin and reads JSON lines from
stdout. Stdout is for protocol lines only: anything else (logs, tracebacks) goes to stderr.

The continuation token is JSON text, like the one .NET's OpenAI client uses:
    {"response_id": "resp_...", "sequence_number": 12}   (sequence_number only when streaming)
It holds everything needed to continue, so a token written by one process works in the
next one. The token is null once the response is terminal.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from openai import APIError, APIStatusError, OpenAI

PROTOCOL = 1
NAME = "python-openai-responses"
TERMINAL_STATUSES = {"completed", "failed", "cancelled", "incomplete"}
# The events that end a stream; they carry the final Response. (A cancel ends a stream with none.)
TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete"}


def send(message: dict[str, Any]) -> None:
    """Write one protocol line. Flushing matters: the harness waits for whole lines."""
    sys.stdout.write(json.dumps({"protocol": PROTOCOL, **message}) + "\n")
    sys.stdout.flush()


def make_token(response_id: str, sequence_number: int | None = None) -> str:
    token: dict[str, Any] = {"response_id": response_id}
    if sequence_number is not None:
        token["sequence_number"] = sequence_number
    return json.dumps(token)


def read_token(token: str) -> tuple[str, int | None]:
    data = json.loads(token)
    return data["response_id"], data.get("sequence_number")


def one_line(text: str) -> str:
    return " ".join(text.split())


def failure(response: Any) -> str | None:
    """The error to report for a response that ended badly (None when it did not)."""
    if response.status == "failed":
        error = response.error
        return one_line(f"{error.code}: {error.message}") if error else "the response failed"
    if response.status == "incomplete":
        details = response.incomplete_details
        return f"the response is incomplete: {details.reason if details else 'no reason given'}"
    if response.status == "cancelled":
        return "the response was cancelled"
    return None


def run_once(client: OpenAI, model: str, prompt: str | None, token: str | None) -> dict[str, Any]:
    """A non-streaming call: the first one creates the response, later ones poll it."""
    if token is None:
        response = client.responses.create(model=model, input=prompt or "", background=True)
    else:
        response_id, _ = read_token(token)  # a sequence number does not matter to a poll
        response = client.responses.retrieve(response_id)
    if response.status not in TERMINAL_STATUSES:
        # Still queued or in progress: no answer yet, only a token to poll with.
        return {"text": "", "token": make_token(response.id), "status": response.status, "error": None}
    # Terminal: a null token, with whatever text there is and, if it went wrong, why.
    return {"text": response.output_text, "token": None, "status": response.status, "error": failure(response)}


def run_stream(
    client: OpenAI, model: str, prompt: str | None, token: str | None, request_id: int, max_updates: int | None
) -> dict[str, Any]:
    """A streaming call: one update line per event, stopping after `max_updates` as a dropped connection would."""
    if token is None:
        events = client.responses.create(model=model, input=prompt or "", background=True, stream=True)
        response_id = None
    else:
        # Resume: the server sends only the events after `sequence_number`, so nothing repeats.
        response_id, after = read_token(token)
        if after is None:  # a token from a non-streaming call: replay the stream from its start
            events = client.responses.retrieve(response_id, stream=True)
        else:
            events = client.responses.retrieve(response_id, stream=True, starting_after=after)

    if max_updates == 0:  # asked to deliver nothing
        if token is None:
            # The response exists now; its first event says which one, so the token can resume it from the start.
            first = next(iter(events), None)
            token = make_token(first.response.id) if first is not None and hasattr(first, "response") else None
        events.close()
        return {"token": token, "status": None, "error": None, "cut": True}

    sent, status, error, cut, finished = 0, None, None, False, False
    last_token = token  # the position of the last update the harness has received
    # The last sequence number delivered: an event repeated after a reconnect is dropped, a gap reported.
    delivered = read_token(token)[1] if token is not None else None
    with events:  # leaving the block closes the HTTP connection (how a cut looks to the server)
        try:
            for event in events:
                if delivered is not None and event.sequence_number <= delivered:
                    continue
                if delivered is not None and event.sequence_number > delivered + 1:
                    error = f"events {delivered + 1}..{event.sequence_number - 1} never arrived (a sequence gap)"
                    break
                delivered = event.sequence_number
                response = getattr(event, "response", None)  # lifecycle events carry the Response
                if response is not None:
                    response_id, status = response.id, response.status
                if event.type in TERMINAL_EVENTS:
                    finished, last_token, error = True, None, failure(response)
                else:
                    last_token = make_token(str(response_id), event.sequence_number)
                text = event.delta if event.type == "response.output_text.delta" else ""
                send({"type": "update", "id": request_id, "text": text, "token": last_token, "kind": event.type})
                sent += 1
                if finished:
                    break
                if max_updates is not None and sent >= max_updates:
                    cut = True  # stop reading, as if the connection had dropped here
                    break
        except Exception as exc:  # a dropped connection, an HTTP error: report it, keep the position
            error = one_line(f"{type(exc).__name__}: {exc}")

    if not finished and not cut and error is None and response_id is not None:
        # The stream ended without a closing event (a cancel ends it so): ask where the response stands.
        response = client.responses.retrieve(response_id)
        status = response.status
        if response.status in TERMINAL_STATUSES:
            last_token, error = None, failure(response)
        else:
            error = "the stream ended before the response finished"
    return {"token": last_token, "status": status, "error": error, "cut": cut}


def retry_after(error: APIStatusError) -> float | None:
    """Real seconds a 429 asked to wait (`retry-after-ms`, else `Retry-After`), once the SDK's own retries are spent."""
    headers = error.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def poll_until_done(client: OpenAI, model: str, token: str, max_polls: int, deadline: float | None) -> dict[str, Any]:
    """The lesson's Demo 3, with the timeout it asks for: wait 1 s, poll, double the wait up to 30 s.

    Waits are scenario seconds; BGR_TIME_SCALE says how long one lasts in real time (1 outside a test).
    Every request counts toward `max_polls`. A 429 pauses the doubling: the next wait is the longer of its
    Retry-After and the pending one. A 5xx or a dropped connection is an unsuccessful poll: the doubling
    goes on, up to 3 failures in a row. The deadline bounds the scenario time spent, waits and polls alike.
    """
    scale = float(os.environ.get("BGR_TIME_SCALE", "1"))
    started = time.monotonic()
    delay, wait, failures = 1.0, 1.0, 0
    for polls in range(max_polls):
        elapsed = (time.monotonic() - started) / scale
        if deadline is not None and elapsed + wait > deadline:
            return {
                "token": token,
                "status": None,
                "error": f"timed out at the deadline of {deadline:g} s after {polls} polls; resume with the token",
            }
        time.sleep(wait * scale)
        try:
            result = run_once(client, model, None, token)
        except APIError as exc:  # an HTTP error or a dropped connection, once the SDK's own retries are spent
            failures += 1
            if failures > 3:
                raise
            asked = retry_after(exc) if isinstance(exc, APIStatusError) and exc.status_code == 429 else None
            if asked is not None:
                # The wire speaks real seconds; the backoff keeps its place.
                wait = max(asked / scale, delay)
                continue
        else:
            failures = 0
            if result["token"] is None or result.get("error"):
                return result
            token = result["token"]
        wait = delay = min(delay * 2, 30.0)
    return {"token": token, "status": None, "error": f"timed out after {max_polls} polls; resume with the token"}


def handle(client: OpenAI, model: str, request: dict[str, Any]) -> None:
    request_id = request["id"]
    prompt, token = request.get("prompt"), request.get("token")
    if request["type"] == "poll_until_done":
        try:
            result = poll_until_done(client, model, token, request["max_polls"], request.get("deadline_seconds"))
        except Exception as exc:  # the SDK raised: an error result, token unchanged
            result = {"token": token, "status": None, "error": one_line(f"{type(exc).__name__}: {exc}")}
        send({"type": "result", "id": request_id, **result})
        return
    if request["type"] != "run":
        # Requests this driver does not know (a later protocol may add some) are declined, not fatal.
        send({"type": "unsupported", "id": request_id, "message": f"unknown request type {request['type']!r}"})
        return
    if (prompt is None) == (token is None):
        # The contract's poll-without-input rule: a prompt starts a run, a token continues one, never both.
        problem = "a prompt together with a continuation token" if prompt is not None else "neither prompt nor token"
        send({"type": "result", "id": request_id, "token": token, "status": None, "error": f"got {problem}"})
        return
    try:
        if request["stream"]:
            result = run_stream(client, model, prompt, token, request_id, request.get("max_updates"))
        else:
            result = run_once(client, model, prompt, token)
    except Exception as exc:  # the SDK raised (HTTP 4xx/5xx, connection): an error result, token unchanged
        result = {"token": token, "status": None, "error": one_line(f"{type(exc).__name__}: {exc}")}
    send({"type": "result", "id": request_id, **result})


def main() -> None:
    # OpenAI() reads OPENAI_BASE_URL and OPENAI_API_KEY from the environment the harness set.
    client = OpenAI()
    model = os.environ.get("BGR_MODEL", "gpt-4o")
    # One request per line; the harness closes stdin when it wants the program to exit.
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        request = json.loads(line)
        if request["type"] == "hello":
            send({"type": "ready", "id": request["id"], "name": NAME})
        else:
            handle(client, model, request)
    client.close()


if __name__ == "__main__":
    main()
