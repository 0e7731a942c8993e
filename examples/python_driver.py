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

Protocol version 2 (taken when `hello` offers it): the model is offered the harness's tools, and
this driver runs the tool loop itself. When a response ends `completed` with function calls, it
runs each call once (the harness runs the tool: a `tool_call` line, answered by `tool_output`)
and creates the follow-up with `previous_response_id` and the outputs, in the same request, so
its token moves on to the follow-up: a token naming a response means its calls are not submitted yet.
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
SPOKEN = {"protocol": PROTOCOL, "tools": []}
"""What `hello` settled: the version spoken (2 when offered) and the tools the harness hands over."""
TERMINAL_STATUSES = {"completed", "failed", "cancelled", "incomplete"}
# The events that end a stream; they carry the final Response. (A cancel ends a stream with none.)
TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete"}


def send(message: dict[str, Any]) -> None:
    """Write one protocol line. Flushing matters: the harness waits for whole lines."""
    sys.stdout.write(json.dumps({"protocol": SPOKEN["protocol"], **message}) + "\n")
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


def tools() -> dict[str, Any]:
    return {"tools": SPOKEN["tools"]} if SPOKEN["tools"] else {}


def function_calls(response: Any) -> list[Any]:
    """The calls a completed response asks the caller to run (none for any other response)."""
    if response.status != "completed":
        return []
    return [item for item in response.output if item.type == "function_call"]


def run_tool(request_id: int, call: Any) -> str:
    """Protocol 2: the harness runs its tool. Ask with a `tool_call` line, read its `tool_output` line."""
    send(
        {"type": "tool_call", "id": request_id, "call_id": call.call_id, "name": call.name, "arguments": call.arguments}
    )
    while line := sys.stdin.readline():
        if line.strip():
            return str(json.loads(line)["output"])
    raise EOFError("stdin closed while waiting for a tool_output line")


def submit_outputs(client: OpenAI, model: str, response: Any, request_id: int, *, stream: bool) -> Any:
    """Run each of the response's calls once, then create the follow-up with their outputs."""
    outputs = [
        {"type": "function_call_output", "call_id": call.call_id, "output": run_tool(request_id, call)}
        for call in function_calls(response)
    ]
    return client.responses.create(
        model=model, input=outputs, previous_response_id=response.id, background=True, stream=stream, **tools()
    )


def run_once(client: OpenAI, model: str, prompt: str | None, token: str | None, request_id: int = 0) -> dict[str, Any]:
    """A non-streaming call: the first one creates the response, later ones poll it."""
    if token is None:
        response = client.responses.create(model=model, input=prompt or "", background=True, **tools())
    else:
        response_id, _ = read_token(token)  # a sequence number does not matter to a poll
        response = client.responses.retrieve(response_id)
    while function_calls(response):  # the model wants tools run: run them, submit, poll the follow-up next
        response = submit_outputs(client, model, response, request_id, stream=False)
    if response.status not in TERMINAL_STATUSES:
        # Still queued or in progress: no answer yet, only a token to poll with.
        return {"text": "", "token": make_token(response.id), "status": response.status, "error": None}
    # Terminal: a null token, with whatever text there is and, if it went wrong, why.
    return {"text": response.output_text, "token": None, "status": response.status, "error": failure(response)}


def run_stream(
    client: OpenAI,
    model: str,
    prompt: str | None,
    token: str | None,
    request_id: int,
    max_updates: int | None,
    sent_before: int = 0,
    opened: Any = None,
) -> dict[str, Any]:
    """A streaming call: one update line per event, stopping after `max_updates` as a dropped connection would.

    `opened`: a tool loop's follow-up stream, after `sent_before` updates of this request; until its
    first event the position is still the end of the response that called the tool (`token`)."""
    if opened is not None:
        events, response_id = opened, read_token(token)[0] if token else None
    elif token is None:
        events = client.responses.create(model=model, input=prompt or "", background=True, stream=True, **tools())
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

    sent, status, error, cut, finished = sent_before, None, None, False, False
    calling = None  # the response ended with function calls: the tool loop goes on
    last_token = token  # the position of the last update the harness has received
    # The last sequence number delivered: an event repeated after a reconnect is dropped, a gap reported.
    # A tool loop's follow-up is another response, numbered from 0 again.
    delivered = read_token(token)[1] if token is not None and opened is None else None
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
                if event.type in TERMINAL_EVENTS and not function_calls(response):
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
                if event.type == "response.completed" and function_calls(response):
                    calling = response
                    break
        except Exception as exc:  # a dropped connection, an HTTP error: report it, keep the position
            error = one_line(f"{type(exc).__name__}: {exc}")

    if calling is not None:
        follow_up = submit_outputs(client, model, calling, request_id, stream=True)
        return run_stream(client, model, None, last_token, request_id, max_updates, sent, follow_up)
    if not finished and not cut and error is None and response_id is not None:
        # The stream ended without a closing event (a cancel ends it so): ask where the response stands.
        response = client.responses.retrieve(response_id)
        status = response.status
        if function_calls(response):  # a resume after the calling response's last event
            follow_up = submit_outputs(client, model, response, request_id, stream=True)
            return run_stream(client, model, None, last_token, request_id, max_updates, sent, follow_up)
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


def poll_until_done(
    client: OpenAI, model: str, token: str, max_polls: int, deadline: float | None, request_id: int = 0
) -> dict[str, Any]:
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
            result = run_once(client, model, None, token, request_id)
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
            result = poll_until_done(
                client, model, token, request["max_polls"], request.get("deadline_seconds"), request_id
            )
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
            result = run_once(client, model, prompt, token, request_id)
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
            # Protocol 2 when the harness offers it: its tools, and `tool_call` lines to run them.
            if 2 in request.get("protocols", []):
                SPOKEN.update(protocol=2, tools=request.get("tools", []))
            send({"type": "ready", "id": request["id"], "name": NAME})
        else:
            handle(client, model, request)
    client.close()


if __name__ == "__main__":
    main()
