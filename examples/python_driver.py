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

from openai import OpenAI

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

    if max_updates == 0:  # asked to read nothing at all
        events.close()
        return {"token": token, "status": None, "error": None, "cut": True}

    sent, status, error, cut, finished = sent_before, None, None, False, False
    calling = None  # the response ended with function calls: the tool loop goes on
    last_token = token  # the position of the last update the harness has received
    with events:  # leaving the block closes the HTTP connection (how a cut looks to the server)
        try:
            for event in events:
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


def poll_until_done(
    client: OpenAI, model: str, token: str, max_polls: int, deadline: float | None, request_id: int = 0
) -> dict[str, Any]:
    """The lesson's Demo 3, with the timeout it asks for: wait 1 s, poll, double the wait up to 30 s.

    Waits are scenario seconds; BGR_TIME_SCALE says how long one lasts in real time (1 outside a test).
    """
    scale = float(os.environ.get("BGR_TIME_SCALE", "1"))
    delay, waited = 1.0, 0.0
    for _ in range(max_polls):
        if deadline is not None and waited + delay > deadline:
            break
        time.sleep(delay * scale)
        waited += delay
        result = run_once(client, model, None, token, request_id)
        if result["token"] is None or result.get("error"):
            return result
        token = result["token"]
        delay = min(delay * 2, 30.0)
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
